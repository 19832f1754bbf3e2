"""Tiering and maintenance benchmarks (issue 4), each compared with a peer in the same run.

    .venv/bin/python -m benchmarks.tiering [--mb 256] [--files 64] [--appends 300]
        [--only mover|appends] [--out DIR]

1. Mover throughput (SSD dir -> NAS dir, with fsync + read-back verify + one commit) vs
   a raw ``cp`` of the same files between the same directories followed by ``sync``
   (goal >= 0.9x). ``cp`` without ``sync`` is reported too.
2. Query time (DuckDB, full scan aggregate) with half the files on the NAS dir vs all
   on the SSD dir.
3. N small appends then maintenance: commit latency near append #N vs near #10 (goal
   <= 1.5x), and scan time after compaction vs a freshly written table (goal <= 1.1x).

Writes ``tiering.json`` (numbers + machine info) to the results directory.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

DAY0 = datetime(2020, 1, 1, tzinfo=UTC)


def machine_info() -> dict[str, Any]:
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    import doctordata

    return {
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "doctordata": doctordata.__version__,
    }


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def _day_batch(day: int, rows: int) -> Any:
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(day)
    start = DAY0 + timedelta(days=day)
    return pa.table(
        {
            "id": pa.array(np.arange(rows, dtype=np.int64) + day * rows),
            "time": pa.array(
                [start + timedelta(seconds=int(s)) for s in rng.integers(0, 86_000, rows)],
                pa.timestamp("us", tz="UTC"),
            ),
            # random payload: incompressible, so file sizes are what we ask for
            "payload": pa.array([rng.bytes(200) for _ in range(rows)], pa.binary()),
        }
    )


def _lake(base: Path, name: str) -> Any:
    import doctordata as dd

    root = base / name
    (base / f"{name}-nas").mkdir(parents=True, exist_ok=True)
    return dd.connect(
        root,
        tiers={"ssd": {"url": str(root / "ssd")}, "nas": {"url": str(base / f"{name}-nas")}},
    )


def bench_mover(base: Path, total_mb: int, files: int, repeats: int) -> dict[str, Any]:
    import pyarrow as pa

    lh = _lake(base, "move")
    rows = max(1, total_mb * 1024 * 1024 // files // 230)
    data = pa.concat_tables([_day_batch(d, rows) for d in range(files)])
    lh.create_table("bench.t", data, partition_by=["day(time)"])
    paths = [
        t.file.file_path.removeprefix("file://") for t in lh.table("bench.t").scan().plan_files()
    ]
    nbytes = sum(os.path.getsize(p) for p in paths)
    query = "SELECT count(*), sum(octet_length(payload)) FROM bench.t"
    ssd_query = statistics.median(_timed(lambda: lh.sql(query).fetchall())[0] for _ in range(5))

    def peer(sync: bool) -> float:
        dest = Path(tempfile.mkdtemp(dir=lh.tiers["nas"].root, prefix="cp-"))
        elapsed, _ = _timed(
            lambda: (
                subprocess.run(["cp", "--preserve=timestamps", *paths, str(dest)], check=True),
                subprocess.run(["sync", "-f", str(dest)], check=True) if sync else None,
            )
        )
        shutil.rmtree(dest)
        return elapsed

    mover, copy_phase, cp_sync, cp_plain, half_query = [], [], [], [], []
    for _ in range(repeats):
        cp_sync.append(peer(True))
        cp_plain.append(peer(False))
        elapsed, report = _timed(lambda: lh.tier("bench.t", to="nas", progress=False))
        assert not report.failed and report.bytes_moved == nbytes
        mover.append(elapsed)
        copy_phase.append(report.seconds)
        lh.tier("bench.t", to="ssd", free_now=True, progress=False)
    half = f"time < '{(DAY0 + timedelta(days=files // 2)).date()}'"
    lh.tier("bench.t", to="nas", where=half, free_now=True, progress=False)
    for _ in range(5):
        half_query.append(_timed(lambda: lh.sql(query).fetchall())[0])
    lh.close()
    m, cs, cp = (statistics.median(x) for x in (mover, cp_sync, cp_plain))
    return {
        "bytes": nbytes,
        "files": len(paths),
        "mover_s": m,
        "mover_MBps": nbytes / m / 1e6,
        "cp_sync_s": cs,
        "cp_sync_MBps": nbytes / cs / 1e6,
        "cp_s": cp,
        "mover_copy_phase_s": statistics.median(copy_phase),
        "mover_copy_phase_MBps": nbytes / statistics.median(copy_phase) / 1e6,
        "ratio_vs_cp_sync": cs / m,
        "copy_phase_ratio_vs_cp_sync": cs / statistics.median(copy_phase),
        "ratio_vs_cp": cp / m,
        "goal_ratio": 0.9,
        "query_all_ssd_s": ssd_query,
        "query_half_nas_s": statistics.median(half_query),
        "query_ratio_half_nas_vs_ssd": statistics.median(half_query) / ssd_query,
    }


def bench_appends(base: Path, appends: int) -> dict[str, Any]:
    import pyarrow as pa

    lh = _lake(base, "appends")
    lh.create_table("bench.t", _day_batch(0, 50), partition_by=["day(time)"])
    latencies = []
    batches = []
    for i in range(1, appends):
        batch = _day_batch(i % 7, 50)
        batches.append(batch)
        latencies.append(_timed(lambda b=batch: lh.append("bench.t", b))[0])
    early = statistics.median(latencies[5:15])
    late = statistics.median(latencies[-10:])
    query = "SELECT count(*), sum(octet_length(payload)) FROM bench.t"
    before = statistics.median(_timed(lambda: lh.sql(query).fetchall())[0] for _ in range(3))
    maint_s, report = _timed(lambda: lh.maintain("bench.t", expire_older_than="0s"))
    fresh = _lake(base, "fresh")
    fresh.create_table(
        "bench.t", pa.concat_tables([_day_batch(0, 50), *batches]), partition_by=["day(time)"]
    )
    fresh.sql(query).fetchall()  # warm both engines, then alternate
    after_runs, fresh_runs = [], []
    for _ in range(7):
        after_runs.append(_timed(lambda: lh.sql(query).fetchall())[0])
        fresh_runs.append(_timed(lambda: fresh.sql(query).fetchall())[0])
    after, fresh_s = statistics.median(after_runs), statistics.median(fresh_runs)
    files_after = len(list(lh.table("bench.t").scan().plan_files()))
    lh.close()
    fresh.close()
    return {
        "appends": appends,
        "commit_s_near_10": early,
        "commit_s_near_last": late,
        "commit_ratio_last_vs_10": late / early,
        "goal_commit_ratio": 1.5,
        "maintain_s": maint_s,
        "files_after_compaction": files_after,
        "bytes_freed": report.bytes_freed,
        "scan_s_before_compaction": before,
        "scan_s_after_compaction": after,
        "scan_s_fresh_table": fresh_s,
        "scan_ratio_compacted_vs_fresh": after / fresh_s,
        "goal_scan_ratio": 1.1,
    }


def run(
    results_dir: Path,
    *,
    total_mb: int = 256,
    files: int = 64,
    appends: int = 300,
    only: str | None = None,
) -> dict[str, Any]:
    """Run the tiering benchmarks and write ``tiering.json`` into ``results_dir``.

    ``only="mover"`` or ``only="appends"`` runs one part and keeps the other part's
    figures from the existing ``tiering.json``."""
    out = results_dir / "tiering.json"
    previous = json.loads(out.read_text()) if only and out.exists() else {}
    with tempfile.TemporaryDirectory(prefix="dd-bench-tier-") as tmp:
        base = Path(tmp)
        result = {
            "machine": machine_info(),
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "mover": (
                bench_mover(base, total_mb, files, repeats=3)
                if only in (None, "mover")
                else previous.get("mover")
            ),
            "appends": (
                bench_appends(base, appends)
                if only in (None, "appends")
                else previous.get("appends")
            ),
        }
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / "tiering.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=256)
    parser.add_argument("--files", type=int, default=64)
    parser.add_argument("--appends", type=int, default=300)
    parser.add_argument("--only", choices=["mover", "appends"], help="run one part only")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args()
    run(args.out, total_mb=args.mb, files=args.files, appends=args.appends, only=args.only)
