"""engine='auto' (engines/auto.py): ClickHouse only for a fresh serving copy or a native
table, only for constructs known to give DuckDB's rows there; DuckDB's rows always."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest
import sqlglot

from doctordata.engines.auto import unfaithful

pytestmark = pytest.mark.clickhouse

DATA = pa.table(
    {
        "k": pa.array([1, 2, 2, None, 3], pa.int64()),
        "s": pa.array(["a", "éb", None, "", "c"]),
        "x": pa.array([2.5, -1.5, None, 0.5, 3.25]),
        "amt": pa.array([Decimal("1.50"), None, Decimal("2.25"), Decimal("-0.50"), None]),
    }
)
FAITHFUL_QUERY = (
    "SELECT k, count(*) AS n, sum(amt) AS total, max(upper(s)) AS top, k > 1 AS big "
    "FROM ev.t GROUP BY k"
)
# Each differs on ClickHouse from DuckDB for some data (engines/auto.py FAITHFUL).
UNFAITHFUL_QUERIES = {
    "round": "SELECT round(x) AS r FROM ev.t",
    "length": "SELECT length(s) AS n FROM ev.t",
    "cast to integer": "SELECT CAST(x AS BIGINT) AS i FROM ev.t",
    "unlisted function": "SELECT md5(s) AS h FROM ev.t",
}


@pytest.fixture
def lake(connect: Callable[..., Any]) -> Any:
    lh = connect("chdb", engines__default="auto")
    lh.create_namespace("ev")
    lh.create_table("ev.t", DATA)
    return lh


def _duckdb_rows(lh: Any, query: str) -> list[tuple[Any, ...]]:
    return sorted(lh.sql(query, engine="duckdb").fetchall(), key=repr)


def test_auto_uses_duckdb_without_a_serving_copy(lake: Any) -> None:
    res = lake.sql(FAITHFUL_QUERY)
    assert res.stats.engine == "duckdb"
    assert "no fresh serving copy" in res.stats.engine_reason


def test_auto_uses_a_fresh_serving_copy_and_returns_duckdbs_rows(lake: Any) -> None:
    lake.sql(FAITHFUL_QUERY).fetchall()  # planned and cached before the copy exists
    lake.publish("ev.t")
    res = lake.sql(FAITHFUL_QUERY)
    assert res.stats.engine == "clickhouse", res.stats.engine_reason
    assert res.stats.scans[0].source == "serving-copy"
    assert "serving copy of ev.t" in res.stats.engine_reason
    assert sorted(res.fetchall(), key=repr) == _duckdb_rows(lake, FAITHFUL_QUERY)
    # The copy goes stale with the next snapshot: back to DuckDB, with the new rows.
    lake.append("ev.t", DATA.slice(0, 1))
    stale = lake.sql(FAITHFUL_QUERY)
    assert stale.stats.engine == "duckdb"
    assert sorted(stale.fetchall(), key=repr) == _duckdb_rows(lake, FAITHFUL_QUERY)


@pytest.mark.parametrize("name", sorted(UNFAITHFUL_QUERIES))
def test_auto_keeps_unfaithful_constructs_on_duckdb(lake: Any, name: str) -> None:
    lake.publish("ev.t")
    query = UNFAITHFUL_QUERIES[name]
    res = lake.sql(query)
    assert res.stats.engine == "duckdb"
    assert "not known to match DuckDB" in res.stats.engine_reason
    assert sorted(res.fetchall(), key=repr) == _duckdb_rows(lake, query)


def test_auto_time_travel_stays_on_duckdb(lake: Any) -> None:
    first = lake.snapshots("ev.t")[0]["snapshot_id"]
    lake.append("ev.t", DATA)
    lake.publish("ev.t")
    res = lake.sql("SELECT count(*) FROM ev.t", as_of=first)
    assert (res.stats.engine, res.fetchall()) == ("duckdb", [(5,)])
    clause = lake.sql(f"SELECT count(*) FROM ev.t FOR VERSION AS OF {first}")
    assert (clause.stats.engine, clause.fetchall()) == ("duckdb", [(5,)])
    assert lake.sql("SELECT count(*) FROM ev.t").stats.engine == "clickhouse"


def test_auto_without_clickhouse_runs_on_duckdb(tmp_path: Any) -> None:
    import doctordata as dd

    # Nothing listens on port 9: the ClickHouse engine cannot be opened.
    with dd.connect(
        tmp_path / "lake", engines={"default": "auto", "clickhouse": "http://127.0.0.1:9"}
    ) as lh:
        lh.create_namespace("ev")
        lh.create_table("ev.t", DATA)
        res = lh.sql("SELECT count(*) FROM ev.t")
        assert (res.stats.engine, res.fetchall()) == ("duckdb", [(5,)])
        assert "ClickHouse is unavailable" in res.stats.engine_reason


@pytest.mark.parametrize(
    ("query", "construct"),
    [
        ("SELECT a FROM t WHERE b IN (1, 2) ORDER BY a NULLS FIRST LIMIT 3", None),
        ("SELECT k, sum(x) FROM t GROUP BY ROLLUP (k)", None),
        ("SELECT CAST(x AS DOUBLE), CAST(d AS DATE) FROM t", None),
        ("SELECT round(x, 1) FROM t", "Round"),
        ("SELECT CAST(x AS INT) FROM t", "integer"),
        ("SELECT lead(x) OVER (ORDER BY k) FROM t", "Lead"),
        ("SELECT my_udf(x) FROM t", "my_udf"),
    ],
)
def test_unfaithful_names_the_construct(query: str, construct: str | None) -> None:
    found = unfaithful(sqlglot.parse_one(query, read="duckdb"))
    if construct is None:
        assert found is None
    else:
        assert found is not None and construct.lower() in found.lower()
