"""Relative-time filters are folded once per query and pruned (issue #20, item 4).

now(), current_date, current_timestamp and the constant arithmetic around them become one
literal that pruning and the engine share; CAST(ts AS DATE) and date_trunc comparisons
prune as ranges. Pruning never changes a result: every query is compared with DuckDB
over the same rows, unpruned, with the instant the router reported (stats.now), over NULLs,
day/month/year and DST boundaries, in several session time zones (one process per zone:
DuckDB reads the zone once per process).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import doctordata as dd

OPS = ("=", "<", "<=", ">", ">=")
UNITS = ("day", "month", "year")
# Month, year and DST (US 2026-03-08, EU 2026-03-29) boundaries.
DATES = [
    dt.date(2026, 2, 28),
    dt.date(2026, 3, 1),
    dt.date(2026, 3, 8),
    dt.date(2026, 3, 29),
    dt.date(2026, 12, 31),
    dt.date(2027, 1, 1),
]


def _zone() -> ZoneInfo:
    [(name,)] = duckdb.connect().execute("SELECT current_setting('TimeZone')").fetchall()
    return ZoneInfo(name)


def _rows(now: dt.datetime) -> pa.Table:
    """Instants at local midnights (and 1 µs either side) of boundary days and of the
    last 12 days before now, plus NULLs; naive = local wall time, d = local date."""
    zone = _zone()
    days = DATES + [(now.astimezone(zone) - dt.timedelta(days=k)).date() for k in range(12)]
    instants: list[dt.datetime | None] = []
    for day in days:
        midnight = dt.datetime.combine(day, dt.time(), zone).astimezone(dt.UTC)
        for delta in (-1, 0, 1, 3_600_000_000):
            instants.append(midnight + dt.timedelta(microseconds=delta))
    instants += [None, None]
    local = [None if t is None else t.astimezone(zone) for t in instants]
    return pa.table(
        {
            "id": pa.array(range(len(instants)), pa.int64()),
            "ts": pa.array(instants, pa.timestamp("us", tz="UTC")),
            "naive": pa.array([None if t is None else t.replace(tzinfo=None) for t in local]),
            "d": pa.array([None if t is None else t.date() for t in local], pa.date32()),
        }
    )


def _lake(root: Path) -> tuple[dd.Lakehouse, pa.Table]:
    lh = dd.connect(root)
    data = _rows(dt.datetime.now(dt.UTC))
    lh.create_table("ns.t", data, partition_by=["day(ts)"])
    return lh, data


def _predicates(rng: random.Random) -> str:
    op = rng.choice(OPS)
    day = rng.choice(DATES) + dt.timedelta(days=rng.choice((-1, 0, 1)))
    unit = rng.choice(UNITS)
    k = rng.randrange(0, 12)
    stamp = f"{day} {rng.choice(('00:00:00', '00:00:00.000001', '23:59:59.999999', '12:00:00'))}"
    offset = rng.choice(("", "+00", "-05", "+13:45"))
    forms = [
        f"CAST(ts AS DATE) {op} DATE '{day}'",
        f"CAST(naive AS DATE) {op} '{day}'",
        f"date_trunc('{unit}', ts) {op} TIMESTAMPTZ '{stamp}{offset}'",
        f"date_trunc('{unit}', naive) {op} '{stamp}'",
        f"date_trunc('{unit}', d) {op} DATE '{day}'",
        f"ts {op} now() - INTERVAL {k} DAY",
        f"ts {op} current_date - {k}",
        f"CAST(ts AS DATE) {op} current_date - {k}",
        f"d {op} current_date - {k}",
        f"naive {op} CAST(now() AS TIMESTAMP) - INTERVAL {k * 7} HOUR",
        f"date_trunc('{unit}', ts) {op} date_trunc('{unit}', now() - INTERVAL {k} DAY)",
        f"CAST(ts AS DATE) BETWEEN current_date - {k} AND current_date",
    ]
    return rng.choice(forms)


def _reference(data: pa.Table, where: str, now: str | None) -> list[int]:
    """DuckDB over the same rows, nothing pruned, with the router's instant."""
    if now is not None:
        instant = f"CAST('{now}' AS TIMESTAMPTZ)"
        where = where.replace("now()", instant)
        where = where.replace("current_date", f"CAST({instant} AS DATE)")
    con = duckdb.connect()
    con.register("t", data)
    return [r[0] for r in con.execute(f"SELECT id FROM t WHERE {where} ORDER BY id").fetchall()]


def check(lh: dd.Lakehouse, data: pa.Table, where: str, engine: str = "duckdb") -> int:
    """Assert the pruned answer equals DuckDB's; return the files skipped."""
    result = lh.sql(f"SELECT id FROM ns.t WHERE {where} ORDER BY id", engine=engine)
    got = [r[0] for r in result.fetchall()]
    assert ("now()" in where or "current_date" in where) == (result.stats.now is not None)
    assert got == _reference(data, where, result.stats.now), (where, result.stats.now)
    return result.stats.files_skipped


def sweep(root: str, seed: int, count: int) -> None:
    """Run ``count`` random predicates in this process's time zone (for subprocesses)."""
    lh, data = _lake(Path(root))
    rng = random.Random(seed)
    skipped = 0
    for _ in range(count):
        skipped += check(lh, data, _predicates(rng))
    print(json.dumps({"zone": str(_zone()), "skipped": skipped}))


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> tuple[dd.Lakehouse, pa.Table]:
    lh, data = _lake(tmp_path_factory.mktemp("relative-time") / "lake")
    yield lh, data
    lh.close()


def test_now_minus_interval_is_folded_and_pruned(lake: tuple[dd.Lakehouse, pa.Table]) -> None:
    lh, data = lake
    where = "ts > now() - INTERVAL 7 DAY"
    result = lh.sql(f"SELECT count(*) FROM ns.t WHERE {where}")
    assert result.stats.now is not None
    # The engine got the same instant the pruning used (folded in the engine SQL).
    assert "now()" not in result.stats.translated_sql.lower()
    assert result.stats.files_skipped > 0
    assert "GreaterThan" in result.stats.scans[0].row_filter
    assert result.fetchall() == [(len(_reference(data, where, result.stats.now)),)]


@pytest.mark.parametrize(
    "where",
    [
        "ts >= current_date - 7",
        "CAST(ts AS DATE) = DATE '2026-03-08'",
        "date_trunc('month', ts) = TIMESTAMPTZ '2026-03-01 00:00:00+00'",
        "date_trunc('year', ts) >= '2027-01-01'",
        "CAST(ts AS DATE) = current_date - 3",
    ],
)
def test_forms_that_prune(lake: tuple[dd.Lakehouse, pa.Table], where: str) -> None:
    lh, data = lake
    assert check(lh, data, where) > 0


def test_both_engines_agree_on_folded_filters(lake: tuple[dd.Lakehouse, pa.Table]) -> None:
    lh, data = lake
    for where in ("CAST(ts AS DATE) >= current_date - 5", "d > current_date - 3"):
        assert check(lh, data, where, engine="clickhouse") > 0


def test_plan_cache_never_reuses_an_instant(lake: tuple[dd.Lakehouse, pa.Table]) -> None:
    lh, _ = lake
    query = "SELECT count(*) FROM ns.t WHERE ts > now() - INTERVAL 3 DAY"
    first = lh.sql(query)
    second = lh.sql(query)
    assert not first.stats.plan_cached and not second.stats.plan_cached
    assert first.stats.now is not None and second.stats.now is not None
    assert second.stats.now > first.stats.now
    assert second.stats.now[11:26] in second.stats.translated_sql  # now - 3 days
    # A query without a clock function is still cached.
    plain = "SELECT count(*) FROM ns.t WHERE ts > TIMESTAMPTZ '2026-03-01 00:00:00+00'"
    lh.sql(plain)
    assert lh.sql(plain).stats.plan_cached


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32 - 1))
def test_pruning_never_changes_a_result(lake: tuple[dd.Lakehouse, pa.Table], seed: int) -> None:
    lh, data = lake
    check(lh, data, _predicates(random.Random(seed)))


@pytest.mark.parametrize("zone", ["America/New_York", "Pacific/Chatham"])
def test_pruning_never_changes_a_result_in_other_time_zones(tmp_path: Path, zone: str) -> None:
    env = {**os.environ, "TZ": zone}
    script = (
        "import sys; from tests.engines.test_relative_time import sweep; "
        "sweep(sys.argv[1], int(sys.argv[2]), 50)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "lake"), "20"],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["zone"] == zone
    assert report["skipped"] > 0
