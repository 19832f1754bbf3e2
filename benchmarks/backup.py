"""Backup benchmarks: throughput vs a raw copy of the same bytes, incremental vs full.

    .venv/bin/python -m benchmarks.backup [--mb 256] [--files 100] [--repeats 5]

Goals (issue 5): a full backup reaches >= 0.9x the throughput of copying the same files
with the same durability (each file fsynced, then its directory), and an incremental
backup after a 1% change takes <= 5% of a full backup's time.

Peers, all copying the same files from the lake to a new directory on the same disk:
``raw_copy_fsync`` is the goal's peer, serial like ``cp`` (shutil.copyfile, which uses
the kernel's sendfile, then fsync, file after file; one directory fsync at the end);
``raw_copy_fsync_parallel`` does the same on as many threads as a backup copies with,
the fastest simple durable copy; ``raw_copy`` has no fsync at all.
Every timed run starts from the same state: the source in the page cache, the previous
run's output deleted and everything flushed (``sync``, outside the timing), so no
contestant pays for another one's dirty pages or freed blocks. Contestants run once per
round, the order rotating; medians. Writes ``backup.json`` and ``backup.md``.
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
    from doctordata.catalog.references import walk_table

    table = lh.table("bench.events")
    refs = walk_table(table.io, "bench.events", table.metadata_location)
    return [r.path.removeprefix("file://") for r in refs.files.values()]


def _fsync(path: str | Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_one(src: str, out: Path, fsync: bool) -> int:
    shutil.copyfile(src, out)  # sendfile: the kernel copies
    if fsync:
        _fsync(out)
    return os.path.getsize(out)


def raw_copy(paths: list[str], dest: Path, fsync: bool, workers: int = 1) -> int:
    """The peer: copy the same files with shutil; with ``fsync``, fsync each file and then
    the directory holding them (what a backup guarantees before it is complete)."""
    dest.mkdir(parents=True)
    jobs = [(src, dest / f"{i:06d}") for i, src in enumerate(paths)]
    if workers == 1:
        total = sum(_copy_one(src, out, fsync) for src, out in jobs)
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=workers) as pool:
            total = sum(pool.map(lambda job: _copy_one(*job, fsync), jobs))
    if fsync:
        _fsync(dest)
    return total


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    os.sync()  # start clean: no dirty pages or pending discards left by the run before
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def _rounds(
    contestants: dict[str, Callable[[Path], Any]], base: Path, repeats: int
) -> dict[str, list[float]]:
    """Each contestant once per round into a fresh directory (deleted afterwards), the
    order rotating, so background load and disk state hit all alike."""
    runs: dict[str, list[float]] = {name: [] for name in contestants}
    names = list(contestants)
    for r in range(repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            out = base / f"{name}-{r}"
            seconds, _ = _timed(lambda fn=contestants[name], out=out: fn(out))
            runs[name].append(seconds)
            shutil.rmtree(out)
    return runs


def run(
    results_dir: Path | str, *, mb: int = 256, files: int = 100, repeats: int = 5
) -> dict[str, Any]:
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    from doctordata.backup.backup import backup
    from doctordata.backup.store import DEFAULT_WORKERS

    load_at_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="doctordata-bench-backup-") as tmp:
        base = Path(tmp)
        lh, rows = build_lake(base, mb, files)
        paths = referenced_files(lh)
        total = sum(os.path.getsize(p) for p in paths)
        for p in paths:  # warm the page cache for every contestant alike
            Path(p).read_bytes()
        contestants: dict[str, Callable[[Path], Any]] = {
            "raw_copy_fsync": lambda out: raw_copy(paths, out, True),
            "backup_durable": lambda out: backup(lh, str(out), progress=False),
            "raw_copy_fsync_parallel": lambda out: raw_copy(paths, out, True, DEFAULT_WORKERS),
            "raw_copy": lambda out: raw_copy(paths, out, False),
            "backup_no_fsync": lambda out: backup(lh, str(out), progress=False, durable=False),
        }
        runs = _rounds(contestants, base, repeats)
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
            shutil.rmtree(target)
        lh.close()
    ratio = median["raw_copy_fsync"] / median["backup_durable"]
    result = {
        "benchmark": "backup",
        "machine": machine_info(),
        "load_average_at_start": load_at_start,
        "load_average_at_end": os.getloadavg(),
        "data": {"bytes": total, "files": len(paths), "table_files": files},
        "method": {
            "repeats": repeats,
            "backup_copy_threads": DEFAULT_WORKERS,
            "raw_copy_fsync": "serial: shutil.copyfile + fsync per file, then fsync the dir",
            "raw_copy_fsync_parallel": f"the same on {DEFAULT_WORKERS} threads",
            "between_runs": "output deleted, os.sync() before each timed run",
        },
        "seconds_median": median,
        "seconds_all": runs,
        "throughput_mb_s": {k: total / v / 1e6 for k, v in median.items()},
        "ratio_backup_vs_raw_copy_same_durability": ratio,
        "ratio_backup_vs_parallel_raw_copy_same_durability": median["raw_copy_fsync_parallel"]
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
        "throughput": ratio >= 0.9,
        "incremental": result["incremental"]["time_ratio"] <= 0.05,
    }
    (results_dir / "backup.json").write_text(json.dumps(result, indent=2))
    (results_dir / "backup.md").write_text(markdown(result))
    return result


def markdown(result: dict[str, Any]) -> str:
    """A short human summary of ``result`` (the JSON has every run)."""
    mb = result["data"]["bytes"] / 1e6
    speed = result["throughput_mb_s"]
    seconds = result["seconds_all"]
    incr = result["incremental"]
    machine = result["machine"]
    method = result["method"]
    lines = [
        "# Backup benchmark",
        "",
        f"{mb:.0f} MB in {result['data']['files']} files (one table, "
        f"{result['data']['table_files']} appends); {machine['cpu']} x{machine['cpus']}; "
        f"load average {result['load_average_at_start'][0]:.1f} at start, "
        f"{result['load_average_at_end'][0]:.1f} at end. Medians of {method['repeats']} "
        "rounds, contestants interleaved (order rotating); before each timed run the "
        "previous output is deleted and os.sync() flushes everything.",
        "",
        f"Peers: `raw_copy_fsync` is {method['raw_copy_fsync']} (the goal's peer); "
        f"`raw_copy_fsync_parallel` is {method['raw_copy_fsync_parallel']}. The backup "
        f"copies on {method['backup_copy_threads']} threads, fsyncs on a second pool, "
        "fsyncs every new directory, then writes and fsyncs its manifest.",
        "",
        "| contestant | MB/s | seconds, every round |",
        "|---|---|---|",
        *(
            f"| {name} | {value:.0f} | {', '.join(f'{x:.2f}' for x in seconds[name])} |"
            for name, value in speed.items()
        ),
        "",
        f"- backup / serial raw copy, same durability: "
        f"{result['ratio_backup_vs_raw_copy_same_durability']:.2f}x (goal >= 0.9x)",
        f"- backup / parallel raw copy, same durability: "
        f"{result['ratio_backup_vs_parallel_raw_copy_same_durability']:.2f}x",
        f"- backup without fsync / raw copy without fsync: "
        f"{result['ratio_backup_vs_raw_copy_no_fsync']:.2f}x",
        f"- incremental after +1% ({incr['incremental_copied_files']} files copied): "
        f"{incr['incremental_seconds_median']:.3f} s vs full "
        f"{incr['full_seconds_median']:.2f} s = {incr['time_ratio']:.1%} (goal <= 5%)",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=256)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args()
    out = run(args.out, mb=args.mb, files=args.files, repeats=args.repeats)
    print(
        json.dumps({k: out[k] for k in ("throughput_mb_s", "incremental", "goals_met")}, indent=2)
    )
