"""maintain(compact=False) over many small tables: wall time and catalog table loads.

    .venv/bin/python -m benchmarks.maintain_many_tables [--tables 20 60] [--appends 10]
        [--rounds 3] [--out DIR]

For each table count: build a lake of N tables with ``--appends`` small appends each,
then time maintain(compact=False) in ``--rounds`` fresh processes ("cold": nothing
imported or parsed yet, median) and ``--rounds`` times in one process after a first run
("warm", median). Table loads
are counted with a counter around the catalog's ``load_table``; orphan cleanup used to
load every table once per table cleaned (N x N loads). Writes maintain_many_tables.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.tiering import machine_info


def build(root: Path, tables: int, appends: int) -> None:
    import pyarrow as pa

    import doctordata as dd

    with dd.connect(root) as lh:
        for t in range(tables):
            name = f"bench.t{t:03d}"
            lh.create_table(name, pa.table({"id": pa.array([0], pa.int64())}))
            for i in range(1, appends):
                lh.append(name, pa.table({"id": pa.array([i], pa.int64())}))


def run_maintain(root: Path, rounds: int) -> dict[str, Any]:
    """Time maintain(compact=False) ``rounds`` times in this process; count loads."""
    import doctordata as dd

    with dd.connect(root) as lh:
        catalog = lh.catalog
        original = catalog.load_table
        loads = 0

        def counting(identifier: Any) -> Any:
            nonlocal loads
            loads += 1
            return original(identifier)

        catalog.load_table = counting  # type: ignore[method-assign]
        times, counts = [], []
        for _ in range(rounds):
            loads = 0
            started = time.perf_counter()
            lh.maintain(compact=False)
            times.append(time.perf_counter() - started)
            counts.append(loads)
    return {"times": times, "loads": counts}


def measure(tables: int, appends: int, rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="dd-bench-maintain-") as tmp:
        root = Path(tmp) / "lake"
        build(root, tables, appends)
        cold = [_in_subprocess(root, 1) for _ in range(rounds)]
        warm = run_maintain(root, rounds + 1)  # the first run warms caches
    return {
        "tables": tables,
        "appends": appends,
        "load_average_at_start": os.getloadavg(),
        "cold_s_median": round(statistics.median(c["times"][0] for c in cold), 3),
        "cold_s_rounds": [round(c["times"][0], 3) for c in cold],
        "cold_loads": cold[0]["loads"][0],
        "warm_s_median": round(statistics.median(warm["times"][1:]), 3),
        "warm_s_rounds": [round(t, 3) for t in warm["times"][1:]],
        "warm_loads": warm["loads"][1],
    }


def _in_subprocess(root: Path, rounds: int) -> dict[str, Any]:
    code = (
        "import json, sys; from pathlib import Path; "
        "from benchmarks.maintain_many_tables import run_maintain; "
        f"print(json.dumps(run_maintain(Path({str(root)!r}), {rounds})))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tables", type=int, nargs="+", default=[20, 60])
    parser.add_argument("--appends", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    results = {"machine": machine_info(), "runs": []}
    for n in args.tables:
        figures = measure(n, args.appends, args.rounds)
        print(json.dumps(figures), flush=True)
        results["runs"].append(figures)
    results["load_average_at_end"] = os.getloadavg()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "maintain_many_tables.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
