"""The ClickHouse transforms the random differential test led to (engines/clickhouse_semantics.py,
the entries after "found by the random differential test"): each gives DuckDB's rows on
chDB through lh.sql, for the data that showed the difference."""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest
import sqlglot

from doctordata.engines.clickhouse_semantics import TRANSFORMS, apply_transforms
from doctordata.errors import DoctorDataError, UnsupportedSQLError

pytestmark = pytest.mark.clickhouse

DATA = pa.table(
    {
        "k": pa.array([1, 2, None, 3], pa.int64()),
        "s": pa.array(["éclair", "Ünïcode", None, "abc"]),
        "d": pa.array([date(2025, 1, 2), None, date(2025, 3, 4), date(2025, 3, 4)]),
        "ts": pa.array(
            [datetime(2025, 1, 2, 3, 4, 5, 6), None, datetime(2025, 3, 4), datetime(2025, 3, 4)],
            pa.timestamp("us"),
        ),
        "amt": pa.array([Decimal("1.50"), None, Decimal("2.25"), Decimal("0.10")]),
        "x": pa.array([float("nan"), float("inf"), None, 2.0], pa.float64()),
    }
)
# transform name -> queries whose rows differed on ClickHouse before it.
CASES: dict[str, list[str]] = {
    "utf8_strings": [
        "SELECT upper(s), lower(s) FROM t.t",
        "SELECT left(s, 2), right(s, 3), substring(s, 2, 3) FROM t.t",
        "SELECT max(left(s, 2)) FROM t.t",
    ],
    "boolean_projections": [
        "SELECT k > 1 AS big, s IS NULL, (k = 1 AND s LIKE 'é%') AS both FROM t.t",
        "SELECT DISTINCT (k > 1 AND d IS NOT NULL) AS c FROM t.t",
        # found with LIKE ... ESCAPE in the generator (seed 15, index 39): 1/0 on ClickHouse
        "SELECT s LIKE '%!_%' ESCAPE '!' AS e, s NOT ILIKE 'É%' AS i FROM t.t",
    ],
    "make_date": ["SELECT make_date(2025, 11, 10) AS d, count(*) FROM t.t"],
    "timestamp_microseconds": [
        "SELECT CAST(d AS TIMESTAMP) AS ts FROM t.t",
        "SELECT count(*) FROM t.t WHERE ts > TIMESTAMP '2025-01-02 03:04:05.000001'",
    ],
    "abs_keeps_type": [
        "SELECT * FROM (SELECT abs(k) AS a FROM t.t UNION ALL SELECT k FROM t.t) ORDER BY 1",
        "SELECT abs(abs(k) - 5), abs(amt - 2) FROM t.t",
    ],
    "grouping_keys": [
        "SELECT left(s, 1) AS c0, count(*), GROUPING(left(s, 1)) FROM t.t GROUP BY ROLLUP (1)",
        "SELECT CAST(k AS DECIMAL(12, 2)) AS c0, d, sum(amt), "
        "GROUPING(CAST(k AS DECIMAL(12, 2))) FROM t.t GROUP BY ROLLUP (1, 2)",
    ],
    # Found once the differential tables held NaN and inf (tests/engines/difflayouts.py).
    "float_max_nan": [
        "SELECT max(x), min(x) FROM t.t",
        "SELECT k, max(x) OVER (), max(x) OVER (ORDER BY k NULLS LAST) FROM t.t",
        "SELECT k <= 2 AS small, max(x) FROM t.t GROUP BY 1",
    ],
    "quantiles": [
        "SELECT quantile_cont(x, 1), quantile_cont(x, 0), median(x) FROM t.t WHERE k > 1",
        "SELECT quantile_cont(x, 0.5) FROM t.t WHERE k = 2",
        # seed 23, index 438: median of -inf and a number is -inf (was nan)
        "SELECT median(-x), quantile_cont(-x, 0.3) FROM t.t WHERE k > 1",
    ],
    # Found by the constructs the generator gained this round (diffgen.py, "constructs").
    # seed 31, index 144: a NULL division cast inside another was cast raw in the outer
    # one's NULL test ("Unexpected inf or nan to integer conversion")
    "null_float_casts": [
        "SELECT CAST(CAST(CAST(CAST(k AS DOUBLE) / NULLIF(k - 1, 0) AS BIGINT) AS DOUBLE) "
        "/ NULLIF(k - 2, 0) AS BIGINT) AS c FROM t.t"
    ],
    # found writing the generator's guard for casts of inf: isfinite was unknown
    "float_class_functions": [
        "SELECT isfinite(x) AS f, CASE WHEN isfinite(x) THEN CAST(x AS BIGINT) END AS c FROM t.t",
        "SELECT isnan(x) AS n, isinf(x) AS i, count(*) FROM t.t WHERE NOT isnan(x) GROUP BY 1, 2",
    ],
    "regexp_replace_first": [
        "SELECT regexp_replace(s, '[aeiouc]', '_') AS one, "
        "regexp_replace(s, '[aeiouc]', '_', 'g') AS every FROM t.t",
    ],
    "regexp_full_match": [
        "SELECT s, regexp_full_match(s, '[a-z]+') AS f, regexp_full_match(s, 'ab|abc') AS g FROM t.t"
    ],
    "format_function": [
        "SELECT format('{}-{}:{}', s, k, d) FROM t.t",
        # seed 29, index 120: a boolean was written 0 on ClickHouse
        "SELECT format('{}/{}/{}', d, s IS NULL, k > 1) FROM t.t",
        # seed 23, index 406: left(s, 2) was refused (its type unknown to the router)
        "SELECT format('{}-{}', left(s, 2), upper(s) || 'x') FROM t.t",
    ],
    # seed 15, index 416: 'x\%%' matched 'x%y' on ClickHouse (a backslash escaped the %)
    "like_backslashes": [
        "SELECT s, (s || 'x%y') LIKE '%x\\%%' AS a, (s || '_') ILIKE '%\\_' AS b, "
        "(s || '%') LIKE (s || '\\%') AS c, 'a\\b' LIKE 'a\\b' AS d FROM t.t",
        "SELECT count(*) FROM t.t WHERE (s || 'x%y') NOT LIKE '%x\\%%'",
    ],
    "list_length": [
        "SELECT len([k, 1] || [k]) AS n, len([s]) AS m FROM t.t",
        # seed 29, index 36: UInt64 next to BIGINT in a UNION (a Variant ClickHouse won't sort)
        "SELECT * FROM (SELECT k FROM t.t UNION ALL SELECT len([k] || [k]) FROM t.t) ORDER BY 1",
    ],
    "ordered_string_agg": [
        "SELECT string_agg(s, '|' ORDER BY k) AS a, listagg(s, ',' ORDER BY k DESC) AS b FROM t.t",
        "SELECT k > 1 AS big, string_agg(s ORDER BY d) FROM t.t GROUP BY 1",
        "SELECT string_agg(s, ',' ORDER BY k) FROM t.t WHERE k > 10",
    ],
    "first_last_value_nulls": [
        "SELECT k, first_value(s) OVER (ORDER BY k NULLS FIRST) AS f, last_value(s) OVER "
        "(ORDER BY k DESC ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS l FROM t.t",
    ],
}

# DuckDB raises on integer overflow (also of a cast to a narrower integer); ClickHouse
# wrapped around (Int64) or widened (Int32 * Int32 is Int64) and returned rows.
OVERFLOWS = [
    "SELECT k * 9223372036854775807 FROM t.t",
    "SELECT k + 9223372036854775806 FROM t.t",
    "SELECT -9223372036854775807 - k FROM t.t",
    "SELECT sum(CAST(k AS INTEGER) * 1000000000) FROM t.t",
    "SELECT CAST(k AS TINYINT) * 100 FROM t.t",
    "SELECT CAST(k * 1000000000 AS INTEGER) FROM t.t",
]
NO_OVERFLOWS = [
    "SELECT k * 3 - k, CAST(k AS TINYINT) * 1000, CAST(k AS INTEGER) * 3000000000 FROM t.t",
    "SELECT CASE WHEN k > 99 THEN k * 9223372036854775807 ELSE 0 END FROM t.t",
    "SELECT 2 * 3 + 100 * 100 AS c, CAST(k AS SMALLINT) FROM t.t",
    # the fallback is not evaluated where k is not NULL (DuckDB), nor where k IS NULL here
    "SELECT COALESCE(k, 7 * 1000), COALESCE(k, k * 9223372036854775807, 0) FROM t.t",
]


def _rows(lh: Any, query: str, engine: str) -> list[tuple[Any, ...]]:
    rows = lh.sql(query, engine=engine).fetchall()
    plain = [tuple(_plain(v) for v in row) for row in rows]
    return sorted(plain, key=repr)


def _plain(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.replace(tzinfo=None)
    if isinstance(v, float) and math.isnan(v):
        return NAN  # equal to itself, unlike float('nan')
    return v


class _NaN(float):
    def __eq__(self, other: object) -> bool:
        return isinstance(other, float) and math.isnan(other)

    def __hash__(self) -> int:
        return 0


NAN = _NaN("nan")


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory, chdb_url: str) -> Any:
    import doctordata as dd

    with dd.connect(
        tmp_path_factory.mktemp("found") / "lake", engines={"clickhouse": chdb_url}
    ) as lh:
        lh.create_namespace("t")
        lh.create_table("t.t", DATA)
        yield lh


def test_every_appended_transform_has_a_case() -> None:
    names = {t.name for t in TRANSFORMS}
    assert set(CASES) <= names
    for t in TRANSFORMS:
        if t.name in CASES:
            assert t.reason.strip()


@pytest.mark.parametrize(
    ("name", "query"), [(name, q) for name, queries in CASES.items() for q in queries]
)
def test_clickhouse_gives_duckdbs_rows(lake: Any, name: str, query: str) -> None:
    want = _rows(lake, query, "duckdb")
    got = _rows(lake, query, "clickhouse")
    assert got == want, (name, got, want)
    # Same value and same type: 0/1 is not False/True, a number of seconds is not a time.
    assert [tuple(map(type, r)) for r in got] == [tuple(map(type, r)) for r in want]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("SELECT upper(s) FROM t", "upperUTF8(s)"),
        ("SELECT substring(s, 2, 3) FROM t", "substringUTF8(s, 2, 3)"),
        ("SELECT a = b AS c FROM t WHERE a = b", "CAST(a = b AS Nullable(Bool)) AS c"),
        ("SELECT make_date(2025, 1, 2)", "makeDate32(2025, 1, 2)"),
        ("SELECT CAST(x AS TIMESTAMP)", "Nullable(DateTime64(6))"),
        ("SELECT k AS c, GROUPING(k) FROM t GROUP BY ROLLUP (1)", "GROUPING SETS ((k), ())"),
    ],
)
def test_transform_output(query: str, expected: str) -> None:
    out = apply_transforms(sqlglot.parse_one(query, read="duckdb")).sql("clickhouse")
    assert expected in out, out


def test_aggregates_over_no_rows_are_null(lake: Any) -> None:
    # Arguments that are never NULL: over Nullable ones ClickHouse gave NULL already.
    query = (
        "SELECT sum(CASE WHEN k > 1 THEN 1 ELSE 0 END), max(COALESCE(k, 0)), "
        "avg(COALESCE(k, 0)), count(*) FROM t.t WHERE s = 'no such row'"
    )
    want = [(None, None, None, 0)]
    assert _rows(lake, query, "duckdb") == want
    assert _rows(lake, query, "clickhouse") == want


def test_where_clause_comparisons_are_left_alone() -> None:
    out = apply_transforms(sqlglot.parse_one("SELECT k FROM t WHERE a = b", read="duckdb"))
    assert "Bool" not in out.sql("clickhouse")


@pytest.mark.parametrize("query", OVERFLOWS)
def test_integer_overflow_raises_on_clickhouse_too(lake: Any, query: str) -> None:
    with pytest.raises(DoctorDataError, match=r"(?i)overflow|out of range"):
        lake.sql(query, engine="duckdb").fetchall()
    with pytest.raises(DoctorDataError, match=r"(?i)overflow|out of range"):
        lake.sql(query, engine="clickhouse").fetchall()


@pytest.mark.parametrize("query", NO_OVERFLOWS)
def test_integer_results_in_range_are_duckdbs(lake: Any, query: str) -> None:
    want = _rows(lake, query, "duckdb")
    got = _rows(lake, query, "clickhouse")
    assert got == want
    assert [tuple(map(type, r)) for r in got] == [tuple(map(type, r)) for r in want]


@pytest.mark.parametrize(
    "query",
    [
        "SELECT format('{}', amt) FROM t.t",
        "SELECT regexp_replace(s, 'a', 'b', 'i') FROM t.t",
        "SELECT string_agg(s, ',' ORDER BY k, d) FROM t.t",
        "SELECT string_agg(s, ',' ORDER BY k NULLS FIRST) FROM t.t",
        "SELECT count(*) OVER (ORDER BY d RANGE BETWEEN INTERVAL 10 DAY PRECEDING AND CURRENT ROW) "
        "FROM t.t",
    ],
)
def test_what_is_not_translated_is_refused_naming_the_fix(lake: Any, query: str) -> None:
    lake.sql(query, engine="duckdb").fetchall()
    with pytest.raises(UnsupportedSQLError, match=r"engine='duckdb'|use 'g'"):
        lake.sql(query, engine="clickhouse").fetchall()
