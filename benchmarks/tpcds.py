"""TPC-DS through doctordata's router on both engines vs raw DuckDB and raw chDB, same files.

    .venv/bin/python -m benchmarks.tpcds [--sf 1] [--repeats 3]
    DOCTORDATA_BENCH_TPCDS_SF=0.1 python benchmarks/run.py tpcds

Data and the 99 queries come from DuckDB's tpcds extension (dsdgen, tpcds_queries()),
loaded into Iceberg tables (namespace ``tpcds``, unpartitioned). Per query, the median of
``repeats`` runs after one warm-up, for:
  router-duckdb   lh.sql(q)
  raw-duckdb      the same SQL over views of read_parquet(<the table's data files>)
  router-chdb     lh.sql(q, engine="clickhouse")
  raw-chdb        the ClickHouse SQL the router would send (sqlglot + the semantics
                  transforms), over views of file(<the table's data files>), with the
                  same client settings, the structure given as the router gives it
Each engine's pair runs in a fresh interpreter over the same lake, the two peers of a
pair alternating within each round. A query that fails (or passes ``--timeout`` seconds)
on a peer is recorded as an error for that peer and left out of that pair's totals.
The first run's rows of router-chdb are compared with raw DuckDB's (NULLs distinct, floats
to 1e-6 relative), so the result also says on how many queries ClickHouse agrees.
Goal (issue 15): router/raw <= 1.05 on each engine. Writes tpcds.json and tpcds.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from benchmarks.tpch import machine_info

NAMESPACE = "tpcds"
RAW_DATABASE = "tpcds_raw"
GOALS = {"router-duckdb/raw-duckdb": 1.05, "router-chdb/raw-chdb": 1.05}
PAIRS: dict[str, tuple[str, str]] = {
    "duckdb": ("router-duckdb", "raw-duckdb"),
    "chdb": ("router-chdb", "raw-chdb"),
}


# -- data --------------------------------------------------------------------------
def qualify(query: str, tables: set[str]) -> str:
    """Put ``tpcds.`` in front of every TPC-DS table name (CTE names stay as they are)."""
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(query, read="duckdb")
    for table in tree.find_all(exp.Table):
        if table.name in tables and not table.args.get("db"):
            table.set("db", exp.to_identifier(NAMESPACE))
    return tree.sql("duckdb")


def generate_and_load(root: Path, sf: float) -> dict[str, Any]:
    """dsdgen at ``sf`` into a fresh lake at ``root``; returns the spec the peers run."""
    import duckdb

    import doctordata as dd
    from doctordata.engines.extensions import load_extension

    con = duckdb.connect()
    load_extension(con, "tpcds")
    con.execute(f"CALL dsdgen(sf={sf})")
    names = [r[0] for r in con.execute("SHOW TABLES").fetchall()]
    raw = dict(con.execute("SELECT query_nr, query FROM tpcds_queries()").fetchall())
    with dd.connect(root) as lh:
        lh.create_namespace(NAMESPACE)
        for name in names:
            lh.create_table(f"{NAMESPACE}.{name}", con.table(name).to_arrow_table())
    con.close()
    return {"tables": names, "queries": {n: qualify(q, set(names)) for n, q in raw.items()}}


def data_files(lh: Any, name: str) -> list[str]:
    """Local paths of the current snapshot's data files (pyiceberg's own planning)."""
    return [t.file.file_path.removeprefix("file://") for t in lh.table(name).scan().plan_files()]


def file_glob(paths: list[str]) -> str:
    """One ClickHouse file() path naming exactly ``paths``: prefix + {rel1,rel2,...}."""
    if len(paths) == 1:
        return paths[0]
    prefix = os.path.commonpath(paths).rstrip("/") + "/"
    return prefix + "{" + ",".join(p[len(prefix) :] for p in paths) + "}"


# -- peers -------------------------------------------------------------------------
def _raw_duckdb(lh: Any, tables: list[str]) -> Any:
    import duckdb

    con = duckdb.connect()
    con.execute(f"CREATE SCHEMA {NAMESPACE}")
    for t in tables:
        files = ", ".join(f"'{f}'" for f in data_files(lh, f"{NAMESPACE}.{t}"))
        con.execute(f"CREATE VIEW {NAMESPACE}.{t} AS SELECT * FROM read_parquet([{files}])")
    return con


def _raw_chdb_client(lh: Any, tables: list[str]) -> Any:
    """Views over file() with the table's structure spelled out, as a careful user would
    write them (without it, ClickHouse infers the schema from the footers on each query)."""
    from doctordata.engines.clickhouse import clickhouse_type

    ch = lh.engine("clickhouse")
    ch.command(f"CREATE DATABASE IF NOT EXISTS {RAW_DATABASE}")
    for t in tables:
        name = f"{NAMESPACE}.{t}"
        source = file_glob(data_files(lh, name))
        fields = lh.table(name).schema().fields
        structure = ", ".join(f"`{f.name}` {clickhouse_type(f.field_type)}" for f in fields)
        ch.command(
            f"CREATE OR REPLACE VIEW {RAW_DATABASE}.{t} AS SELECT * FROM "
            f"file('{source}', 'Parquet', '{structure}')"
        )
    return ch.client()


def raw_chdb_sql(query: str) -> str:
    """The query as the router would send it to ClickHouse, over the raw views."""
    import sqlglot
    from sqlglot import exp

    from doctordata.engines.clickhouse_semantics import apply_transforms

    tree = sqlglot.parse_one(query, read="duckdb")
    for table in tree.find_all(exp.Table):
        if table.args.get("db") is not None and table.db == NAMESPACE:
            table.set("db", exp.to_identifier(RAW_DATABASE))
    return apply_transforms(tree).sql("clickhouse")


def _peers(
    lh: Any, tables: list[str], group: str, timeout: float, engine_ms: list[float]
) -> Callable[[str], Any]:
    """query -> {peer: callable returning the rows}; sets the group's peers up once.

    Each router run appends its ``execute`` phase (ms in the engine) to ``engine_ms``:
    the rest of its time is the router's own (plan cache, Arrow to Python rows).
    """

    def router(q: str, engine: str) -> list[Any]:
        result = lh.sql(q, engine=engine, timeout=timeout)
        rows = result.fetchall()
        engine_ms.append(result.stats.timings_ms.get("execute", math.nan))
        return rows

    if group == "duckdb":
        con = _raw_duckdb(lh, tables)
        return lambda q: {
            "router-duckdb": lambda: router(q, "duckdb"),
            "raw-duckdb": lambda: con.execute(q).fetchall(),
        }
    reader = _raw_chdb_client(lh, tables)
    limits = {"max_execution_time": timeout}

    def chdb(q: str) -> dict[str, Callable[[], Any]]:
        chq = raw_chdb_sql(q)
        return {
            "router-chdb": lambda: router(q, "clickhouse"),
            "raw-chdb": lambda: reader.query(chq, settings=limits).result_rows,
        }

    return chdb


def _measure(peers: dict[str, Callable[[], Any]], repeats: int) -> dict[str, Any]:
    """Warm-up (its rows kept), then ``repeats`` interleaved rounds; median ms or an error."""
    out: dict[str, Any] = {"ms": {}, "errors": {}, "rows": {}}
    alive: dict[str, Callable[[], Any]] = {}
    for name, fn in peers.items():
        try:
            out["rows"][name] = fn()
            alive[name] = fn
        except Exception as exc:
            out["errors"][name] = f"{type(exc).__name__}: {str(exc)[:300]}"
    times: dict[str, list[float]] = {n: [] for n in alive}
    names = list(alive)
    for r in range(repeats):
        order = names[r % len(names) :] + names[: r % len(names)] if names else []
        for name in order:
            started = time.perf_counter()
            alive[name]()
            times[name].append((time.perf_counter() - started) * 1000)
    out["ms"] = {n: statistics.median(t) for n, t in times.items() if t}
    return out


def group_figures(
    root: Path, spec: dict[str, Any], group: str, repeats: int, timeout: float
) -> dict[str, Any]:
    import doctordata as dd

    figures: dict[str, Any] = {}
    with dd.connect(root) as lh:
        engine_ms: list[float] = []
        peers_for = _peers(lh, spec["tables"], group, timeout, engine_ms)
        for n, q in sorted(spec["queries"].items(), key=lambda kv: int(kv[0])):
            engine_ms.clear()
            m = _measure(peers_for(q), repeats)
            if len(engine_ms) > 1:  # the timed runs (the first was the warm-up)
                m["router_engine_ms"] = statistics.median(engine_ms[1:])
            rows = m.pop("rows")
            m["rows"] = {k: [[_plain(v) for v in row] for row in r] for k, r in rows.items()}
            figures[str(n)] = m
            cells = " ".join(f"{k}={v:.0f}" for k, v in m["ms"].items())
            print(f"[{group}] Q{int(n):02d} {cells} {sorted(m['errors'])}", flush=True)
    return figures


def _plain(value: Any) -> Any:
    """A JSON-safe value that keeps NULL, Decimal and float apart."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        return {"decimal": str(value)}
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def same_answer(got: list[list[Any]], want: list[list[Any]]) -> bool:
    """Equal as multisets of rows: NULL is only NULL, numbers to 1e-6 relative."""
    if len(got) != len(want):
        return False

    def cell(v: Any) -> Any:
        if isinstance(v, dict):
            v = float(v["decimal"])
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return ("s", str(v)) if v is not None else ("null",)
        return ("n", float(v))

    def key(row: list[Any]) -> list[str]:
        return [f"{c[1]:.4g}" if c[0] == "n" else repr(c) for c in map(cell, row)]

    for a, b in zip(sorted(got, key=key), sorted(want, key=key), strict=True):
        for x, y in zip(map(cell, a), map(cell, b), strict=True):
            if x[0] != y[0]:
                return False
            if x[0] == "n" and not math.isclose(x[1], y[1], rel_tol=1e-6, abs_tol=1e-9):
                return False
            if x[0] != "n" and x != y:
                return False
    return True


# -- the run -----------------------------------------------------------------------
def tpcds_figures(root: Path, spec: dict[str, Any], repeats: int, timeout: float) -> dict[str, Any]:
    repo = str(Path(__file__).resolve().parents[1])
    spec_path = root.parent / "tpcds-spec.json"
    spec_path.write_text(json.dumps(spec))
    groups: dict[str, dict[str, Any]] = {}
    for group in PAIRS:
        out = root.parent / f"tpcds-{group}.json"
        cmd = [sys.executable, "-m", "benchmarks.tpcds", "--group", group, "--lake", str(root)]
        cmd += ["--spec", str(spec_path), "--out", str(out), "--repeats", str(repeats)]
        cmd += ["--timeout", str(timeout)]
        subprocess.run(cmd, cwd=repo, check=True)
        groups[group] = json.loads(out.read_text())
    per_query: dict[str, Any] = {}
    for n in sorted(spec["queries"], key=int):
        d, c = groups["duckdb"][str(n)], groups["chdb"][str(n)]
        want = d["rows"].get("raw-duckdb")
        got = c["rows"].get("router-chdb")
        per_query[str(n)] = {
            "ms": {**d["ms"], **c["ms"]},
            "router_engine_ms": {
                g: groups[g][str(n)]["router_engine_ms"]
                for g in PAIRS
                if "router_engine_ms" in groups[g][str(n)]
            },
            "errors": {**d["errors"], **c["errors"]},
            "clickhouse_equals_duckdb": (
                want is not None and got is not None and same_answer(got, want)
            ),
            "router_duckdb_equals_raw": (
                want is not None
                and d["rows"].get("router-duckdb") is not None
                and same_answer(d["rows"]["router-duckdb"], want)
            ),
        }
    ratios, totals, counted, outside = {}, {}, {}, {}
    for group, (router, raw) in PAIRS.items():
        both = [q for q in per_query.values() if router in q["ms"] and raw in q["ms"]]
        totals[router] = sum(q["ms"][router] for q in both)
        totals[raw] = sum(q["ms"][raw] for q in both)
        # The router's time outside the engine (median run minus median execute phase).
        outside[router] = sum(
            q["ms"][router] - q["router_engine_ms"][group]
            for q in both
            if group in q["router_engine_ms"]
        )
        counted[f"{router}/{raw}"] = len(both)
        ratios[f"{router}/{raw}"] = totals[router] / totals[raw] if totals[raw] else math.nan
    return {
        "per_query": per_query,
        "totals_ms": totals,
        "ratios": ratios,
        "counted": counted,
        "router_outside_engine_ms": outside,
    }


def _winner(ms: dict[str, float]) -> str:
    d, c = ms.get("router-duckdb"), ms.get("router-chdb")
    if d is None and c is None:
        return "neither ran"
    if c is None or (d is not None and d <= c):
        return f"DuckDB ({c / d:.2f}x)" if c is not None and d else "DuckDB (ClickHouse failed)"
    return f"ClickHouse ({d / c:.2f}x)" if d is not None else "ClickHouse (DuckDB failed)"


def _markdown(result: dict[str, Any]) -> str:
    m, f = result["machine"], result["tpcds"]
    per = f["per_query"]
    wins = {"DuckDB": 0, "ClickHouse": 0}
    for q in per.values():
        w = _winner(q["ms"]).split(" ")[0]
        if w in wins:
            wins[w] += 1
    equal = sum(q["clickhouse_equals_duckdb"] for q in per.values())
    same = sum(q.get("router_duckdb_equals_raw", False) for q in per.values())
    lines = [
        f"# TPC-DS SF {result['sf']} through the router (median of {result['repeats']})",
        "",
        f"{m['cpus']} CPUs, {m['platform']}, load average at the end "
        f"{', '.join(f'{x:.2f}' for x in m['load_average'])}; versions {m['versions']}. "
        f"Generated and loaded in {result['load_seconds']:.0f} s; the whole run took "
        f"{result['run_seconds']:.0f} s. {result.get('note', '')}".rstrip(),
        "",
        "| figure | value | queries counted | goal | met |",
        "|---|---|---|---|---|",
    ]
    for name, value in f["ratios"].items():
        goal = GOALS[name]
        lines.append(
            f"| {name} | {value:.3f} | {f['counted'][name]} | <= {goal} | "
            f"{'yes' if value <= goal else 'no'} |"
        )
    lines += [
        "",
        f"Fastest engine through the router: DuckDB on {wins['DuckDB']} queries, ClickHouse "
        f"(chDB) on {wins['ClickHouse']}. ClickHouse's rows equal DuckDB's on {equal}/"
        f"{len(per)} queries (NULLs distinct, numbers to 1e-6 relative); the router's DuckDB "
        f"rows equal raw DuckDB's on {same}/{len(per)}.",
        "",
        "| peer | total ms (queries both peers of its pair ran) |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v:.0f} |" for k, v in f["totals_ms"].items()]
    outside = f.get("router_outside_engine_ms", {})
    if outside:
        lines += [
            "",
            "The router's own time (each query's median run minus its median `execute` phase: "
            "plan-cache check, Arrow to Python rows): "
            + ", ".join(f"{k} {v:.0f} ms" for k, v in outside.items())
            + ".",
        ]
    cols = ("router-duckdb", "raw-duckdb", "router-chdb", "raw-chdb")
    lines += [
        "",
        "| query | " + " | ".join(cols) + " | router/raw duckdb | router/raw chdb | faster "
        "| CH = DuckDB |",
        "|---" * (len(cols) + 5) + "|",
    ]
    for n, q in sorted(per.items(), key=lambda kv: int(kv[0])):
        ms = q["ms"]
        cells = [f"{ms[c]:.0f}" if c in ms else "error" for c in cols]
        for router, raw in PAIRS.values():
            ok = router in ms and raw in ms and ms[raw]
            cells.append(f"{ms[router] / ms[raw]:.2f}" if ok else "")
        cells += [_winner(ms), "yes" if q["clickhouse_equals_duckdb"] else "**no**"]
        lines.append(f"| Q{int(n):02d} | " + " | ".join(cells) + " |")
    errors = [(n, p, e) for n, q in per.items() for p, e in q["errors"].items()]
    if errors:
        lines += ["", "Errors:", ""]
        lines += [f"- Q{int(n):02d} {p}: {e[:200]}" for n, p, e in errors]
    return "\n".join(lines) + "\n"


def run(
    results_dir: Path,
    sf: float | None = None,
    repeats: int | None = None,
    timeout: float = 300.0,
    note: str = "",
) -> dict[str, Any]:
    """Everything; SF and repeats default to $DOCTORDATA_BENCH_TPCDS_SF (1) and
    $DOCTORDATA_BENCH_REPEATS (3)."""
    sf = sf if sf is not None else float(os.environ.get("DOCTORDATA_BENCH_TPCDS_SF", "1"))
    if repeats is None:
        repeats = int(os.environ.get("DOCTORDATA_BENCH_REPEATS", "3"))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="dd-bench-tpcds-") as tmp:
        root = Path(tmp) / "lake"
        spec = generate_and_load(root, sf)
        load_s = time.perf_counter() - started
        print(f"generated and loaded TPC-DS SF {sf} in {load_s:.1f}s", flush=True)
        figures = tpcds_figures(root, spec, repeats, timeout)
    result = {
        "benchmark": "tpcds-router",
        "sf": sf,
        "repeats": repeats,
        "timeout_s": timeout,
        "note": note,
        "machine": machine_info(),
        "load_seconds": load_s,
        "run_seconds": time.perf_counter() - started,
        "tpcds": figures,
        "goals": {k: f"<= {v}" for k, v in GOALS.items()},
    }
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / "tpcds.json").write_text(json.dumps(result, indent=2, default=str))
    (results_dir / "tpcds.md").write_text(_markdown(result))
    print(_markdown(result))
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="TPC-DS through doctordata's router")
    parser.add_argument("--sf", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per query run")
    parser.add_argument("--note", default="", help="a sentence added to the markdown")
    parser.add_argument("--results", type=Path, default=Path(__file__).parent / "results")
    # Internal: one engine's pair over an already loaded lake (see tpcds_figures).
    parser.add_argument("--group", choices=sorted(PAIRS), help=argparse.SUPPRESS)
    parser.add_argument("--lake", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--spec", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.group:
        spec = json.loads(args.spec.read_text())
        figures = group_figures(args.lake, spec, args.group, args.repeats, args.timeout)
        args.out.write_text(json.dumps(figures))
    else:
        run(args.results, args.sf, args.repeats, args.timeout, args.note)
