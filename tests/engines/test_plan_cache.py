"""The router reuses a query's engine SQL only while every table it reads is unchanged."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import doctordata as dd
from doctordata.engines.plan_cache import PlanCache
from doctordata.errors import TableNotFoundError

Q = "SELECT k, sum(v) AS s FROM c.t WHERE k >= 1 GROUP BY k ORDER BY k"


def _rows(k: list[int], v: list[int]) -> pa.Table:
    return pa.table({"k": pa.array(k, pa.int64()), "v": pa.array(v, pa.int64())})


def _lake(lh: Any) -> None:
    lh.create_namespace("c")
    lh.create_table("c.t", _rows([0, 1, 2], [10, 20, 30]), partition_by=["k"])


def test_repeated_query_reuses_the_plan(lh: Any) -> None:
    _lake(lh)
    first = lh.sql(Q)
    second = lh.sql(Q)
    assert not first.stats.plan_cached and second.stats.plan_cached
    assert first.fetchall() == second.fetchall() == [(1, 20), (2, 30)]
    assert second.stats.translated_sql == first.stats.translated_sql
    # Pruning figures are reported for the cached run too.
    assert second.stats.files_planned == first.stats.files_planned == 2
    assert second.stats.files_skipped == first.stats.files_skipped == 1
    assert "parse" not in second.stats.timings_ms and "cache" in second.stats.timings_ms
    assert "execute" in second.stats.timings_ms


def test_a_commit_is_a_miss_and_its_rows_are_seen(lh: Any) -> None:
    _lake(lh)
    lh.sql(Q)
    lh.append("c.t", _rows([1, 3], [5, 7]))
    res = lh.sql(Q)
    assert not res.stats.plan_cached
    assert res.fetchall() == [(1, 25), (2, 30), (3, 7)]
    assert lh.sql(Q).stats.plan_cached


def test_a_commit_by_another_connection_is_seen(tmp_path: Path) -> None:
    with dd.connect(tmp_path / "lake") as reader, dd.connect(tmp_path / "lake") as writer:
        _lake(writer)
        reader.sql(Q)
        assert reader.sql(Q).stats.plan_cached
        writer.append("c.t", _rows([2], [1]))
        res = reader.sql(Q)
        assert not res.stats.plan_cached
        assert res.fetchall() == [(1, 20), (2, 31)]


def test_dropped_and_recreated_table_is_a_miss(lh: Any) -> None:
    _lake(lh)
    lh.sql(Q)
    lh.drop_table("c.t")
    with pytest.raises(TableNotFoundError, match=r"c\.t"):
        lh.sql(Q)
    lh.create_table("c.t", _rows([5], [1]))
    res = lh.sql(Q)
    assert not res.stats.plan_cached
    assert res.fetchall() == [(5, 1)]


def test_time_travel_plans_are_kept_apart(lh: Any) -> None:
    _lake(lh)
    old = lh.table("c.t").current_snapshot().snapshot_id
    lh.append("c.t", _rows([1], [100]))
    for _ in range(2):
        assert lh.sql(Q).fetchall() == [(1, 120), (2, 30)]
        assert lh.sql(Q, as_of=old).fetchall() == [(1, 20), (2, 30)]
    assert lh.sql(Q, as_of=old).stats.plan_cached
    # The same text with a different as_of (or type of as_of) is another entry.
    assert lh.sql(Q, as_of=str(old)).stats.plan_cached is False


def test_failed_queries_are_not_cached(lh: Any) -> None:
    with pytest.raises(TableNotFoundError):
        lh.sql(Q)
    _lake(lh)
    res = lh.sql(Q)
    assert not res.stats.plan_cached and res.fetchall() == [(1, 20), (2, 30)]


def test_cache_off(tmp_path: Path) -> None:
    with dd.connect(tmp_path / "off", engines__plan_cache_size=0) as lh:
        _lake(lh)
        lh.sql(Q)
        assert not lh.sql(Q).stats.plan_cached
        assert len(lh.plan_cache) == 0


def test_clickhouse_reuses_plans_until_a_serving_copy_is_published(lh: Any) -> None:
    _lake(lh)
    lh.sql(Q, engine="clickhouse")
    res = lh.sql(Q, engine="clickhouse")
    assert res.stats.plan_cached and res.fetchall() == [(1, 20), (2, 30)]
    # A native table named like the Iceberg one does not change what the cached plan reads.
    ch = lh.engine("clickhouse").client(read_only=False)
    ch.command("CREATE DATABASE IF NOT EXISTS c")
    ch.command("CREATE TABLE c.t (k Int64, v Int64) ENGINE = MergeTree ORDER BY k")
    ch.command("INSERT INTO c.t VALUES (1, 999)")
    assert lh.sql(Q, engine="clickhouse").fetchall() == [(1, 20), (2, 30)]
    ch.command("DROP TABLE c.t")
    lh.publish("c.t")
    served = lh.sql(Q, engine="clickhouse")
    assert not served.stats.plan_cached and served.stats.scans[0].source == "serving-copy"
    assert served.fetchall() == [(1, 20), (2, 30)]
    assert not lh.sql(Q, engine="clickhouse").stats.plan_cached  # serving copies: never cached


def test_cache_keys_and_eviction() -> None:
    assert PlanCache.key("q", "duckdb", "duckdb", 1, True) != PlanCache.key(
        "q", "duckdb", "duckdb", True, True
    )
    assert PlanCache.key("q", "duckdb", "duckdb", dt.date(2026, 1, 1), True) is not None
    assert PlanCache.key("q", "duckdb", "duckdb", object(), True) is None  # unknown as_of
    from doctordata.engines.plan_cache import CachedPlan

    cache = PlanCache(2)
    plans = {
        i: CachedPlan("duckdb", (("c.t", f"loc{i}"),), "SELECT 1", "SELECT 1", ()) for i in range(3)
    }
    for i, plan in plans.items():
        cache.put(("k", i), plan)
    assert len(cache) == 2 and cache.get(("k", 0), lambda n: "loc0") is None  # evicted
    assert cache.get(("k", 2), lambda n: "loc2") is plans[2]
    assert cache.get(("k", 1), lambda n: "moved") is None  # stale: dropped
    assert len(cache) == 1
