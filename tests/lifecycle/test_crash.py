"""SIGKILL the mover (a real child process) at every step, then check nothing was lost
and that the next run finishes the job and leaves no stray copies."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import doctordata as dd
from doctordata.catalog.references import table_references
from doctordata.lifecycle.journal import journal_dir
from tests.tiered_lakes import files_on, local_path, rows, sorted_rows

# How often one run reaches each step: 6 files move per run; "copy" fires before each
# copy and once per copied chunk; "delete" (free_now) once per file expiry deletes.
STEP_HITS = {"copy": 12, "verify": 6, "rename": 6, "commit": 1, "committed": 1, "delete": 6}
ROUNDS = 10


@pytest.fixture(scope="module")
def forkserver(child_env: dict[str, str]) -> Iterator[Any]:
    """A multiprocessing context whose server has doctordata imported: each killed child is
    a real process, forked in ~10 ms instead of a fresh interpreter paying ~2 s of imports."""
    import multiprocessing

    from tests.lifecycle.crash_child import PRELOAD

    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    saved = {k: os.environ.get(k) for k in ("PYTHONPATH", "PYTHONPYCACHEPREFIX")}
    os.environ.update({k: child_env[k] for k in saved if k in child_env})
    try:
        yield ctx
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _check_intact(lh: dd.Lakehouse, expected: object) -> None:
    table = lh.table("hn.items")
    assert sorted_rows(lh, "hn.items").equals(expected)
    refs = table_references(table)
    missing = [p for p in refs.data if not local_path(p).is_file()]
    assert missing == [], "a referenced file is missing"


def _data_files(root: Path) -> set[str]:
    return {p.as_posix() for p in root.rglob("*") if p.is_file() and "/data/" in p.as_posix()}


def _check_no_strays(lh: dd.Lakehouse) -> None:
    """Every data file on disk is referenced by a retained snapshot; no temp copies, no
    journal left."""
    referenced = {local_path(p).as_posix() for p in table_references(lh.table("hn.items")).data}
    on_disk = _data_files(Path(lh.tiers["nas"].root)) | _data_files(Path(lh.tiers["ssd"].root))
    assert on_disk == referenced
    assert not [p for p in on_disk if p.endswith(".dd-tmp")]
    assert not list(journal_dir(lh.root).glob("*.json"))


@pytest.mark.slow
@pytest.mark.parametrize("step", list(STEP_HITS))
def test_sigkill_at_step_x10_loses_nothing(make_lake, forkserver, step: str) -> None:  # type: ignore[no-untyped-def]
    """Kill the mover at ``step`` in 10 rounds, alternating the policy move SSD -> NAS and
    the move back to the SSD (a different file each round where the step repeats). After
    each kill the table is intact and the next run completes without stray copies."""
    from tests.lifecycle.crash_child import run_mover

    lh = make_lake()
    lh.create_table("hn.items", rows(0), partition_by=["day(time)"])
    lh.append("hn.items", rows(1000))
    expected = sorted_rows(lh, "hn.items")
    free_now = step == "delete"
    for round_ in range(ROUNDS):
        to = "ssd" if round_ % 2 else None  # None: the age policy (old days -> nas)
        nth = 1 + (round_ * 5) % STEP_HITS[step]
        child = forkserver.Process(
            target=run_mover, args=(str(lh.root), free_now, f"{step}:{nth}", to)
        )
        child.start()
        child.join(timeout=120)
        assert child.exitcode == -signal.SIGKILL, f"round {round_}: exit {child.exitcode}"
        _check_intact(lh, expected)

        report = lh.tier("hn.items" if to else None, to=to, free_now=free_now, progress=False)
        assert not report.failed, f"round {round_}: {report}"
        _check_intact(lh, expected)
        where = sorted(files_on(lh, "hn.items").values())
        assert where == (["ssd"] * 8 if to else ["nas"] * 6 + ["ssd"] * 2), f"round {round_}"
        _check_no_strays(lh)
        if free_now:  # the copies moved away from are gone at once
            gone = "nas" if to else "ssd"
            left = _data_files(Path(lh.tiers[gone].root))
            assert not [p for p in left if "2020-01-0" in p], f"round {round_}: {left}"
