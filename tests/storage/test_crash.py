"""SIGKILL the mover (a real child process) at every step, then check nothing was lost
and that the next run finishes the job and leaves no stray copies."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

import doctordata as dd
from doctordata.catalog.reachability import table_references
from doctordata.storage.journal import journal_dir
from doctordata.storage.transfer import KILL_ENV
from tests.storage.conftest import files_on, local_path, rows, sorted_rows

CHILD = """
import sys
import doctordata as dd
with dd.connect(sys.argv[1]) as lh:
    lh.tier(free_now=sys.argv[2] == "1", progress=False, workers=2)
print("finished without being killed")
"""

# (step, n-th time the step is reached); 6 files move per run
KILL_POINTS = [
    ("copy", 1),
    ("copy", 5),
    ("verify", 4),
    ("rename", 2),
    ("commit", 1),
    ("committed", 1),
    ("delete", 1),
    ("delete", 5),
]


def _check_intact(lh: dd.Lakehouse, expected: object) -> None:
    table = lh.table("hn.items")
    assert sorted_rows(lh, "hn.items").equals(expected)
    refs = table_references(table)
    missing = [p for p in refs.data if not local_path(p).is_file()]
    assert missing == [], "a referenced file is missing"


def _data_files(root: Path) -> set[str]:
    return {p.as_posix() for p in root.rglob("*") if p.is_file() and "/data/" in p.as_posix()}


@pytest.mark.slow
@pytest.mark.parametrize(("step", "nth"), KILL_POINTS, ids=[f"{s}-{n}" for s, n in KILL_POINTS])
def test_sigkill_at_step_loses_nothing(make_lake, child_env, step: str, nth: int) -> None:  # type: ignore[no-untyped-def]
    lh = make_lake()
    lh.create_table("hn.items", rows(0), partition_by=["day(time)"])
    lh.append("hn.items", rows(1000))
    expected = sorted_rows(lh, "hn.items")
    free_now = step == "delete"

    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(lh.root), "1" if free_now else "0"],
        env={**child_env, KILL_ENV: f"{step}:{nth}"},
        capture_output=True,
        timeout=300,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    _check_intact(lh, expected)

    report = lh.tier(free_now=free_now, progress=False)
    _check_intact(lh, expected)
    assert not report.failed
    where = files_on(lh, "hn.items")
    assert sorted(where.values()) == ["nas"] * 6 + ["ssd"] * 2
    # no stray copies: every data file on disk is referenced by a retained snapshot
    referenced = {local_path(p).as_posix() for p in table_references(lh.table("hn.items")).data}
    on_disk = _data_files(Path(lh.tiers["nas"].root)) | _data_files(Path(lh.tiers["ssd"].root))
    assert on_disk == referenced
    assert not [p for p in on_disk if p.endswith(".dd-tmp")]
    assert not list(journal_dir(lh.root).glob("*.json"))
    if free_now:  # old SSD copies of the moved files are gone
        assert sum(1 for p in on_disk if "2020-01-0" in p and "/ssd/" in p) == 0
