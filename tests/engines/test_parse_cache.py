"""The router's parse cache hands out independent trees and never caches failures."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest
from sqlglot import exp

from doctordata.engines.router import parse
from doctordata.errors import SQLParseError


def test_cached_parse_returns_a_fresh_tree_each_time() -> None:
    q = "SELECT a FROM ns.parse_cache_t WHERE a > 1"
    first = parse(q, "duckdb")[0]
    assert first is not None
    first.find(exp.Table).replace(exp.to_table("other"))  # the router rewrites in place
    second = parse(q, "duckdb")[0]
    assert second is not None and second is not first
    assert second.sql(dialect="duckdb") == q


def test_syntax_error_is_raised_on_every_call() -> None:
    for _ in range(2):
        with pytest.raises(SQLParseError, match="syntax error"):
            parse("SELECT FROM WHERE", "duckdb")


def test_repeated_query_sees_new_snapshots(lh: Any) -> None:
    lh.create_namespace("pc")
    lh.create_table("pc.t", pa.schema([("id", pa.int64())]))
    lh.append("pc.t", pa.table({"id": pa.array([1, 2], pa.int64())}))
    q = "SELECT count(*) AS n FROM pc.t WHERE id > 0"
    assert lh.sql(q).fetchall() == [(2,)]
    lh.append("pc.t", pa.table({"id": pa.array([3], pa.int64())}))
    assert lh.sql(q).fetchall() == [(3,)]


def test_repeated_query_reuses_pushdown_and_still_prunes(lh: Any) -> None:
    import datetime as dt

    lh.create_namespace("pc")
    schema = pa.schema([("id", pa.int64()), ("d", pa.date32())])
    lh.create_table("pc.p", schema, partition_by=["day(d)"])
    for i in range(3):
        day = dt.date(2026, 1, 1) + dt.timedelta(days=i)
        lh.append("pc.p", pa.table({"id": [i], "d": pa.array([day], pa.date32())}, schema=schema))
    q = "SELECT count(*) AS n FROM pc.p WHERE d = DATE '2026-01-02'"
    first, second = lh.sql(q), lh.sql(q)
    for result in (first, second):
        assert result.fetchall() == [(1,)]
        scan = result.stats.scans[0]
        assert scan.files_planned == 1 and scan.files_skipped == 2
    assert first.stats.scans[0].row_filter == second.stats.scans[0].row_filter != "AlwaysTrue()"
    # A new snapshot of the same day is planned too (the cached filter is not a cached plan).
    extra = {"id": [9], "d": pa.array([dt.date(2026, 1, 2)], pa.date32())}
    lh.append("pc.p", pa.table(extra, schema=schema))
    third = lh.sql(q)
    assert third.fetchall() == [(2,)]
    assert third.stats.scans[0].files_planned == 2
