"""Seeded random differential test: generated queries give DuckDB's rows on ClickHouse.

Every query of tests/engines/diffgen.py runs through ``lh.sql`` on DuckDB (the reference)
and on ClickHouse (chDB) over the same three small Iceberg tables; the rows must be equal:
NULL only equals NULL (never '' or 0), decimals exactly, floats to a relative 1e-9, order
only where the query orders every output column. A failure lists every disagreement with
its class, SQL, seed and index.

    DOCTORDATA_DIFF_SEED=7 DOCTORDATA_DIFF_COUNT=2000 pytest tests/engines/test_differential.py
    DOCTORDATA_DIFF_ONLY=12,40 ...    # only those indexes of the seed

The default (seed 15, 500 queries) is what CI runs; the seed is printed on failure.
Every query runs on plain DuckDB over the logical rows (the reference), the router's DuckDB
(fast planner) and chDB; every DOCTORDATA_DIFF_SUBSET-th (default 10; 5 was used to hunt)
also through pyiceberg's planner and the loopback ClickHouse-HTTP endpoint.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import duckdb
import pytest

import doctordata as dd
from doctordata.engines import caches, fast_scan
from doctordata.errors import DoctorDataError
from tests.engines.diffgen import (
    EXCLUDED,
    GUARANTEED,
    TABLES,
    Generator,
    compare,
    make_tables,
    where_string,
)
from tests.engines.difflayouts import build

pytestmark = pytest.mark.clickhouse

SEED = int(os.environ.get("DOCTORDATA_DIFF_SEED", "15"))
COUNT = int(os.environ.get("DOCTORDATA_DIFF_COUNT", "500"))
ONLY = [int(i) for i in os.environ.get("DOCTORDATA_DIFF_ONLY", "").split(",") if i.strip()]


# Every query runs on the router's DuckDB (the fast planner) and on chDB; every SUBSET-th
# also through pyiceberg's planner (DuckDB) and the loopback ClickHouse-HTTP endpoint.
SUBSET = int(os.environ.get("DOCTORDATA_DIFF_SUBSET", "10"))


@dataclass
class Lake:
    """One lake (tests/engines/difflayouts.py), seen by each path a query can take."""

    ref: duckdb.DuckDBPyConnection  # plain DuckDB over the logical rows: the reference
    fast: dd.Lakehouse  # catalog never opened: DuckDB plans with the fast planner
    slow: dd.Lakehouse  # catalog opened, no plan cache: DuckDB plans with pyiceberg
    http: dd.Lakehouse  # ClickHouse through the loopback HTTP endpoint

    def paths(self, index: int) -> list[tuple[str, dd.Lakehouse, str]]:
        every = [("duckdb", self.fast, "duckdb"), ("chdb", self.fast, "clickhouse")]
        if index % SUBSET:
            return every
        return [
            *every,
            ("pyiceberg planner", self.slow, "duckdb"),
            ("http", self.http, "clickhouse"),
        ]


def reference(tables: dict[str, Any]) -> duckdb.DuckDBPyConnection:
    """A plain in-memory DuckDB holding ``tables`` (no lake, no router)."""
    con = duckdb.connect()
    con.execute("CREATE SCHEMA diff")
    for name, table in tables.items():
        con.register("logical", table)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM logical")
        con.unregister("logical")
    return con


@pytest.fixture(scope="module")
def lake(
    tmp_path_factory: pytest.TempPathFactory, chdb_url: str, clickhouse_http_url: str
) -> Iterator[Lake]:
    root = tmp_path_factory.mktemp("differential") / "lake"
    with dd.connect(root, engines={"clickhouse": chdb_url}) as lh:
        logical = build(lh, make_tables())
    caches.clear_all()  # nothing the writer planned may serve a reader
    fast = dd.connect(root, engines={"clickhouse": chdb_url})
    slow = dd.connect(root, engines={"clickhouse": chdb_url, "plan_cache_size": 0})
    assert slow.catalog is not None  # opened: its DuckDB plans with pyiceberg
    http = dd.connect(root, engines={"clickhouse": clickhouse_http_url, "plan_cache_size": 0})
    try:
        yield Lake(reference(logical), fast, slow, http)
    finally:
        for lh in (fast, slow, http):
            lh.close()


@dataclass
class Disagreement:
    index: int
    kind: str
    detail: str
    sql: str

    def report(self, seed: int) -> str:
        return (
            f"[seed {seed} index {self.index}] {self.kind}: {self.detail}\n    {self.sql}\n"
            f"    reproduce: DOCTORDATA_DIFF_SEED={seed} DOCTORDATA_DIFF_ONLY={self.index}"
        )


# DuckDB raising these at run time is an answer every engine must give too (an integer
# overflow, a cast out of range); a parser or binder error is the generator's defect.
RUNTIME_ERRORS = (duckdb.ConversionException, duckdb.OutOfRangeException)


def run_one(lake: Lake, index: int, sql: str, ordered: bool) -> tuple[list[Disagreement], int]:
    """(disagreements, DuckDB's row count) for one query on every path."""
    found: list[Disagreement] = []
    try:
        want: list[tuple[Any, ...]] | None = lake.ref.execute(sql).fetchall()
    except RUNTIME_ERRORS as exc:
        want, raised = None, str(exc).splitlines()[0][:200]
    except duckdb.Error as exc:
        return [Disagreement(index, "duckdb error (generator defect)", str(exc)[:300], sql)], 0
    for path, lh, engine in lake.paths(index):
        try:
            got = lh.sql(sql, engine=engine).fetchall()
        except DoctorDataError as exc:
            if want is not None:
                found.append(Disagreement(index, f"{path} error", str(exc)[:300], sql))
            continue
        if want is None:
            found.append(Disagreement(index, f"{path} rows where DuckDB raises", raised, sql))
            continue
        diff = compare(want, got, ordered)
        if diff is not None:
            found.append(Disagreement(index, f"{path} {diff[0]}", diff[1], sql))
    return found, len(want or [])


def run_seed(lake: Lake, seed: int, indexes: list[int]) -> dict[str, Any]:
    gen = Generator(seed)
    found: list[Disagreement] = []
    features: Counter[str] = Counter()
    non_empty = 0
    for i in indexes:
        q = gen.query(i)
        features.update(q.features)
        bad, rows = run_one(lake, i, q.sql, q.ordered)
        non_empty += rows > 0
        found += bad
    return {"found": found, "features": features, "non_empty": non_empty}


def test_generated_queries_agree(lake: Lake) -> None:
    indexes = ONLY or list(range(COUNT))
    wall, cpu = time.perf_counter(), time.process_time()
    planned = fast_scan.PLANNED[0]
    out = run_seed(lake, SEED, indexes)
    fast_plans = fast_scan.PLANNED[0] - planned
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    found: list[Disagreement] = out["found"]
    by_class = Counter(d.kind for d in found)
    summary = (
        f"seed {SEED}: {len(found)} of {len(indexes)} queries disagree {dict(by_class)}; "
        f"{len(EXCLUDED)} constructs excluded by design (diffgen.EXCLUDED); "
        f"{wall:.0f} s wall, {cpu:.0f} s CPU"
    )
    print(summary)
    assert not found, summary + "\n" + "\n".join(d.report(SEED) for d in found)
    if not ONLY:
        # The run means something only if the queries return rows and cover the constructs.
        assert out["non_empty"] >= len(indexes) * 0.6, out["non_empty"]
        # The fast planner planned most scans (all but those of diff.other, whose
        # position-delete file sends them to pyiceberg).
        assert fast_plans >= len(indexes) // 2, fast_plans
        for feature in GUARANTEED:
            assert out["features"][feature] >= 5, (feature, out["features"])


def test_the_layouts_are_there(lake: Lake) -> None:
    """The premise of the layouts (tests/engines/difflayouts.py): every table shape a read
    once went wrong on is in the lake the queries run over."""
    fact = lake.slow.table("diff.fact")
    files = fact.inspect.files()
    assert len(set(files.column("spec_id").to_pylist())) >= 3  # partition evolution
    assert len(fact.metadata.schemas) >= 3  # rename + widen, then an added column
    paths = files.column("file_path").to_pylist()
    assert any("/g=null/" in p for p in paths) and any("/g=a+b%2Fc/" in p for p in paths), paths
    operations = [s.summary.operation.value for s in fact.snapshots()]
    assert "overwrite" in operations or "delete" in operations  # the copy-on-write delete
    deletes = lake.slow.table("diff.other").inspect.delete_files()
    assert deletes.num_rows == 1  # the position-delete file


WHERES = int(os.environ.get("DOCTORDATA_DIFF_WHERES", "60"))


@pytest.mark.parametrize("table", ["diff.fact", "diff.other"])
def test_where_strings_select_duckdbs_rows(lake: Lake, table: str) -> None:
    """lh.read(where=...) (pyiceberg's planner and row filter, the position deletes of
    diff.other applied) over the layouts selects the rows plain DuckDB's WHERE selects."""
    rng = random.Random(f"{SEED}:where:{table}")
    found = []
    for _ in range(WHERES):
        where = where_string(rng, table)
        want = lake.ref.execute(f"SELECT * FROM {table} WHERE {where}").fetchall()
        got = [tuple(r.values()) for r in lake.slow.read(table, where=where).to_pylist()]
        diff = compare(want, got, ordered=False)
        if diff is not None:
            found.append(f"{where}: {diff}")
    assert not found, "\n".join(found)


def test_generator_is_deterministic() -> None:
    a, b = Generator(SEED), Generator(SEED)
    assert [a.query(i).sql for i in (0, 7, 99)] == [b.query(i).sql for i in (99, 7, 0)][::-1]
    assert Generator(SEED + 1).query(0).sql != a.query(0).sql or a.query(1).sql != (
        Generator(SEED + 1).query(1).sql
    )


def test_tables_have_the_awkward_values() -> None:
    tables = make_tables()
    fact = tables["diff.fact"]
    assert set(fact.column_names) == {c.name for c in TABLES["diff.fact"]}
    for col in ("k", "g", "n", "x", "amt", "day", "ts", "s", "flag"):
        assert fact.column(col).null_count > 0, col
    assert fact.column("n").null_count > fact.num_rows / 2  # NULL-heavy
    strings = set(fact.column("s").to_pylist())
    assert "" in set(fact.column("g").to_pylist()) and any(s and "é" in s for s in strings)


@pytest.mark.parametrize(
    ("want", "got", "kind"),
    [
        ([(None,)], [("",)], "null vs value"),
        ([(None,)], [(0,)], "null vs value"),
        ([("",)], [(None,)], "null vs value"),
        ([(Decimal("1.10"),)], [(Decimal("1.11"),)], "decimal value"),
        ([(Decimal("0.30"),)], [(0.30000000000000004,)], "decimal value"),
        ([(1.0,)], [(1.001,)], "float value"),
        ([(date(2025, 1, 1),)], [("2025-01-01",)], "type"),
        ([(1,), (2,)], [(1,)], "row count"),
        ([(1,), (None,)], [(None,), (1,)], "null vs value"),  # ordered: NULL placement counts
    ],
)
def test_compare_tells_each_difference(want: Any, got: Any, kind: str) -> None:
    diff = compare(want, got, ordered=True)
    assert diff is not None and diff[0] == kind, diff


def test_compare_accepts_equal_answers() -> None:
    assert compare([(1, None), (2, "a")], [(2, "a"), (1, None)], ordered=False) is None
    assert compare([(Decimal("1.50"),)], [(Decimal("1.5"),)], ordered=True) is None
    assert compare([(0.1 + 0.2,)], [(0.3,)], ordered=True) is None
