"""Time travel written in SQL: DuckDB's AT (...) forms next to FOR ... AS OF (issue #20).

Every clause either changes the snapshot read or is refused: never dropped silently.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pyarrow as pa
import pytest
import sqlglot
from sqlglot import exp

from doctordata.errors import SnapshotNotFoundError, UnsupportedSQLError

TARGETS = ["duckdb", "chdb"]  # engine="duckdb" and engine="clickhouse" (embedded)
ENGINE = {"duckdb": "duckdb", "chdb": "clickhouse"}
ROWS = "SELECT x FROM ev.t {clause} ORDER BY x"


def _clock_past(ms: int) -> None:
    """Wait until the wall clock is past ``ms`` + 1, so the next commit is later."""
    while time.time_ns() // 1_000_000 <= ms + 1:
        time.sleep(0.001)


def _at(ms: int, tz: timezone = UTC) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=tz).strftime("%Y-%m-%d %H:%M:%S.%f")


@pytest.fixture(params=TARGETS)
def history(request: pytest.FixtureRequest, connect: Callable[..., Any]) -> dict[str, Any]:
    """ev.t with three snapshots: [1, 2] (tag v1), [1, 2, 3] (branch b2), [1..5] (current)."""
    lh = connect(request.param)
    lh.create_namespace("ev")
    lh.create_table("ev.t", pa.table({"x": pa.array([1, 2], pa.int64())}))
    snaps = [lh.table("ev.t").metadata.current_snapshot()]
    for more in ([3], [4, 5]):
        _clock_past(snaps[-1].timestamp_ms)
        lh.append("ev.t", pa.table({"x": pa.array(more, pa.int64())}))
        snaps.append(lh.table("ev.t").metadata.current_snapshot())
    s1, s2, _ = snaps
    manage = lh.table("ev.t").manage_snapshots()
    manage.create_tag(snapshot_id=s1.snapshot_id, tag_name="v1").commit()
    lh.table("ev.t").manage_snapshots().create_branch(
        snapshot_id=s2.snapshot_id, branch_name="b2"
    ).commit()
    # Strictly between two snapshots' commit times (each is at least 2 ms after the last).
    mid = [s1.timestamp_ms + 1, s2.timestamp_ms + 1]
    assert s1.timestamp_ms < mid[0] < s2.timestamp_ms < mid[1] < snaps[2].timestamp_ms
    return {"lh": lh, "engine": ENGINE[request.param], "snaps": snaps, "mid": mid}


def _rows(h: dict[str, Any], clause: str) -> list[int]:
    res = h["lh"].sql(ROWS.format(clause=clause), engine=h["engine"])
    return [r[0] for r in res.fetchall()]


def test_at_version_reads_the_snapshot(history: dict[str, Any]) -> None:
    s1, s2, _ = history["snaps"]
    assert _rows(history, "") == [1, 2, 3, 4, 5]
    assert _rows(history, f"AT (VERSION => {s1.snapshot_id})") == [1, 2]
    assert _rows(history, f"AT (VERSION => {s2.snapshot_id})") == [1, 2, 3]
    assert _rows(history, "AT (VERSION => 'v1')") == [1, 2]  # tag
    assert _rows(history, "AT (VERSION => 'b2')") == [1, 2, 3]  # branch
    # The same answers as the FOR VERSION AS OF form.
    assert _rows(history, f"FOR VERSION AS OF {s1.snapshot_id}") == [1, 2]
    with pytest.raises(SnapshotNotFoundError, match="no snapshot 123456789012"):
        _rows(history, "AT (VERSION => 123456789012)")


def test_at_timestamp_between_snapshots(history: dict[str, Any]) -> None:
    first, second = history["mid"]
    assert _rows(history, f"AT (TIMESTAMP => '{_at(first)}')") == [1, 2]  # naive = UTC
    assert _rows(history, f"AT (TIMESTAMP => '{_at(second)}')") == [1, 2, 3]
    plus2 = timezone(timedelta(hours=2))
    # The same instant written with an offset, as a string and as a typed literal.
    assert _rows(history, f"AT (TIMESTAMP => '{_at(first, plus2)}+02:00')") == [1, 2]
    assert _rows(history, f"AT (TIMESTAMP => TIMESTAMPTZ '{_at(second, plus2)}+02:00')") == [
        1,
        2,
        3,
    ]
    # The same time zone reading as FOR SYSTEM_TIME AS OF.
    assert _rows(history, f"FOR SYSTEM_TIME AS OF '{_at(first)}'") == [1, 2]
    with pytest.raises(SnapshotNotFoundError, match="before"):
        _rows(history, "AT (TIMESTAMP => '2001-01-01')")


def test_at_per_table_in_joins_and_subqueries(history: dict[str, Any]) -> None:
    lh, engine = history["lh"], history["engine"]
    s1 = history["snaps"][0].snapshot_id
    joined = lh.sql(
        f"SELECT count(*) FROM ev.t AT (VERSION => {s1}) AS a JOIN ev.t AS b ON a.x = b.x",
        engine=engine,
    )
    assert joined.fetchall() == [(2,)]
    both = lh.sql(
        f"SELECT (SELECT count(*) FROM ev.t AT (VERSION => {s1})), (SELECT count(*) FROM ev.t)",
        engine=engine,
    )
    assert both.fetchall() == [(2, 5)]
    # The table's own clause wins over the query-wide as_of.
    own = lh.sql(f"SELECT count(*) FROM ev.t AT (VERSION => {s1})", engine=engine, as_of="b2")
    assert own.fetchall() == [(2,)]
    assert [s.snapshot_id for s in own.stats.scans] == [s1]


def test_plan_cache_keeps_the_clause_apart(history: dict[str, Any]) -> None:
    lh, engine = history["lh"], history["engine"]
    s1 = history["snaps"][0].snapshot_id
    current = "SELECT count(*) FROM ev.t"
    old = f"SELECT count(*) FROM ev.t AT (VERSION => {s1})"
    old_ts = f"SELECT count(*) FROM ev.t AT (TIMESTAMP => '{_at(history['mid'][0])}')"
    for first, then in ((current, old), (old, current), (current, old_ts), (old_ts, current)):
        lh.plan_cache.clear()
        for _ in range(2):  # the second round is served from the plan cache
            a = lh.sql(first, engine=engine)
            b = lh.sql(then, engine=engine)
            want = {current: [(5,)], old: [(2,)], old_ts: [(2,)]}
            assert a.fetchall() == want[first], first
            assert b.fetchall() == want[then], then
        assert a.stats.plan_cached and b.stats.plan_cached


@pytest.mark.parametrize(
    ("clause", "shown"),
    [
        ("AT (STREAM => x)", "AT (STREAM => x)"),
        ("AT (OFFSET => -5)", "AT (OFFSET => -5)"),
        ("BEFORE (STATEMENT => 'abc')", "BEFORE (STATEMENT => 'abc')"),
        ("CHANGES (INFORMATION => DEFAULT) AT (TIMESTAMP => '2026-01-01')", "CHANGES"),
        ("FOR SYSTEM_TIME FROM '2026-01-01' TO '2027-01-01'", "FROM"),
        ("AT (TIMESTAMP => now())", "now()"),
        ("AT (VERSION => 1 + 1)", "1 + 1"),
    ],
)
def test_unapplied_clauses_are_refused(history: dict[str, Any], clause: str, shown: str) -> None:
    with pytest.raises(UnsupportedSQLError, match="AT \\(VERSION =>") as err:
        _rows(history, clause)
    assert shown.lower() in str(err.value).lower()
    assert _rows(history, "") == [1, 2, 3, 4, 5]  # the Lakehouse stays usable


def test_clause_on_a_non_iceberg_reference_is_refused(history: dict[str, Any]) -> None:
    lh, engine = history["lh"], history["engine"]
    for query in (
        "WITH c AS (SELECT 1 AS x) SELECT * FROM c AT (VERSION => 1)",
        "WITH c AS (SELECT 1 AS y) SELECT * FROM ev.t JOIN c AT (TIMESTAMP => '2026-01-01') ON true",
    ):
        with pytest.raises(UnsupportedSQLError, match="not applied"):
            lh.sql(query, engine=engine)


def test_check_applied_covers_any_future_shape() -> None:
    """One check over the tree: a clause in a shape nobody handles is still refused."""
    from doctordata.engines.timetravel import check_applied, version_clause

    tree = sqlglot.parse_one("SELECT * FROM a JOIN b ON true", read="duckdb")
    check_applied(tree)  # nothing to refuse
    table = list(tree.find_all(exp.Table))[1]
    table.set("when", exp.Var(this="SOMETHING_NEW"))
    with pytest.raises(UnsupportedSQLError, match="SOMETHING_NEW"):
        version_clause(table)
    with pytest.raises(UnsupportedSQLError, match="not applied"):
        check_applied(tree)
