"""Each entry of engines/clickhouse_semantics.py: a small query that differs from DuckDB without it.

Every case runs the query through the router on ClickHouse (chDB and the loopback HTTP
endpoint) and compares it with DuckDB on the same table; then it runs again on the HTTP
endpoint with that one entry undone (the setting at ClickHouse's default, or the transform
left out) and checks that the answer differs or fails. The HTTP endpoint gives every
request its own chDB session, so undoing a setting there cannot leak into other tests.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from doctordata.engines import clickhouse, clickhouse_semantics
from doctordata.errors import DoctorDataError
from tests.engines.compare import differences, order_keys

pytestmark = pytest.mark.clickhouse


@dataclass(frozen=True)
class Case:
    entry: str  # a name in SETTINGS or TRANSFORMS
    sql: str
    undone: Any = None  # for a setting: ClickHouse's own default (or a server's choice)
    expect_unchanged: bool = False  # a query the entry must leave working, not fix


CASES = [
    # Table columns are Nullable on ClickHouse (their default is NULL): the two settings
    # below matter for expressions that are not, such as literals and coalesce().
    Case(
        "join_use_nulls",
        "SELECT t.g, u.one FROM s.t AS t LEFT JOIN (SELECT n, 1 AS one FROM s.t) AS u "
        "ON t.n = u.n + 1",
        0,
    ),
    Case(
        "group_by_use_nulls",
        "SELECT coalesce(g, '-') AS k, sum(n) FROM s.t GROUP BY ROLLUP (coalesce(g, '-'))",
        0,
    ),
    Case(
        "prefer_column_name_to_alias",
        "SELECT g, sum(n) AS n, sum(sum(n)) OVER () AS total FROM s.t GROUP BY g",
        0,
    ),
    Case(
        "allow_lossy_numeric_supertype",
        "SELECT sum(CASE WHEN n > 1 THEN price ELSE x END) FROM s.t",
        0,
    ),
    Case("enable_positional_arguments", "SELECT g, n FROM s.t ORDER BY 2 DESC NULLS LAST", 0),
    Case("alias_case", "SELECT X.g FROM (SELECT g FROM s.t) AS x"),
    Case(
        "projection_names",
        "WITH v AS (SELECT g, n FROM s.t), w AS (SELECT v.g, v2.n, v3.n AS m FROM v, v AS v2, "
        "v AS v3 WHERE v.n = v2.n AND v.n = v3.n) SELECT g FROM w",
    ),
    Case(
        "projection_names",
        "SELECT t.n, u.n FROM s.t AS t JOIN s.t AS u ON t.n = u.n - 1 ORDER BY 1",
        expect_unchanged=True,
    ),
    Case("order_by_output_names", "SELECT g, sum(n) AS n FROM s.t GROUP BY g ORDER BY n"),
    Case("decimal_literals", "SELECT sum(price * 0.1) FROM s.t"),
    # decimal_scales gives the same answer here without decimal_literals (both apply)
    Case("decimal_literals", "SELECT sum(coalesce(price, 0.0)) FROM s.t", expect_unchanged=True),
    Case("decimal_literals", "SELECT CASE WHEN n > 1 THEN 1.5 ELSE 0.25 END FROM s.t"),
    Case("divisions", "SELECT price % 2, -price % 2, price % 2.5, n % 3 FROM s.t"),
    Case("divisions", "SELECT price / n FROM s.t"),
    Case("sample_statistics_null", "SELECT g, stddev_samp(n) FROM s.t GROUP BY g"),
    Case(
        "sample_statistics_null",
        "SELECT g, var_samp(n) OVER (PARTITION BY g) FROM s.t",
    ),
    Case("divisions", "SELECT n % 0, price % 0, price % (n - n), x % 0 FROM s.t"),
    Case("float_round", "SELECT round(x), round(x, 1), round(-x), round(x * 1e308 * 10) FROM s.t"),
    Case(
        "float_round",
        "SELECT round(price, 1), round(n), round(round(price, 2), 1), round(floor(price)) FROM s.t",
        expect_unchanged=True,
    ),
    Case("casts_round", "SELECT CAST(x AS INT), CAST(-x AS BIGINT), CAST(price AS INT) FROM s.t"),
    Case("casts_round", "SELECT CAST(price AS DECIMAL(7, 1)), CAST(price * 2 AS INT) FROM s.t"),
    Case(
        "casts_round",
        "SELECT CAST(CAST(n AS VARCHAR) AS INT), CAST(price AS DECIMAL(9, 3)) FROM s.t",
        expect_unchanged=True,
    ),
    Case("in_null", "SELECT g, n NOT IN (1, NULL), n IN (NULL) FROM s.t"),
    Case("float_comparisons", "SELECT g FROM s.t WHERE f = 0.1 OR f IN (2.5, -1) OR f < -0.5"),
    Case(
        "float_comparisons",
        "SELECT g, y = 'NaN', y > 1, y <> y, y IN (0.1, 'NaN'), y BETWEEN 0 AND 'NaN', "
        "f >= y, f > 1e-1, y < n, f NOT BETWEEN 0.1 AND NULL, y IN (NULL, 1) FROM s.t",
    ),
    Case("decimal_scales", "SELECT coalesce(price, 0.125), coalesce(price, 0.5) FROM s.t"),
    Case(
        "decimal_scales",
        "SELECT CASE WHEN n > 2 THEN price ELSE CAST(x AS DECIMAL(9, 3)) END, "
        "sum(CASE WHEN n > 2 THEN price END) OVER () FROM s.t",
    ),
    Case(
        "signed_counts",
        "SELECT g, CASE WHEN g = 'a' THEN count(*) ELSE min(n) - 5 END AS c FROM s.t "
        "GROUP BY g ORDER BY c",
    ),
    Case(
        "signed_counts",
        "SELECT g, CASE WHEN g = 'b' THEN sum(CASE WHEN n > 1 THEN 1 ELSE 0 END) ELSE -1 END "
        "AS c, count(n) FILTER (WHERE n > 1) OVER () AS w FROM s.t GROUP BY g, n ORDER BY c, g",
    ),
    Case(
        "signed_counts",
        "SELECT * FROM (SELECT length(g) AS c FROM s.t UNION ALL SELECT n - 9 FROM s.t) ORDER BY 1",
    ),
    Case("divisions", "SELECT n // 0, -7 // n, n // (n - 1) FROM s.t"),
    # time_zones reads a string next to a TIMESTAMPTZ with DuckDB in every zone (chtime2: it
    # replaced timestamp_offsets, which read only strings with an offset)
    Case(
        "time_zones",
        "SELECT g FROM s.t WHERE ts = '2026-01-03 00:00:00+09' OR ts IN ('2026-01-02 07:00:00+00') "
        "OR ts BETWEEN '2026-01-03 08:00:00+09:00' AND '2026-01-03 09:00:00+09'",
    ),
    Case(
        "float_comparisons",
        "SELECT t.g, u.g FROM s.t AS t JOIN s.t AS u ON t.x = u.x AND u.y > 0 ORDER BY 1, 2",
        expect_unchanged=True,
    ),
    Case("coalesce_in", "SELECT g FROM s.t WHERE coalesce(n, 7) IN (7, 10)"),
    Case("lag_lead_null", "SELECT g, lag(coalesce(n, 0)) OVER (ORDER BY g, n) FROM s.t"),
    Case("lag_lead_null", "SELECT g, lag(price, 1, 25.12) OVER (ORDER BY g, n) FROM s.t"),
    Case(
        "lag_lead_null",
        "SELECT g, lead(length(g), 2) OVER (PARTITION BY g ORDER BY n), "
        "lead(coalesce(n, 0), 1, -1) OVER (ORDER BY g, n) FROM s.t",
        expect_unchanged=True,
    ),
    # Date and DateTime (sqlglot's choice for DATE and TIMESTAMPTZ) wrap before 1970.
    Case(
        "timestamp_microseconds", "SELECT g, CAST(old AS DATE), CAST(old AS TIMESTAMPTZ) FROM s.t"
    ),
    Case("date_difference", "SELECT g, CAST(old AS DATE) - DATE '1969-01-01' FROM s.t"),
    Case("enable_named_columns_in_function_tuple", "SELECT g, {'a': n, 'b': g} AS r FROM s.t", 0),
    Case("struct_literals", "SELECT g, {'a': n, 'b': {'c': price}} AS r FROM s.t"),
    Case(
        "make_timestamp",
        "SELECT g, make_timestamp(2026, n, 2, 3, n, 5.25), make_timestamp(1969, 12, 31, 23, 59, "
        "59.999999) FROM s.t",
    ),
    Case(
        "timestamp_results",
        "SELECT g, CAST(old AS DATE) + INTERVAL 3 DAY, CAST(old AS DATE) - INTERVAL (n) MONTH "
        "FROM s.t",
    ),
    Case(
        "timestamp_results",
        "SELECT g, date_trunc('month', old), date_trunc('year', CAST(old AS DATE)) FROM s.t",
    ),
    Case("struct_fields", "SELECT g, st['a'], st['b'] IS NULL FROM s.t WHERE st['a'] > 0"),
    # Elements and fields of nested columns read right: they are not refused.
    Case(
        "nested_nulls",
        "SELECT g, lst[1], mp['k'], st.b, count(*) OVER () FROM s.t",
        expect_unchanged=True,
    ),
    Case(
        "nested_nulls",
        "SELECT * FROM (SELECT g, lst[2] AS e FROM s.t) ORDER BY g, e",
        expect_unchanged=True,
    ),
    Case(
        "nested_nulls", "SELECT g, unnest(lst) AS e FROM s.t ORDER BY g, e", expect_unchanged=True
    ),
    # Over no rows, the empty grouping set still gives its row (count 0, NULL sums).
    Case(
        "grouping_sets",
        "SELECT g, count(*), sum(n), GROUPING(g) FROM s.t WHERE n > 100 GROUP BY ROLLUP (g)",
    ),
    Case(
        "grouping_sets",
        "SELECT g, n, count(*) AS c, sum(count(*)) OVER () AS w, GROUPING(g, n) FROM s.t "
        "WHERE g = 'z' GROUP BY CUBE (g, n) HAVING count(*) = 0 ORDER BY 1, 2 LIMIT 3",
    ),
    Case("grouping_sets", "SELECT count(*), max(g) FROM s.t WHERE n > 100 GROUP BY ()"),
    Case(
        "grouping_sets",
        "SELECT g, count(*), GROUPING(g) FROM s.t GROUP BY ROLLUP (g, g) ORDER BY 1, 2, 3",
    ),
    Case(
        "grouping_sets",
        "SELECT g, n, count(*) FROM s.t GROUP BY g, ROLLUP (n, (g, n)), GROUPING SETS ((n), ())",
    ),
    Case(
        "grouping_sets",
        "SELECT g, count(*) FROM s.t GROUP BY GROUPING SETS ((g), ()) ORDER BY 1",
        expect_unchanged=True,
    ),
    Case(
        "constant_grouping_keys",
        "SELECT make_date(2025, 3, 7) AS d, g, count(*), GROUPING(make_date(2025, 3, 7)) "
        "FROM s.t GROUP BY ROLLUP (make_date(2025, 3, 7), g)",
    ),
    Case(
        "constant_grouping_keys",
        "SELECT 'x' AS c, g, count(*), 'x' || coalesce(g, '-') AS e, count('x') FROM s.t "
        "GROUP BY ROLLUP (1, 2)",
    ),
    Case(
        "constant_grouping_keys",
        "SELECT 1 + 1 AS two, sum(n) FROM s.t GROUP BY GROUPING SETS ((1 + 1), ())",
    ),
    # -- chsem5 ---------------------------------------------------------------------
    # Lists built in the query have elements that are not Nullable on ClickHouse.
    Case(
        "list_elements_null",
        "SELECT g, [1, 2][n], string_split(g || ',z', ',')[3], [7, 8][-3], [[1]][2][1] FROM s.t",
    ),
    Case(
        "float_round_any_precision",
        "SELECT g, round(x * 50, -1), round(y * 100, n - 3), round(x, n - 1), round(x, 400), "
        "round(y, -400), round(x, CAST(NULL AS INT)) FROM s.t",
    ),
    Case(
        "lag_lead_default_type",
        "SELECT g, lag(n, 1, 2.5) OVER (ORDER BY g, n), lead(price, 2, 2.125) OVER (ORDER BY g, n), "
        "lag(x, 1, 7) OVER (ORDER BY g, n) FROM s.t",
    ),
    Case("nan_ordering", "SELECT g, y FROM s.t ORDER BY y DESC"),
    Case(
        "nan_ordering",
        "SELECT g, y * 2 AS z, row_number() OVER (ORDER BY y NULLS FIRST, g) AS r FROM s.t "
        "ORDER BY 2 NULLS FIRST, g",
    ),
    Case("nan_ordering", "SELECT g, avg(y) AS a FROM s.t GROUP BY g ORDER BY a DESC, g"),
    # The CASE that coalesce_in writes keeps the branch types decimal_scales needs (it
    # failed with Code 48, different Decimal scales).
    Case(
        "coalesce_in",
        "SELECT g FROM s.t WHERE coalesce(price, 0.125) IN (0.125, 0.5)",
        expect_unchanged=True,
    ),
    # -- chsem6 ---------------------------------------------------------------------
    Case(
        "set_operation_decimals",
        "SELECT sum(price) AS v FROM s.t UNION ALL SELECT CAST(1.125 AS DECIMAL(14, 3)) "
        "UNION ALL SELECT CAST(-2.375 AS DECIMAL(14, 3)) FROM s.t WHERE n = 1",
    ),
    Case(
        "set_operation_decimals",
        "SELECT CAST(price AS DECIMAL(14, 3)) - 0.005 AS v, g FROM s.t "
        "INTERSECT SELECT sum(price), 'a' FROM s.t WHERE n = 1",
    ),
    # round(DECIMAL(7, 2), 0) is DECIMAL(7, 0), so its sum is DECIMAL(38, 0): the other
    # branch is rounded to integers
    Case(
        "set_operation_decimals",
        "SELECT sum(round(price, 0)) FROM s.t UNION ALL SELECT price FROM s.t",
    ),
    # rounded outside the branch: its GROUP BY 1 still groups DuckDB's values (0.015 and
    # 0.020 are two groups, both 0.02 in the UNION)
    Case(
        "set_operation_decimals",
        "SELECT CAST(x / 100 AS DECIMAL(14, 3)) AS v, count(*) AS c FROM s.t GROUP BY 1 "
        "UNION ALL SELECT sum(price), 0 FROM s.t",
    ),
    # CASE / coalesce take the same common type (decimal_scales uses DuckDB's rule)
    Case(
        "decimal_scales",
        "SELECT g, coalesce(CASE WHEN n > 2 THEN sum(price) END, CAST(1.125 AS DECIMAL(14, 3))) "
        "FROM s.t GROUP BY g, n",
    ),
    Case(
        "null_float_casts",
        "SELECT sum(CAST(x / NULLIF(n - 1, 0) AS BIGINT)), "
        "sum(CAST(x / NULLIF(n - 1, 0) AS DECIMAL(9, 2))) FROM s.t",
    ),
    Case(
        "null_float_casts",
        "SELECT g, CAST(x / NULLIF(n - 1, 0) AS INT) FROM s.t AS a "
        "LEFT JOIN (SELECT n AS k FROM s.t) AS b ON a.n = b.k + 10",
    ),
    Case(
        "quantiles",
        "SELECT median(x), median(n), median(price), quantile_cont(price, 0.3), "
        "quantile_cont(n, 0.3), quantile_disc(x, 0.5), quantile_disc(price, 0.3), "
        "quantile_disc(ts, 0.76), quantile_disc(g, 0.5), quantile(n, 0.25), median(y), "
        "quantile_disc(y, 1.0), median(price) FILTER (WHERE n > 100) IS NULL FROM s.t",
    ),
    Case(
        "quantiles",
        "SELECT g, median(x) OVER (PARTITION BY g), quantile_cont(-price, 0.5) OVER "
        "(ORDER BY g, n ROWS BETWEEN 1 PRECEDING AND CURRENT ROW), "
        "(SELECT median(f) FROM s.t WHERE n > 100) FROM s.t",
    ),
    # a type sqlglot does not know (left(), replace()): quantile_disc only picks a value
    Case(
        "quantiles",
        "SELECT quantile_disc(left(g, 1), 0.75), quantile_disc(replace(g, 'a', '-'), 1) FROM s.t",
    ),
    Case("quantiles", "SELECT g, median(x), quantile_disc(price, 0.5) FROM s.t GROUP BY g"),
    # DECIMAL(7, 1) and 1.5's DECIMAL(2, 1) agree on DuckDB; ClickHouse's round kept
    # Decimal(7, 2) and refused the coalesce (Code 48)
    Case(
        "decimal_rounding_type",
        "SELECT coalesce(round(price, 1), 1.5), coalesce(floor(price), 7), round(price) FROM s.t",
    ),
    # DECIMAL(7, 0) - DECIMAL(12, 2) is DECIMAL(13, 2) on DuckDB (sqlglot: the left side's
    # type, so the median was rounded to integers)
    Case(
        "quantiles",
        "SELECT quantile_cont(round(price, 0) - CAST(price AS DECIMAL(12, 2)), 0.5) FROM s.t",
    ),
    # typed as DuckDB's DECIMAL, not DOUBLE (nan_ordering's isNaN failed on it)
    Case(
        "quantiles",
        "SELECT g, quantile_cont(price, 0.5) AS m FROM s.t GROUP BY g ORDER BY m DESC, g",
    ),
    # A decimal literal among a quantile's values is a DECIMAL as anywhere else (it stayed
    # Float64, and its cast to Decimal(38, 2) truncated -2.3 to -2.29: differential seed 19).
    Case(
        "quantiles",
        "SELECT g, quantile_cont(CAST(coalesce(price, -2.3) AS DOUBLE), 0) AS q, "
        "quantile_disc(coalesce(price, -2.3), 0.0) AS d FROM s.t GROUP BY g ORDER BY g",
    ),
    # -- chsem7 ---------------------------------------------------------------------
    # One rule for /, // and % (differential seed 19 index 304): x % 0 and x // 0 are NULL
    # for every type but a double's % (nan); a % nested in a divisor was left as
    # ClickHouse's modulo, which threw on 0 % 0.
    Case(
        "divisions",
        "SELECT g, avg(hour(ts) % NULLIF((n - 1) % (n - 1), 0)) AS a, "
        "sum(hour(ts) // NULLIF(n % (n - 1), 0)) AS b FROM s.t GROUP BY g",
    ),
    # // of non-integers is the DOUBLE quotient on DuckDB (sqlglot's CAST to Int64 truncated)
    Case(
        "divisions",
        "SELECT g, price // 2, -price // 2, x // 2, f // 2, n // 2.5, price // 0, x // (n - n), "
        "f // 0, price % (n - n), x % 0, f % 0, n / 0, price / (n - n) FROM s.t",
    ),
    # A struct literal's field named like a column alias (ClickHouse's aliases are global
    # to the SELECT: Code 179 "Multiple expressions for alias a").
    Case(
        "struct_literals",
        "SELECT n AS a, {'a': [n], 'b': {'a': g, 'n': 1}} AS s, g AS b FROM s.t",
    ),
    Case("struct_literals", "SELECT g AS a, {'a': sum(n), 'b': max(x)} AS s FROM s.t GROUP BY g"),
    # TIMESTAMP is wall-clock time: a server (or process) in another zone read it shifted
    Case(
        "session_timezone",
        "SELECT g, hour(old), CAST(old AS DATE), old < '1969-12-31 08:00:00', "
        "date_trunc('day', old) FROM s.t",
        "Asia/Tokyo",
    ),
    # A rule that copies its operand rewrites the innermost node first: the copies of an
    # inner round() or IN kept ClickHouse's meaning (differential seed 31 index 165).
    Case("float_round_any_precision", "SELECT g, round(round(x * 50, -1), -1) FROM s.t"),
    Case("float_round", "SELECT g, round(round(x, 1) * 10, 0) FROM s.t"),
    Case("in_null", "SELECT g, (n IN (1, NULL)) IN (FALSE, NULL) FROM s.t"),
    # -- chsem8 ---------------------------------------------------------------------
    # A field read straight off a struct literal (ClickHouse: Code 43, arrayElementOrNull
    # of a Tuple); DuckDB matches the field name in any case.
    Case(
        "struct_literals",
        "SELECT g, {'a': n, 'b': g}['b'], {'A': n, 'b': {'c': g}}['b']['c'], {'a': n}.A, "
        "{'a': [n]}['a'][1] FROM s.t",
    ),
    # Timestamps as text: DuckDB drops trailing fraction zeros (ClickHouse wrote .000000),
    # TIMESTAMPTZ ends in +00 (its session zone is UTC here); casts, :: and || alike.
    Case(
        "text_casts",
        "SELECT g, CAST(old AS VARCHAR), old::TEXT, old || '', 'at ' || ts, CAST(ts AS VARCHAR), "
        "CAST(CAST(old AS DATE) AS VARCHAR), CAST(CAST(old AS TIME) AS VARCHAR) FROM s.t",
    ),
    Case(
        "text_casts",
        "SELECT CAST(TIMESTAMP '2026-01-02 03:04:05.5' AS VARCHAR), "
        "CAST(TIMESTAMP '1969-12-31 23:59:59.000010' AS VARCHAR), "
        "TIMESTAMPTZ '2026-01-02 03:04:05.120+00' || '', CAST(TIME '01:02:03.250' AS VARCHAR)",
    ),
    # Decimals keep their scale's zeros, booleans are true/false (ClickHouse: 3, 1/0).
    Case(
        "text_casts",
        "SELECT g, CAST(price AS VARCHAR), price || '', CAST(1.50 AS VARCHAR), "
        "CAST(n > 1 AS VARCHAR), (n > 2) || '!' FROM s.t",
    ),
    # TIME has microseconds (ClickHouse's Time: whole seconds)
    Case("timestamp_microseconds", "SELECT g, CAST(old AS TIME), TIME '01:02:03.5' FROM s.t"),
]
IDS = [f"{c.entry}-{i}" for i, c in enumerate(CASES)]
FIXES = [(c, i) for c, i in zip(CASES, IDS, strict=True) if not c.expect_unchanged]


def _table() -> pa.Table:
    return pa.table(
        {
            "g": pa.array(["a", "a", "b", "c", "c"]),
            "n": pa.array([1, 2, 3, None, 4], pa.int32()),
            "price": pa.array(
                [Decimal("1.10"), Decimal("2.25"), Decimal("3.00"), None, Decimal("9.99")],
                pa.decimal128(7, 2),
            ),
            "x": pa.array([0.5, 1.5, None, 2.0, 0.25]),
            "y": pa.array([math.nan, 0.1, None, 1.0, 2.5]),
            "f": pa.array([0.1, math.nan, None, 1.5, 2.5], pa.float32()),
            "ts": pa.array(
                [datetime(2026, 1, 2, h, tzinfo=UTC) for h in (7, 15, 0, 23, 1)],
                pa.timestamp("us", tz="UTC"),
            ),
            "old": pa.array(
                [
                    datetime(1969, 12, 31, 10, 0, 0, 123456),
                    datetime(1900, 1, 1),
                    None,
                    datetime(2020, 5, 5, 1, 2, 3),
                    datetime(1960, 2, 29, 23, 59),
                ],
                pa.timestamp("us"),
            ),
            "lst": pa.array([[1, 2], None, [], [None], [3]], pa.list_(pa.int32())),
            "mp": pa.array(
                [[("k", 1)], None, [], [("k", None)], [("j", 2)]], pa.map_(pa.string(), pa.int32())
            ),
            "st": pa.array(
                [{"a": 1, "b": "x"}, None, {"a": None, "b": None}, {"a": 2, "b": None}, None],
                pa.struct([("a", pa.int32()), ("b", pa.string())]),
            ),
        }
    )


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    import doctordata as dd

    root = tmp_path / "lake"
    with dd.connect(root) as lh:
        lh.create_namespace("s")
        lh.create_table("s.t", _table())
    return root


def _duckdb_answer(sql: str) -> list[tuple[Any, ...]]:
    import duckdb

    con = duckdb.connect()
    con.execute("CREATE SCHEMA s")
    con.register("t_arrow", _table())
    con.execute("CREATE TABLE s.t AS SELECT * FROM t_arrow")
    return con.execute(sql).fetchall()


def _problem(connect: Callable[..., Any], target: str, lake: Path, sql: str) -> str | None:
    lh = connect(target, lake)
    try:
        got = lh.sql(sql, engine="clickhouse").fetchall()
    except DoctorDataError as exc:
        return f"error: {exc}"
    return differences(got, _duckdb_answer(sql), order_keys(sql))


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("target", ["chdb", "clickhouse-http"])
def test_entry_gives_duckdbs_answer(
    case: Case, target: str, lake: Path, connect: Callable[..., Any]
) -> None:
    assert _problem(connect, target, lake, case.sql) is None


@pytest.mark.parametrize("case", [c for c, _ in FIXES], ids=[i for _, i in FIXES])
def test_without_the_entry_the_answer_differs(
    case: Case, lake: Path, connect: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = {s.name for s in clickhouse_semantics.SETTINGS}
    transforms = {t.name for t in clickhouse_semantics.TRANSFORMS}
    assert case.entry in settings | transforms
    if case.entry in settings:
        monkeypatch.setitem(clickhouse.READ_SETTINGS, case.entry, case.undone)
    else:
        kept = tuple(t for t in clickhouse_semantics.TRANSFORMS if t.name != case.entry)
        monkeypatch.setattr(clickhouse_semantics, "TRANSFORMS", kept)
    assert _problem(connect, "clickhouse-http", lake, case.sql) is not None


def test_every_setting_exists_in_the_installed_chdb(
    lake: Path, connect: Callable[..., Any]
) -> None:
    names = sorted(s.name for s in clickhouse_semantics.SETTINGS)
    listed = ", ".join(f"'{n}'" for n in names)
    lh = connect("chdb", lake)
    known = lh.engine("clickhouse").execute(
        f"SELECT name FROM system.settings WHERE name IN ({listed})"
    )
    assert sorted(known.column("name").to_pylist()) == names


def test_every_entry_has_a_unique_name_and_a_reason() -> None:
    entries = [*clickhouse_semantics.SETTINGS, *clickhouse_semantics.TRANSFORMS]
    names = [e.name for e in entries]
    assert len(names) == len(set(names))
    assert all(e.reason.strip() for e in entries)


# Queries whose answer depends on whether a list, map or struct is NULL: ClickHouse reads a
# NULL one as empty, so each is refused there (a loud error beats a wrong answer).
NESTED_NULL_QUERIES = [
    ("lst", "SELECT count(lst) FROM s.t"),
    ("mp", "SELECT count(mp), count(*) FROM s.t"),
    ("st", "SELECT count(st) FROM s.t"),
    ("lst", "SELECT g FROM s.t WHERE lst IS NULL"),
    ("mp", "SELECT g, mp IS NOT NULL FROM s.t"),
    ("st", "SELECT g FROM s.t WHERE st IS NOT NULL"),
    ("lst", "SELECT g, coalesce(lst, [7]) FROM s.t"),
    ("lst", "SELECT g, len(lst) FROM s.t"),
    ("st", "SELECT g, st FROM s.t"),
    ("lst", "SELECT * FROM s.t"),
    ("lst", "SELECT t.* FROM s.t AS t"),
]


@pytest.mark.parametrize(("column", "sql"), NESTED_NULL_QUERIES)
@pytest.mark.parametrize("target", ["chdb", "clickhouse-http"])
def test_a_query_that_sees_a_null_nested_value_is_refused(
    column: str, sql: str, target: str, lake: Path, connect: Callable[..., Any]
) -> None:
    from doctordata.errors import UnsupportedSQLError

    lh = connect(target, lake)
    with pytest.raises(UnsupportedSQLError) as caught:
        lh.sql(sql, engine="clickhouse").fetchall()
    message = str(caught.value)
    assert repr(column) in message and "engine='duckdb'" in message
    got = lh.sql(sql, engine="duckdb").fetchall()  # DuckDB still runs it
    assert differences(got, _duckdb_answer(sql), order_keys(sql)) is None


@pytest.mark.parametrize(("column", "sql"), NESTED_NULL_QUERIES)
def test_without_the_refusal_the_nested_answer_differs(
    column: str, sql: str, lake: Path, connect: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = tuple(t for t in clickhouse_semantics.TRANSFORMS if t.name != "nested_nulls")
    monkeypatch.setattr(clickhouse_semantics, "TRANSFORMS", kept)
    assert _problem(connect, "clickhouse-http", lake, sql) is not None


SIGNED = [
    "SELECT count(*), count(n), count(DISTINCT g), approx_count_distinct(g) FROM s.t",
    "SELECT row_number() OVER (ORDER BY g, n), rank() OVER (ORDER BY g), "
    "dense_rank() OVER (PARTITION BY g ORDER BY n), ntile(2) OVER (ORDER BY g, n) FROM s.t",
]


@pytest.mark.parametrize("sql", SIGNED)
def test_counts_ranks_and_tiles_are_signed_as_on_duckdb(
    sql: str, lake: Path, connect: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Values equal, Arrow types too: DuckDB's BIGINT is int64, ClickHouse's UInt64 uint64."""
    want = [pa.int64()] * 4
    got = connect("chdb", lake).sql(sql, engine="clickhouse").arrow()
    assert [f.type for f in got.schema] == want
    kept = tuple(t for t in clickhouse_semantics.TRANSFORMS if t.name != "signed_counts")
    monkeypatch.setattr(clickhouse_semantics, "TRANSFORMS", kept)
    other = f"{sql} LIMIT 1000"  # other text: not the plan cached above
    undone = connect("chdb", lake).sql(other, engine="clickhouse").arrow()
    assert [f.type for f in undone.schema] != want


@pytest.mark.parametrize("target", ["chdb", "clickhouse-http"])
def test_a_scan_pruned_to_no_files_keeps_nested_column_types(
    target: str, lake: Path, connect: Callable[..., Any]
) -> None:
    """No file left after pruning: the empty scan still types lists, maps and structs."""
    sql = "SELECT count(*), max(g), sum(n) FROM s.t WHERE n > 100"
    assert _problem(connect, target, lake, sql) is None
    assert connect(target, lake).sql(sql, engine="clickhouse").fetchall() == [(0, None, None)]


# A key named by position and again is two keys on DuckDB (its GROUPING(g) and the select
# items bind to either copy) but one on ClickHouse: refused there, never a different answer.
POSITION_REPEATS = [
    "SELECT g, count(*), GROUPING(g) FROM s.t GROUP BY ROLLUP (1, g)",
    "SELECT g AS a, g AS b, count(*) FROM s.t GROUP BY ROLLUP (1, 2)",
    "SELECT g AS a, n, count(*) FROM s.t GROUP BY GROUPING SETS ((1, 2), (g), ())",
]


@pytest.mark.parametrize("sql", POSITION_REPEATS)
@pytest.mark.parametrize("target", ["chdb", "clickhouse-http"])
def test_a_grouping_key_named_by_position_and_again_is_refused(
    sql: str, target: str, lake: Path, connect: Callable[..., Any]
) -> None:
    from doctordata.errors import UnsupportedSQLError

    lh = connect(target, lake)
    with pytest.raises(UnsupportedSQLError) as caught:
        lh.sql(sql, engine="clickhouse").fetchall()
    message = str(caught.value)
    assert "'g'" in message and "by position" in message and "engine='duckdb'" in message
    got = lh.sql(sql, engine="duckdb").fetchall()
    assert differences(got, _duckdb_answer(sql), order_keys(sql)) is None


@pytest.mark.parametrize("sql", POSITION_REPEATS)
def test_without_the_grouping_rewrite_the_position_repeat_answer_differs(
    sql: str, lake: Path, connect: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = tuple(t for t in clickhouse_semantics.TRANSFORMS if t.name != "grouping_sets")
    monkeypatch.setattr(clickhouse_semantics, "TRANSFORMS", kept)
    assert _problem(connect, "clickhouse-http", lake, sql) is not None


# Quantiles ClickHouse is not taught to compute as DuckDB does: refused, never approximated.
QUANTILE_REFUSALS = [
    "SELECT median(ts) FROM s.t",
    "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) FROM s.t",
    "SELECT quantile_cont(x, [0.1, 0.5]) FROM s.t",
    "SELECT quantile_cont(x, -0.25) FROM s.t",
]


@pytest.mark.parametrize("sql", QUANTILE_REFUSALS)
def test_a_quantile_clickhouse_cannot_match_is_refused(
    sql: str, lake: Path, connect: Callable[..., Any]
) -> None:
    from doctordata.errors import UnsupportedSQLError

    lh = connect("chdb", lake)
    with pytest.raises(UnsupportedSQLError, match="engine='duckdb'"):
        lh.sql(sql, engine="clickhouse").fetchall()
    assert lh.sql(sql, engine="duckdb").fetchall()  # DuckDB answers it


@pytest.mark.parametrize("target", ["chdb", "clickhouse-http"])
def test_a_quantile_sorts_its_values_once(
    target: str, lake: Path, connect: Callable[..., Any]
) -> None:
    """One arraySort(groupArray(x)) per quantile, read through a lambda (it was written out
    for every use: up to 8 times for quantile_cont)."""
    sql = (
        "SELECT g, median(x), quantile_cont(price, 0.3), quantile_disc(n, 0.5), "
        "median(x) OVER (PARTITION BY g) FROM s.t GROUP BY g, x ORDER BY g, x"
    )
    assert _problem(connect, target, lake, sql) is None
    translated = connect(target, lake).sql(sql, engine="clickhouse").stats.translated_sql
    assert translated.count("arraySort(") == 4


ZONE_SQL = (
    "SELECT g, hour(old), CAST(old AS DATE), old < '1969-12-31 08:00:00', "
    "date_trunc('day', old), hour(ts), CAST(ts AS DATE), ts < '2026-01-02 03:00:00' FROM s.t"
)


def test_a_server_in_another_time_zone_reads_timestamps_as_duckdb(
    tmp_path: Path, lake: Path
) -> None:
    """A server whose own zone is not the client's (the loopback endpoint under
    TZ=Asia/Tokyo): TIMESTAMP and TIMESTAMPTZ read as on DuckDB."""
    import doctordata as dd
    from tests.services.clickhouse_http import endpoint_url, start_endpoint, stop_endpoint

    proc = start_endpoint(tmp_path / "tokyo", env={"TZ": "Asia/Tokyo"})
    try:
        with dd.connect(lake, engines={"clickhouse": endpoint_url(proc)}) as lh:
            zone = lh.engine("clickhouse").execute("SELECT timezone() AS z")
            assert zone.column("z").to_pylist() == ["UTC"]  # the session's, not the server's
            got = lh.sql(ZONE_SQL, engine="clickhouse").fetchall()
    finally:
        stop_endpoint(proc)
    assert differences(got, _duckdb_answer(ZONE_SQL), order_keys(ZONE_SQL)) is None


def test_a_real_server_reads_timestamps_as_duckdb(lake: Path, connect: Callable[..., Any]) -> None:
    """The same on a real server (DOCTORDATA_TEST_CLICKHOUSE_URL; skipped when unset)."""
    assert _problem(connect, "clickhouse-server", lake, ZONE_SQL) is None


# ~30 casts to text: each gives DuckDB's text on ClickHouse or is refused (never another
# text). True marks the ones refused: ClickHouse writes FLOATs (DuckDB: 496796.125 where
# ClickHouse writes 496796.12), blobs and nested values in another form. DOUBLEs are laid
# out as on DuckDB (ClickHouse wrote 1 for 1.0, 1e-7 for 1e-07, 100000000000000000000).
TEXT_CASTS = [
    ("CAST(n AS VARCHAR)", False),
    ("CAST(-n AS VARCHAR)", False),
    ("CAST(n::TINYINT AS VARCHAR)", False),
    ("CAST(n::HUGEINT AS VARCHAR)", False),
    ("CAST(n::UBIGINT AS VARCHAR)", False),
    ("CAST(g AS VARCHAR)", False),
    ("CAST(price AS VARCHAR)", False),
    ("CAST(price * 2 AS VARCHAR)", False),
    ("CAST(-price AS TEXT)", False),
    ("CAST(CAST(x AS DECIMAL(9, 3)) AS VARCHAR)", False),
    ("CAST(CAST(n AS DECIMAL(5, 0)) AS VARCHAR)", False),
    ("CAST(2.50 AS VARCHAR)", False),
    ("CAST(n > 1 AS VARCHAR)", False),
    ("CAST(true AS VARCHAR)", False),
    ("(x IS NULL) || ''", False),
    ("CAST(old AS VARCHAR)", False),
    ("CAST(ts AS VARCHAR)", False),
    ("CAST(CAST(old AS DATE) AS VARCHAR)", False),
    ("CAST(CAST(old AS TIME) AS VARCHAR)", False),
    ("CAST(old + INTERVAL 1 SECOND AS VARCHAR)", False),
    ("CAST(date_trunc('hour', old) AS VARCHAR)", False),
    ("CAST(make_date(2020, n, 1) AS VARCHAR)", False),
    ("CAST(NULL AS VARCHAR)", False),
    ("([n] || [2, 3])[2]", False),  # || of lists joins them: no text
    ("concat(old, '/', price, '/', x, '/', n > 1)", False),
    ("CAST(x AS VARCHAR)", False),
    ("CAST(y AS VARCHAR)", False),
    ("CAST(x / 3 AS VARCHAR)", False),
    ("CAST(-y * 1e-9 AS VARCHAR)", False),
    ("'avg ' || avg(x) OVER (PARTITION BY g)", False),
    ("CAST(f AS VARCHAR)", True),
    ("x || ''", False),
    ("CAST(1e20 AS VARCHAR)", False),
    ("CAST(CAST(g AS BLOB) AS VARCHAR)", True),
    ("CAST([n, 2] AS VARCHAR)", True),
    ("CAST({'a': n} AS VARCHAR)", True),
    ("CAST(MAP {'k': n} AS VARCHAR)", True),
]


@pytest.mark.parametrize(("expression", "refused"), TEXT_CASTS)
def test_a_value_turned_into_text_reads_as_on_duckdb_or_is_refused(
    expression: str, refused: bool, lake: Path, connect: Callable[..., Any]
) -> None:
    from doctordata.errors import UnsupportedSQLError

    sql = f"SELECT g, n, {expression} AS v FROM s.t"
    if not refused:
        assert _problem(connect, "chdb", lake, sql) is None
        return
    lh = connect("chdb", lake)
    with pytest.raises(UnsupportedSQLError, match=r"into text.*engine='duckdb'"):
        lh.sql(sql, engine="clickhouse").fetchall()
    assert lh.sql(sql, engine="duckdb").fetchall()  # DuckDB still answers it


def test_a_timestamptz_as_text_outside_utc_is_written_in_duckdbs_zone(
    lake: Path, connect: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """DuckDB writes a TIMESTAMPTZ in its session zone (the process's TZ) with its offset:
    ClickHouse writes the same (it was refused outside UTC). The full comparison with DuckDB
    in a process under TZ=... is tests/engines/test_clickhouse_zones.py."""
    from zoneinfo import ZoneInfo

    from doctordata.engines import clickhouse_arrow

    # DuckDB's zone as the router asks it; TZ itself cannot be changed here (ICU keeps the
    # zone it read first in the process)
    monkeypatch.setattr(clickhouse_arrow, "duckdb_time_zone", lambda: "Asia/Tokyo")
    lh = connect("chdb", lake)
    got = lh.sql("SELECT g, CAST(ts AS VARCHAR) FROM s.t", engine="clickhouse").fetchall()
    tokyo = ZoneInfo("Asia/Tokyo")
    want = [
        (g, ts.astimezone(tokyo).strftime("%Y-%m-%d %H:%M:%S") + "+09")
        for g, ts in lh.sql("SELECT g, ts FROM s.t", engine="duckdb").fetchall()
    ]
    assert sorted(got) == sorted(want)


def test_doubles_as_text_read_as_on_duckdb(tmp_path: Path, connect: Callable[..., Any]) -> None:
    """~3000 doubles (random bit patterns, uniform values, rounded values and the edges:
    -0.0, 1e15, 1e16, 1e-4, 1e-5, 5e-324, 1e308, nan, -nan, inf) written as text by DuckDB and by
    ClickHouse through the router: the same text (ClickHouse's own: 1, 1e-7, 1e+308 as
    100000000...). Bounded: one table, one query per engine."""
    import random
    import struct

    import doctordata as dd

    rnd = random.Random(8)
    values = [0.0, -0.0, 1.0, -1.0, 0.1, 1e15, 1e16, 9999999999999998.0, 1e-4, 1e-5, 1.5e-5]
    values += [2 / 3, 1e20, 1e21, 1e22, 1e308, 5e-324, 2.2250738585072014e-308, 12345.678]
    values += [math.nan, math.inf, -math.inf, 1234567890123456.7, 123456789012345678.0]
    values.append(struct.unpack("d", struct.pack("Q", 0xFFF8000000000000))[0])  # -nan
    while len(values) < 3000:
        bits = struct.unpack("d", struct.pack("Q", rnd.getrandbits(64)))[0]
        if math.isfinite(bits):
            values.append(bits)
        values.append(rnd.uniform(-1e6, 1e6))
        values.append(round(rnd.uniform(-100, 100), rnd.randint(0, 6)))
    table = pa.table({"i": pa.array(range(len(values)), pa.int64()), "v": pa.array(values)})
    root = tmp_path / "doubles"
    with dd.connect(root) as lh:
        lh.create_namespace("s")
        lh.create_table("s.d", table)
    sql = "SELECT i, CAST(v AS VARCHAR), v || '' FROM s.d ORDER BY i"
    lh = connect("chdb", root)
    got = lh.sql(sql, engine="clickhouse").fetchall()
    want = lh.sql(sql, engine="duckdb").fetchall()
    assert len(got) == len(values)
    assert [r for r, w in zip(got, want, strict=True) if r != w] == []
