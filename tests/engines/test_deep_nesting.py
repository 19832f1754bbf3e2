"""Deeply nested SQL: a typed error naming the problem, never a raw RecursionError."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from doctordata.errors import SQLParseError

DEEP = [
    "SELECT " + "(" * 500 + "1" + ")" * 500,
    "SELECT x FROM ev.t WHERE " + "(" * 500 + "x = 1" + ")" * 500,
    "SELECT x FROM ev.t WHERE " + "(x = 0 OR " * 300 + "x = 1" + ")" * 300,
    "SELECT " + "(SELECT " * 200 + "1" + ")" * 200,
]


@pytest.mark.parametrize("query", DEEP, ids=["parens", "where", "where-or", "subqueries"])
def test_deep_nesting_is_a_parse_error(lh: Any, query: str) -> None:
    lh.create_namespace("ev")
    lh.create_table("ev.t", pa.table({"x": pa.array([1, 2], pa.int64())}))
    for engine in ("duckdb", "clickhouse"):
        with pytest.raises(SQLParseError, match="too deeply") as err:
            lh.sql(query, engine=engine)
        assert "Flatten it" in str(err.value)
        # The Lakehouse stays usable, and so does the parse cache.
        assert lh.sql("SELECT count(*) FROM ev.t WHERE ((x = 1))", engine=engine).fetchall() == [
            (1,)
        ]
    with pytest.raises(SQLParseError, match="too deeply"):
        lh.sql(query)  # again: nothing half-parsed was cached


def test_moderate_nesting_still_runs(lh: Any) -> None:
    lh.create_namespace("ev")
    lh.create_table("ev.t", pa.table({"x": pa.array([1, 2], pa.int64())}))
    query = "SELECT count(*) FROM ev.t WHERE " + "(" * 20 + "x = 2" + ")" * 20
    assert lh.sql(query).fetchall() == [(1,)]
