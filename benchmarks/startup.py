"""Start-up benchmark: each command as a whole process, next to DuckDB + DuckLake.

    .venv/bin/python -m benchmarks.startup --root DEMO_ROOT [--rounds 5] [--before DIR]

DEMO_ROOT is a lake made by ``doctordata demo --root DEMO_ROOT`` (3,000 HN items).
Goals (issue 16), whole process on a warm lake: `tables`, `describe`, `snapshots`,
`tiers` <= 0.3 s; `sql` of a query seen before on unchanged tables <= 1.0x, of a new
query <= 2.0x DuckDB + DuckLake's fresh-process time over the same rows; a script's
``dd.connect(root).sql(q).fetchall()`` the same; `--engine clickhouse` at most chDB's own
start-up on top.

Every contestant is a fresh ``python`` process; contestants run once per round in a
rotating order, and wall time and CPU time (user + system of the child) are recorded per
run: on a shared machine CPU time is the steadier figure. ``--before DIR`` also runs the
doctordata package found in DIR (e.g. ``git archive <commit> doctordata | tar -x -C DIR``)
for before/after figures in the same run. The DuckLake peer holds the same rows
(hackernews.items copied once into a DuckLake lake next to DEMO_ROOT). Writes
benchmarks/results/startup.json and startup.md.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

Q = "SELECT type, count(*) AS n FROM hackernews.items GROUP BY 1 ORDER BY 1"
Q_DL = "SELECT type, count(*) AS n FROM l.items GROUP BY 1 ORDER BY 1"
# A filtered new query: partition and statistics pruning on top of planning.
Q_FILTERED = "SELECT count(*) FROM hackernews.items WHERE id > 19 AND time >= '2026-11-05'"
RESULTS = Path(__file__).parent / "results"


def _ducklake_setup(root: Path) -> Path:
    """Copy hackernews.items into a DuckLake lake (once); returns its metadata file."""
    import duckdb

    import doctordata as dd
    from doctordata.engines.extensions import load_extension

    meta = root.parent / "ducklake" / "meta.ducklake"
    if meta.exists():
        return meta
    meta.parent.mkdir(parents=True, exist_ok=True)
    with dd.connect(root) as lh:
        items = lh.sql("SELECT * FROM hackernews.items").arrow()  # noqa: F841 (DuckDB reads it)
    con = duckdb.connect()
    load_extension(con, "ducklake")
    con.execute(f"ATTACH 'ducklake:{meta}' AS l (DATA_PATH '{meta.parent / 'data'}')")
    con.execute("CREATE TABLE l.items AS SELECT * FROM items")
    con.close()
    return meta


def contestants(root: Path, meta: Path, before: Path | None) -> dict[str, tuple[list[str], str]]:
    """name -> (argv, PYTHONPATH)."""
    py = sys.executable
    here = str(Path(__file__).resolve().parents[1])
    cli = [py, "-m", "doctordata", "--root", str(root)]
    script = f"import doctordata as dd; print(dd.connect({str(root)!r}).sql({Q!r}).fetchall())"
    # {n} (a comment in the query) is a new number each run: parsed and planned anew.
    script_new = script.replace(f"{Q!r}", repr(Q + " /*{n}*/"))
    out: dict[str, tuple[list[str], str]] = {}
    versions = [("", here)] + ([("before: ", str(before))] if before else [])
    for label, path in versions:
        out[f"{label}doctordata tables"] = ([*cli, "tables"], path)
        out[f"{label}doctordata describe"] = ([*cli, "describe", "hackernews.items"], path)
        out[f"{label}doctordata snapshots"] = ([*cli, "snapshots", "hackernews.items"], path)
        out[f"{label}doctordata tiers"] = ([*cli, "tiers"], path)
        out[f"{label}doctordata sql (seen)"] = ([*cli, "sql", Q], path)
        out[f"{label}doctordata sql (new)"] = ([*cli, "sql", Q + " /*{n}*/"], path)
        out[f"{label}doctordata sql (new, filtered)"] = (
            [*cli, "sql", Q_FILTERED + " /*{n}*/"],
            path,
        )
        out[f"{label}script first query (seen)"] = ([py, "-c", script], path)
        out[f"{label}script first query (new)"] = ([py, "-c", script_new], path)
        out[f"{label}doctordata sql --engine clickhouse (seen)"] = (
            [*cli, "sql", "--engine", "clickhouse", Q],
            path,
        )
    dl = (
        "import duckdb; con = duckdb.connect(); con.execute('LOAD ducklake'); "
        f"con.execute(\"ATTACH 'ducklake:{meta}' AS l (DATA_PATH '{meta.parent / 'data'}')\"); "
        f"print(con.execute({Q_DL!r}).fetchall())"
    )
    out["peer: DuckDB + DuckLake, same query"] = ([py, "-c", dl], "")
    out["peer: python -c duckdb select 1"] = (
        [py, "-c", "import duckdb; duckdb.sql('select 1').fetchall()"],
        "",
    )
    out["peer: python -c chdb select 1"] = (
        [py, "-c", "import chdb; chdb.query('select 1')"],
        "",
    )
    return out


def run_once(argv: list[str], pythonpath: str, n: int, cwd: Path) -> tuple[float, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCTORDATA")}
    env["PYTHONPATH"] = pythonpath
    # Unique across benchmark runs too: the plan cache on disk outlives a run.
    argv = [a.replace("{n}", f"{n}-{time.time_ns()}") for a in argv]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{argv} failed: {done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--before", type=Path, default=None)
    parser.add_argument("--render", action="store_true", help="Only rewrite startup.md.")
    args = parser.parse_args(argv)
    from benchmarks.backup import machine_info

    if args.render:
        saved = json.loads((RESULTS / "startup.json").read_text())
        md = _markdown(saved["machine"], saved["rounds"], saved["results"])
        (RESULTS / "startup.md").write_text(md)
        return 0

    root = args.root.resolve()
    # Byte-compile both versions first, as installing a package does: without it a run under
    # PYTHONDONTWRITEBYTECODE (or a read-only tree) compiles every doctordata module it
    # imports, ~0.1 s of CPU that no installed doctordata pays.
    for tree in [Path(__file__).resolve().parents[1], *([args.before] if args.before else [])]:
        compileall.compile_dir(tree / "doctordata", quiet=1)
    meta = _ducklake_setup(root)
    runs = contestants(root, meta, args.before)
    names = list(runs)
    # Warm: every "seen" query planned once by each version, the page cache filled.
    for name in names:
        run_once(*runs[name], 0, root.parent)
    machine = machine_info()
    walls: dict[str, list[float]] = {n: [] for n in names}
    cpus: dict[str, list[float]] = {n: [] for n in names}
    serial = 1
    for r in range(args.rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            serial += 1
            wall, cpu = run_once(*runs[name], serial, root.parent)
            walls[name].append(wall)
            cpus[name].append(cpu)
    machine["load_average_end"] = os.getloadavg()
    rows = {
        n: {
            "wall_median": statistics.median(walls[n]),
            "wall_min": min(walls[n]),
            "wall_max": max(walls[n]),
            "cpu_median": statistics.median(cpus[n]),
            "walls": walls[n],
            "cpus": cpus[n],
        }
        for n in names
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "startup.json").write_text(
        json.dumps({"machine": machine, "rounds": args.rounds, "results": rows}, indent=2)
    )
    (RESULTS / "startup.md").write_text(_markdown(machine, args.rounds, rows))
    print((RESULTS / "startup.md").read_text())
    return 0


def _markdown(machine: dict[str, Any], rounds: int, rows: dict[str, Any]) -> str:
    peer = rows["peer: DuckDB + DuckLake, same query"]
    chdb = rows["peer: python -c chdb select 1"]
    goals = {
        "doctordata tables": ("<= 0.3 s", 0.3),
        "doctordata describe": ("<= 0.3 s", 0.3),
        "doctordata snapshots": ("<= 0.3 s", 0.3),
        "doctordata tiers": ("<= 0.3 s", 0.3),
        "doctordata sql (seen)": ("<= 1.0x DuckLake", 1.0 * peer["wall_median"]),
        "script first query (seen)": ("<= 1.0x DuckLake", 1.0 * peer["wall_median"]),
        "doctordata sql (new)": ("<= 2.0x DuckLake", 2.0 * peer["wall_median"]),
        "doctordata sql (new, filtered)": ("<= 2.0x DuckLake", 2.0 * peer["wall_median"]),
        "script first query (new)": ("<= 2.0x DuckLake", 2.0 * peer["wall_median"]),
        "doctordata sql --engine clickhouse (seen)": (
            "<= DuckLake + chDB start-up",
            peer["wall_median"] + chdb["wall_median"],
        ),
    }
    lines = [
        "# Start-up benchmark (issue 16)",
        "",
        f"{machine['cpu']} x{machine['cpus']}, {machine['platform']}, Python "
        f"{machine['python']}; load average {machine['load_average'][0]:.1f} at start, "
        f"{machine['load_average_end'][0]:.1f} at end (a machine shared with other jobs: "
        "CPU seconds are the steadier figure). Demo lake (3,000 HN items); each "
        f"contestant a fresh process, {rounds} rounds, order rotating; wall median "
        "(min-max) and CPU (user+system) median. Both doctordata versions are "
        "byte-compiled first, as an installed package is.",
        "",
        "| contestant | wall s median (min-max) | CPU s | CPU / DuckLake's | goal | met (wall) |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in rows.items():
        goal, limit = goals.get(name.removeprefix("before: "), ("", None))
        if name.startswith("before: "):
            goal, limit = "", None
        met = "" if limit is None else ("yes" if r["wall_median"] <= limit else "no")
        lines.append(
            f"| {name} | {r['wall_median']:.2f} ({r['wall_min']:.2f}-{r['wall_max']:.2f}) "
            f"| {r['cpu_median']:.2f} | {r['cpu_median'] / peer['cpu_median']:.1f}x "
            f"| {goal} | {met} |"
        )
    lines += [
        "",
        "Goals are wall times on a quiet machine; under this run's load they can only be "
        "read as ratios to the peers measured alongside (CPU column).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
