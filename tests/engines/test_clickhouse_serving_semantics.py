"""The ClickHouse rules hold over serving copies, and the nested-NULL refusal names tables.

A serving copy (engines/publish.py) is a ClickHouse table, not a scan of Iceberg files, but
it holds the same rows and is read under the same table name: the typed rewrites
(engines/clickhouse_types.py) and the refusal of queries that see a NULL list, map or
struct must apply to it as they do to the files, or publishing a table would change
answers. The refusal itself resolves each column to its table: a plain column that only
shares its name with another table's nested column is read, not refused.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from doctordata.errors import UnsupportedSQLError
from tests.engines.compare import differences, order_keys
from tests.engines.test_clickhouse_semantics import _duckdb_answer, _table, lake

pytestmark = pytest.mark.clickhouse

__all__ = ["lake"]  # the fixture, shared with test_clickhouse_semantics

# Each of these differs from DuckDB without its typed rewrite (see CASES there).
TYPED = [
    "SELECT round(x), round(x, 1), round(-x) FROM s.t",
    "SELECT CAST(x AS INT), CAST(-x AS BIGINT), CAST(price AS INT) FROM s.t",
    "SELECT g, y = 'NaN', y > 1, y <> y, f = 0.1 FROM s.t",
    "SELECT CASE WHEN n > 2 THEN price ELSE CAST(x AS DECIMAL(9, 3)) END FROM s.t",
    "SELECT coalesce(price, 0.125), coalesce(price, 0.5) FROM s.t",
    "SELECT n % 0, price % 0, x % 0, n // 0 FROM s.t",
]


@pytest.mark.parametrize("sql", TYPED)
@pytest.mark.parametrize("target", ["chdb", "clickhouse-http"])
def test_typed_rewrites_apply_to_a_serving_copy(
    sql: str, target: str, lake: Path, connect: Callable[..., Any]
) -> None:
    lh = connect(target, lake)
    lh.publish("s.t")
    result = lh.sql(sql, engine="clickhouse")
    assert [s.source for s in result.stats.scans] == ["serving-copy"]
    assert differences(result.fetchall(), _duckdb_answer(sql), order_keys(sql)) is None


@pytest.mark.parametrize(
    ("column", "sql"),
    [
        ("lst", "SELECT count(lst) FROM s.t"),
        ("st", "SELECT g FROM s.t WHERE st IS NOT NULL"),
        ("lst", "SELECT * FROM s.t"),
    ],
)
@pytest.mark.parametrize("target", ["chdb", "clickhouse-http"])
def test_nested_nulls_are_refused_over_a_serving_copy(
    column: str, sql: str, target: str, lake: Path, connect: Callable[..., Any]
) -> None:
    lh = connect(target, lake)
    lh.publish("s.t")
    with pytest.raises(UnsupportedSQLError) as caught:
        lh.sql(sql, engine="clickhouse").fetchall()
    assert repr(column) in str(caught.value) and "engine='duckdb'" in str(caught.value)


def _other() -> pa.Table:
    """s.u: plain columns named like s.t's nested ones (lst, mp, st)."""
    return pa.table(
        {
            "n": pa.array([1, 2, 3, 4], pa.int32()),
            "lst": pa.array([10, None, 30, None], pa.int64()),
            "mp": pa.array(["a", None, "c", "d"]),
            "st": pa.array([None, 1.5, 2.5, None]),
        }
    )


def _duckdb_two(sql: str) -> list[tuple[Any, ...]]:
    import duckdb

    con = duckdb.connect()
    con.execute("CREATE SCHEMA s")
    for name, table in (("t", _table()), ("u", _other())):
        con.register("arrow_in", table)
        con.execute(f"CREATE TABLE s.{name} AS SELECT * FROM arrow_in")
        con.unregister("arrow_in")
    return con.execute(sql).fetchall()


# Plain columns of s.u that share a name with a nested column of s.t: read, not refused.
PLAIN_NAMESAKES = [
    "SELECT t.g, u.lst IS NULL, u.mp, coalesce(u.st, 0) FROM s.t AS t JOIN s.u AS u "
    "ON t.n = u.n ORDER BY 1, 2",
    "SELECT count(u.lst), count(st) FROM s.u AS u WHERE u.n IN (SELECT n FROM s.t)",
    "SELECT u.* FROM s.u AS u JOIN s.t AS t ON u.n = t.n ORDER BY 1",
    "WITH c AS (SELECT n, lst FROM s.u) SELECT c.n, c.lst IS NULL, t.lst[1] "
    "FROM c JOIN s.t AS t ON c.n = t.n ORDER BY 1",
    "SELECT t.g FROM s.t AS t WHERE t.n IN (SELECT n FROM s.u WHERE lst > 5) ORDER BY 1",
]

# s.t's nested columns are still refused next to s.u, however they are reached.
NESTED_BESIDE = [
    ("lst", "SELECT t.lst IS NULL FROM s.t AS t JOIN s.u AS u ON t.n = u.n"),
    ("mp", "SELECT count(x.mp) FROM s.u AS u JOIN s.t AS x ON x.n = u.n"),
    ("lst", "SELECT * FROM s.u AS u JOIN s.t AS t ON u.n = t.n"),
    ("lst", "SELECT t.* FROM s.u AS u JOIN s.t AS t ON u.n = t.n"),
    ("st", "SELECT u.n FROM s.u AS u WHERE EXISTS (SELECT 1 FROM s.t WHERE st IS NULL)"),
    ("lst", "SELECT v.l IS NULL FROM (SELECT lst AS l FROM s.t) AS v, s.u AS u"),
]


@pytest.mark.parametrize("sql", PLAIN_NAMESAKES)
@pytest.mark.parametrize("target", ["chdb", "clickhouse-http"])
def test_a_plain_namesake_of_a_nested_column_is_read(
    sql: str, target: str, lake: Path, connect: Callable[..., Any]
) -> None:
    lh = connect(target, lake)
    lh.create_table("s.u", _other(), exist_ok=True)
    got = lh.sql(sql, engine="clickhouse").fetchall()
    assert differences(got, _duckdb_two(sql), order_keys(sql)) is None


@pytest.mark.parametrize(("column", "sql"), NESTED_BESIDE)
def test_a_nested_column_beside_a_plain_namesake_is_refused(
    column: str, sql: str, lake: Path, connect: Callable[..., Any]
) -> None:
    lh = connect("chdb", lake)
    lh.create_table("s.u", _other(), exist_ok=True)
    with pytest.raises(UnsupportedSQLError) as caught:
        lh.sql(sql, engine="clickhouse").fetchall()
    assert repr(column) in str(caught.value) and "engine='duckdb'" in str(caught.value)
    lh.sql(sql, engine="duckdb").fetchall()  # DuckDB runs it


def _lists_of_lists() -> pa.Table:
    return pa.table(
        {
            "n": pa.array([1, 2, 3], pa.int32()),
            "ll": pa.array([[[1, 2], [3]], [[]], None], pa.list_(pa.list_(pa.int64()))),
        }
    )


def test_an_element_that_is_a_list_is_refused_past_the_end(
    lake: Path, connect: Callable[..., Any]
) -> None:
    """ClickHouse has no NULL list: x[i] of a list of lists is [] past the end (DuckDB NULL)."""
    import duckdb

    lh = connect("chdb", lake)
    lh.create_table("s.v", _lists_of_lists())
    for sql in ("SELECT n, ll[2] FROM s.v", "SELECT [[1]][2] AS e FROM s.t"):
        with pytest.raises(UnsupportedSQLError, match="engine='duckdb'"):
            lh.sql(sql, engine="clickhouse").fetchall()
    # Reading on into the element is NULL on both engines.
    sql = "SELECT n, ll[2][1], ll[1][2], [[1]][2][1] FROM s.v ORDER BY n"
    con = duckdb.connect()
    con.register("v", _lists_of_lists())
    want = con.execute(sql.replace("s.v", "v")).fetchall()
    assert lh.sql(sql, engine="clickhouse").fetchall() == want


NAN_SORTS = [
    "SELECT DISTINCT y * 2 AS z FROM s.t ORDER BY 1 DESC",
    "SELECT g, sum(y) OVER (PARTITION BY g) AS w FROM s.t ORDER BY 2 DESC, 1",
    "SELECT g, y FROM s.t ORDER BY y ASC NULLS FIRST",
    "SELECT v.g, v.y FROM (SELECT g, y FROM s.t) AS v ORDER BY v.y DESC",
]


@pytest.mark.parametrize("sql", NAN_SORTS)
def test_nan_sorts_above_every_number(sql: str, lake: Path, connect: Callable[..., Any]) -> None:
    got = connect("chdb", lake).sql(sql, engine="clickhouse").fetchall()
    assert differences(got, _duckdb_answer(sql), order_keys(sql)) is None


def test_a_float_sorted_by_position_without_its_expression_is_refused(
    lake: Path, connect: Callable[..., Any]
) -> None:
    lh = connect("chdb", lake)
    for sql in (
        "SELECT y FROM s.t UNION ALL SELECT x FROM s.t ORDER BY 1 DESC",
        "SELECT * FROM (SELECT y FROM s.t UNION ALL SELECT x FROM s.t) AS u ORDER BY 1 DESC",
    ):
        with pytest.raises(UnsupportedSQLError, match="engine='duckdb'"):
            lh.sql(sql, engine="clickhouse").fetchall()
    # The orders that agree already are left alone.
    sql = "SELECT y FROM s.t UNION ALL SELECT x FROM s.t ORDER BY 1"
    got = lh.sql(sql, engine="clickhouse").fetchall()
    assert differences(got, _duckdb_answer(sql), order_keys(sql)) is None


def test_nan_joins_nan_as_on_duckdb(lake: Path, connect: Callable[..., Any]) -> None:
    """No rule: ClickHouse's hash join matches NaN keys as DuckDB does (pinned here)."""
    sql = "SELECT a.g, b.g, a.y FROM s.t AS a JOIN s.t AS b ON a.y = b.y"
    got = connect("chdb", lake).sql(sql, engine="clickhouse").fetchall()
    want = _duckdb_answer(sql)
    assert any(isinstance(r[2], float) and r[2] != r[2] for r in want)  # a NaN row joined
    assert differences(got, want, order_keys(sql)) is None
