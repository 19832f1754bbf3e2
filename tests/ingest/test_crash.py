"""SIGKILL the ingestion mid-load, again and again; then nothing is lost or duplicated.

The children are real processes (forked from the test process, so they skip the slow
imports) that run the whole pipeline against the loopback API and get SIGKILLed
mid-load: the API holds back the answer for one item (a different, random one each
time, further on every other time so that segments before it commit) until the kill,
and the kill is sent once the child has asked for it. No sleeps decide where a kill
lands, so a fast machine cannot finish the load first.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from doctordata.ingest import state
from doctordata.ingest.hackernews import run

from .conftest import FAST_RETRY, assert_exactly_once, commit_workers

pytestmark = [pytest.mark.ingest, pytest.mark.slow]

KILLS = 10


def _ingest(root: str, url: str) -> None:
    import doctordata as dd

    with dd.connect(root) as lh:
        run(lh, base_url=url, workers=4, segment=80, batch=40, retry=FAST_RETRY)
    os._exit(0)


def _next_id(root: str) -> int:
    import doctordata as dd

    with dd.connect(root) as lh:
        return state.next_id(lh, "hackernews.items")


def _workers_of(root: str) -> list[Any]:
    """The helper processes (fetch and commit) of runs on ``root``."""
    helpers = commit_workers() + commit_workers(module="fetch_worker")
    return [p for p in helpers if root in (p.info["cmdline"] or [])]


def test_sigkill_mid_load_ten_times_then_rerun_loses_and_duplicates_nothing(
    tmp_path: Path, hn_server: Any
) -> None:
    import doctordata as dd

    # Warm up in this process (imports, dlt's runtime) so forked children start fast.
    with dd.connect(tmp_path / "warm") as warm:
        run(warm, base_url=hn_server(items=20).url, retry=FAST_RETRY)
    server = hn_server(items=3000, seed=21)
    answer = server.dataset.item
    gate: dict[str, Any] = {"at": 0, "asked": threading.Event(), "go": threading.Event()}

    def held_back(item_id: int) -> object:
        # The item at the gate (and any after it) is answered only once the kill is sent.
        if item_id >= gate["at"]:
            gate["asked"].set()
            gate["go"].wait(timeout=120)
        return answer(item_id)

    server.dataset.item = held_back  # type: ignore[method-assign]
    root = str(tmp_path / "lake")
    dd.connect(root).close()  # create the root before forking
    ctx = multiprocessing.get_context("fork")
    rng = random.Random(1234)
    finished_early = 0
    positions: list[int] = []
    for kill in range(KILLS):
        before = positions[-1] if positions else 1
        # Every other run the gate is a few segments (80 ids) on, so some commit first.
        ahead = rng.randint(240, 480) if kill % 2 else rng.randint(1, 160)
        gate.update(at=min(before + ahead, 3000), asked=threading.Event(), go=threading.Event())
        child = ctx.Process(target=_ingest, args=(root, server.url))
        child.start()
        try:
            asked = gate["asked"].wait(timeout=120)
            if kill % 2:  # until the commit process recorded a segment (commits under way)
                deadline = time.monotonic() + 60
                while _next_id(root) == before and time.monotonic() < deadline:
                    time.sleep(0.02)
            if asked and child.is_alive():
                os.kill(child.pid, signal.SIGKILL)
            else:
                finished_early += 1
        finally:
            gate["go"].set()  # held answers go to a dead client
        child.join(30)
        assert child.exitcode in (-signal.SIGKILL, 0), child.exitcode
        # Its helper processes (many segments: it fetches and commits in two) died with it.
        deadline = time.monotonic() + 15
        while _workers_of(root) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _workers_of(root), "a helper process outlived its killed run"
        with dd.connect(root) as lh:
            positions.append(state.next_id(lh, "hackernews.items"))
    print("resume point after each kill:", positions)
    assert finished_early < KILLS, "no run was ever killed mid-load"
    assert len(set(positions)) >= 3, f"kills never landed between commits: {positions}"
    # Most kills must land while new items were still being loaded, not in a run that only
    # had updates and lists left to do.
    assert sum(p < 3001 for p in positions) >= KILLS // 2, positions

    with dd.connect(root) as lh:
        progress_before_rerun = state.next_id(lh, "hackernews.items")
        report = run(lh, base_url=server.url, workers=4, segment=80, retry=FAST_RETRY)
        assert_exactly_once(lh, server.dataset.ids())
        assert state.next_id(lh, "hackernews.items") == 3001
        assert report.start_id == progress_before_rerun
        rejected = lh.table("hackernews.rejected_items").scan().to_arrow()
        assert rejected.num_rows == 0
        # Every list snapshot that was committed is complete (never half a snapshot).
        lists = lh.table("hackernews.lists").scan().to_arrow().to_pylist()
        served_lists = server.dataset.lists()
        by_fetch: dict[Any, int] = {}
        for row in lists:
            by_fetch[row["fetched_at"]] = by_fetch.get(row["fetched_at"], 0) + 1
        assert set(by_fetch.values()) == {sum(len(v) for v in served_lists.values())}
