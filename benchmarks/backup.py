"""Backup benchmarks: throughput vs a raw copy of the same bytes, incremental vs full.

    .venv/bin/python -m benchmarks.backup [--mb 256] [--files 100]

Goals (issue 5): a full backup reaches >= 0.9x the throughput of copying the same files
with shutil (same durability: both fsync each file, as a backup must), and an
incremental backup after a 1% change takes <= 5% of a full backup's time.
Each measurement alternates backup and peer and keeps the median of ``repeats`` runs.
Writes ``backup.json`` (numbers + machine info) to the results directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def machine_info() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    with contextlib.suppress(ValueError, OSError):
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    import doctordata

    return {
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory_bytes": mem,
        "load_average": os.getloadavg(),
        "doctordata": doctordata.__version__,
    }


def _batch(rows: int, seed: int) -> Any:
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    # Random payload: Parquet cannot compress it, so file sizes are what we ask for.
    return pa.table(
        {
            "id": pa.array(np.arange(seed * rows, (seed + 1) * rows), pa.int64()),
            "value": pa.array(rng.random(rows)),
            "payload": pa.array(rng.integers(0, 2**62, rows), pa.int64()),
        }
    )


def build_lake(base: Path, total_mb: int, files: int) -> Any:
    import doctordata as dd

    rows = max(1, total_mb * 1024 * 1024 // files // 24)
    lh = dd.connect(
        base / "lake",
        tiers={"ssd": {"url": str(base / "lake" / "warehouse")}, "nas": {"url": str(base / "nas")}},
    )
    lh.create_table("bench.events", _batch(rows, 0))
    for i in range(1, files):
        lh.append("bench.events", _batch(rows, i))
    return lh, rows


def referenced_files(lh: Any) -> list[str]:
    from doctordata.catalog.file_refs import table_references

    table = lh.table("bench.events")
    refs = table_references(table.io, "bench.events", table.metadata_location)
    return [r.path.removeprefix("file://") for r in refs.files.values()]


def raw_copy(paths: list[str], dest: Path, fsync: bool) -> int:
    """The peer: copy the same files with shutil (sendfile), optionally fsyncing each."""
    total = 0
    dest.mkdir(parents=True)
    for i, src in enumerate(paths):
        out = dest / f"{i:06d}"
        shutil.copyfile(src, out)
        if fsync:
            fd = os.open(out, os.O_RDONLY)
            os.fsync(fd)
            os.close(fd)
        total += os.path.getsize(out)
    return total


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def run(
    results_dir: Path | str, *, mb: int = 256, files: int = 100, repeats: int = 3
) -> dict[str, Any]:
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    from doctordata.catalog.backup import backup

    with tempfile.TemporaryDirectory(prefix="doctordata-bench-backup-") as tmp:
        base = Path(tmp)
        lh, rows = build_lake(base, mb, files)
        paths = referenced_files(lh)
        total = sum(os.path.getsize(p) for p in paths)
        for p in paths:  # warm the page cache for every contestant alike
            Path(p).read_bytes()
        runs: dict[str, list[float]] = {
            "raw_copy_fsync": [],
            "backup_durable": [],
            "raw_copy": [],
            "backup_no_fsync": [],
        }
        for r in range(repeats):
            for name, fn in (
                ("raw_copy_fsync", lambda r=r: raw_copy(paths, base / f"raw-fsync-{r}", True)),
                (
                    "backup_durable",
                    lambda r=r: backup(lh, str(base / f"nas-d-{r}"), progress=False),
                ),
                ("raw_copy", lambda r=r: raw_copy(paths, base / f"raw-{r}", False)),
                (
                    "backup_no_fsync",
                    lambda r=r: backup(lh, str(base / f"nas-n-{r}"), progress=False, durable=False),
                ),
            ):
                seconds, _ = _timed(fn)
                runs[name].append(seconds)
        median = {k: statistics.median(v) for k, v in runs.items()}
        # Incremental: +1% of the data (one more file of the same size) after a full backup;
        # ``repeats`` rounds, each a full backup to a fresh target then an incremental one.
        full_runs: list[float] = []
        incr_runs: list[float] = []
        incr: Any = None
        for r in range(repeats):
            target = str(base / f"nas-incremental-{r}")
            full_s, full = _timed(lambda t=target: backup(lh, t, progress=False))
            lh.append("bench.events", _batch(rows, files + r))
            incr_s, incr = _timed(lambda t=target: backup(lh, t, progress=False))
            full_runs.append(full_s)
            incr_runs.append(incr_s)
        lh.close()
    result = {
        "benchmark": "backup",
        "machine": machine_info(),
        "data": {"bytes": total, "files": len(paths), "table_files": files},
        "seconds_median": median,
        "seconds_all": runs,
        "throughput_mb_s": {k: total / v / 1e6 for k, v in median.items()},
        "ratio_backup_vs_raw_copy_same_durability": median["raw_copy_fsync"]
        / median["backup_durable"],
        "ratio_backup_vs_raw_copy_no_fsync": median["raw_copy"] / median["backup_no_fsync"],
        "incremental": {
            "full_seconds_median": statistics.median(full_runs),
            "incremental_seconds_median": statistics.median(incr_runs),
            "full_seconds_all": full_runs,
            "incremental_seconds_all": incr_runs,
            "full_copied_bytes": full.copied_bytes,
            "incremental_copied_bytes": incr.copied_bytes,
            "incremental_copied_files": incr.copied_files,
            "time_ratio": statistics.median(incr_runs) / statistics.median(full_runs),
        },
        "goals": {"throughput_ratio_min": 0.9, "incremental_time_ratio_max": 0.05},
    }
    result["goals_met"] = {
        "throughput": result["ratio_backup_vs_raw_copy_same_durability"] >= 0.9,
        "incremental": result["incremental"]["time_ratio"] <= 0.05,
    }
    (results_dir / "backup.json").write_text(json.dumps(result, indent=2))
    (results_dir / "backup.md").write_text(markdown(result))
    return result


def markdown(result: dict[str, Any]) -> str:
    """A short human summary of ``result`` (the JSON has every run)."""
    mb = result["data"]["bytes"] / 1e6
    speed = result["throughput_mb_s"]
    incr = result["incremental"]
    machine = result["machine"]
    lines = [
        "# Backup benchmark",
        "",
        f"{mb:.0f} MB in {result['data']['files']} files (one table, "
        f"{result['data']['table_files']} appends); {machine['cpu']} x{machine['cpus']}, "
        f"load average at start {machine['load_average'][0]:.1f}. Medians.",
        "",
        "| contestant | MB/s |",
        "|---|---|",
        *(f"| {name} | {value:.0f} |" for name, value in speed.items()),
        "",
        f"- backup / raw copy, both fsync each file: "
        f"{result['ratio_backup_vs_raw_copy_same_durability']:.2f}x (goal >= 0.9x)",
        f"- backup without fsync / raw copy without fsync: "
        f"{result['ratio_backup_vs_raw_copy_no_fsync']:.2f}x",
        f"- incremental after +1% ({incr['incremental_copied_files']} files copied): "
        f"{incr['incremental_seconds_median']:.2f} s vs full {incr['full_seconds_median']:.2f} s"
        f" = {incr['time_ratio']:.1%} (goal <= 5%)",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=256)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args()
    out = run(args.out, mb=args.mb, files=args.files, repeats=args.repeats)
    print(
        json.dumps({k: out[k] for k in ("throughput_mb_s", "incremental", "goals_met")}, indent=2)
    )
