"""Plan time of a 1-day query on a table of ~1,000 appends (one manifest each).

    .venv/bin/python -m benchmarks.many_manifests --root DIR [--appends 1000] [--rounds 5]
        [--before PKGDIR]

Builds (once) a lake in DIR with two tables partitioned by day(ts), one append per day:
``m.events`` with doctordata's default manifest merging (the snapshot then lists ~100
manifests: merged ones of 256 entries and the appends since the last merge) and
``m.unmerged`` with ``commit.manifest-merge.enabled=false`` (one manifest per append, as
pyiceberg's default or a foreign writer leaves it). Then it plans
``SELECT count(*) FROM T WHERE ts >= D AND ts < D + 1 day`` in fresh processes:
the fast planner (engines/fast_scan.py) and pyiceberg's (the catalog opened first), for
this checkout and, with ``--before PKGDIR`` (``git archive <commit> doctordata | tar -x -C
PKGDIR``), for the code before manifest skipping, interleaved per round so load cancels
out. Reported: the router's "plan" phase (ms; median, min, max) and the manifests read
(only the fast planner of this checkout counts them: "None" elsewhere).
Writes benchmarks/results/many_manifests.json and .md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
_DAY = dt.date(2026, 1, 1)

_PROBE = """
import json, sys, doctordata as dd
from doctordata.engines import fast_scan
lh = dd.connect(sys.argv[1], engines={"plan_cache_size": 0})
if sys.argv[2] == "pyiceberg":
    assert lh.catalog is not None  # opened: pyiceberg plans
res = lh.sql(sys.argv[3])
rows = res.fetchall()
scan = res.stats.scans[0]
assert (fast_scan.PLANNED[0] > 0) == (sys.argv[2] == "fast"), dd.__file__
print(json.dumps({"package": dd.__file__, "plan_ms": res.stats.timings_ms.get("plan"), "rows": rows[0][0],
    "files": scan.files_planned, "manifests": getattr(scan, "manifests_read", None),
    "manifests_total": getattr(scan, "manifests_total", None)}))
"""


TABLES = {"m.events": {}, "m.unmerged": {"commit.manifest-merge.enabled": "false"}}


def build(root: Path, appends: int) -> None:
    """The lake: TABLES, day(ts), ``appends`` appends of one day (2 rows) each."""
    for name, properties in TABLES.items():
        marker = root / f"built-{name}"
        if not marker.exists():
            _build_table(root, name, properties, appends)
            marker.write_text(str(appends))


def _build_table(root: Path, name: str, properties: dict[str, str], appends: int) -> None:
    import pyarrow as pa

    import doctordata as dd

    schema = pa.schema([pa.field("id", pa.int64()), pa.field("ts", pa.timestamp("us"))])

    def batch(k: int) -> pa.Table:
        day = dt.datetime.combine(_DAY + dt.timedelta(days=k), dt.time())
        return pa.table({"id": [2 * k, 2 * k + 1], "ts": [day, day]}, schema=schema)

    with dd.connect(root) as lh:
        lh.create_namespace("m")
        lh.create_table(name, batch(0), partition_by=["day(ts)"], properties=properties)
        for k in range(1, appends):
            lh.append(name, batch(k))


def probe(root: Path, pythonpath: str, planner: str, query: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": pythonpath}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, str(root), planner, query],
        env=env,
        cwd=root.parent,  # not the checkout: python -c puts the cwd first on sys.path
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--appends", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--before", type=Path, default=None)
    args = parser.parse_args(argv)
    build(args.root, args.appends)
    day = _DAY + dt.timedelta(days=args.appends // 2)
    where = f"ts >= '{day}' AND ts < '{day + dt.timedelta(days=1)}'"
    here = str(Path(__file__).resolve().parent.parent)
    versions = {"after": here}
    if args.before is not None:
        versions["before"] = str(args.before.resolve())
    runs: dict[str, list[dict[str, Any]]] = {}
    for _ in range(args.rounds):
        for table in TABLES:
            query = f"SELECT count(*) FROM {table} WHERE {where}"
            for version, path in versions.items():
                for planner in ("fast", "pyiceberg"):
                    runs.setdefault(f"{table} {version}/{planner}", []).append(
                        probe(args.root, path, planner, query)
                    )
    rows = {}
    for name, results in runs.items():
        ms = [r["plan_ms"] for r in results]
        rows[name] = {
            "plan_ms_median": round(statistics.median(ms), 1),
            "plan_ms_min": round(min(ms), 1),
            "plan_ms_max": round(max(ms), 1),
            "files": results[0]["files"],
            "rows": results[0]["rows"],
            "manifests_read": results[0]["manifests"],
            "manifests_total": results[0]["manifests_total"],
        }
    machine = {"platform": platform.platform(), "cpus": os.cpu_count()}
    out = {"machine": machine, "appends": args.appends, "where": where, "results": rows}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "many_manifests.json").write_text(json.dumps(out, indent=2) + "\n")
    lines = [
        f"# Plan time of a 1-day query on tables of {args.appends} appends",
        "",
        f"`WHERE {where}`; m.events merges manifests (doctordata's default), m.unmerged",
        "does not (one manifest per append).",
        "",
        f"Machine: {machine['platform']}, {machine['cpus']} CPUs (shared). {args.rounds} rounds,",
        "fresh process each, interleaved. `plan` = the router's plan phase.",
        "",
        "| table code/planner | plan ms median | min | max | manifests read / listed | files |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in rows.items():
        lines.append(
            f"| {name} | {r['plan_ms_median']} | {r['plan_ms_min']} | {r['plan_ms_max']} "
            f"| {r['manifests_read']} / {r['manifests_total']} | {r['files']} |"
        )
    (RESULTS / "many_manifests.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
