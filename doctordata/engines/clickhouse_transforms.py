"""The sqlglot transforms that give DuckDB's semantics on ClickHouse where no setting does.

Listed in :data:`TRANSFORMS` (name, function, one-line reason), run in order by
``clickhouse_semantics.apply_transforms`` on each query's private tree before it is
generated in ClickHouse's dialect. The rules themselves live in engines/clickhouse_rules/,
one module per family; this list is the one place that orders them. The session settings
are in clickhouse_semantics.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlglot import exp

from doctordata.engines.clickhouse_rules.comparisons import (
    coalesce_in,
    float_comparisons,
    in_null,
    nan_ordering,
)
from doctordata.engines.clickhouse_rules.decimals import (
    decimal_literals,
    decimal_rounding_type,
    decimal_scales,
    set_operation_decimals,
)
from doctordata.engines.clickhouse_rules.grouping import (
    constant_keys,
    grouping_keys,
    grouping_sets_rewrite,
)
from doctordata.engines.clickhouse_rules.names import (
    alias_case,
    boolean_projections,
    order_by_output_names,
    projection_names,
)
from doctordata.engines.clickhouse_rules.nested import (
    list_elements_null,
    nested_nulls,
    struct_fields,
    struct_literals,
)
from doctordata.engines.clickhouse_rules.numbers import (
    abs_keeps_type,
    casts_round,
    checked_integers,
    divisions,
    float_class_functions,
    float_max_nan,
    float_round,
    float_round_any_precision,
    null_float_casts,
    sample_statistics_null,
    signed_counts,
)
from doctordata.engines.clickhouse_rules.quantiles import quantiles
from doctordata.engines.clickhouse_rules.strings import (
    format_function,
    like_backslashes,
    list_length,
    ordered_string_agg,
    regexp_full_match,
    regexp_replace_first,
    utf8_strings,
)
from doctordata.engines.clickhouse_rules.texts import formatted_times, text_casts
from doctordata.engines.clickhouse_rules.times import (
    date_difference,
    date_parts,
    make_date,
    make_timestamp,
    time_buckets,
    timestamp_microseconds,
    timestamp_results,
    week_differences,
)
from doctordata.engines.clickhouse_rules.windows import (
    first_last_value_nulls,
    lag_lead_default_type,
    lag_lead_null,
    range_interval_frames,
)
from doctordata.engines.clickhouse_rules.zones import time_zones


@dataclass(frozen=True)
class Transform:
    name: str
    apply: Callable[[exp.Expr], exp.Expr]
    reason: str


# In the order they run; where the order matters, the comment says why.
TRANSFORMS: tuple[Transform, ...] = (
    Transform(
        "decimal_rounding_type",
        decimal_rounding_type,
        "round(DECIMAL(12, 2), 1) is DECIMAL(12, 1), floor/ceil DECIMAL(12, 0), as on DuckDB",
    ),
    # Before lag_lead_null: the default is still as written (lag_lead_null wraps it).
    Transform(
        "lag_lead_default_type",
        lag_lead_default_type,
        "lag(int, 1, 2.5) is 3: the default takes the value's type",
    ),
    # First: positions become the select items as written (before boolean_projections casts
    # them, so that GROUPING(a < b) still names the key a < b), and every later rewrite then
    # treats a key and its select item alike.
    Transform(
        "grouping_sets",
        grouping_sets_rewrite,
        "ROLLUP/CUBE/GROUP BY () as GROUPING SETS: a grand-total row over no rows, "
        "repeated keys kept",
    ),
    Transform(
        "nested_nulls",
        nested_nulls,
        "a NULL list/map/struct reads as empty on ClickHouse: queries that see it are refused",
    ),
    # Before text_casts: it reads string constants and casts next to a
    # TIMESTAMPTZ as written, and refuses what it cannot make exact before anything else.
    Transform(
        "time_zones",
        time_zones,
        "outside UTC, a TIMESTAMPTZ is computed in DuckDB's session zone (strings and "
        "TIMESTAMPs read as TIMESTAMPTZ, ::TIMESTAMP, ::DATE); calendar arithmetic refused; "
        "in every zone a string next to a TIMESTAMPTZ is read by DuckDB ('... 02:30', '+09')",
    ),
    # After time_zones (which reads the values as written), before timestamp_microseconds.
    Transform(
        "date_parts",
        date_parts,
        "date_part/EXTRACT/epoch/dayofweek/isodow/...: DuckDB's parts and types",
    ),
    Transform(
        "time_buckets",
        time_buckets,
        "time_bucket(INTERVAL, v) with DuckDB's origins (ClickHouse: an error); age refused",
    ),
    Transform(
        "week_differences",
        week_differences,
        "date_diff('week', a, b) is the day difference // 7 (ClickHouse counts Mondays)",
    ),
    Transform(
        "formatted_times",
        formatted_times,
        "strftime's specifiers are DuckDB's (ClickHouse's %M is the month's name); strptime "
        "refused",
    ),
    # Before decimal_literals and timestamp_microseconds: it reads the operands as written.
    Transform(
        "text_casts",
        text_casts,
        "CAST(x AS VARCHAR) and x || '' write timestamps, decimals and booleans as DuckDB "
        "does (2026-01-02 03:04:05, 3.00, true); floats, blobs and nested values: refused",
    ),
    # Before decimal_literals: it reads number literals as written.
    Transform("float_comparisons", float_comparisons, "NaN = NaN and NaN > 1; 0.1::FLOAT = 0.1"),
    Transform(
        "alias_case",
        alias_case,
        "DuckDB matches unquoted aliases case-insensitively, ClickHouse does not (TPC-DS q49)",
    ),
    Transform(
        "projection_names",
        projection_names,
        "SELECT t.a is column a on DuckDB; ClickHouse may name it t.a (TPC-DS q47, q57)",
    ),
    Transform(
        "order_by_output_names",
        order_by_output_names,
        "ORDER BY x sorts by the output column x even where an input column x exists",
    ),
    Transform(
        "decimal_literals", decimal_literals, "1.5 is DECIMAL(2,1) on DuckDB, Float64 on ClickHouse"
    ),
    Transform(
        "divisions",
        divisions,
        "x / y is DOUBLE; x // 0 and x % 0 are NULL (ClickHouse: Division by zero), "
        "a % b of decimals exact, x // y of non-integers a DOUBLE quotient",
    ),
    Transform(
        "sample_statistics_null",
        sample_statistics_null,
        "stddev_samp/var_samp of one value: NULL on DuckDB, nan on ClickHouse",
    ),
    Transform("float_class_functions", float_class_functions, "isfinite(x) is isFinite"),
    Transform(
        "float_max_nan",
        float_max_nan,
        "max(double) is NaN once a value is NaN (DuckDB orders NaN above every number)",
    ),
    Transform(
        "regexp_replace_first",
        regexp_replace_first,
        "regexp_replace replaces the first match (every match with 'g')",
    ),
    Transform("regexp_full_match", regexp_full_match, "regexp_full_match matches the whole string"),
    Transform(
        "range_interval_frames",
        range_interval_frames,
        "RANGE frames with an INTERVAL offset: refused (ClickHouse wants a number)",
    ),
    Transform("format_function", format_function, "format('{}-{}', a, b) is ClickHouse's format"),
    Transform("list_length", list_length, "len(list || list) counts elements"),
    Transform(
        "like_backslashes",
        like_backslashes,
        "LIKE 'x\\%' has no escape character (ClickHouse's LIKE took the backslash for one)",
    ),
    Transform(
        "ordered_string_agg",
        ordered_string_agg,
        "string_agg(x, sep ORDER BY k) joins the non-NULL values in k's order",
    ),
    Transform(
        "first_last_value_nulls",
        first_last_value_nulls,
        "first_value/last_value return a NULL first/last value (ClickHouse skips NULLs)",
    ),
    Transform("utf8_strings", utf8_strings, "upper/lower/left/right/substring count characters"),
    Transform("make_date", make_date, "make_date(y, m, d) exists on ClickHouse as makeDate32"),
    Transform(
        "timestamp_microseconds",
        timestamp_microseconds,
        "TIMESTAMP[TZ] is DateTime64(6), DATE is Date32: microseconds, years 1900-2299",
    ),
    # Before boolean_projections: the keys it copies must be the expressions as written.
    Transform("grouping_keys", grouping_keys, "GROUPING() names keys, not positions"),
    Transform("boolean_projections", boolean_projections, "a selected comparison is BOOLEAN"),
    Transform("abs_keeps_type", abs_keeps_type, "abs(BIGINT) is BIGINT, not UInt64"),
    Transform("float_round", float_round, "round(double) rounds half away from zero"),
    Transform("casts_round", casts_round, "CAST(double or decimal AS INT) rounds"),
    Transform("in_null", in_null, "x IN (1, NULL) is NULL, not FALSE, for x = 2"),
    Transform("lag_lead_null", lag_lead_null, "lag/lead beyond the partition are NULL"),
    Transform("coalesce_in", coalesce_in, "coalesce(n, 7) IN (7) keeps n's NULL rows"),
    Transform("decimal_scales", decimal_scales, "DuckDB takes the widest decimal scale"),
    Transform(
        "set_operation_decimals",
        set_operation_decimals,
        "a UNION of DECIMAL(38, 2) and DECIMAL(14, 3) is DECIMAL(38, 2) (1.125 -> 1.13)",
    ),
    Transform(
        "signed_counts",
        signed_counts,
        "count(), length(), integer sums, row_number(), rank(), ntile(): signed",
    ),
    Transform("date_difference", date_difference, "date - date is days (Date32 has no minus)"),
    Transform(
        "struct_literals",
        struct_literals,
        "{'a': x} is a named tuple(x AS a), built in a lambda: its alias a is local there",
    ),
    Transform("struct_fields", struct_fields, "s['a'] is field a of struct s"),
    Transform("make_timestamp", make_timestamp, "make_timestamp(...) is makeDateTime64"),
    Transform(
        "timestamp_results",
        timestamp_results,
        "date + INTERVAL and date_trunc(unit, timestamp) are TIMESTAMPs",
    ),
    Transform(
        "constant_grouping_keys",
        constant_keys,
        "a constant ROLLUP key is NULL where it is rolled up (ClickHouse drops constant keys)",
    ),
    # After struct_fields: the brackets left index lists and maps.
    Transform("list_elements_null", list_elements_null, "x[i] past a list's end is NULL"),
    Transform(
        "float_round_any_precision",
        float_round_any_precision,
        "round(double, -1) rounds half away from zero too; so does a computed precision",
    ),
    Transform(
        "checked_integers",
        checked_integers,
        "integer +, -, * raise on overflow of DuckDB's result type (ClickHouse wraps or widens)",
    ),
    Transform("nan_ordering", nan_ordering, "NaN sorts above every number, also DESC"),
    Transform(
        "null_float_casts",
        null_float_casts,
        "CAST(x / NULLIF(k, 0) AS BIGINT) is NULL where k = 0, not an inf-to-integer error",
    ),
    Transform(
        "quantiles",
        quantiles,
        "median/quantile_cont/quantile_disc: exact, with DuckDB's interpolation and index",
    ),
)
