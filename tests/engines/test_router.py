"""Router conformance: the same tests on every engine target (see conftest.ENGINE_TARGETS)."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest

from doctordata.errors import (
    SnapshotNotFoundError,
    SQLParseError,
    TableNotFoundError,
    UnsupportedSQLError,
)
from tests.engines.conftest import same_rows

pytestmark = pytest.mark.clickhouse


def _events(days: int = 30) -> pa.Table:
    start = date(2026, 1, 1)
    return pa.table(
        {
            "id": pa.array(range(days * 2), pa.int64()),
            "d": pa.array([start + timedelta(days=i // 2) for i in range(days * 2)], pa.date32()),
            "kind": pa.array(["a" if i % 2 else "b" for i in range(days * 2)]),
            "score": pa.array([i * 0.5 for i in range(days * 2)], pa.float64()),
        }
    )


def test_select_and_result_api(lh_target: tuple[Any, str]) -> None:
    lh, engine = lh_target
    lh.create_namespace("ev")
    lh.create_table("ev.events", _events(5), partition_by=["day(d)"])
    res = lh.sql(
        "SELECT kind, count(*) AS n, sum(score) AS s FROM ev.events GROUP BY kind ORDER BY kind",
        engine=engine,
    )
    assert res.fetchall() == [("a", 5, 12.5), ("b", 5, 10.0)]
    assert res.columns == ["kind", "n", "s"]
    assert res.df().shape == (2, 3)
    assert res.pl().shape == (2, 3)
    assert res.arrow().num_rows == 2
    assert res.stats.engine == engine
    assert res.stats.files_planned == 5
    assert "ev.events" not in res.stats.translated_sql  # rewritten into a file scan
    assert {"parse", "plan", "transpile", "execute"} <= set(res.stats.timings_ms)


def test_pruning_one_of_thirty_daily_partitions(lh_target: tuple[Any, str]) -> None:
    lh, engine = lh_target
    lh.create_namespace("ev")
    lh.create_table("ev.events", _events(30), partition_by=["day(d)"])
    res = lh.sql("SELECT id FROM ev.events WHERE d = DATE '2026-01-05' ORDER BY id", engine=engine)
    assert res.fetchall() == [(8,), (9,)]
    scan = res.stats.scans[0]
    assert (scan.files_planned, scan.files_planned + scan.files_skipped) == (1, 30)
    ranged = lh.sql(
        "SELECT count(*) FROM ev.events WHERE d BETWEEN '2026-01-10' AND '2026-01-12'",
        engine=engine,
    )
    assert ranged.fetchall() == [(6,)]
    assert ranged.stats.files_planned == 3
    listed = lh.sql(
        "SELECT count(*) FROM ev.events e WHERE e.d IN ('2026-01-01', '2026-01-30') OR d IS NULL",
        engine=engine,
    )
    assert listed.fetchall() == [(4,)]
    assert listed.stats.files_planned == 2


def test_outer_join_nullable_side_is_not_pruned(lh_target: tuple[Any, str]) -> None:
    lh, engine = lh_target
    lh.create_namespace("ev")
    lh.create_table("ev.events", _events(4), partition_by=["day(d)"])
    lh.create_table("ev.kinds", pa.table({"kind": ["a", "b", "c"], "label": ["A", "B", "C"]}))
    # Pruning `e` by `e.d = ...` would turn matched rows into NULL-extended ones.
    res = lh.sql(
        "SELECT k.kind, count(e.id) FROM ev.kinds k LEFT JOIN ev.events e ON e.kind = k.kind "
        "WHERE e.d = DATE '2026-01-02' OR e.id IS NULL GROUP BY 1 ORDER BY 1",
        engine=engine,
    )
    assert res.fetchall() == [("a", 1), ("b", 1), ("c", 0)]
    assert res.stats.scans[1].files_skipped == 0


def test_time_travel(lh_target: tuple[Any, str]) -> None:
    lh, engine = lh_target
    lh.create_namespace("ev")
    lh.create_table("ev.t", pa.table({"x": pa.array([1, 2], pa.int64())}))
    first = lh.table("ev.t").metadata.current_snapshot_id
    lh.table("ev.t").manage_snapshots().create_tag(snapshot_id=first, tag_name="v1").commit()
    time.sleep(0.05)
    lh.append("ev.t", pa.table({"x": pa.array([3], pa.int64())}))
    snap = lh.table("ev.t").metadata.snapshot_by_id(first)
    assert snap is not None
    at = datetime.fromtimestamp(snap.timestamp_ms / 1000 + 0.01, tz=UTC)
    q = "SELECT count(*) FROM ev.t"
    assert lh.sql(q, engine=engine).fetchall() == [(3,)]
    for as_of in (first, "v1", at, at.isoformat()):
        assert lh.sql(q, engine=engine, as_of=as_of).fetchall() == [(2,)], as_of
    sql_forms = [
        f"SELECT count(*) FROM ev.t FOR VERSION AS OF {first}",
        "SELECT count(*) FROM ev.t FOR VERSION AS OF 'v1'",
        f"SELECT count(*) FROM ev.t FOR SYSTEM_TIME AS OF '{at.strftime('%Y-%m-%d %H:%M:%S.%f')}'",
    ]
    for query in sql_forms:
        assert lh.sql(query, engine=engine).fetchall() == [(2,)], query
    # per-table clause wins over as_of; the other reference stays current
    both = lh.sql(
        f"SELECT (SELECT count(*) FROM ev.t FOR VERSION AS OF {first}), "
        "(SELECT count(*) FROM ev.t)",
        engine=engine,
    )
    assert both.fetchall() == [(2, 3)]
    with pytest.raises(SnapshotNotFoundError, match="no snapshot 123456789012"):
        lh.sql(q, engine=engine, as_of=123456789012)
    with pytest.raises(SnapshotNotFoundError, match="before"):
        lh.sql(q, engine=engine, as_of="2001-01-01")


def test_schema_evolution_rename_add_widen(lh_target: tuple[Any, str]) -> None:
    from pyiceberg.types import DoubleType, LongType

    lh, engine = lh_target
    lh.create_namespace("ev")
    lh.create_table(
        "ev.s",
        pa.table({"a": pa.array([1, 2], pa.int32()), "b": ["x", "y"]}),
        partition_by=["bucket(2, a)"],
    )
    with lh.table("ev.s").update_schema() as upd:
        upd.rename_column("b", "c")
        upd.add_column("d", DoubleType())
        upd.update_column("a", LongType())
    with lh.table("ev.s").update_spec() as spec:
        spec.add_identity("c")
    lh.append(
        "ev.s",
        pa.table({"a": pa.array([3], pa.int64()), "c": ["z"], "d": pa.array([1.5])}),
    )
    want = lh.read("ev.s").to_pylist()
    res = lh.sql("SELECT a, c, d FROM ev.s", engine=engine)
    got = [dict(zip(res.columns, row, strict=True)) for row in res.fetchall()]
    key = lambda r: r["a"]  # noqa: E731
    assert sorted(got, key=key) == sorted(want, key=key)
    assert sorted(got, key=key) == [
        {"a": 1, "c": "x", "d": None},
        {"a": 2, "c": "y", "d": None},
        {"a": 3, "c": "z", "d": 1.5},
    ]
    filtered = lh.sql("SELECT a FROM ev.s WHERE c = 'x'", engine=engine)
    assert filtered.fetchall() == [(1,)]


def test_empty_table_reads_no_rows(lh_target: tuple[Any, str]) -> None:
    lh, engine = lh_target
    lh.create_namespace("ev")
    lh.create_table("ev.empty", pa.schema([("a", pa.int64()), ("b", pa.string())]))
    res = lh.sql("SELECT a, b FROM ev.empty", engine=engine)
    assert res.fetchall() == []
    assert res.columns == ["a", "b"]


def test_ctes_joins_and_qualified_columns(lh_target: tuple[Any, str]) -> None:
    lh, engine = lh_target
    lh.create_namespace("ev")
    lh.create_table("ev.events", _events(3), partition_by=["day(d)"])
    res = lh.sql(
        "WITH a AS (SELECT id, kind FROM ev.events WHERE kind = 'a') "
        "SELECT ev.events.id, a.kind FROM ev.events JOIN a ON a.id = ev.events.id "
        "ORDER BY 1",
        engine=engine,
    )
    assert res.fetchall() == [(1, "a"), (3, "a"), (5, "a")]


def test_explain(lh_target: tuple[Any, str]) -> None:
    lh, engine = lh_target
    lh.create_namespace("ev")
    lh.create_table("ev.events", _events(3))
    res = lh.sql("SELECT count(*) FROM ev.events", engine=engine, explain=True)
    assert res.plan
    assert res.columns == ["explain"]
    assert res.stats.files_planned == 1


def test_unknown_table_suggests(lh_target: tuple[Any, str]) -> None:
    lh, engine = lh_target
    lh.create_namespace("ev")
    lh.create_table("ev.events", _events(1))
    with pytest.raises(TableNotFoundError, match=r"'ev.event'.*Did you mean: ev.events"):
        lh.sql("SELECT * FROM ev.event", engine=engine)
    with pytest.raises(TableNotFoundError, match=r"namespace\.table"):
        lh.sql("SELECT * FROM events", engine=engine)


def test_syntax_error_has_position(lh_target: tuple[Any, str]) -> None:
    lh, engine = lh_target
    with pytest.raises(SQLParseError, match=r"line 1, column \d+"):
        lh.sql("SELECT FROM WHERE (", engine=engine)
    with pytest.raises(SQLParseError, match="empty"):
        lh.sql("   ", engine=engine)


def test_engine_results_agree(connect: Any) -> None:
    """DuckDB and ClickHouse return the same rows for a mixed query over the same files."""
    lh = connect("chdb")
    lh.create_namespace("ev")
    lh.create_table("ev.events", _events(10), partition_by=["day(d)"])
    q = (
        "SELECT d, kind, count(*) AS n, avg(score) AS s FROM ev.events "
        "WHERE d >= '2026-01-03' GROUP BY d, kind ORDER BY d, kind"
    )
    a = lh.sql(q, engine="duckdb").fetchall()
    b = lh.sql(q, engine="clickhouse").fetchall()
    assert len(a) == 16
    assert same_rows(a, b, ordered=True)


def test_unsupported_function_for_engine_is_named(connect: Any) -> None:
    lh = connect("chdb")
    lh.create_namespace("ev")
    lh.create_table("ev.events", _events(1))
    q = "SELECT arg_max(id, score, 2) FROM ev.events"
    assert lh.sql(q, engine="duckdb").fetchall()
    with pytest.raises(UnsupportedSQLError, match=r"ArgMax.*ClickHouse|clickhouse.*ArgMax"):
        lh.sql(q, engine="clickhouse")


def test_unknown_engine_name(connect: Any) -> None:
    from doctordata.errors import ConfigError

    lh = connect("duckdb")
    with pytest.raises(ConfigError, match=r"unknown engine 'postgres'.*clickhouse, duckdb"):
        lh.sql("SELECT 1", engine="postgres")


def test_files_without_field_ids_use_the_name_mapping(lh_target: tuple[Any, str]) -> None:
    """add_files() of foreign Parquet (no field ids), then a pyiceberg append and a rename."""
    import pyarrow.parquet as pq

    lh, engine = lh_target
    lh.create_namespace("ev")
    lh.create_table("ev.f", pa.schema([("a", pa.int64()), ("b", pa.string())]))
    foreign = lh.hot_tier.root + "/foreign/part-0.parquet"
    lh.hot_tier.fs.makedirs(lh.hot_tier.root + "/foreign", exist_ok=True)
    pq.write_table(pa.table({"a": pa.array([1, 2], pa.int64()), "b": ["x", "y"]}), foreign)
    lh.add_files("ev.f", [foreign])
    lh.append("ev.f", pa.table({"a": pa.array([3], pa.int64()), "b": ["z"]}))
    with lh.table("ev.f").update_schema() as upd:
        upd.rename_column("b", "label")
    want = sorted(tuple(r.values()) for r in lh.read("ev.f").to_pylist())
    res = lh.sql("SELECT a, label FROM ev.f ORDER BY a", engine=engine)
    assert res.fetchall() == want == [(1, "x"), (2, "y"), (3, "z")]


def test_concurrent_queries_from_threads(lh_target: tuple[Any, str]) -> None:
    """One DuckDB cursor / one ClickHouse client per thread: threads do not disturb each other."""
    from concurrent.futures import ThreadPoolExecutor

    lh, engine = lh_target
    lh.create_namespace("ev")
    lh.create_table("ev.events", _events(4), partition_by=["day(d)"])

    def count(day: int) -> int:
        q = f"SELECT count(*) FROM ev.events WHERE d = DATE '2026-01-0{day}'"
        return int(lh.sql(q, engine=engine).fetchall()[0][0])

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(count, [1, 2, 3, 4] * 3))
    assert results == [2] * 12
