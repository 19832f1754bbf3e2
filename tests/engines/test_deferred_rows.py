"""A DuckDB result read as Python rows (no pyarrow) equals the Arrow path, for every type.

engines/deferred.py reads a finished DuckDB result with ``fetchall()`` when every column's
type is allow-listed, and through Arrow otherwise. These tests compare, column by column
(type and repr, NaN and NULL included), what ``Result.fetchall()`` returns with
``python_rows`` of the Arrow table DuckDBEngine.execute() returns for the same query, and
the Arrow table rebuilt from Python rows with that Arrow table (schema and metadata).
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pyarrow as pa
import pytest

import doctordata as dd
from doctordata.engines.deferred import DeferredRows
from doctordata.engines.result import Result, python_rows

# One expression per type; the query has a row of values, a row of NULLs and a NaN row.
EXPRESSIONS = [
    "1::TINYINT",
    "2::SMALLINT",
    "3::INTEGER",
    "4::BIGINT",
    "170141183460469231731687303715884105727::HUGEINT",
    "-5::HUGEINT",
    "6::UTINYINT",
    "7::USMALLINT",
    "8::UINTEGER",
    "18446744073709551615::UBIGINT",
    "9::UHUGEINT",
    "1.5::FLOAT",
    "'nan'::FLOAT",
    "'nan'::DOUBLE",
    "'inf'::DOUBLE",
    "'-0.0'::DOUBLE",
    "12.345::DECIMAL(10,3)",
    "1234567890123456789012345.123::DECIMAL(38,3)",
    "-1.5::DECIMAL(4,1)",
    "true",
    "'héllo'",
    "'a'::VARCHAR COLLATE nocase",
    "'\\x00\\xff'::BLOB",
    "DATE '2026-01-02'",
    "TIME '12:34:56.789'",
    "TIMESTAMP '2026-01-02 03:04:05.123456'",
    "TIMESTAMP_MS '2026-01-02 03:04:05.123'",
    "TIMESTAMP_S '2026-01-02 03:04:05'",
    "TIMESTAMPTZ '2026-01-02 03:04:05.123456+02'",
    "TIMESTAMP_NS '2026-01-02 03:04:05.123456789'",
    "INTERVAL '1 month 2 days 3 hours'",
    "'f47ac10b-58cc-4372-a567-0e02b2c3d479'::UUID",
    "['f47ac10b-58cc-4372-a567-0e02b2c3d479'::UUID, NULL]",
    "[[1::HUGEINT], NULL]",
    "[1, NULL, 3]",
    "['a', NULL]",
    "[1.5, 'nan'::DOUBLE]",
    "[]::INTEGER[]",
    "[[1, 2], [3]]",
    "[INTERVAL 1 day]",
    "{'x': 1, 'y': 'z', 'n': NULL}",
    "{'h': 5::HUGEINT}",
    "{'u': 'f47ac10b-58cc-4372-a567-0e02b2c3d479'::UUID}",
    "[{'a': 1}]",
    "MAP {'k': 1, 'j': NULL}",
    "MAP {1: [2.5]}",
    "[1, 2]::INTEGER[2]",
    "'ok'::ENUM('ok', 'no')",
    "'{\"a\": 1}'::JSON",
]


def _query() -> str:
    cols = ", ".join(f'c{i} AS "col {i}"' for i in range(len(EXPRESSIONS)))
    values = ", ".join(f"{e} AS c{i}" for i, e in enumerate(EXPRESSIONS))
    nulls = ", ".join(f"NULL AS c{i}" for i in range(len(EXPRESSIONS)))
    return (
        f"SELECT {cols} FROM (SELECT 0 AS k, {values} UNION ALL BY NAME "
        f"SELECT 1 AS k, {nulls}) ORDER BY k"
    )


def same(a: Any, b: Any) -> bool:
    """Equal, of the same type, with the same repr (NaN equals NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return bool(a == b) and repr(a) == repr(b)


def assert_same_rows(got: list[tuple[Any, ...]], want: list[tuple[Any, ...]]) -> None:
    assert len(got) == len(want)
    for r, (g, w) in enumerate(zip(got, want, strict=True)):
        bad = [(i, x, y) for i, (x, y) in enumerate(zip(g, w, strict=True)) if not same(x, y)]
        assert not bad, f"row {r}: (column, rows path, Arrow path) {bad}"


def arrow_values(table: pa.Table) -> list[tuple[Any, ...]]:
    """Arrow's own Python values (Table.equals fails on NaN)."""
    return list(zip(*(c.to_pylist() for c in table.columns), strict=True))


@pytest.fixture
def duck(lh: Any) -> Any:
    return lh.engine("duckdb")


def _result(duck: Any, sql: str) -> Result:
    from doctordata.engines.result import QueryStats

    return Result(duck.execute_result(sql), QueryStats(engine="duckdb"))


def test_every_type_reads_the_same_as_through_arrow(duck: Any) -> None:
    sql = _query()
    want = python_rows(duck.execute(sql))
    # Each column alone (so an allow-listed column takes the fetchall path) and all at once.
    assert_same_rows(_result(duck, sql).fetchall(), want)
    for i in range(len(EXPRESSIONS)):
        one = f'SELECT "col {i}" FROM ({sql})'
        assert_same_rows(_result(duck, one).fetchall(), python_rows(duck.execute(one)))


def test_the_allow_list_is_what_is_checked(duck: Any) -> None:
    """The columns this suite proves equal are the ones that skip Arrow (so the test above
    exercises the fetchall path), and the ones known to differ do not."""
    sql = _query()
    python = [
        _result(duck, f'SELECT "col {i}" FROM ({sql})')._deferred.python  # type: ignore[union-attr]
        for i in range(len(EXPRESSIONS))
    ]
    by_expr = dict(zip(EXPRESSIONS, python, strict=True))
    assert by_expr["4::BIGINT"] and by_expr["'héllo'"] and by_expr["12.345::DECIMAL(10,3)"]
    assert by_expr["-5::HUGEINT"] and by_expr["'f47ac10b-58cc-4372-a567-0e02b2c3d479'::UUID"]
    assert by_expr["MAP {'k': 1, 'j': NULL}"] and by_expr["{'x': 1, 'y': 'z', 'n': NULL}"]
    for differs in (
        "TIMESTAMPTZ '2026-01-02 03:04:05.123456+02'",  # pytz vs zoneinfo tzinfo
        "TIMESTAMP_NS '2026-01-02 03:04:05.123456789'",  # datetime vs pandas Timestamp
        "{'h': 5::HUGEINT}",  # int vs Decimal inside a struct
        "[1, 2]::INTEGER[2]",  # tuple vs list
        "INTERVAL '1 month 2 days 3 hours'",  # no way back to Arrow's month
    ):
        assert not by_expr[differs], differs
    assert sum(python) > len(python) // 2


@pytest.mark.parametrize("first", ["rows", "arrow"])
def test_arrow_is_the_same_whichever_is_read_first(duck: Any, first: str) -> None:
    sql = _query()
    want_table = duck.execute(sql)
    for i in range(len(EXPRESSIONS)):
        one = f'SELECT "col {i}" FROM ({sql})'
        result = _result(duck, one)
        if first == "rows":
            result.fetchall()
        got = result.arrow()
        want = want_table.select([i])
        assert got.schema.equals(want.schema, check_metadata=True), EXPRESSIONS[i]
        assert_same_rows(arrow_values(got), arrow_values(want))
        assert_same_rows(result.fetchall(), python_rows(want))


def test_row_count_columns_and_empty_results(duck: Any) -> None:
    result = _result(duck, "SELECT i AS a, i::VARCHAR AS a FROM range(5) t(i) ORDER BY i")
    assert result.columns == ["a", "a"]
    assert len(result) == 5 and result.stats.rows == 5
    assert result.fetchall() == [(i, str(i)) for i in range(5)]
    assert result.arrow().column_names == ["a", "a"]
    empty = _result(duck, "SELECT 1::BIGINT AS x WHERE false")
    assert empty.fetchall() == [] and empty.stats.rows == 0
    assert empty.arrow().schema == pa.schema([pa.field("x", pa.int64())])


def test_a_result_stays_readable_after_close(tmp_path: Path) -> None:
    with dd.connect(tmp_path / "lake") as lh:
        rows = lh.sql("SELECT i FROM range(3) t(i) ORDER BY i")
        table = lh.sql("SELECT i FROM range(3) t(i) ORDER BY i")
    assert rows.fetchall() == [(0,), (1,), (2,)]
    assert table.arrow().column("i").to_pylist() == [0, 1, 2]


def _all_types_table(lh: Any) -> None:
    """t.all_types: the types an Iceberg table can hold, with NULLs and NaN."""
    data = pa.table(
        {
            "id": pa.array([1, 2, 3], pa.int64()),
            "i": pa.array([1, None, -3], pa.int32()),
            "f": pa.array([1.5, float("nan"), None], pa.float32()),
            "d": pa.array([0.1, float("nan"), None], pa.float64()),
            "dec": pa.array([Decimal("1.25"), None, Decimal("-2.50")], pa.decimal128(10, 2)),
            "s": pa.array(["a", None, "ü"]),
            "b": pa.array([b"\x00\xff", None, b""], pa.binary()),
            "ok": pa.array([True, None, False]),
            "day": pa.array([date(2026, 1, 1), None, date(1970, 1, 1)], pa.date32()),
            "ts": pa.array(
                [datetime(2026, 1, 1, 12), None, datetime(1969, 12, 31)], pa.timestamp("us")
            ),
            "tstz": pa.array(
                [datetime(2026, 1, 1, 12, tzinfo=UTC), None, datetime(2000, 1, 1, tzinfo=UTC)],
                pa.timestamp("us", tz="UTC"),
            ),
            "tags": pa.array([["x", None], None, []], pa.list_(pa.string())),
            "pt": pa.array(
                [{"x": 1, "y": "a"}, None, {"x": None, "y": None}],
                pa.struct([("x", pa.int64()), ("y", pa.string())]),
            ),
            "m": pa.array([[("k", 1)], None, []], pa.map_(pa.string(), pa.int64())),
        }
    )
    lh.create_namespace("t")
    lh.create_table("t.all_types", data)


def test_an_iceberg_table_of_every_type_reads_the_same(lh: Any) -> None:
    """Through lh.sql over Iceberg data: the types a table can hold, NULLs and NaN."""
    _all_types_table(lh)
    queries = [
        "SELECT * FROM t.all_types ORDER BY id",
        "SELECT * EXCLUDE (tstz) FROM t.all_types ORDER BY id",
        "SELECT sum(id) AS h, gen_random_uuid() IS NOT NULL AS u, "
        "'f47ac10b-58cc-4372-a567-0e02b2c3d479'::UUID AS uu FROM t.all_types",
    ]
    duck = lh.engine("duckdb")
    for q in queries:
        result = lh.sql(q)
        assert isinstance(result._deferred, DeferredRows)
        want = duck.execute(result.stats.translated_sql)
        assert_same_rows(result.fetchall(), python_rows(want))
        assert result.arrow().schema.equals(want.schema, check_metadata=True)
        assert_same_rows(arrow_values(result.arrow()), arrow_values(want))
        assert result.stats.rows == want.num_rows
    uuid_row = lh.sql(queries[2]).fetchall()[0]
    assert isinstance(uuid_row[0], int) and uuid_row[2] == UUID(
        "f47ac10b-58cc-4372-a567-0e02b2c3d479"
    )


# The CLI preview (commands/output.py) of a streaming result reads Python rows where
# every column's type prints the same; the text must be the Arrow path's, byte for byte.
PREVIEW_QUERIES = [
    "SELECT * FROM t.all_types ORDER BY id",  # tstz...: the Arrow path, the query run once
    "SELECT * EXCLUDE (tstz, tags, pt, m) FROM t.all_types ORDER BY id",
    "SELECT sum(id) AS h, 170141183460469231731687303715884105727::HUGEINT AS big, "
    "'f47ac10b-58cc-4372-a567-0e02b2c3d479'::UUID AS u, 0.000::DECIMAL(10,3) AS z, "
    "1.1::FLOAT AS f, TIME '01:02:03.5' AS t, TIMESTAMP_S '2026-01-01 00:00:01' AS s, "
    "TIMESTAMP_MS '2026-01-01 00:00:01.5' AS ms, 7::UBIGINT AS ub, -1::TINYINT AS ti "
    "FROM t.all_types",
    "SELECT i, i % 7 = 0 AS seven, i::VARCHAR AS s FROM range(300000) r(i) ORDER BY i",
    "SELECT 1 AS x WHERE false",
]


@pytest.mark.parametrize("max_rows", [0, 3, 40])
def test_the_cli_preview_of_python_rows_is_the_arrow_preview(lh: Any, max_rows: int) -> None:
    import io

    from doctordata.commands.output import write_preview

    _all_types_table(lh)
    for q in PREVIEW_QUERIES:
        if max_rows == 0 and "range(300000)" in q:
            continue  # every row of 300,000 printed twice: slow, and 3 and 40 cover it
        python = lh.sql(q, stream=True).preview_rows() is not None
        assert python == (q != PREVIEW_QUERIES[0]), q  # which path is tested
        streamed = lh.sql(q, stream=True)
        got = io.StringIO()
        write_preview(streamed, max_rows, got, "footer")
        want = io.StringIO()
        write_preview(lh.sql(q), max_rows, want, "footer")  # read as Arrow
        assert got.getvalue() == want.getvalue(), q
        assert streamed.stats.rows == len(lh.sql(q))


@pytest.mark.clickhouse
def test_the_clickhouse_preview_reads_arrow_as_before(lh: Any) -> None:
    import io

    from doctordata.commands.output import write_preview

    _all_types_table(lh)
    q = "SELECT id, s, dec FROM t.all_types ORDER BY id"
    streamed = lh.sql(q, engine="clickhouse", stream=True)
    got = io.StringIO()
    write_preview(streamed, 40, got, "footer")
    want = io.StringIO()
    write_preview(lh.sql(q, engine="clickhouse"), 40, want, "footer")
    assert got.getvalue() == want.getvalue()
    assert "3 rows" in got.getvalue() and streamed.stats.rows == 3
    assert lh.sql(q, engine="clickhouse", stream=True).preview_rows() is None
