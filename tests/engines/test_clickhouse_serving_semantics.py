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

import pytest

from doctordata.errors import UnsupportedSQLError
from tests.engines.compare import differences, order_keys
from tests.engines.test_clickhouse_semantics import _duckdb_answer, lake

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
