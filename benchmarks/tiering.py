"""Tiering and maintenance benchmarks (issue 4), each compared with a peer in the same run.

    .venv/bin/python -m benchmarks.tiering [--mb 256] [--large-mb 2048] [--files 64]
        [--rounds 7] [--appends 1000] [--only mover|appends] [--out DIR]

1. Mover throughput (SSD dir -> NAS dir, with fsync + read-back verify + one commit) vs
   a raw ``cp`` of the same files between the same directories followed by ``sync``
   (goal >= 0.9x), in interleaved rounds (medians). ``cp`` without ``sync`` is reported
   too. Twice: ``--mb`` (256 MB, where the mover's fixed costs weigh most) and
   ``--large-mb`` (2 GB, closer to a real move of months of partitions), same file count.
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
    """One day of rows: id, a timestamp within the day, 200 random (incompressible) bytes,
    so file sizes are what we ask for. Built from numpy buffers: 2 GB in seconds."""
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(day)
    start_us = int((DAY0 + timedelta(days=day)).timestamp()) * 1_000_000
    offsets = np.arange(0, 200 * (rows + 1), 200, dtype=np.int64)
    payload = pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), rows, [None, pa.py_buffer(offsets), pa.py_buffer(rng.bytes(200 * rows))]
    )
    return pa.table(
        {
            "id": pa.array(np.arange(rows, dtype=np.int64) + day * rows),
            "time": pa.array(
                start_us + rng.integers(0, 86_000, rows) * 1_000_000,
                pa.timestamp("us", tz="UTC"),
            ),
            "payload": payload.cast(pa.binary()),
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


def _interleaved(
    contestants: dict[str, Callable[[], float]], rounds: int
) -> dict[str, list[float]]:
    """Each contestant once per round, the order rotating, so background load hits all."""
    names = list(contestants)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            times[name].append(contestants[name]())
    return times


def bench_mover(
    base: Path, total_mb: int, files: int, rounds: int, *, query: bool = True
) -> dict[str, Any]:
    """The mover (SSD dir -> NAS dir: fsync, byte-for-byte verify, rename, one commit) vs
    ``cp`` of the same files between the same directories followed by ``sync -f``.

    ``rounds`` interleaved rounds (mover, cp + sync, cp; rotating order), medians. Between
    two mover runs the table moves back to the SSD (free_now), untimed."""
    import pyarrow as pa

    load_at_start = list(os.getloadavg())  # this part may run apart from the others (--only)
    lh = _lake(base, f"move-{total_mb}")
    rows = max(1, total_mb * 1024 * 1024 // files // 230)
    data = pa.concat_tables([_day_batch(d, rows) for d in range(files)])
    lh.create_table("bench.t", data, partition_by=["day(time)"])
    del data
    paths = [
        t.file.file_path.removeprefix("file://") for t in lh.table("bench.t").scan().plan_files()
    ]
    nbytes = sum(os.path.getsize(p) for p in paths)
    sql = "SELECT count(*), sum(octet_length(payload)) FROM bench.t"
    ssd_query = (
        statistics.median(_timed(lambda: lh.sql(sql).fetchall())[0] for _ in range(5))
        if query
        else 0.0
    )

    def peer(sync: bool) -> float:
        dest = Path(tempfile.mkdtemp(dir=lh.tiers["nas"].root, prefix="cp-"))
        elapsed, _ = _timed(
            lambda: (
                subprocess.run(["cp", "--preserve=timestamps", *paths, str(dest)], check=True),
                subprocess.run(["sync", "-f", str(dest)], check=True) if sync else None,
            )
        )
        shutil.rmtree(dest)
        subprocess.run(["sync", "-f", str(lh.tiers["nas"].root)], check=True)  # untimed
        return elapsed

    copy_phase: list[float] = []

    def mover() -> float:
        elapsed, report = _timed(lambda: lh.tier("bench.t", to="nas", progress=False))
        assert not report.failed and report.bytes_moved == nbytes
        copy_phase.append(report.seconds)
        lh.tier("bench.t", to="ssd", free_now=True, progress=False)  # untimed: back again
        subprocess.run(["sync", "-f", str(lh.tiers["nas"].root)], check=True)
        return elapsed

    subprocess.run(["sync", "-f", str(lh.tiers["nas"].root)], check=True)  # start clean
    times = _interleaved(
        {"mover": mover, "cp_sync": lambda: peer(True), "cp": lambda: peer(False)}, rounds
    )
    half_query: list[float] = []
    if query:
        half = f"time < '{(DAY0 + timedelta(days=files // 2)).date()}'"
        lh.tier("bench.t", to="nas", where=half, free_now=True, progress=False)
        for _ in range(5):
            half_query.append(_timed(lambda: lh.sql(sql).fetchall())[0])
    lh.close()
    m, cs, cp = (statistics.median(times[k]) for k in ("mover", "cp_sync", "cp"))
    phase = statistics.median(copy_phase)
    result = {
        "load_average_at_start": load_at_start,
        "bytes": nbytes,
        "files": len(paths),
        "rounds": rounds,
        "mover_s": m,
        "mover_MBps": nbytes / m / 1e6,
        "cp_sync_s": cs,
        "cp_sync_MBps": nbytes / cs / 1e6,
        "cp_s": cp,
        "mover_copy_phase_s": phase,
        "mover_copy_phase_MBps": nbytes / phase / 1e6,
        # everything the mover does besides copying: plan, journal, commit, ... (per round)
        "mover_outside_copy_phase_s": statistics.median(
            t - c for t, c in zip(times["mover"], copy_phase, strict=True)
        ),
        "ratio_vs_cp_sync": cs / m,
        "copy_phase_ratio_vs_cp_sync": cs / phase,
        "ratio_vs_cp": cp / m,
        "goal_ratio": 0.9,
        "mover_s_rounds": times["mover"],
        "cp_sync_s_rounds": times["cp_sync"],
        "load_average_at_end": list(os.getloadavg()),
    }
    if query:
        result |= {
            "query_all_ssd_s": ssd_query,
            "query_half_nas_s": statistics.median(half_query),
            "query_ratio_half_nas_vs_ssd": statistics.median(half_query) / ssd_query,
        }
    return result


def bench_mover_large(base: Path, total_mb: int, files: int, rounds: int) -> dict[str, Any]:
    """The same comparison at a size where fixed costs weigh less (real moves are months
    of partitions); skipped, saying so, when the disk lacks room for three copies."""
    need = 4 * total_mb * 1024 * 1024
    free = shutil.disk_usage(base).free
    if free < need:
        return {"skipped": f"needs {need} bytes free in {base}, has {free}"}
    return bench_mover(base, total_mb, files, rounds, query=False)


def _append_batch(i: int, rows: int) -> Any:
    """Append #i: ``rows`` distinct rows (own ids, random payload) on day i % 7."""
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(10_000 + i)
    start = DAY0 + timedelta(days=i % 7)
    seconds = rng.integers(0, 86_000, rows)
    return pa.table(
        {
            "id": pa.array(np.arange(rows, dtype=np.int64) + i * rows),
            "time": pa.array(
                [start + timedelta(seconds=int(s)) for s in seconds], pa.timestamp("us", tz="UTC")
            ),
            "payload": pa.array([rng.bytes(200) for _ in range(rows)], pa.binary()),
        }
    )


def _layout(lh: Any) -> dict[str, int]:
    import pyarrow.parquet as pq

    table = lh.table("bench.t")
    tasks = list(table.scan().plan_files())
    snapshot = table.current_snapshot()
    return {
        "files": len(tasks),
        "row_groups": sum(
            pq.ParquetFile(t.file.file_path.removeprefix("file://")).metadata.num_row_groups
            for t in tasks
        ),
        "bytes": sum(t.file.file_size_in_bytes for t in tasks),
        "manifests": len(snapshot.manifests(table.io)) if snapshot else 0,
        "snapshots": len(table.metadata.snapshots),
    }


def _scan_runs(lh: Any, query: str) -> tuple[float, float, float]:
    """One query: (wall seconds, engine execute ms, planning ms)."""
    started = time.perf_counter()
    result = lh.sql(query)
    result.fetchall()
    wall = time.perf_counter() - started
    timings = result.stats.timings_ms
    return wall, timings.get("execute", 0.0), timings.get("plan", 0.0)


def bench_appends(base: Path, appends: int, rows: int = 50, scan_runs: int = 31) -> dict[str, Any]:
    """``appends`` appends of ``rows`` rows each, then maintenance (compaction + expiry).

    Commit latency: median of 10 appends around #10 and of the last 10 (also a few points
    in between, to show the growth). Scan: the same query on the compacted table and on a
    table written in one go from the same rows, ``scan_runs`` times each, interleaved.
    """
    import pyarrow as pa

    load_before = os.getloadavg()
    lh = _lake(base, "appends")
    batches = [_append_batch(0, rows)]
    lh.create_table("bench.t", batches[0], partition_by=["day(time)"])
    # A second, young table: its appends #6-#15 are timed interleaved with the big
    # table's last 10, so a burst of background load hits both sides of the ratio.
    young = _lake(base, "young")
    young.create_table("bench.t", _append_batch(0, rows), partition_by=["day(time)"])
    for i in range(1, 6):
        young.append("bench.t", _append_batch(i, rows))
    latencies = [0.0]  # append #0 is the create
    cpu: list[float] = [0.0]
    young_wall: list[float] = []
    young_cpu: list[float] = []

    def timed_append(target: Any, batch: Any) -> tuple[float, float]:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        target.append("bench.t", batch)
        return time.perf_counter() - wall0, time.process_time() - cpu0

    for i in range(1, appends):
        batch = _append_batch(i, rows)
        batches.append(batch)
        wall, used = timed_append(lh, batch)
        latencies.append(wall)
        cpu.append(used)
        if i >= appends - 10:
            wall, used = timed_append(young, _append_batch(i, rows))
            young_wall.append(wall)
            young_cpu.append(used)
    young.close()

    def near(n: int) -> float:
        lo = max(1, min(n, appends) - 5)
        return statistics.median(latencies[lo : lo + 10])

    early, late = near(10), statistics.median(latencies[-10:])
    young_s = statistics.median(young_wall)
    late_cpu = statistics.median(cpu[-10:])
    checkpoints = sorted({n for n in (10, 100, 250, 500, 750, appends) if n <= appends})
    layout_appended = _layout(lh)
    query = "SELECT count(*), sum(octet_length(payload)), max(time) FROM bench.t"
    before = statistics.median(_scan_runs(lh, query)[0] for _ in range(5))
    maint_s, report = _timed(lambda: lh.maintain("bench.t", expire_older_than="0s"))
    fresh = _lake(base, "fresh")
    fresh.create_table("bench.t", pa.concat_tables(batches), partition_by=["day(time)"])
    assert lh.sql(query).fetchall() == fresh.sql(query).fetchall()  # same rows
    after_runs, fresh_runs = [], []
    for _ in range(scan_runs):  # interleaved, so background noise hits both
        after_runs.append(_scan_runs(lh, query))
        fresh_runs.append(_scan_runs(fresh, query))

    def med(runs: list[tuple[float, float, float]], k: int) -> float:
        return statistics.median(r[k] for r in runs)

    after, fresh_s = med(after_runs, 0), med(fresh_runs, 0)
    result = {
        "appends": appends,
        "rows_per_append": rows,
        # headline: last 10 appends vs appends #6-#15 of a young table, interleaved
        "commit_s_near_last": late,
        "commit_s_near_10_interleaved": young_s,
        "commit_ratio_last_vs_10": late / young_s,
        "commit_cpu_s_near_last": late_cpu,
        "commit_cpu_s_near_10_interleaved": statistics.median(young_cpu),
        "commit_cpu_ratio_last_vs_10": late_cpu / statistics.median(young_cpu),
        # the same table's own appends #6-#15 (earlier in the run: other background load)
        "commit_s_near_10": early,
        "commit_ratio_last_vs_own_10": late / early,
        "commit_s_near": {str(n): near(n) for n in checkpoints},
        "commit_s_total": sum(latencies),
        "goal_commit_ratio": 1.5,
        "layout_before_maintenance": layout_appended,
        "maintain_s": maint_s,
        "bytes_freed": report.bytes_freed,
        "layout_after_compaction": _layout(lh),
        "layout_fresh_table": _layout(fresh),
        "scan_runs": scan_runs,
        "scan_s_before_compaction": before,
        "scan_s_after_compaction": after,
        "scan_s_fresh_table": fresh_s,
        "scan_execute_ms_after_compaction": med(after_runs, 1),
        "scan_execute_ms_fresh_table": med(fresh_runs, 1),
        "scan_plan_ms_after_compaction": med(after_runs, 2),
        "scan_plan_ms_fresh_table": med(fresh_runs, 2),
        "scan_ratio_compacted_vs_fresh": after / fresh_s,
        "goal_scan_ratio": 1.1,
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
    }
    lh.close()
    fresh.close()
    return result


def _markdown(result: dict[str, Any]) -> str:
    """tiering.md: every scalar figure of each part, with the machine it ran on."""
    m = result["machine"]
    lines = [
        "# Tiering and maintenance benchmarks",
        "",
        f"{result['when']} on {m['cpus']} x {m['cpu']} ({m['platform']}), Python {m['python']},"
        f" load average {', '.join(f'{x:.2f}' for x in m['load_average'])}.",
        "Command: `flock /tmp/doctordata-bench.lock .venv/bin/python -m benchmarks.tiering"
        " [--only mover|appends]`",
    ]
    for part in ("mover", "mover_large", "appends"):
        figures = result.get(part)
        if not figures:
            continue
        lines += ["", f"## {part}", "", "| figure | value |", "|---|---|"]
        for key, value in figures.items():
            if isinstance(value, float):
                lines.append(f"| {key} | {value:.4g} |")
            elif isinstance(value, int | str):
                lines.append(f"| {key} | {value} |")
            elif isinstance(value, dict):
                text = ", ".join(
                    f"{k}: {v:.4g}" if isinstance(v, float) else f"{k}: {v}"
                    for k, v in value.items()
                )
                lines.append(f"| {key} | {text} |")
            elif isinstance(value, list):
                lines.append(f"| {key} | {', '.join(f'{v:.2f}' for v in value)} |")
    return "\n".join(lines) + "\n"


def run(
    results_dir: Path,
    *,
    total_mb: int = 256,
    large_mb: int = 2048,
    files: int = 64,
    rounds: int = 7,
    appends: int = 1000,
    only: str | None = None,
) -> dict[str, Any]:
    """Run the tiering benchmarks and write ``tiering.json`` into ``results_dir``.

    ``only="mover"`` or ``only="appends"`` runs one part and keeps the other part's
    figures from the existing ``tiering.json``. ``large_mb=0`` skips the large mover run."""
    out = results_dir / "tiering.json"
    previous = json.loads(out.read_text()) if only and out.exists() else {}
    with tempfile.TemporaryDirectory(prefix="dd-bench-tier-") as tmp:
        base = Path(tmp)
        result = {
            "machine": machine_info(),
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "mover": (
                bench_mover(base, total_mb, files, rounds)
                if only in (None, "mover")
                else previous.get("mover")
            ),
            "mover_large": (
                (
                    bench_mover_large(base, large_mb, files, max(3, rounds // 2))
                    if large_mb
                    else None
                )
                if only in (None, "mover")
                else previous.get("mover_large")
            ),
            "appends": (
                bench_appends(base, appends)
                if only in (None, "appends")
                else previous.get("appends")
            ),
        }
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / "tiering.json").write_text(json.dumps(result, indent=2) + "\n")
    (results_dir / "tiering.md").write_text(_markdown(result))
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=256)
    parser.add_argument("--large-mb", type=int, default=2048, help="0: skip the large move")
    parser.add_argument("--files", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--appends", type=int, default=1000)
    parser.add_argument("--only", choices=["mover", "appends"], help="run one part only")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args()
    run(
        args.out,
        total_mb=args.mb,
        large_mb=args.large_mb,
        files=args.files,
        rounds=args.rounds,
        appends=args.appends,
        only=args.only,
    )
