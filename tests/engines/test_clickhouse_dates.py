"""Dates and timestamps formatted and taken apart on ClickHouse as DuckDB does (in UTC).

strftime with every specifier DuckDB documents, date_part/EXTRACT with every part DuckDB
accepts that ClickHouse computes exactly, epoch/dayofweek/isodow, and a string without
seconds next to a TIMESTAMPTZ: each query runs through the router on chDB and on the
loopback HTTP endpoint and must give DuckDB's values and Arrow types, over TIMESTAMPTZ,
TIMESTAMP and DATE columns (midnight, noon, single-digit days, microsecond fractions, a
time before 1970, ISO-week year ends, NULL). What cannot be exact is refused with
UnsupportedSQLError naming the construct. time_bucket with DuckDB's default origins is
computed (chtz: an error on ClickHouse); age and other time_bucket forms are refused. (Zones other than UTC: test_clickhouse_zones.py.)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pytest

from doctordata.errors import UnsupportedSQLError

pytestmark = pytest.mark.clickhouse

INSTANTS = [
    datetime(2026, 3, 8, 2, 30, 5, 123456),  # a Sunday, single-digit day, AM
    datetime(2026, 1, 1, 0, 0),  # midnight, ISO week 1 of 2026
    datetime(2026, 7, 4, 12, 0, 0, 7),  # noon (12 PM), 7 microseconds
    datetime(2026, 12, 31, 23, 59, 59, 999999),
    datetime(1969, 12, 31, 23, 59, 59, 500000),  # before the epoch: a negative fraction
    datetime(1969, 12, 5, 23, 59, 59, 999500),  # epoch_ms truncates towards zero
    datetime(2027, 1, 3, 13, 5, 9, 40000),  # ISO week 53 of 2026, 1 PM
    datetime(2021, 1, 1, 9, 9, 9),  # ISO year 2020 (week 53), a Friday
    None,
]
# Every strftime specifier DuckDB documents (%h, %T: also accepted by DuckDB 1.5).
SPECIFIERS = [
    "a",
    "A",
    "w",
    "u",
    "d",
    "-d",
    "b",
    "h",
    "B",
    "m",
    "-m",
    "y",
    "-y",
    "Y",
    "G",
    "H",
    "-H",
    "I",
    "-I",
    "p",
    "M",
    "-M",
    "S",
    "-S",
    "f",
    "g",
    "n",
    "z",
    "j",
    "-j",
    "U",
    "W",
    "V",
    "c",
    "x",
    "X",
    "T",
    "%",
]
# Every date part DuckDB accepts that ClickHouse computes exactly, with its aliases.
PARTS = [
    "year",
    "y",
    "yr",
    "yrs",
    "years",
    "month",
    "mon",
    "mons",
    "months",
    "day",
    "d",
    "days",
    "dayofmonth",
    "hour",
    "h",
    "hr",
    "hrs",
    "hours",
    "minute",
    "m",
    "min",
    "mins",
    "minutes",
    "second",
    "s",
    "sec",
    "secs",
    "seconds",
    "millisecond",
    "ms",
    "msec",
    "msecs",
    "milliseconds",
    "microsecond",
    "us",
    "usec",
    "usecs",
    "microseconds",
    "epoch",
    "dow",
    "dayofweek",
    "weekday",
    "isodow",
    "doy",
    "dayofyear",
    "week",
    "w",
    "weeks",
    "weekofyear",
    "quarter",
    "quarters",
    "isoyear",
    "yearweek",
    "decade",
    "dec",
    "decades",
    "century",
    "c",
    "cent",
    "centuries",
    "millennium",
    "mil",
    "mils",
    "millennia",
    "millenium",
    "era",
]
COLUMNS = ("ts", "naive", "d")

QUERIES = [
    # letters ClickHouse's formatDateTime also reads, differently: a wrong answer there
    "SELECT k, strftime(ts, '%M'), strftime(naive, '%H:%M'), "
    "strftime(ts, '%I %p %j %f %S %b %a %W'), strftime(d, '%Y-%m-%d %M') FROM z.t",
    "SELECT k, "
    + ", ".join(f"strftime({c}, '%{s}')" for s in SPECIFIERS for c in COLUMNS)
    + " FROM z.t",
    "SELECT k, strftime(ts, 'at %Y-%m-%d %H:%M:%S.%f %p (%A) 100%% done'), "
    "strftime(d, '%d/%m/%Y'), strftime(naive, 'literal only') FROM z.t",
    "SELECT k, "
    + ", ".join(f"date_part('{p}', {c})" for p in PARTS for c in COLUMNS)
    + " FROM z.t",
    "SELECT k, datepart('minute', ts), extract(epoch FROM ts), extract(microsecond FROM ts), "
    "extract(dow FROM naive), extract(isodow FROM d) FROM z.t",
    "SELECT k, epoch(ts), epoch(naive), epoch(d), dayofweek(ts), dayofweek(d), isodow(ts), "
    "isodow(naive), dayofyear(ts), week(naive), weekofyear(d), quarter(ts), isoyear(ts), "
    "yearweek(ts), decade(d), century(ts), millennium(ts), era(ts), microsecond(ts), "
    "millisecond(naive), weekday(ts), dayofmonth(d) FROM z.t",
    "SELECT k, time_bucket(INTERVAL 3 DAY, ts), time_bucket(INTERVAL 90 MINUTE, naive), "
    "time_bucket(INTERVAL 5 MONTH, d), time_bucket(INTERVAL 1 WEEK, d), "
    "time_bucket(INTERVAL 2 YEAR, ts), time_bucket(INTERVAL '250 milliseconds', naive), "
    "time_bucket(INTERVAL 1 QUARTER, naive), time_bucket(INTERVAL 7 SECOND, ts) FROM z.t",
    # wrong answers on chtz: epoch_ms(ts) a timestamp, last_day before 1970 1970-01-01
    "SELECT k, epoch_ms(ts), epoch_ms(naive), epoch_ms(d), last_day(ts), last_day(d), "
    "last_day(naive), epoch_ms(k * 1000) FROM z.t",
    "SELECT k, epoch_us(ts), epoch_ns(naive), nanosecond(ts), dayname(d), monthname(ts) FROM z.t",
    # chtz: the fraction of to_timestamp(1.5) dropped; hour(ts) a UInt8, not a BIGINT
    "SELECT k, to_timestamp(1.5), to_timestamp(-1.5), to_timestamp(k * 0.25), "
    "to_timestamp(1772955000 + k) FROM z.t",
    "SELECT k, hour(ts), year(d), month(naive), day(ts), minute(ts), second(naive) FROM z.t",
    # chtz: ClickHouse counted the Mondays crossed (a Sunday to a Monday: 1 week)
    "SELECT k, date_diff('week', d, DATE '2027-01-01'), date_diff('week', DATE '2026-03-16', d), "
    "datediff('weeks', naive, TIMESTAMP '2026-03-15 01:00'), "
    "date_diff('week', ts, TIMESTAMPTZ '2026-03-09 00:00:00+00') FROM z.t",
    "SELECT k FROM z.t WHERE ts > '2026-03-08 02:30'",
    "SELECT k, ts >= '2026-07-04 12:00', ts IN ('2026-01-01 00:00', '2026-12-31 23:59') FROM z.t",
    "SELECT k FROM z.t WHERE ts BETWEEN '2026-01-01 00:00' AND '2026-07-04 12:00'",
]
REFUSED = [
    ("SELECT strftime(ts, '%Z') FROM z.t", "%Z"),
    ("SELECT strftime(ts, '%e') FROM z.t", "%e"),
    ("SELECT strftime(ts, 'at %') FROM z.t", "at the end"),
    ("SELECT strftime(ts, s) FROM z.t", "not a string constant"),
    ("SELECT strptime(s, '%d/%m/%Y') FROM z.t", "strptime"),
    ("SELECT date_part('julian', ts) FROM z.t", "julian"),
    ("SELECT date_part(p, ts) FROM z.t", "not a string constant"),
    (
        "SELECT time_bucket(INTERVAL 1 DAY, ts, TIMESTAMPTZ '2000-01-01 00:00:00+00') FROM z.t",
        "origin",
    ),
    ("SELECT time_bucket(INTERVAL '1 month 2 days', naive) FROM z.t", "time_bucket"),
    ("SELECT age(ts, TIMESTAMPTZ '2027-01-01 00:00:00+00') FROM z.t", "age"),
]


def _table() -> pa.Table:
    n = len(INSTANTS)
    return pa.table(
        {
            "k": pa.array(range(n), pa.int64()),
            "ts": pa.array(
                [v and v.replace(tzinfo=UTC) for v in INSTANTS], pa.timestamp("us", tz="UTC")
            ),
            "naive": pa.array(INSTANTS, pa.timestamp("us")),
            "d": pa.array([v and v.date() for v in INSTANTS], pa.date32()),
            "s": pa.array(["08/03/2026"] * n),
            "p": pa.array(["hour"] * n),
        }
    )


def _rows(result: Any) -> tuple[list[str], list[tuple[Any, ...]]]:
    arrow = result.arrow()
    kinds = [str(t) for t in arrow.schema.types]
    return kinds, sorted((tuple(row.values()) for row in arrow.to_pylist()), key=repr)


@pytest.fixture(params=["chdb", "clickhouse-http"])
def lake(request: pytest.FixtureRequest, connect: Callable[..., Any]) -> Any:
    lh = connect(request.param)
    lh.create_table("z.t", _table())
    return lh


@pytest.mark.parametrize("sql", QUERIES)
def test_dates_give_duckdbs_values_and_types(lake: Any, sql: str) -> None:
    want = _rows(lake.sql(sql, engine="duckdb"))
    got = _rows(lake.sql(sql, engine="clickhouse"))
    assert got[0] == want[0]
    assert got[1] == want[1]


@pytest.mark.parametrize(("sql", "named"), REFUSED)
def test_inexact_date_functions_are_refused_by_name(lake: Any, sql: str, named: str) -> None:
    if named not in ("%e", "at the end", "time_bucket"):  # an error on DuckDB too
        lake.sql(sql, engine="duckdb").fetchall()  # DuckDB answers it
    with pytest.raises(UnsupportedSQLError, match="engine='duckdb'") as caught:
        lake.sql(sql, engine="clickhouse").fetchall()
    assert named in str(caught.value)
