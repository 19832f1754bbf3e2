"""TIMESTAMPTZ on ClickHouse in a process whose TZ is not UTC: DuckDB's answer, or a refusal.

DuckDB computes on a TIMESTAMPTZ in its session zone, the process's TZ (hour(ts),
CAST(ts AS DATE), date_trunc, strftime, a string or a TIMESTAMP read as a TIMESTAMPTZ,
ts::TIMESTAMP, text). Each query below runs in a child process under TZ=<zone> (DuckDB
reads TZ once per process) on DuckDB and on ClickHouse through the router (chDB, the
loopback HTTP endpoint, a serving copy), over values around the zone's DST changes; the
ClickHouse answer must be DuckDB's (values, and the Arrow type of every time column), or,
for :data:`REFUSED`, an UnsupportedSQLError naming the fix. Bounded: one child process per
zone, ~40 queries on two ClickHouse targets each, one 35,000-row sweep (~1 min a zone).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.clickhouse

# Exact on ClickHouse in every zone. The comment "old: ok" marks the queries main (before
# chtz) already answered right outside UTC: a plain instant or arithmetic on instants (in
# Tokyo also the SELECT of ts > '2026-03-08 03:00', by chance of the data). In UTC main got
# ::TIMESTAMP (a zoned result), to_timestamp() (a naive one) and date_trunc('month', ts)
# (a DATE) wrong as well.
QUERIES = [
    "SELECT k, ts FROM z.t",  # old: ok
    "SELECT k, ts + INTERVAL 1 HOUR, ts - INTERVAL 90 MINUTE FROM z.t",  # old: ok
    "SELECT k FROM z.t WHERE ts = '2026-03-08 07:30:00+00' OR ts > TIMESTAMPTZ '2026-12-01 00:00:00+00'",  # old: ok
    "SELECT k, hour(ts), minute(ts) FROM z.t",
    "SELECT k, CAST(ts AS DATE), ts::DATE = d FROM z.t",
    "SELECT k, date_trunc('day', ts), date_trunc('hour', ts), date_trunc('month', ts) FROM z.t",
    "SELECT k, strftime(ts, '%Y-%m-%d %H') FROM z.t",
    "SELECT k, extract(hour FROM ts), extract(day FROM ts), month(ts), year(ts) FROM z.t",
    "SELECT k, ts > '2026-03-08 03:00', ts <= '2026-11-01 01:30:00' FROM z.t",
    "SELECT k FROM z.t WHERE ts >= '2026-03-29 02:30' AND ts < '2026-10-25 02:30:00'",
    "SELECT k FROM z.t WHERE ts IN ('2026-03-08 01:30:00', '2026-11-01 01:30:00', '2026-01-02')",
    "SELECT k FROM z.t WHERE ts BETWEEN '2026-03-08 01:00' AND '2026-03-08 04:00'",
    "SELECT k, ts::TIMESTAMP, CAST(ts AS TIMESTAMP) < naive FROM z.t",
    "SELECT CAST('2026-03-08 02:30' AS TIMESTAMPTZ), TIMESTAMPTZ '2026-11-01 01:30:00', "
    "CAST('2026-10-25 02:30:00' AS TIMESTAMPTZ), TIMESTAMPTZ '2026-01-02 00:00:00+09', "
    "TRY_CAST('2026-13-01' AS TIMESTAMPTZ), TRY_CAST('2026-03-29 02:00' AS TIMESTAMPTZ)",
    "SELECT k, CAST(naive AS TIMESTAMPTZ), CAST(d AS TIMESTAMPTZ) FROM z.t",
    "SELECT k, ts = naive, ts < naive, ts >= d, naive > ts FROM z.t",
    "SELECT CAST(ts AS DATE) AS day, count(*), max(ts), min(ts)::TIMESTAMP FROM z.t GROUP BY 1",
    "SELECT k, CAST(ts AS VARCHAR), ts || '', concat('at ', ts) FROM z.t",
    "SELECT k, coalesce(ts, naive), CASE WHEN k > 3 THEN ts ELSE naive END FROM z.t",
    "SELECT k, CAST(ts::TIMESTAMP AS TIME), date_trunc('day', ts)::TIMESTAMP FROM z.t",
    "SELECT k FROM z.t WHERE ts::DATE = DATE '2026-03-08' OR CAST(ts AS DATE) = d",
    "SELECT k, CAST(CAST(naive AS TIMESTAMPTZ) AS VARCHAR), hour(CAST(naive AS TIMESTAMPTZ)) FROM z.t",
    "SELECT k, to_timestamp(1772955000 + k * 3600), hour(to_timestamp(1772955000 + k * 3600)) "
    "FROM z.t",
    # chtime2: strftime's specifiers and date parts, read in the zone (%z: its offset)
    "SELECT k, strftime(ts, '%Y-%m-%d %H:%M:%S.%f %z %a %j %U %W %V %G %I %p'), "
    "strftime(naive, '%c %z'), strftime(d, '%x %z'), epoch(ts), dayofweek(ts), isodow(ts), "
    "date_part('doy', ts), extract(epoch FROM ts), date_part('microsecond', ts), "
    "dayname(ts), last_day(ts), epoch_ms(ts) FROM z.t",
]
# Refused outside UTC: ICU and ClickHouse step over a DST change differently, or the
# construct has no exact ClickHouse form.
REFUSED = [
    "SELECT k, ts + INTERVAL 1 DAY FROM z.t",
    "SELECT k, ts - INTERVAL 1 MONTH FROM z.t",
    "SELECT k, date_diff('day', ts, TIMESTAMPTZ '2027-01-01 00:00:00+00') FROM z.t",
    "SELECT k, date_add(ts, INTERVAL 1 DAY) FROM z.t",
    "SELECT k, time_bucket(INTERVAL 1 DAY, ts) FROM z.t",
    "SELECT k, age(ts, TIMESTAMPTZ '2027-01-01 00:00:00+00') FROM z.t",
    "SELECT k, CAST(s AS TIMESTAMPTZ) FROM z.t",
    "SELECT ts FROM z.t UNION ALL SELECT naive FROM z.t",
    "SELECT k, ts AT TIME ZONE 'UTC' FROM z.t",
]
FRAME_QUERIES = ["SELECT k, ts, hour(ts), CAST(ts AS DATE), strftime(ts, '%d %H') FROM f"]
FRAME_REFUSED = [
    "SELECT k, ts + INTERVAL 1 DAY FROM f",
    "SELECT k, CAST(ts AS TIMESTAMP) FROM f",
    "SELECT k, CAST(naive AS TIMESTAMPTZ) FROM f",
]
SWEEP = [
    "SELECT w, CAST(w AS TIMESTAMPTZ), CAST(w AS TIMESTAMPTZ)::TIMESTAMP, "
    "hour(CAST(w AS TIMESTAMPTZ)), date_trunc('hour', CAST(w AS TIMESTAMPTZ)), "
    "date_trunc('day', CAST(w AS TIMESTAMPTZ)) FROM z.sweep ORDER BY w",
]

SCRIPT = r"""
import json, sys
from tests.engines.test_clickhouse_zones import FRAME_QUERIES, FRAME_REFUSED
from datetime import UTC, date, datetime, timedelta
import pyarrow as pa
import doctordata as dd
from doctordata.errors import UnsupportedSQLError

root, urls, serve, queries, refused, sweep = sys.argv[1], *map(json.loads, sys.argv[2:7])

def utc(*a):
    return datetime(*a, tzinfo=UTC)

# instants around New York's and Berlin's DST changes and Tokyo's midnight
ts = [utc(2026, 3, 8, 6, 30), utc(2026, 3, 8, 7, 30), utc(2026, 11, 1, 5, 30),
      utc(2026, 11, 1, 6, 30), utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 1, 30),
      utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 30), utc(2026, 1, 1, 15),
      utc(2026, 1, 1, 14, 59, 59, 500000), utc(2026, 12, 31, 23, 45), None]
# wall-clock times the clocks skip or repeat there
naive = [datetime(2026, 3, 8, 2, 30), datetime(2026, 11, 1, 1, 30), datetime(2026, 3, 29, 2, 30),
         datetime(2026, 10, 25, 2, 30), datetime(2026, 1, 2), datetime(2026, 1, 1, 23, 59, 59, 500000),
         datetime(2026, 3, 8, 3, 30), datetime(2026, 11, 1, 1, 30), datetime(2026, 1, 2, 0, 0),
         datetime(2026, 1, 1, 23, 59, 59, 500000), None, datetime(2027, 1, 1, 8, 45)]
days = [date(2026, 3, 8), date(2026, 11, 1), date(2026, 3, 29), date(2026, 10, 25), date(2026, 1, 2),
        date(2026, 1, 1), date(2026, 3, 8), None, date(2026, 1, 2), date(2026, 1, 2),
        date(2026, 12, 31), date(2027, 1, 1)]
n = len(ts)
table = pa.table({
    "k": pa.array(range(n), pa.int64()),
    "ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
    "naive": pa.array(naive, pa.timestamp("us")),
    "d": pa.array(days, pa.date32()),
    "s": pa.array(["2026-03-08 02:30"] * n),
})
walls = [datetime(2026, 1, 1) + timedelta(minutes=15 * i) for i in range(35040)]

def rows(result):
    arrow = result.arrow()
    kinds = [str(f.type) for f in arrow.schema if "timestamp" in str(f.type) or "date" in str(f.type)]
    data = sorted(map(repr, result.fetchall())) if "ORDER BY" not in sql else list(map(repr, result.fetchall()))
    return kinds, data

out = {"zone": None, "wrong": [], "not_refused": [], "failed": [], "checked": 0}
for url in urls:
    with dd.connect(root, engines={"clickhouse": url}) as lh:
        if "z.t" not in lh.tables():
            lh.create_table("z.t", table)
            lh.create_table("z.sweep", pa.table({"w": pa.array(walls, pa.timestamp("us"))}))
        out["zone"] = lh.sql("SELECT ts FROM z.t", engine="duckdb").arrow().schema.field(0).type.tz
        targets = ["files"] + (["served"] if serve and url.startswith("chdb") else [])
        for target in targets:
            if target == "served":
                lh.publish("z.t")
                lh.publish("z.sweep")
            for sql in queries + (sweep if target == "files" else []):
                want = rows(lh.sql(sql, engine="duckdb"))
                try:
                    got = rows(lh.sql(sql, engine="clickhouse"))
                except Exception as exc:
                    out["failed"].append([url[:5], target, sql, repr(exc)[:400]])
                    continue
                out["checked"] += 1
                if got != want:
                    out["wrong"].append([url[:5], target, sql, want[0], got[0], want[1][:4], got[1][:4]])
            for sql in refused:
                lh.sql(sql, engine="duckdb").fetchall()  # DuckDB answers it
                try:
                    lh.sql(sql, engine="clickhouse").fetchall()
                    error = "answered"
                except UnsupportedSQLError as exc:
                    if "engine='duckdb'" in str(exc) and "TZ=UTC" in str(exc):
                        continue
                    error = repr(exc)[:200]
                except Exception as exc:  # an engine error is not the refusal either
                    error = repr(exc)[:200]
                out["not_refused"].append([url[:5], target, sql, error])
# A local frame's columns have no known type in the rewrites: exact where the zone in
# the scan's type suffices, refused where a rewrite would need the type.
with dd.connect(root, engines={"clickhouse": urls[0]}) as lh:
    frames = {"f": table}
    for sql in FRAME_QUERIES:
        want = rows(lh.sql(sql, engine="duckdb", tables=frames))
        got = rows(lh.sql(sql, engine="clickhouse", tables=frames))
        out["checked"] += 1
        if got != want:
            out["wrong"].append(["frame", sql, want, got])
    for sql in (FRAME_REFUSED if refused else []):
        try:
            lh.sql(sql, engine="clickhouse", tables=frames).fetchall()
            out["not_refused"].append(["frame", sql, "answered"])
        except UnsupportedSQLError:
            pass
print(json.dumps(out))
"""


def run_in_zone(
    zone: str, root: Path, urls: list[str], env: dict[str, str], *, serve: bool = False
) -> dict[str, Any]:
    refused = REFUSED if zone != "UTC" else []  # in UTC they run as before (not refused)
    args = [json.dumps(x) for x in (urls, serve, QUERIES, refused, SWEEP)]
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(root), *args],
        env={**env, "TZ": zone},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    assert out["zone"] == zone  # DuckDB's session zone is the process's
    return out


@pytest.mark.parametrize(
    ("zone", "over_http", "serve"),
    [
        ("UTC", False, False),
        ("Asia/Tokyo", False, False),
        ("America/New_York", True, False),
        ("Europe/Berlin", False, True),
    ],
)
def test_timestamptz_queries_give_duckdbs_answer_in_the_process_zone(
    zone: str,
    over_http: bool,
    serve: bool,
    tmp_path: Path,
    child_env: dict[str, str],
    request: pytest.FixtureRequest,
) -> None:
    urls = [f"chdb://{tmp_path / 'chdb'}"]
    if over_http:
        urls.append(str(request.getfixturevalue("clickhouse_http_url")))
    out = run_in_zone(zone, tmp_path / "lake", urls, child_env, serve=serve)
    # In UTC too: a time without seconds ('02:30') next to a TIMESTAMPTZ is read by DuckDB
    # (chtz: ClickHouse could not parse it there, CANNOT_PARSE_DATETIME).
    assert out["failed"] == []
    assert out["wrong"] == []
    assert out["not_refused"] == []
    expected = (len(QUERIES) + len(SWEEP)) * len(urls) + (len(QUERIES) if serve else 0)
    expected += len(FRAME_QUERIES)
    assert out["checked"] == expected
