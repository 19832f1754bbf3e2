"""Property: a ``where`` string selects exactly the rows DuckDB's own SQL selects.

Hypothesis writes where strings (comparisons, IN / NOT IN, LIKE / NOT LIKE, BETWEEN,
IS [NOT] NULL, AND/OR/NOT nesting) over columns with NULLs, NaN, float32, timestamps with
time zones, dates, strings and booleans. The reference is plain DuckDB over the same
Arrow table. Checked against it: ``lh.read(where=)``, ``lh.delete(where)`` (the rows left
are exactly those where the predicate is FALSE or NULL) and ``lh.sql(... WHERE ...)`` on
both engines, with pruning and without (``coalesce((w), FALSE)`` selects the same rows but
is never pushed down). The data is spread over 18 files in 3 partitions, sorted, so file
statistics and partitions prune.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import doctordata as dd
from doctordata.engines import router
from doctordata.errors import DoctorDataError, WhereClauseError

TABLE = "w.t"
ROWS = 48

_N = [None, 1, 2, 3, 5, 6, 10, -1]
_S = ["a", "ab", "abc", "b", "", None, "B", "ba", "a%", "it's"]
_F = [0.1, None, math.nan, 1.5, -0.0, 0.0, 2.5, -3.25, 0.2, 100.0, math.inf]
_X = [math.nan, None, 0.1, 1.0, -2.5, 3.0, 1e-3]
_B = [True, False, None]


def _data() -> pa.Table:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    ts = [None if i % 9 == 4 else base + timedelta(hours=7 * i) for i in range(ROWS)]
    return pa.table(
        {
            "id": pa.array(range(ROWS), pa.int64()),
            "n": pa.array([_N[i % len(_N)] for i in range(ROWS)], pa.int32()),
            "s": pa.array([_S[i % len(_S)] for i in range(ROWS)], pa.string()),
            "f": pa.array([_F[i % len(_F)] for i in range(ROWS)], pa.float32()),
            "x": pa.array([_X[i % len(_X)] for i in range(ROWS)], pa.float64()),
            "ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
            "d": pa.array([date(2026, 1, 1) + timedelta(days=i // 4) for i in range(ROWS)]),
            "b": pa.array([_B[i % 3] for i in range(ROWS)], pa.bool_()),
        }
    )


DATA = _data()


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory, chdb_url: str) -> Iterator[dd.Lakehouse]:
    root = tmp_path_factory.mktemp("where") / "lake"
    with dd.connect(root, engines={"clickhouse": chdb_url}) as lh:
        lh.create_namespace("w")
        lh.create_table(TABLE, DATA.schema, partition_by=["bucket(3, id)"])
        for start in range(0, ROWS, 8):  # 6 appends x 3 partitions = 18 files
            lh.append(TABLE, DATA.slice(start, 8))
        yield lh


# -- where strings -------------------------------------------------------------------------

LITERALS: dict[str, list[str]] = {
    "id": ["0", "7", "23", "47", "1.5", "10.0", "1e1", "'12'", "-3", "3000000000"],
    "n": ["1", "2", "3", "5", "-1", "2.5", "2e0", "'3'", "0", "3000000000"],
    "s": ["'a'", "'ab'", "'b'", "''", "'B'", "'a%'", "'it''s'", "'abc'", "'zz'"],
    "f": ["0.1", "1e-1", "1.5", "0", "-0.0", "'NaN'", "'inf'", "2.5", "0.2", "100", "1e2", "-3.25"],
    "x": ["0.1", "'NaN'", "1", "1e-3", "0.001", "-2.5", "3", "'-inf'"],
    "ts": [
        "'2026-01-03 00:00:00'",
        "'2026-01-03 00:00:00+09'",
        "'2026-01-05'",
        "TIMESTAMP '2026-01-05 12:00:00'",
        "TIMESTAMPTZ '2026-01-08 04:00:00+00'",
        "DATE '2026-01-04'",
        "'2026-01-02 07:00:00+00'",
    ],
    "d": ["'2026-01-05'", "DATE '2026-01-07'", "'2026-01-01'", "DATE '2026-01-12'"],
    "b": ["TRUE", "FALSE"],
}
OPS = ["=", "<>", "<", "<=", ">", ">="]
PATTERNS = ["'a%'", "'ab%'", "'%'", "'a'", "''", "'b%'", "'B%'", "'it''%'"]
COLUMNS = list(LITERALS)


@st.composite
def atoms(draw: st.DrawFn) -> str:
    col = draw(st.sampled_from(COLUMNS))
    lit = st.sampled_from(LITERALS[col])
    form = draw(st.sampled_from(["cmp", "cmp", "flip", "in", "between", "null", "like", "cmpnull"]))
    if form == "cmp":
        return f"{col} {draw(st.sampled_from(OPS))} {draw(lit)}"
    if form == "flip":
        return f"{draw(lit)} {draw(st.sampled_from(OPS))} {col}"
    if form == "in":
        values = draw(st.lists(lit | st.just("NULL"), min_size=1, max_size=4))
        neg = draw(st.sampled_from(["", "NOT "]))
        return f"{col} {neg}IN ({', '.join(values)})"
    if form == "between":
        neg = draw(st.sampled_from(["", "NOT "]))
        return f"{col} {neg}BETWEEN {draw(lit)} AND {draw(lit | st.just('NULL'))}"
    if form == "null":
        return f"{col} IS {draw(st.sampled_from(['', 'NOT ']))}NULL"
    if form == "like":
        neg = draw(st.sampled_from(["", "NOT "]))
        return f"s {neg}LIKE {draw(st.sampled_from(PATTERNS))}"
    if col == "b":
        return draw(st.sampled_from(["b", "NOT b"]))
    return f"{col} {draw(st.sampled_from(OPS))} NULL"


wheres = st.recursive(
    atoms(),
    lambda inner: st.one_of(
        inner.map(lambda w: f"NOT ({w})"),
        st.tuples(inner, inner).map(lambda p: f"({p[0]}) AND ({p[1]})"),
        st.tuples(inner, inner).map(lambda p: f"({p[0]}) OR ({p[1]})"),
    ),
    max_leaves=4,
)


def reference(where: str) -> set[int] | None:
    """The ids plain DuckDB selects over the same rows (None: DuckDB rejects it).

    The rows are copied into a DuckDB table first: over a registered Arrow table DuckDB
    hands IN filters to pyarrow, which finds -0.0 not IN (0, 2.5) while DuckDB's own
    IN finds it (as -0.0 = 0 does).
    """
    con = duckdb.connect()
    con.register("arrow_rows", DATA)
    con.execute("CREATE TABLE src AS SELECT * FROM arrow_rows")
    try:
        return {r[0] for r in con.execute(f"SELECT id FROM src WHERE {where}").fetchall()}
    except duckdb.Error:
        return None
    finally:
        con.close()


def _ids(table: Any) -> set[int]:
    return set(table.column("id").to_pylist())


ENGINES = ("duckdb", "clickhouse")

PROPERTY = settings(
    max_examples=int(os.environ.get("DOCTORDATA_WHERE_EXAMPLES", "40")),
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)


@PROPERTY
@given(where=wheres)
def test_read_selects_what_duckdb_selects(lake: dd.Lakehouse, where: str) -> None:
    expected = reference(where)
    if expected is None:
        with pytest.raises(WhereClauseError):
            lake.read(TABLE, where=where)
        return
    assert _ids(lake.read(TABLE, where=where)) == expected, f"read(where={where!r})"


@contextmanager
def _no_pushdown() -> Iterator[None]:
    """Plan every file: the router's pushdown switched off (the plan-less baseline)."""
    saved = router._pushdown
    router._pushdown = lambda *args, **kwargs: {}  # type: ignore[assignment]
    try:
        yield
    finally:
        router._pushdown = saved  # type: ignore[assignment]


# Engine bugs, not pushdown ones (pruned == plan-less still holds for them); each is
# reported, and the check against DuckDB's reference is skipped only for these shapes:
KNOWN_ENGINE_GAPS = {
    # DuckDB 1.5.5 prunes Parquet row groups by min/max, which leave NaN out (Parquet
    # spec), so `f <> 0.1` loses a NaN row sharing a row group with 0.1 (duckdb#25521).
    "duckdb": re.compile(r"\b[fx]\b"),
    # None on ClickHouse: Float32 against 0.1, NaN, `x IN (1, NULL)` and '...+09' against a
    # DateTime64 have transforms (engines/clickhouse_transforms.py).
}


def _engine_gap(engine: str, where: str) -> bool:
    gap = KNOWN_ENGINE_GAPS.get(engine)
    return gap is not None and gap.search(where) is not None


@PROPERTY
@given(where=wheres)
def test_sql_selects_what_duckdb_selects(lake: dd.Lakehouse, where: str) -> None:
    expected = reference(where)
    query = f"SELECT id FROM {TABLE} WHERE {where}"
    for engine in ENGINES:
        try:
            pruned = _ids(lake.sql(query, engine=engine).arrow())
        except DoctorDataError:
            # A clear error is allowed (DESIGN: the same rows "or a clear error"), but not
            # from DuckDB on SQL that DuckDB itself answers.
            assert expected is None or engine != "duckdb", f"{engine} failed on WHERE {where}"
            continue
        with _no_pushdown():
            unpruned = _ids(lake.sql(query, engine=engine).arrow())
        # Pruning never changes a result, whatever the engine makes of the predicate.
        assert pruned == unpruned, f"{engine}: pruning changed WHERE {where}"
        if expected is not None and not _engine_gap(engine, where):
            assert pruned == expected, f"{engine}: WHERE {where}"


@PROPERTY
@given(where=wheres)
def test_delete_removes_exactly_the_rows_duckdb_selects(lake: dd.Lakehouse, where: str) -> None:
    expected = reference(where)
    before = lake.table(TABLE).metadata.current_snapshot_id
    if expected is None:
        with pytest.raises(WhereClauseError):
            lake.delete(TABLE, where)
        return
    try:
        lake.delete(TABLE, where)
        left = _ids(lake.read(TABLE))
    finally:
        if lake.table(TABLE).metadata.current_snapshot_id != before:
            lake.rollback(TABLE, before)
    assert left == set(range(ROWS)) - expected, f"delete({where!r})"


def test_the_data_prunes(lake: dd.Lakehouse) -> None:
    """Sanity: the layout really lets pushdown skip files (else the property is weaker)."""
    stats = lake.sql(f"SELECT id FROM {TABLE} WHERE id < 8").stats
    assert stats.files_skipped > 0, stats


def test_reference_sees_nan_and_null(tmp_path: Path) -> None:
    """Sanity: the data has the cases the property is about."""
    assert reference("x = 'NaN'") and reference("n IS NULL") and reference("f = 0.1")
