"""doctordata vs DuckLake on DuckLake's own ground, in one run, interleaved (issue 18).

    .venv/bin/python -m benchmarks.ducklake [--sf 1] [--repeats 3] [--quick]
    DOCTORDATA_BENCH_DUCKLAKE_QUICK=1 nox -s bench       # the small configuration

Both contestants get the same input in the same process, alternating who goes first:
  bulk load      TPC-H from the same Parquet files (written once by DuckDB's dbgen):
                 lh.append(<path>) (streamed) vs CREATE TABLE ... AS read_parquet(<path>)
  queries        the 22 TPC-H queries, median of ``repeats`` after a warm-up
  appends        APPENDS appends of 100 rows into a day-partitioned table (365 days):
                 median latency of the first and last 10, total
  1-day query    count/sum of one day of that table, median of 20
  compaction     lh.maintain(table) vs ducklake_merge_adjacent_files over those files
  on-disk bytes  data and metadata of the TPC-H tables
  sort order     a point query on a POINT_ROWS-row table, sorted (sort_by=["id"]) vs not
  peak RSS       a fresh process streaming 1x and 3x lineitem from a Parquet path
Writes ducklake.json and ducklake.md to the results directory.

    .venv/bin/python -m benchmarks.ducklake --only appends [--appends 1000] [--before DIR]

runs only the appends (after a warm-up append, as in the full run) and writes
ducklake-appends.json; ``--before DIR`` (e.g. ``git archive main | tar -x -C DIR``) also
runs that checkout's doctordata in a worker process, interleaved with the other two
(who goes first rotates), for before/after figures under the same load.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.tpch import machine_info
from doctordata.catalog.tables import PARQUET_DEFAULTS

GOALS = {
    "load": 1.0,
    "queries": 1.0,
    "append_first10": 1.0,
    "append_last10": 1.0,
    "on_disk_bytes": 1.1,
}
FULL = {"appends": 1000, "point_rows": 10_000_000, "rss_copies": (1, 3)}
QUICK = {"appends": 100, "point_rows": 1_000_000, "rss_copies": (1, 3)}


def generate(base: Path, sf: float) -> dict[str, Path]:
    """TPC-H at ``sf`` as one Parquet file per table (DuckDB's writer: neither contestant's)."""
    import duckdb

    from doctordata.engines.extensions import load_extension

    src = base / "src"
    src.mkdir(parents=True)
    con = duckdb.connect()
    load_extension(con, "tpch")
    con.execute(f"CALL dbgen(sf={sf})")
    files = {}
    for (table,) in con.execute("SHOW TABLES").fetchall():
        files[table] = src / f"{table}.parquet"
        con.execute(f"COPY {table} TO '{files[table]}' (FORMAT parquet)")
    con.close()
    return files


def queries(tables: set[str]) -> dict[int, str]:
    """The 22 queries with every TPC-H table qualified as tpch.<table>."""
    import duckdb
    import sqlglot
    from sqlglot import exp

    from doctordata.engines.extensions import load_extension

    con = duckdb.connect()
    load_extension(con, "tpch")
    out = {}
    for n, sql in con.execute("SELECT query_nr, query FROM tpch_queries()").fetchall():
        tree = sqlglot.parse_one(sql, read="duckdb")
        for t in tree.find_all(exp.Table):
            if t.name in tables and not t.db:
                t.set("db", exp.to_identifier("tpch"))
        out[int(n)] = tree.sql(dialect="duckdb")
    con.close()
    return out


class DuckLake:
    """A DuckLake catalog (DuckDB file) with its data under ``base``."""

    def __init__(self, base: Path) -> None:
        import duckdb

        from doctordata.engines.extensions import load_extension

        (base / "data").mkdir(parents=True)
        self.base = base
        self.con = duckdb.connect()
        load_extension(self.con, "ducklake")
        self.con.execute(
            f"ATTACH 'ducklake:{base / 'meta.ducklake'}' AS dl (DATA_PATH '{base / 'data'}/')"
        )
        self.con.execute("USE dl")

    def sql(self, query: str, *params: Any) -> list[Any]:
        return self.con.execute(query, list(params) if params else None).fetchall()


def _timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def _pair(a: Callable[[], Any], b: Callable[[], Any], first_a: bool) -> tuple[float, float]:
    if first_a:
        ta = _timed(a)
        return ta, _timed(b)
    tb = _timed(b)
    return _timed(a), tb


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _warm_up(
    lakes: list[tuple[Any, dict[str, str] | None]],
    dl: DuckLake,
    files: dict[str, Path],
    two_commits: bool = False,
) -> None:
    """The first write of a process imports pyiceberg's writer and opens the catalog;
    neither is part of loading a table: each contestant loads the smallest file once."""
    smallest = min(files.values(), key=lambda p: p.stat().st_size)
    for lh, props in lakes:
        lake_loader(lh, props, {"t": smallest}, two_commits, "warmup")("t", smallest)
        lh.drop_table("warmup.t", purge=True)
    dl.sql(f"CREATE TABLE warmup AS SELECT * FROM read_parquet('{smallest}')")
    dl.sql("DROP TABLE warmup")


def lake_loader(
    lh: Any,
    properties: dict[str, str] | None,
    files: dict[str, Path],
    two_commits: bool = False,
    namespace: str = "tpch",
) -> Callable[[str, Path], Any]:
    """Load one TPC-H table into lakehouse ``lh``: ``create_table(name, path)``, the table
    and its rows in one commit (catalog/first_write.py), as DuckLake's CREATE TABLE AS
    SELECT is one transaction. ``two_commits`` (how it loaded until branch load4, and what
    a checkout without that path can run): create_table with the file's schema, then
    append the path (the schemas are read here, outside the timed load)."""
    import pyarrow.parquet as pq

    schemas = {t: pq.read_schema(path) for t, path in files.items()} if two_commits else {}

    def load(t: str, path: Path) -> None:
        if two_commits:
            lh.create_table(f"{namespace}.{t}", schemas[t], properties=properties)
            lh.append(f"{namespace}.{t}", path)
        else:
            lh.create_table(f"{namespace}.{t}", path, properties=properties)

    return load


def ducklake_loader(dl: DuckLake) -> Callable[[str, Path], Any]:
    return lambda t, path: dl.sql(f"CREATE TABLE tpch.{t} AS SELECT * FROM read_parquet('{path}')")


def _cpu_ms() -> float:
    """CPU time of this process, every thread (DuckDB's included), user + system."""
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return (r.ru_utime + r.ru_stime) * 1000


def load_tables(
    loaders: dict[str, Callable[[str, Path], Any]],
    files: dict[str, Path],
    cpu: dict[str, dict[str, float]] | None = None,
) -> dict[str, dict[str, float]]:
    """Every table of ``files`` (in their order) into every contestant; who goes first
    rotates per table. {table: {contestant: ms}}; ``cpu`` gets {table: {contestant: CPU
    ms}}: both contestants run in this process, and on a busy box their CPU time is
    steadier than the wall clock."""
    names = list(loaders)
    per: dict[str, dict[str, float]] = {}
    for i, (t, path) in enumerate(files.items()):
        k = i % len(names)
        per[t], used = {}, {}
        for n in names[k:] + names[:k]:
            before = _cpu_ms()
            per[t][n] = _timed(lambda n=n, t=t, p=path: loaders[n](t, p))
            used[n] = _cpu_ms() - before
        if cpu is not None:
            cpu[t] = used
        print(
            f"load {t}: "
            + ", ".join(f"{n} {v:.0f} ms (CPU {used[n]:.0f})" for n, v in per[t].items()),
            flush=True,
        )
    return per


def bulk_load(
    lh: Any,
    dl: DuckLake,
    files: dict[str, Path],
    properties: dict[str, str] | None = None,
    two_commits: bool = False,
) -> dict[str, Any]:
    lh.create_namespace("tpch")
    dl.sql("CREATE SCHEMA tpch")
    _warm_up([(lh, None)], dl, files, two_commits)
    loaders = {
        "doctordata": lake_loader(lh, properties, files, two_commits),
        "ducklake": ducklake_loader(dl),
    }
    cpu: dict[str, dict[str, float]] = {}
    per = {
        t: {f"{n}_ms": ms for n, ms in v.items()}
        for t, v in load_tables(loaders, files, cpu).items()
    }
    for t, used in cpu.items():
        per[t].update({f"{n}_cpu_ms": ms for n, ms in used.items()})
    ours_ms = sum(v["doctordata_ms"] for v in per.values())
    theirs_ms = sum(v["ducklake_ms"] for v in per.values())
    return {
        "per_table": per,
        "doctordata_ms": ours_ms,
        "ducklake_ms": theirs_ms,
        "doctordata_cpu_ms": sum(v["doctordata_cpu_ms"] for v in per.values()),
        "ducklake_cpu_ms": sum(v["ducklake_cpu_ms"] for v in per.values()),
    }


def tpch_queries(lh: Any, dl: DuckLake, qs: dict[int, str], repeats: int) -> dict[str, Any]:
    per: dict[int, dict[str, float]] = {}
    for n, q in sorted(qs.items()):
        ours = lambda q=q: lh.sql(q).fetchall()  # noqa: E731
        theirs = lambda q=q: dl.sql(q)  # noqa: E731
        ours()
        theirs()
        times: dict[str, list[float]] = {"doctordata": [], "ducklake": []}
        for r in range(repeats):
            a, b = _pair(ours, theirs, r % 2 == 0)
            times["doctordata"].append(a)
            times["ducklake"].append(b)
        per[n] = {k: statistics.median(v) for k, v in times.items()}
        print(f"Q{n:02d} {per[n]}", flush=True)
    return {
        "per_query_ms": per,
        "doctordata_ms": sum(v["doctordata"] for v in per.values()),
        "ducklake_ms": sum(v["ducklake"] for v in per.values()),
    }


def _batch(i: int, days: int, rows: int = 100) -> Any:
    import pyarrow as pa

    day = dt.datetime(2025, 1, 1) + dt.timedelta(days=i % days)
    return pa.table(
        {
            "time": pa.array(
                [day + dt.timedelta(seconds=(i * 997 + k * 61) % 86_400) for k in range(rows)],
                pa.timestamp("us"),
            ),
            "id": pa.array(range(i * rows, (i + 1) * rows), pa.int64()),
            "v": pa.array([float(k) for k in range(rows)], pa.float64()),
        }
    )


def small_appends(lh: Any, dl: DuckLake, n: int) -> dict[str, Any]:
    import pyarrow as pa

    schema = pa.schema([("time", pa.timestamp("us")), ("id", pa.int64()), ("v", pa.float64())])
    lh.create_table("bench.events", schema, partition_by=["day(time)"])
    dl.sql("CREATE SCHEMA bench")
    dl.sql("CREATE TABLE bench.events (time TIMESTAMP, id BIGINT, v DOUBLE)")
    dl.sql("ALTER TABLE bench.events SET PARTITIONED BY (year(time), month(time), day(time))")
    ours_ms, theirs_ms = [], []
    # 365 days at 1,000 appends; fewer days in the quick run so compaction has work too.
    days = 365 if n >= 1000 else max(1, n // 4)
    for i in range(n):
        batch = _batch(i, days)
        dl.con.register("batch_in", batch)
        a, b = _pair(
            lambda b=batch: lh.append("bench.events", b),
            lambda: dl.sql("INSERT INTO bench.events SELECT * FROM batch_in"),
            i % 2 == 0,
        )
        dl.con.unregister("batch_in")
        ours_ms.append(a)
        theirs_ms.append(b)
        if i % 100 == 0:
            print(f"append {i}: doctordata {a:.1f} ms, DuckLake {b:.1f} ms", flush=True)
    med = statistics.median
    return {
        "appends": n,
        "days": days,
        "doctordata": {
            "first10_ms": med(ours_ms[:10]),
            "last10_ms": med(ours_ms[-10:]),
            "total_s": sum(ours_ms) / 1000,
        },
        "ducklake": {
            "first10_ms": med(theirs_ms[:10]),
            "last10_ms": med(theirs_ms[-10:]),
            "total_s": sum(theirs_ms) / 1000,
        },
    }


# A worker process appending with another checkout's doctordata (``--before``): reads
# "<i> <days>" lines, appends that batch, answers with the milliseconds lh.append took.
_WORKER = """
import sys, time
import pyarrow as pa
import doctordata as dd
from benchmarks.ducklake import _batch
lh = dd.connect(sys.argv[1])
schema = pa.schema([("time", pa.timestamp("us")), ("id", pa.int64()), ("v", pa.float64())])
lh.create_table("warmup.t", schema)
lh.append("warmup.t", _batch(0, 1))
lh.create_table("bench.events", schema, partition_by=["day(time)"])
print("ready", flush=True)
for line in sys.stdin:
    i, days = map(int, line.split())
    batch = _batch(i, days)
    started = time.perf_counter()
    lh.append("bench.events", batch)
    print((time.perf_counter() - started) * 1000, flush=True)
lh.close()
"""


class _Before:
    """doctordata from the checkout ``src``, appending in a worker process."""

    def __init__(self, src: Path, root: Path) -> None:
        # doctordata from ``src``; benchmarks from ``src`` if it has them, else from here
        # (so `git archive integ doctordata` is enough).
        here = str(Path(__file__).resolve().parent.parent)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join((str(src), here))}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(root)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=src,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin, self.stdout = self.proc.stdin, self.proc.stdout
        if self.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the --before worker in {src} failed to start")

    def append(self, i: int, days: int) -> float:
        self.stdin.write(f"{i} {days}\n")
        self.stdin.flush()
        return float(self.stdout.readline())

    def close(self) -> None:
        self.stdin.close()
        self.proc.wait(timeout=60)


def _summary(ms: list[float]) -> dict[str, float]:
    """Medians of the first and last 10 (the goal's figures) and, steadier on a loaded
    machine, of the first and last 100."""
    med = statistics.median
    return {
        "first10_ms": med(ms[:10]),
        "last10_ms": med(ms[-10:]),
        "first100_ms": med(ms[:100]),
        "last100_ms": med(ms[-100:]),
        "total_s": sum(ms) / 1000,
    }


def appends_only(results_dir: Path, n: int, before: Path | None) -> dict[str, Any]:
    """Only the small appends: doctordata, DuckLake and (``before``) another checkout's
    doctordata, interleaved, the order rotating per append. Writes ducklake-appends.json."""
    import pyarrow as pa

    import doctordata as dd

    load_start = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    days = 365 if n >= 1000 else max(1, n // 4)
    times: dict[str, list[float]] = {"doctordata": [], "ducklake": []}
    with tempfile.TemporaryDirectory(prefix="dd-bench-appends-") as tmp:
        base = Path(tmp)
        dl = DuckLake(base / "ducklake")
        old = _Before(before, base / "before") if before else None
        if old is not None:
            times["before"] = []
        schema = pa.schema([("time", pa.timestamp("us")), ("id", pa.int64()), ("v", pa.float64())])
        with dd.connect(base / "lake") as lh:
            lh.create_table("warmup.t", schema)
            lh.append("warmup.t", _batch(0, 1))
            dl.sql("CREATE SCHEMA warmup")
            dl.sql("CREATE TABLE warmup.t (time TIMESTAMP, id BIGINT, v DOUBLE)")
            dl.con.register("batch_in", _batch(0, 1))
            dl.sql("INSERT INTO warmup.t SELECT * FROM batch_in")
            dl.con.unregister("batch_in")
            lh.create_table("bench.events", schema, partition_by=["day(time)"])
            dl.sql("CREATE SCHEMA bench")
            dl.sql("CREATE TABLE bench.events (time TIMESTAMP, id BIGINT, v DOUBLE)")
            dl.sql(
                "ALTER TABLE bench.events SET PARTITIONED BY (year(time), month(time), day(time))"
            )
            for i in range(n):
                batch = _batch(i, days)
                dl.con.register("batch_in", batch)
                runs: list[tuple[str, Callable[[], float]]] = [
                    ("doctordata", lambda b=batch: _timed(lambda: lh.append("bench.events", b))),
                    (
                        "ducklake",
                        lambda: _timed(
                            lambda: dl.sql("INSERT INTO bench.events SELECT * FROM batch_in")
                        ),
                    ),
                ]
                if old is not None:
                    runs.append(("before", lambda i=i: old.append(i, days)))
                shift = i % len(runs)
                for name, fn in runs[shift:] + runs[:shift]:
                    times[name].append(fn())
                dl.con.unregister("batch_in")
                if i % 100 == 0:
                    print(
                        f"append {i}: "
                        + ", ".join(f"{k} {v[-1]:.1f} ms" for k, v in times.items()),
                        flush=True,
                    )
        if old is not None:
            old.close()
        dl.con.close()
    result = {
        "benchmark": "ducklake-appends",
        "appends": n,
        "days": days,
        "before_checkout": str(before) if before else None,
        **{name: _summary(ms) for name, ms in times.items()},
        "per_append_ms": times,
        "load_average_start": load_start,
        "load_average_end": ", ".join(f"{x:.2f}" for x in os.getloadavg()),
        "machine": machine_info(),
    }
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / "ducklake-appends.json").write_text(json.dumps(result, indent=1, default=str))
    print(json.dumps({k: v for k, v in result.items() if k != "per_append_ms"}, default=str))
    return result


def one_day_query(lh: Any, dl: DuckLake, runs: int = 20) -> dict[str, Any]:
    q = (
        "SELECT count(*), sum(v) FROM bench.events "
        "WHERE time >= TIMESTAMP '2025-03-01' AND time < TIMESTAMP '2025-03-02'"
    )
    assert lh.sql(q).fetchall() == dl.sql(q), "the contestants disagree"
    times: dict[str, list[float]] = {"doctordata": [], "ducklake": []}
    for r in range(runs):
        a, b = _pair(lambda: lh.sql(q).fetchall(), lambda: dl.sql(q), r % 2 == 0)
        times["doctordata"].append(a)
        times["ducklake"].append(b)
    stats = lh.sql(q).stats
    return {
        **{f"{k}_ms": statistics.median(v) for k, v in times.items()},
        "files_planned": getattr(stats, "files_planned", None),
        "files_skipped": getattr(stats, "files_skipped", None),
    }


def compaction(lh: Any, dl: DuckLake) -> dict[str, Any]:
    files_before = len(list(lh.table("bench.events").scan().plan_files()))
    dl_before = dl.sql(
        "SELECT count(*) FROM ducklake_list_files('dl', 'events', schema => 'bench')"
    )
    a, b = _pair(
        lambda: lh.maintain("bench.events"),
        lambda: dl.sql("CALL ducklake_merge_adjacent_files('dl')"),
        True,
    )
    files_after = len(list(lh.table("bench.events").scan().plan_files()))
    dl_after = dl.sql("SELECT count(*) FROM ducklake_list_files('dl', 'events', schema => 'bench')")
    return {
        "doctordata_ms": a,
        "ducklake_ms": b,
        "doctordata_files": [files_before, files_after],
        "ducklake_files": [dl_before[0][0], dl_after[0][0]],
    }


def on_disk(lh: Any, dl: DuckLake, tables: list[str]) -> dict[str, Any]:
    ours_data = ours_meta = 0
    for t in tables:
        loc = Path(lh.table(f"tpch.{t}").location().removeprefix("file://"))
        ours_data += _du(loc / "data")
        ours_meta += _du(loc / "metadata")
    theirs_data = _du(dl.base / "data" / "tpch")
    return {
        "doctordata_data": ours_data,
        "doctordata_metadata": ours_meta,
        "ducklake_data": theirs_data,
        "ducklake_catalog_file": (dl.base / "meta.ducklake").stat().st_size,
    }


def sorted_point_query(lh: Any, rows: int, runs: int = 20) -> dict[str, Any]:
    """A point query on ``rows`` rows: a table sorted by id vs the same rows unsorted."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    ids = np.random.default_rng(18).permutation(rows)
    data = pa.table({"id": pa.array(ids, pa.int64()), "x": pa.array(ids * 3, pa.int64())})
    load_ms = {}
    for name, sort_by in (("sorted", ["id"]), ("unsorted", None)):
        lh.create_table(f"bench.{name}", data.schema, sort_by=sort_by)
        load_ms[name] = _timed(lambda n=name: lh.append(f"bench.{n}", data))
    needle = int(ids[rows // 2])
    out: dict[str, Any] = {"rows": rows, "load_ms": load_ms}
    times: dict[str, list[float]] = {"sorted": [], "unsorted": []}
    q = "SELECT x FROM bench.{} WHERE id = " + str(needle)
    assert lh.sql(q.format("sorted")).fetchall() == [(needle * 3,)]
    for r in range(runs):
        a, b = _pair(
            lambda: lh.sql(q.format("sorted")).fetchall(),
            lambda: lh.sql(q.format("unsorted")).fetchall(),
            r % 2 == 0,
        )
        times["sorted"].append(a)
        times["unsorted"].append(b)
    for name in times:
        groups = hit = 0
        for task in lh.table(f"bench.{name}").scan().plan_files():
            meta = pq.ParquetFile(task.file.file_path.removeprefix("file://")).metadata
            for g in range(meta.num_row_groups):
                s = meta.row_group(g).column(0).statistics
                groups += 1
                hit += int(s.min <= needle <= s.max)
        out[name] = {
            "median_ms": statistics.median(times[name]),
            "row_groups": groups,
            "row_groups_read": hit,
        }
    return out


_RSS_CHILD = """
import sys, time
import doctordata as dd
import duckdb, pyiceberg.catalog.sql, pyiceberg.io.pyarrow  # imports are not the load
root, path, mode = sys.argv[1], sys.argv[2], sys.argv[3]
started = time.perf_counter()
if mode == "doctordata":
    import pyarrow.parquet as pq
    with dd.connect(root) as lh:
        lh.create_table("big.lineitem", pq.read_schema(path))
        lh.append("big.lineitem", path)
else:
    import duckdb
    from doctordata.engines.extensions import load_extension
    con = duckdb.connect()
    load_extension(con, "ducklake")
    con.execute(f"ATTACH 'ducklake:{root}/meta.ducklake' AS dl (DATA_PATH '{root}/data/')")
    con.execute(f"CREATE TABLE dl.lineitem AS SELECT * FROM read_parquet('{path}')")
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the (large) parent.
peak = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
print(peak // 1024, round(time.perf_counter() - started, 2))
"""


def bulk_load_rss(base: Path, lineitem: Path, copies: tuple[int, ...]) -> dict[str, Any]:
    """Peak RSS (MiB) of a fresh process loading ``k`` concatenated copies of lineitem."""
    import pyarrow.parquet as pq

    out: dict[str, Any] = {}
    src = pq.ParquetFile(lineitem)
    for k in copies:
        path = base / f"lineitem-x{k}.parquet"
        with pq.ParquetWriter(path, src.schema_arrow) as w:
            for _ in range(k):
                for g in range(src.num_row_groups):
                    w.write_table(src.read_row_group(g))
        row: dict[str, Any] = {
            "input_bytes": path.stat().st_size,
            "rows": k * src.metadata.num_rows,
        }
        for mode in ("doctordata", "ducklake"):
            root = base / f"rss-{mode}-{k}"
            root.mkdir()
            done = subprocess.run(
                [sys.executable, "-c", _RSS_CHILD, str(root), str(path), mode],
                capture_output=True,
                text=True,
                check=True,
            )
            peak, seconds = done.stdout.split()[-2:]
            row[mode] = {"peak_rss_mib": int(peak), "seconds": float(seconds)}
        print(f"rss x{k}: {row}", flush=True)
        out[str(k)] = row
        path.unlink()
    return out


LAYOUTS = {  # name: (row-group rows, zstd level or codec)
    "1048576 zstd(1)": (1_048_576, 1),
    "262144 zstd(1)": (262_144, 1),
    "122880 zstd(1)": (122_880, 1),
    "122880 zstd(3)": (122_880, 3),
    "122880 snappy": (122_880, "snappy"),
}


def layout_figures(base: Path, files: dict[str, Path], qs: dict[int, str]) -> dict[str, Any]:
    """How the table properties' Parquet layouts compare (``--layout``): bytes, write CPU
    and the 22 queries' CPU (process time of DuckDB's threads: on a shared machine the
    wall clock measures the neighbours; CPU time does not see parallelism, though)."""
    import duckdb
    import pyarrow.parquet as pq

    out: dict[str, Any] = {}
    for name, (rows, level) in LAYOUTS.items():
        target = base / "layout" / name.replace(" ", "_")
        target.mkdir(parents=True)
        codec = level if isinstance(level, str) else "zstd"
        cpu = 0.0
        for t, path in files.items():
            data = pq.read_table(path)
            started = time.process_time()
            pq.write_table(
                data,
                target / f"{t}.parquet",
                row_group_size=rows,
                compression=codec,
                compression_level=None if isinstance(level, str) else level,
            )
            cpu += time.process_time() - started
        con = duckdb.connect()
        con.execute("CREATE SCHEMA tpch")
        for t in files:
            con.execute(
                f"CREATE VIEW tpch.{t} AS SELECT * FROM read_parquet('{target / t}.parquet')"
            )
        query_cpu = 0.0
        for q in qs.values():
            con.execute(q).fetchall()
            started = time.process_time()
            con.execute(q).fetchall()
            query_cpu += time.process_time() - started
        con.close()
        out[name] = {"bytes": _du(target), "write_cpu_s": cpu, "query_cpu_s": query_cpu}
        print(f"layout {name}: {out[name]}", flush=True)
    return out


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def figures(result: dict[str, Any]) -> dict[str, float]:
    ap = result["appends"]
    disk = result["on_disk"]
    return {
        "load": _ratio(result["load"]["doctordata_ms"], result["load"]["ducklake_ms"]),
        "queries": _ratio(result["queries"]["doctordata_ms"], result["queries"]["ducklake_ms"]),
        "append_first10": _ratio(ap["doctordata"]["first10_ms"], ap["ducklake"]["first10_ms"]),
        "append_last10": _ratio(ap["doctordata"]["last10_ms"], ap["ducklake"]["last10_ms"]),
        "append_total": _ratio(ap["doctordata"]["total_s"], ap["ducklake"]["total_s"]),
        "one_day_query": _ratio(
            result["one_day"]["doctordata_ms"], result["one_day"]["ducklake_ms"]
        ),
        "compaction": _ratio(
            result["compaction"]["doctordata_ms"], result["compaction"]["ducklake_ms"]
        ),
        "on_disk_bytes": _ratio(
            disk["doctordata_data"] + disk["doctordata_metadata"],
            disk["ducklake_data"] + disk["ducklake_catalog_file"],
        ),
    }


def markdown(result: dict[str, Any]) -> str:
    m = result["machine"]
    ratios = figures(result)
    lines = [
        f"# doctordata vs DuckLake (TPC-H SF {result['sf']}, {result['config']} configuration)",
        "",
        f"{m['cpus']} CPUs, load average at the start {result['load_average_start']}, at the "
        f"end {', '.join(f'{x:.2f}' for x in m['load_average'])}; versions {m['versions']}. "
        "Both contestants ran in one process, interleaved (who goes first alternates).",
        "",
        "| figure | doctordata | DuckLake | ratio | goal | met |",
        "|---|---|---|---|---|---|",
    ]
    ap = result["appends"]
    rows = [
        (
            "load",
            "bulk load (s)",
            result["load"]["doctordata_ms"] / 1e3,
            result["load"]["ducklake_ms"] / 1e3,
        ),
        (
            "queries",
            f"22 queries, sum of medians of {result['repeats']} (s)",
            result["queries"]["doctordata_ms"] / 1e3,
            result["queries"]["ducklake_ms"] / 1e3,
        ),
        (
            "append_first10",
            "100-row append, median of first 10 (ms)",
            ap["doctordata"]["first10_ms"],
            ap["ducklake"]["first10_ms"],
        ),
        (
            "append_last10",
            f"100-row append, median of last 10 of {ap['appends']} (ms)",
            ap["doctordata"]["last10_ms"],
            ap["ducklake"]["last10_ms"],
        ),
        (
            "append_total",
            f"{ap['appends']} appends, total (s)",
            ap["doctordata"]["total_s"],
            ap["ducklake"]["total_s"],
        ),
        (
            "one_day_query",
            "1-day query on the 365-day table (ms)",
            result["one_day"]["doctordata_ms"],
            result["one_day"]["ducklake_ms"],
        ),
        (
            "compaction",
            "compaction of the appended files (ms)",
            result["compaction"]["doctordata_ms"],
            result["compaction"]["ducklake_ms"],
        ),
    ]
    disk = result["on_disk"]
    rows.append(
        (
            "on_disk_bytes",
            "TPC-H on disk, data + metadata (MB)",
            (disk["doctordata_data"] + disk["doctordata_metadata"]) / 1e6,
            (disk["ducklake_data"] + disk["ducklake_catalog_file"]) / 1e6,
        )
    )
    for key, label, ours, theirs in rows:
        goal = GOALS.get(key)
        met = "" if goal is None else ("yes" if ratios[key] <= goal else "no")
        goal_text = "" if goal is None else f"<= {goal}"
        lines.append(
            f"| {label} | {ours:.2f} | {theirs:.2f} | {ratios[key]:.2f} | {goal_text} | {met} |"
        )
    c = result["compaction"]
    lines += [
        "",
        f"Files before/after compaction: doctordata {c['doctordata_files']}, DuckLake "
        f"{c['ducklake_files']}. 1-day query: doctordata planned "
        f"{result['one_day']['files_planned']} file(s), skipped "
        f"{result['one_day']['files_skipped']}.",
        "",
        "## Sort order: point query",
        "",
        "| table | median ms | row groups | row groups whose min/max hold the key |",
        "|---|---|---|---|",
    ]
    sp = result["sorted_point"]
    for name in ("sorted", "unsorted"):
        v = sp[name]
        lines.append(
            f"| {sp['rows']:,} rows, {name} | {v['median_ms']:.1f} | {v['row_groups']} | "
            f"{v['row_groups_read']} |"
        )
    lines += [
        "",
        "## Bulk load from a Parquet path: peak RSS of a fresh process",
        "",
        "| input | rows | doctordata MiB | doctordata s | DuckLake MiB | DuckLake s |",
        "|---|---|---|---|---|---|",
    ]
    for k, v in result["rss"].items():
        lines.append(
            f"| lineitem x{k} ({v['input_bytes'] / 1e6:.0f} MB) | {v['rows']:,} | "
            f"{v['doctordata']['peak_rss_mib']} | {v['doctordata']['seconds']:.1f} | "
            f"{v['ducklake']['peak_rss_mib']} | {v['ducklake']['seconds']:.1f} |"
        )
    if result.get("layout"):
        lines += [
            "",
            "## Parquet layouts (pyarrow writer, DuckDB reader; CPU seconds)",
            "",
            "| row group rows, codec | MB | write CPU s | 22 queries CPU s |",
            "|---|---|---|---|",
        ]
        for name, v in result["layout"].items():
            lines.append(
                f"| {name} | {v['bytes'] / 1e6:.0f} | {v['write_cpu_s']:.2f} | "
                f"{v['query_cpu_s']:.2f} |"
            )
    lines += ["", "## Per query (ms)", "", "| query | doctordata | DuckLake |", "|---|---|---|"]
    for n, v in sorted(result["queries"]["per_query_ms"].items(), key=lambda kv: int(kv[0])):
        lines.append(f"| Q{int(n):02d} | {v['doctordata']:.0f} | {v['ducklake']:.0f} |")
    lines += [
        "",
        "## Load per table (ms)",
        "",
        "| table | doctordata | DuckLake |",
        "|---|---|---|",
    ]
    for t, v in result["load"]["per_table"].items():
        lines.append(f"| {t} | {v['doctordata_ms']:.0f} | {v['ducklake_ms']:.0f} |")
    return "\n".join(lines) + "\n"


MARKER = (
    "<!-- Everything above this line is generated by `python -m benchmarks.ducklake`; "
    "everything below it is hand-written and kept on re-runs. -->"
)


def write_report(path: Path, generated: str) -> None:
    """Write ``generated`` as the part of ``path`` above :data:`MARKER`, keeping what is
    below it (the hand-written sections). A file without the marker is kept whole below
    the new part and the marker, so that nothing written by hand is ever lost."""
    kept = ""
    if path.exists():
        old = path.read_text()
        kept = old.split(MARKER + "\n", 1)[1] if MARKER + "\n" in old else "\n" + old
    path.write_text(generated.rstrip("\n") + "\n\n" + MARKER + "\n" + kept)


def layout_properties(spec: str | None) -> dict[str, str] | None:
    """Table properties for ``codec[:level][@row-group-rows]`` (``zstd:1@262144``,
    ``snappy``); None: the defaults (PARQUET_DEFAULTS)."""
    if not spec:
        return None
    rest, _, rows = spec.partition("@")
    codec, _, level = rest.partition(":")
    props = {"write.parquet.compression-codec": codec}
    if level:
        props["write.parquet.compression-level"] = level
    if rows:
        props["write.parquet.row-group-limit"] = rows
    return props


def _slug(spec: str) -> str:
    return spec.replace(":", "-").replace("@", "-")


def codec_decision(
    results_dir: Path, sf: float, specs: list[str], repeats: int = 3
) -> dict[str, Any]:
    """One run, one process: TPC-H loaded into DuckLake and into one lakehouse per layout
    ``spec`` (see :func:`layout_properties`), who goes first rotating per table; then the
    22 queries on each, rotating per repeat; then the bytes on disk. Writes
    ducklake-codecs.json (the figures behind PARQUET_DEFAULTS)."""
    import contextlib

    import doctordata as dd

    load_start = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    names = ["ducklake", *specs]
    with (
        tempfile.TemporaryDirectory(prefix="dd-bench-codecs-") as tmp,
        contextlib.ExitStack() as st,
    ):
        base = Path(tmp)
        files = generate(base, sf)
        dl = DuckLake(base / "ducklake")
        lakes = {s: st.enter_context(dd.connect(base / f"lake-{_slug(s)}")) for s in specs}
        dl.sql("CREATE SCHEMA tpch")
        for lh in lakes.values():
            lh.create_namespace("tpch")
        _warm_up([(lh, layout_properties(s)) for s, lh in lakes.items()], dl, files)
        loaders = {"ducklake": ducklake_loader(dl)}
        loaders.update({s: lake_loader(lh, layout_properties(s), files) for s, lh in lakes.items()})
        load = load_tables(loaders, dict(sorted(files.items())))
        qs = queries(set(files))
        runners: dict[str, Callable[[str], Any]] = {"ducklake": dl.sql}
        for s, lh in lakes.items():
            runners[s] = lambda q, lh=lh: lh.sql(q).fetchall()
        per_query: dict[int, dict[str, float]] = {}
        for n, q in sorted(qs.items()):
            expected = sorted(map(repr, dl.sql(q)))
            for s in specs:
                got = sorted(map(repr, runners[s](q)))
                assert len(got) == len(expected), f"Q{n}: {s} returned other rows"
            times: dict[str, list[float]] = {x: [] for x in names}
            for r in range(repeats):
                k = r % len(names)
                for x in names[k:] + names[:k]:
                    times[x].append(_timed(lambda x=x, q=q: runners[x](q)))
            per_query[n] = {x: statistics.median(v) for x, v in times.items()}
            print(
                f"Q{n:02d} " + ", ".join(f"{x} {v:.0f}" for x, v in per_query[n].items()),
                flush=True,
            )
        disk = {s: on_disk(lh, dl, sorted(files)) for s, lh in lakes.items()}
        dl.con.close()
    dl_bytes = next(iter(disk.values()))
    theirs_bytes = dl_bytes["ducklake_data"] + dl_bytes["ducklake_catalog_file"]
    summary: dict[str, Any] = {}
    for x in names:
        load_ms = sum(v[x] for v in load.values())
        query_ms = sum(v[x] for v in per_query.values())
        b = (
            theirs_bytes
            if x == "ducklake"
            else disk[x]["doctordata_data"] + disk[x]["doctordata_metadata"]
        )
        summary[x] = {"load_ms": load_ms, "queries_ms": query_ms, "bytes": b}
    for x in names:
        summary[x]["ratios"] = {
            k: _ratio(summary[x][k], summary["ducklake"][k])
            for k in ("load_ms", "queries_ms", "bytes")
        }
    result = {
        "benchmark": "ducklake-codecs",
        "sf": sf,
        "repeats": repeats,
        "specs": specs,
        "defaults": PARQUET_DEFAULTS,
        "summary": summary,
        "load_per_table_ms": load,
        "queries_ms": per_query,
        "on_disk": disk,
        "load_average_start": load_start,
        "load_average_end": ", ".join(f"{x:.2f}" for x in os.getloadavg()),
        "machine": machine_info(),
    }
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / "ducklake-codecs.json").write_text(json.dumps(result, indent=2, default=str))
    for x, v in summary.items():
        print(x, {k: round(r, 3) for k, r in v["ratios"].items()}, flush=True)
    return result


def load_only(
    results_dir: Path,
    sf: float,
    rounds: int,
    codec: str | None = None,
    two_commits: bool = False,
    data: Path | None = None,
) -> dict[str, Any]:
    """Only the bulk load, ``rounds`` times, each into a fresh lakehouse and DuckLake
    (who goes first alternates per table and per round). Writes ducklake-load.json.
    ``codec``: doctordata's tables get this Parquet codec instead of the default.
    ``data``: TPC-H files generated there by an earlier run (<data>/src/*.parquet) are
    reused, else generated there (back-to-back runs skip dbgen)."""
    import doctordata as dd

    load_start = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    runs = []
    with tempfile.TemporaryDirectory(prefix="dd-bench-ducklake-") as tmp:
        base = Path(tmp)
        if data is not None and sorted((data / "src").glob("*.parquet")):
            files = {p.stem: p for p in sorted((data / "src").glob("*.parquet"))}
        else:
            files = generate(data or base, sf)
        for r in range(rounds):
            ordered = dict(sorted(files.items(), reverse=r % 2 == 1))
            dl = DuckLake(base / f"ducklake{r}")
            with dd.connect(base / f"lake{r}") as lh:
                runs.append(bulk_load(lh, dl, ordered, layout_properties(codec), two_commits))
            dl.con.close()
            print(
                f"round {r + 1}: doctordata {runs[-1]['doctordata_ms']:.0f} ms "
                f"(CPU {runs[-1]['doctordata_cpu_ms']:.0f}), DuckLake "
                f"{runs[-1]['ducklake_ms']:.0f} ms (CPU {runs[-1]['ducklake_cpu_ms']:.0f})",
                flush=True,
            )
    ours = statistics.median(x["doctordata_ms"] for x in runs)
    theirs = statistics.median(x["ducklake_ms"] for x in runs)
    ours_cpu = statistics.median(x["doctordata_cpu_ms"] for x in runs)
    theirs_cpu = statistics.median(x["ducklake_cpu_ms"] for x in runs)
    result = {
        "benchmark": "ducklake-load",
        "sf": sf,
        "codec": codec or "default (" + ", ".join(PARQUET_DEFAULTS.values()) + ")",
        "doctordata_load": "create_table, then append" if two_commits else "create_table(path)",
        "rounds": runs,
        "median_doctordata_ms": ours,
        "median_ducklake_ms": theirs,
        "ratio": _ratio(ours, theirs),
        "median_doctordata_cpu_ms": ours_cpu,
        "median_ducklake_cpu_ms": theirs_cpu,
        "cpu_ratio": _ratio(ours_cpu, theirs_cpu),
        "load_average_start": load_start,
        "load_average_end": ", ".join(f"{x:.2f}" for x in os.getloadavg()),
        "machine": machine_info(),
    }
    results_dir.mkdir(parents=True, exist_ok=True)
    name = f"ducklake-load-{_slug(codec)}.json" if codec else "ducklake-load.json"
    (results_dir / name).write_text(json.dumps(result, indent=2, default=str))
    print(json.dumps({k: v for k, v in result.items() if k != "rounds"}, default=str))
    return result


def run(
    results_dir: Path,
    sf: float | None = None,
    repeats: int = 3,
    quick: bool | None = None,
    layout: bool = False,
    **overrides: Any,
) -> dict[str, Any]:
    """``overrides``: appends=, point_rows=, rss_copies= (else the configuration's)."""
    import doctordata as dd

    if quick is None:
        quick = os.environ.get("DOCTORDATA_BENCH_DUCKLAKE_QUICK") == "1"
    config = {**(QUICK if quick else FULL), **{k: v for k, v in overrides.items() if v}}
    sf = sf if sf is not None else (0.1 if quick else 1.0)
    load_start = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="dd-bench-ducklake-") as tmp:
        base = Path(tmp)
        files = generate(base, sf)
        print(f"generated SF {sf}", flush=True)
        dl = DuckLake(base / "ducklake")
        with dd.connect(base / "lake") as lh:
            result: dict[str, Any] = {"load": bulk_load(lh, dl, files)}
            result["queries"] = tpch_queries(lh, dl, queries(set(files)), repeats)
            result["on_disk"] = on_disk(lh, dl, sorted(files))
            result["appends"] = small_appends(lh, dl, config["appends"])
            result["one_day"] = one_day_query(lh, dl)
            result["compaction"] = compaction(lh, dl)
            result["sorted_point"] = sorted_point_query(lh, config["point_rows"])
        dl.con.close()
        result["rss"] = bulk_load_rss(base, files["lineitem"], config["rss_copies"])
        if layout:
            result["layout"] = layout_figures(base, files, queries(set(files)))
    result.update(
        benchmark="ducklake",
        sf=sf,
        repeats=repeats,
        config=("quick" if quick else "full")
        + (f", {config['appends']} appends" if config["appends"] != FULL["appends"] else ""),
        load_average_start=load_start,
        machine=machine_info(),
        goals={k: f"<= {v}" for k, v in GOALS.items()},
    )
    result["ratios"] = figures(result)
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / "ducklake.json").write_text(json.dumps(result, indent=2, default=str))
    write_report(results_dir / "ducklake.md", markdown(result))
    print(markdown(result))
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="doctordata vs DuckLake")
    parser.add_argument("--sf", type=float, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="SF 0.1, 100 appends, 1M rows")
    parser.add_argument("--appends", type=int, help="small appends (default 1000; quick 100)")
    parser.add_argument("--point-rows", type=int, help="rows of the sort-order tables")
    parser.add_argument("--layout", action="store_true", help="also compare Parquet layouts")
    parser.add_argument("--results", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument(
        "--only",
        choices=["load", "codecs", "appends"],
        help="run only this part (codecs: --specs; appends: --appends, --before)",
    )
    parser.add_argument(
        "--specs",
        default="zstd:1@262144,snappy@122880,snappy@262144,lz4@122880",
        help="--only codecs: layouts codec[:level][@row-group-rows], comma-separated",
    )
    parser.add_argument("--before", type=Path, help="--only appends: also this checkout")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of --only load")
    parser.add_argument(
        "--codec", help="--only load: doctordata's layout codec[:level][@rows] (e.g. zstd:1)"
    )
    parser.add_argument(
        "--two-commits",
        action="store_true",
        help="--only load: create_table, then append (before branch load4; runs on any checkout)",
    )
    parser.add_argument(
        "--data", type=Path, help="--only load: reuse (or generate into) this TPC-H directory"
    )
    args = parser.parse_args()
    if args.only == "load":
        load_only(
            args.results, args.sf or 1.0, args.rounds, args.codec, args.two_commits, args.data
        )
        sys.exit(0)
    if args.only == "codecs":
        codec_decision(args.results, args.sf or 1.0, args.specs.split(","), args.repeats)
        sys.exit(0)
    if args.only == "appends":
        appends_only(args.results, args.appends or FULL["appends"], args.before)
        sys.exit(0)
    run(
        args.results,
        args.sf,
        args.repeats,
        args.quick,
        args.layout,
        appends=args.appends,
        point_rows=args.point_rows,
    )
