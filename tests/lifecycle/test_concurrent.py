"""The mover running while 4 other processes append to the same table: 0 rows lost."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.tiered_lakes import files_on, sorted_rows

APPENDER = """
import sys
import doctordata as dd
from tests.tiered_lakes import rows
root, worker, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with dd.connect(root) as lh:
    for i in range(n):
        lh.append("hn.items", rows(100_000 * (worker + 1) + 10 * i, 1))
print("done", flush=True)
"""

WORKERS, APPENDS = 4, 3


@pytest.mark.slow
def test_mover_with_concurrent_appenders_loses_nothing(make_lake, child_env) -> None:  # type: ignore[no-untyped-def]
    from tests.tiered_lakes import rows

    lh = make_lake()
    lh.create_table("hn.items", rows(0), partition_by=["day(time)"])
    initial = sorted_rows(lh, "hn.items").num_rows
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", APPENDER, str(lh.root), str(w), str(APPENDS)],
            env=child_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for w in range(WORKERS)
    ]
    moved = 0
    try:
        deadline = time.monotonic() + 300
        while any(p.poll() is None for p in procs) and time.monotonic() < deadline:
            report = lh.tier(progress=False)
            moved += len(report.moved)
            assert not [f for f in report.failed if "commit failed" not in f[1]]
            time.sleep(0.2)
    finally:
        outputs = [p.communicate(timeout=300) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err.decode()[-2000:]
        assert out.decode().strip() == "done"
    lh.tier(progress=False)
    final = sorted_rows(lh, "hn.items")
    assert final.num_rows == initial + WORKERS * APPENDS * 4
    ids = final.column("id").to_pylist()
    assert len(ids) == len(set(ids)), "duplicate rows"
    assert moved > 0, "the mover never moved anything while the appenders ran"
    assert all(
        tier == "nas" for path, tier in files_on(lh, "hn.items").items() if "2020-01-0" in path
    )
