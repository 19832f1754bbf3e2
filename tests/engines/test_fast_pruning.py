"""The fast planner's pruning (engines/fast_scan.py, catalog/reader/prune.py) against pyiceberg's.

One lake of many small files per table (so that pruning has something to skip): every
partition transform the fast planner reads (identity, year, month, day, hour, truncate)
and one it does not (bucket), partition evolution, a renamed, a dropped and an added
column, an int column promoted to long, NULLs, NaN, strings longer than the 16 characters
Iceberg keeps in a bound, unicode, negative numbers, dates before 1970, decimals and
timestamptz. A few hundred generated predicates (a fixed seed) run on a lakehouse that
plans with the fast planner and on one that opened the catalog (pyiceberg plans): the
rows must be the same, the fast planner's files a superset of pyiceberg's, and equal to
them for predicates it understands (``col op literal`` on int/long/date/timestamp/string
columns, IN, BETWEEN, IS [NOT] NULL, AND/OR of those). Bounded: ~470 queries on each path, ~25 s of CPU.
"""

from __future__ import annotations

import datetime as dt
import random
import struct
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import doctordata as dd
from doctordata.catalog.reader.lite import make_compatible_name
from doctordata.catalog.reader.prune import DAY_US, decode_bound, partition_range
from doctordata.engines import caches, fast_scan
from tests.engines.test_fast_planning import _files

_SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        pa.field("n", pa.int32()),
        pa.field("s", pa.string()),
        pa.field("f", pa.float64()),
        pa.field("dt", pa.date32()),
        pa.field("ts", pa.timestamp("us")),
        pa.field("tz", pa.timestamp("us", tz="UTC")),
        pa.field("dec", pa.decimal128(10, 2)),
        pa.field("b", pa.bool_()),
    ]
)
_LONG = "a-common-prefix-longer-than-sixteen-"


def _batch(k: int) -> pa.Table:
    """Batch ``k`` (0..11): its own value ranges, so files differ in their bounds."""
    rows = []
    for j in range(4):
        i = k * 4 + j
        day = dt.date(1969, 12, 30) + dt.timedelta(days=k * 3 + (j % 2))
        rows.append(
            {
                "id": i - 10,
                "n": None if (k == 3 or (i % 7 == 0)) else k * 10 + j,
                "s": None if k == 5 else (f"{_LONG}{k:02d}{j}" if k % 2 else f"s{k:02d}é{j}"),
                "f": float("nan") if (k == 4 and j == 0) else (None if k == 6 else k + j / 10),
                "dt": None if k == 7 else day,
                "ts": dt.datetime.combine(day, dt.time(23 if j == 3 else j * 5, 59 if j else 0)),
                "tz": dt.datetime(2026, 1, 1 + k, j, tzinfo=dt.UTC),
                "dec": Decimal(f"{k}.{j}5"),
                "b": j % 2 == 0 if k != 8 else None,
            }
        )
    return pa.Table.from_pylist(rows, _SCHEMA)


_TABLES: dict[str, list[str]] = {
    "p.by_day": ["day(ts)"],
    "p.by_month": ["month(ts)"],
    "p.by_hour": ["hour(ts)"],
    "p.by_year_date": ["year(dt)"],
    "p.by_ident": ["n", "s"],
    "p.by_trunc": ["truncate(10, id)", "truncate(3, s)"],
    "p.by_bucket": ["bucket(4, id)"],
    "p.evolving": ["day(ts)"],
    "p.plain": [],
}


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fastprune") / "lake"
    with dd.connect(root) as lh:
        lh.create_namespace("p")
        for name, spec in _TABLES.items():
            lh.create_table(name, _batch(0), partition_by=spec)
            for k in range(1, 12):
                if name == "p.evolving" and k == 6:
                    # Files under both specs: day(ts) -> month(dt) + identity(n).
                    lh.evolve_partitions(name, add=["month(dt)", "n"], remove=["day(ts)"])
                if name == "p.plain" and k == 6:
                    with lh.table(name).update_schema() as update:
                        update.rename_column("s", "name")
                        update.delete_column("b")
                        update.add_column("extra", _long_type())
                        update.update_column("n", _long_type())
                batch = _batch(k)
                if name == "p.plain" and k >= 6:
                    batch = batch.drop_columns(["b"]).rename_columns(
                        ["id", "n", "name", "f", "dt", "ts", "tz", "dec"]
                    )
                    batch = batch.set_column(1, "n", batch.column("n").cast(pa.int64()))
                    batch = batch.append_column("extra", pa.array([k] * 4, pa.int64()))
                lh.append(name, batch)
    return root


def _long_type() -> Any:
    from pyiceberg.types import LongType

    return LongType()


# -- predicates -----------------------------------------------------------------------------

_OPS = ["=", "<", "<=", ">", ">="]


def _values(column: str) -> list[str]:
    """Literals near and beyond the data's edges, as SQL."""
    if column in ("id", "n", "extra"):
        return ["-11", "-10", "0", "5", "9", "10", "33", "60", "95", "200", "-3"]
    if column in ("s", "name"):
        return [
            "'s00é0'",
            "'s04é3'",
            "'s'",
            "'t'",
            f"'{_LONG}'",
            f"'{_LONG}05'",
            f"'{_LONG}072'",
            f"'{_LONG}11'",
            f"'{_LONG}113zzz'",
            "''",
            "'s10é1'",
        ]
    if column == "dt":
        return [
            "'1969-12-30'",
            "'1970-01-01'",
            "DATE '1970-01-07'",
            "'1970-01-20'",
            "'1970-02-05'",
            "TIMESTAMP '1970-01-10 12:00:00'",
        ]
    if column == "ts":
        return [
            "'1969-12-30'",
            "'1969-12-31 23:59:00'",
            "'1970-01-01 00:00:00'",
            "TIMESTAMP '1970-01-05 10:59:00'",
            "'1970-01-12 23:59'",
            "DATE '1970-01-20'",
            "'1970-02-06'",
            "'1970-01-08T05:59:00.000001'",
        ]
    if column == "f":
        return ["0.5", "3", "4.0", "'NaN'", "11.3", "-1"]
    if column == "tz":
        return [
            "'2026-01-03 00:00:00+00'",
            "TIMESTAMPTZ '2026-01-05 02:00:00+00'",
            "TIMESTAMPTZ '2026-01-08 04:30:00+05:30'",
            "'2026-01-12T03:00:00.000001-01'",
            "'2026-01-13'",  # read in the session's time zone (DuckDB reads it)
        ]
    if column == "dec":
        return ["1.05", "3", "10.35", "2.5"]
    return ["true", "false"]


_UNDERSTOOD = {"id", "n", "s", "name", "dt", "ts", "extra"}


def _leaf(rng: random.Random, columns: list[str]) -> tuple[str, bool]:
    text, col = _leaf_text(rng, columns)
    return text, col in _UNDERSTOOD or col == "tz"


def _leaf_text(rng: random.Random, columns: list[str]) -> tuple[str, str]:
    col = rng.choice(columns)
    values = _values(col)
    form = rng.randrange(8)
    if form <= 3:
        return f"{col} {rng.choice(_OPS)} {rng.choice(values)}", col
    if form == 4:
        lo, hi = sorted(rng.sample(range(len(values)), 2))
        return f"{col} BETWEEN {values[lo]} AND {values[hi]}", col
    if form == 5:
        picked = rng.sample(values, min(3, len(values)))
        return f"{col} IN ({', '.join(picked)})", col
    if form == 6:
        return f"{col} IS {rng.choice(['', 'NOT '])}NULL", col
    return f"{rng.choice(values)} {rng.choice(_OPS)} {col}", col


def _predicates(columns: list[str], count: int, seed: int) -> Iterator[tuple[str, bool]]:
    rng = random.Random(seed)
    for _ in range(count):
        shape = rng.randrange(5)
        a, ua = _leaf(rng, columns)
        if shape <= 1:
            yield a, ua
            continue
        b, ub = _leaf(rng, columns)
        if shape == 2:
            yield f"{a} AND {b}", ua and ub
        elif shape == 3:
            yield f"({a} OR {b})", ua and ub
        else:
            yield f"NOT ({a})", False


def _outcome(lh: dd.Lakehouse, query: str) -> dict[str, Any]:
    before = fast_scan.PLANNED[0]
    try:
        res = lh.sql(query)
        rows = res.fetchall()
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    scan = res.stats.scans[0]
    return {
        "rows": sorted(map(repr, rows)),
        "files": _files(res.stats.translated_sql or ""),
        "total": scan.files_planned + scan.files_skipped,
        "fast": fast_scan.PLANNED[0] > before,
    }


def test_the_fast_planner_prunes_a_superset_of_pyiceberg_and_the_same_where_it_understands(
    lake: Path,
) -> None:
    caches.clear_all()
    fast_lh = dd.connect(lake, engines={"plan_cache_size": 0})
    slow_lh = dd.connect(lake, engines={"plan_cache_size": 0})
    assert slow_lh.catalog is not None  # opened: pyiceberg plans
    counts = {"queries": 0, "fast pruned": 0, "both pruned": 0, "fewer pruned": 0}
    try:
        for seed, name in enumerate(_TABLES):
            columns = [f.name for f in slow_lh.table(name).schema().fields]
            for where, understood in _predicates(columns, 52, seed):
                query = f"SELECT * FROM {name} WHERE {where}"
                fast = _outcome(fast_lh, query)
                slow = _outcome(slow_lh, query)
                assert not fast_lh.catalog_opened
                if "error" in slow or "error" in fast:
                    assert fast == slow, query
                    continue
                counts["queries"] += 1
                assert fast["fast"] and not slow["fast"], query
                assert fast["rows"] == slow["rows"], query
                assert fast["total"] == slow["total"], query
                assert fast["files"] >= slow["files"], query
                pruned = len(fast["files"]) < fast["total"]
                counts["fast pruned"] += pruned
                if fast["files"] != slow["files"]:
                    counts["fewer pruned"] += 1
                    assert not understood or name == "p.by_bucket", query
                elif pruned:
                    counts["both pruned"] += 1
    finally:
        fast_lh.close()
        slow_lh.close()
    # The comparison saw real pruning on both sides, and cases where only pyiceberg pruned.
    assert counts["queries"] > 400, counts
    assert counts["both pruned"] > 100 and counts["fewer pruned"] > 10, counts


def test_session_time_and_float_predicates_keep_every_file(lake: Path) -> None:
    """What the fast planner does not read (a TIMESTAMP against a timestamptz, float, decimal,
    boolean, NOT, a function of a column) prunes nothing; the engine filters the rows."""
    with dd.connect(lake, engines={"plan_cache_size": 0}) as lh:
        for where in [
            "tz < TIMESTAMP '2025-12-31 00:00:00'",
            "f > 100",
            "dec < 0",
            "b AND NOT b",
            "NOT (id > -100)",
            "abs(id) > 1000",
            "id > 1.5e10",
            "s LIKE 'zz%'",
        ]:
            res = lh.sql(f"SELECT * FROM p.by_day WHERE {where}")
            assert res.fetchall() == [], where
            scan = res.stats.scans[0]
            assert scan.files_skipped == 0 and scan.row_filter == "AlwaysTrue()", where


def test_a_folded_now_prunes_a_timestamptz_column_as_pyiceberg_does(lake: Path) -> None:
    """now() is folded into TIMESTAMPTZ '... +00' (an instant): both planners prune on it."""
    query = "SELECT count(*) FROM p.by_day WHERE tz > now() - INTERVAL 100000 DAY AND tz < "
    query += "TIMESTAMPTZ '2026-01-04 00:00:00+00'"
    caches.clear_all()
    with dd.connect(lake, engines={"plan_cache_size": 0}) as fast_lh:
        fast = _outcome(fast_lh, query)
        assert not fast_lh.catalog_opened
    with dd.connect(lake, engines={"plan_cache_size": 0}) as slow_lh:
        assert slow_lh.catalog is not None
        slow = _outcome(slow_lh, query)
    assert fast["fast"] and fast["rows"] == slow["rows"] == ["(12,)"]
    assert fast["files"] == slow["files"] and len(fast["files"]) < fast["total"]


def test_a_pruned_scan_reports_its_filter_and_skipped_files(lake: Path) -> None:
    with dd.connect(lake, engines={"plan_cache_size": 0}) as lh:
        res = lh.sql("SELECT count(*) FROM p.by_day WHERE ts >= '1970-01-30' AND f > 0")
        # Batches 10 (days 01-29, 01-30) and 11 (02-01, 02-02): one file per day each.
        assert res.fetchall() == [(6,)]
        scan = res.stats.scans[0]
        assert scan.row_filter == "ts >= '1970-01-30'"  # f > 0 prunes nothing here
        assert scan.files_planned == 3 and scan.files_skipped == 21
        assert not lh.catalog_opened


# -- the pieces -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "id",
        "user-id",
        "first name",
        "a.b",
        "1st",
        "_x",
        "é",
        "名前",
        "x½",
        "9",
        "a\tb",
        "__",
        "A1_",
    ],
)
def test_make_compatible_name_matches_pyiceberg(name: str) -> None:
    from pyiceberg.schema import make_compatible_name as reference

    assert make_compatible_name(name) == reference(name)


def test_bounds_decode_as_iceberg_single_values() -> None:
    assert decode_bound("long", struct.pack("<q", -5)) == -5
    assert decode_bound("long", struct.pack("<i", 7)) == 7  # written before int -> long
    assert decode_bound("int", struct.pack("<i", -2)) == -2
    assert decode_bound("date", struct.pack("<i", -1)) == -DAY_US
    assert decode_bound("timestamp", struct.pack("<q", 123)) == 123
    assert decode_bound("string", "zü".encode()) == "zü"
    # What it cannot read says nothing (the file is kept).
    assert decode_bound("string", b"\xff") is None
    assert decode_bound("date", struct.pack("<q", 1)) is None
    assert decode_bound("double", struct.pack("<d", 1.0)) is None
    assert decode_bound("long", None) is None


def test_partition_values_bound_their_source_column() -> None:
    day = dt.date(1970, 3, 1).toordinal() - dt.date(1970, 1, 1).toordinal()
    assert partition_range("day", "timestamp", day) == (day * DAY_US, (day + 1) * DAY_US - 1)
    assert partition_range("month", "date", 2) == (day * DAY_US, (day + 31) * DAY_US - 1)
    assert partition_range("month", "timestamp", -1)[0] == -31 * DAY_US  # type: ignore[index]
    assert partition_range("year", "date", 1) == (365 * DAY_US, 730 * DAY_US - 1)
    assert partition_range("hour", "timestamp", 2) == (2 * 3_600_000_000, 3 * 3_600_000_000 - 1)
    assert partition_range("truncate[10]", "long", -20) == (-20, -11)
    assert partition_range("truncate[3]", "string", "abc") == ("abc", None)
    assert partition_range("identity", "date", 3) == (3 * DAY_US, 3 * DAY_US)
    assert partition_range("identity", "string", "x") == ("x", "x")
    for transform, kind, value in [
        ("bucket[4]", "long", 1),
        ("hour", "date", 1),
        ("identity", "double", 1.5),
        ("identity", "long", "1"),
        ("identity", "boolean", True),
        ("void", "long", None),
    ]:
        assert partition_range(transform, kind, value) is None


_IN_TOKYO = """
import json, sys
import doctordata as dd
with dd.connect(sys.argv[1], engines={"plan_cache_size": 0}) as lh:
    where = "tz >= '2026-01-05 10:00:00'"
    pruned = lh.sql(f"SELECT count(*) FROM p.by_day WHERE {where}")
    whole = lh.sql(f"SELECT count(*) FILTER (WHERE {where}) FROM p.by_day")
    print(json.dumps([pruned.fetchall()[0][0], whole.fetchall()[0][0],
                      pruned.stats.scans[0].files_skipped, whole.stats.scans[0].files_skipped]))
"""


def test_an_offset_less_timestamptz_literal_is_read_in_the_session_zone(lake: Path) -> None:
    """In Tokyo '2026-01-05 10:00:00' is 01:00 UTC: the file of 2026-01-05 00:00-03:00 UTC
    holds 3 matching rows. Read as UTC (10:00), it would be pruned and 3 rows lost; not
    pruned at all, every older tier would be needed (tests/storage/test_offline_s3.py)."""
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "TZ": "Asia/Tokyo"}
    out = subprocess.run(
        [sys.executable, "-c", _IN_TOKYO, str(lake)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    pruned, whole, skipped, skipped_whole = json.loads(out.strip().splitlines()[-1])
    assert pruned == whole == 31
    assert skipped > 0 and skipped_whole == 0
