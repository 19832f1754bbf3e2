"""Commits in a helper process: same rows as in-process, clear errors, no orphans."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from doctordata.errors import IngestError
from doctordata.ingest import state
from doctordata.ingest.commit_worker import CommitProcess
from doctordata.ingest.hackernews import run

from .conftest import FAST_RETRY, assert_exactly_once, commit_workers, load_items

pytestmark = pytest.mark.ingest


def test_commit_process_loads_the_same_rows_as_in_process(
    lh: Any, tmp_path: Path, hn_server: Any
) -> None:
    import doctordata as dd

    server = hn_server(items=700, seed=5)
    # Several segments: the default is to commit in the helper process.
    report = run(lh, base_url=server.url, workers=4, segment=200, retry=FAST_RETRY)
    assert set(report.helper_peak_rss_mib) == {"fetch", "commit"}
    assert min(report.helper_peak_rss_mib.values()) > 0
    assert report.segments == 5 and report.items_new == len(server.dataset.ids())
    assert report.timings["commit"] > 0  # the child's commit time reaches the report
    rows = assert_exactly_once(lh, server.dataset.ids())
    assert commit_workers(os.getpid()) == []  # it exited at the end of the run

    with dd.connect(tmp_path / "in-process") as other:
        same = run(
            other,
            base_url=server.url,
            workers=4,
            segment=200,
            retry=FAST_RETRY,
            helpers=False,
        )
        assert same.helper_peak_rss_mib == {}
        assert (same.items_new, same.items_missing) == (report.items_new, report.items_missing)
        assert load_items(other) == rows


def test_one_segment_commits_in_process_by_default(lh: Any, hn_server: Any) -> None:
    server = hn_server(items=60)
    report = run(lh, base_url=server.url, workers=2, segment=1000, retry=FAST_RETRY)
    assert report.helper_peak_rss_mib == {}
    assert_exactly_once(lh, server.dataset.ids())


def test_commit_process_killed_mid_run_is_a_clear_error_then_rerun_completes(
    lh: Any, hn_server: Any
) -> None:
    server = hn_server(items=900, seed=9)
    killed: list[int] = []

    def progress(phase: str, advance: int, total: int) -> None:
        if phase == "commit" and not killed:  # after the first commit: kill the helper
            (worker,) = commit_workers(os.getpid())
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
            killed.append(worker.pid)

    with pytest.raises(IngestError, match=r"commit process \(pid \d+\) ended") as info:
        run(
            lh,
            base_url=server.url,
            workers=4,
            segment=150,
            retry=FAST_RETRY,
            progress=progress,
            lists=False,
        )
    assert killed and str(killed[0]) in str(info.value)
    assert "run the ingestion again" in str(info.value)
    resume = state.next_id(lh, "hackernews.items")
    # Only segments whose resume point the helper recorded before it died count as loaded
    # (the first one may or may not have been, depending on timing), never the rest.
    assert resume < 901
    report = run(lh, base_url=server.url, workers=4, segment=150, retry=FAST_RETRY)
    assert report.start_id == resume
    assert_exactly_once(lh, server.dataset.ids())


def test_fetch_process_killed_mid_run_is_a_clear_error_then_rerun_completes(
    lh: Any, hn_server: Any
) -> None:
    server = hn_server(items=3000, seed=10)
    killed: list[int] = []

    def progress(phase: str, advance: int, total: int) -> None:
        if phase == "items" and not killed:  # after the first batch: kill a fetcher
            workers = commit_workers(os.getpid(), module="fetch_worker")
            assert len(workers) == 2  # FETCH_PROCESSES
            # The first one (whose part the run is reading): it has parts left to send.
            worker = min(workers, key=lambda p: (p.create_time(), p.pid))
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
            killed.append(worker.pid)

    with pytest.raises(IngestError, match=r"fetch process \(pid \d+\) ended unexpectedly") as info:
        run(
            lh,
            base_url=server.url,
            workers=4,
            segment=1000,
            batch=50,
            retry=FAST_RETRY,
            progress=progress,
            lists=False,
        )
    assert killed and str(killed[0]) in str(info.value)
    assert not commit_workers(os.getpid()) and not commit_workers(os.getpid(), "fetch_worker")
    resume = state.next_id(lh, "hackernews.items")
    assert resume < 3001
    report = run(lh, base_url=server.url, workers=4, segment=1000, retry=FAST_RETRY)
    assert report.start_id == resume
    assert_exactly_once(lh, server.dataset.ids())


def test_commit_process_stops_at_a_failed_write_and_never_advances_past_it(
    lh: Any, tmp_path: Path
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq
    from dlt.common.destination.exceptions import DestinationTerminalException

    from doctordata.ingest.hackernews import ensure_tables
    from doctordata.ingest.hn_schema import rejected_schema, utc_now

    ensure_tables(lh)
    good, bad = tmp_path / "rejected.parquet", tmp_path / "bad.parquet"
    rows = [{"id": 7, "raw": "{}", "reason": "bad", "fetched_at": utc_now()}]
    pq.write_table(pa.Table.from_pylist(rows, schema=rejected_schema()), good)
    bad.write_bytes(b"PAR1 not really parquet")
    spool = tmp_path / "spool"
    writer = CommitProcess(lh.settings, spool)
    try:
        # Refused in this process, before the child sees it, and for good (no dlt retry).
        with pytest.raises(DestinationTerminalException, match="unknown table 'users'"):
            writer.write_file("users", str(good))
        writer.write_file("rejected_items", str(good))
        writer.advance("hackernews.items", 100)
        writer.flush()
        assert (writer.stats.rejected, writer.stats.commits) == (1, 1)
        assert state.next_id(lh, "hackernews.items") == 100
        pid = writer.pid
        writer.write_file("rejected_items", str(bad))
        # The failure surfaces at the next call that sees the child's answer.
        with pytest.raises(IngestError, match="committing rejected_items failed in the commit"):
            writer.advance("hackernews.items", 500)  # never happens: after the failure
            writer.flush()
        with pytest.raises(IngestError, match="run the ingestion again"):  # and it stays failed
            writer.write_file("rejected_items", str(good))
    finally:
        writer.close()
    assert state.next_id(lh, "hackernews.items") == 100
    assert good.exists() and bad.exists()  # dlt's files are never touched, only linked
    assert not spool.exists()
    assert not any(p.pid == pid for p in commit_workers())
    table = lh.table("hackernews.rejected_items").scan().to_arrow()
    assert table.column("id").to_pylist() == [7]


def test_commit_process_dies_with_its_parent(lh: Any) -> None:
    """A SIGKILLed run leaves no committer behind (PR_SET_PDEATHSIG)."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    ready = ctx.Queue()

    def parent() -> None:
        writer = CommitProcess(lh.settings, Path(lh.root) / "spool")
        ready.put(writer.pid)
        time.sleep(120)

    child = ctx.Process(target=parent)
    child.start()
    worker_pid = ready.get(timeout=30)
    assert any(p.pid == worker_pid for p in commit_workers(child.pid))
    os.kill(child.pid, signal.SIGKILL)
    child.join(10)
    deadline = time.monotonic() + 15
    while any(p.pid == worker_pid for p in commit_workers()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(p.pid == worker_pid for p in commit_workers())
