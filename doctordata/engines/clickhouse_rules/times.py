"""Dates and timestamps with DuckDB's types, ranges and literals."""

from __future__ import annotations

import re
from typing import Any

from sqlglot import exp

from doctordata.engines.clickhouse_rules.common import COMPARISONS, call, is_type
from doctordata.engines.clickhouse_types import arg_types


# sqlglot writes DuckDB's make_date(y, m, d) as DATE_FROM_PARTS, which ClickHouse lacks;
# makeDate32 covers DuckDB's date range (makeDate stops at 2149).
def make_date(root: exp.Expr) -> exp.Expr:
    for node in list(root.find_all(exp.DateFromParts)):
        args = [node.args.get(k) for k in ("year", "month", "day")]
        if all(a is not None for a in args):
            node.replace(exp.Anonymous(this="makeDate32", expressions=args))
    return root


# DuckDB's TIMESTAMP has microseconds; sqlglot writes it as ClickHouse's DateTime (whole
# seconds, returned as a number through Arrow, and 1970-2106 only: earlier or later values
# wrap around). DATE is written as Date (1970-2149, wraps the same way). Casts and literals
# become DateTime64(6) (with DuckDB's session zone for TIMESTAMPTZ) and Date32, which span
# 1900-2299.
_WIDER_TIME_TYPES = {
    exp.DataType.Type.TIMESTAMP: "DateTime64(6)",
    exp.DataType.Type.TIMESTAMPNTZ: "DateTime64(6)",
    exp.DataType.Type.TIMESTAMPTZ: "DateTime64(6, 'UTC')",
    exp.DataType.Type.DATE: "Date32",
    exp.DataType.Type.TIME: "TIME(6)",  # Time64(6): TIME has microseconds (Time: seconds)
}


def timestamp_microseconds(root: exp.Expr) -> exp.Expr:
    from doctordata.engines.clickhouse_arrow import clickhouse_zone

    zone: str | None = None
    for node in list(root.find_all(exp.DataType)):
        wider = _WIDER_TIME_TYPES.get(node.this)
        if node.this == exp.DataType.Type.TIMESTAMPTZ and not node.expressions:
            # in DuckDB's session zone, as the scans' columns (engines/clickhouse.py)
            zone = zone or clickhouse_zone()
            quoted = zone.replace("\\", "\\\\").replace("'", "\\'")
            wider = f"DateTime64(6, '{quoted}')"
        if wider is not None and not node.expressions:
            built = exp.DataType.build(wider, dialect="clickhouse")
            built.set("nullable", None)  # let sqlglot wrap it in Nullable() as it did
            node.replace(built)
    return root


# A string with a UTC offset next to a TIMESTAMPTZ ('2026-01-03 00:00:00+09') is that
# instant on DuckDB; ClickHouse cannot read the offset when it converts the string to the
# column's DateTime64 (an error). parseDateTime64BestEffort reads it.
_OFFSET = re.compile(r"\d[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*[+-]\d{2}(:?\d{2})?$")


def _offset_literal(side: exp.Expr) -> bool:
    return isinstance(side, exp.Literal) and side.is_string and bool(_OFFSET.search(side.name))


def timestamp_offsets(root: exp.Expr) -> exp.Expr:
    tz = exp.DataType.Type.TIMESTAMPTZ
    for node in list(root.find_all(*COMPARISONS, exp.In, exp.Between)):
        kinds = arg_types(node)
        if isinstance(node, exp.In):
            sides = list(node.expressions) if kinds[0] is not None and kinds[0].is_type(tz) else []
        elif isinstance(node, exp.Between):
            typed = kinds[0] is not None and kinds[0].is_type(tz)
            sides = [node.args["low"], node.args["high"]] if typed else []
        else:
            a, b = node.this, node.expression
            sides = [
                s for s, k in ((a, kinds[1]), (b, kinds[0])) if k is not None and k.is_type(tz)
            ]
        for side in sides:
            if _offset_literal(side):
                side.replace(call("parseDateTime64BestEffort", side.copy(), exp.Literal.number(6)))
    return root


def date_difference(root: exp.Expr) -> exp.Expr:
    """date - date is a BIGINT count of days on DuckDB; ClickHouse has no minus for Date32."""
    for node in list(root.find_all(exp.Sub)):
        a, b = arg_types(node)
        if a is not None and b is not None and a.is_type("date") and b.is_type("date"):
            days = call(
                "dateDiff", exp.Literal.string("day"), node.expression.copy(), node.this.copy()
            )
            node.replace(exp.Cast(this=days, to=exp.DataType.build("BIGINT")))
    return root


# DuckDB's make_timestamp(y, m, d, h, min, sec) (sec a double) is TIMESTAMP_FROM_PARTS,
# which ClickHouse lacks: makeDateTime64 with whole seconds and microseconds.
def make_timestamp(root: exp.Expr) -> exp.Expr:
    keys = ("year", "month", "day", "hour", "min", "sec")
    for node in list(root.find_all(exp.TimestampFromParts)):
        args = [a for a in (node.args.get(k) for k in keys) if isinstance(a, exp.Expr)]
        if len(args) < len(keys) or node.args.get("zone") is not None:
            continue
        *rest, sec = args
        million = exp.Literal.number(1000000)
        micros = call("toInt64", call("round", exp.Mul(this=exp.paren(sec), expression=million)))
        whole = call("intDiv", micros.copy(), exp.Literal.number(1000000))
        fraction = call("modulo", micros, exp.Literal.number(1000000))
        node.replace(call("makeDateTime64", *rest, whole, fraction, exp.Literal.number(6)))
    return root


# date + INTERVAL is a TIMESTAMP on DuckDB (Date32 on ClickHouse); date_trunc of a
# TIMESTAMP is a TIMESTAMP (ClickHouse: Date for day and coarser units), of a TIMESTAMPTZ a
# TIMESTAMPTZ.
_NAIVE_TIMES: frozenset[Any] = frozenset(
    {exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPNTZ, exp.DataType.Type.DATE}
)


# Units for which ClickHouse's date_trunc of a DateTime64 is a Date (finer: a DateTime).
_DATE_UNITS = frozenset({"WEEK", "MONTH", "QUARTER", "YEAR"})


def _zoned_date_trunc(node: exp.Expr) -> None:
    """date_trunc(unit, TIMESTAMPTZ) is a TIMESTAMPTZ on DuckDB (ClickHouse: a Date for a
    week and coarser). Outside UTC, DuckDB (ICU) truncates the wall-clock time in its zone
    and reads the result back as a wall-clock time: a repeated 02:00 is the later one, even
    for a value in the earlier 02:30. The same steps here."""
    from doctordata.engines.clickhouse_arrow import clickhouse_zone
    from doctordata.engines.clickhouse_rules.zones import instant_to_wall, wall_to_instant

    zone = clickhouse_zone()
    unit = node.args.get("unit")
    if zone == "UTC" and (unit is None or unit.name.upper() not in _DATE_UNITS):
        return  # a DateTime64 in UTC already
    placeholder = exp.Null()
    node.replace(placeholder)
    if zone == "UTC":
        zoned = exp.DataType.build("DateTime64(6, 'UTC')", dialect="clickhouse")
        zoned.set("nullable", None)
        placeholder.replace(exp.Cast(this=node, to=zoned))
        return
    node.set("this", instant_to_wall(node.this.copy(), zone))
    placeholder.replace(wall_to_instant(node, zone))


def timestamp_results(root: exp.Expr) -> exp.Expr:
    timestamp = exp.DataType.build("DateTime64(6)", dialect="clickhouse")
    timestamp.set("nullable", None)
    for node in list(root.find_all(exp.Add, exp.Sub, exp.TimestampTrunc, exp.DateTrunc)):
        kinds = arg_types(node)
        if isinstance(node, (exp.TimestampTrunc, exp.DateTrunc)):
            if is_type(kinds[0], frozenset({exp.DataType.Type.TIMESTAMPTZ})):
                _zoned_date_trunc(node)
                continue
            typed = is_type(kinds[0], _NAIVE_TIMES)
        else:
            sides = (node.this, node.expression)
            dated = [k is not None and k.is_type("date") for k in kinds]
            interval = [isinstance(side, exp.Interval) for side in sides]
            typed = len(dated) == 2 and ((dated[0] and interval[1]) or (dated[1] and interval[0]))
        if typed:
            placeholder = exp.Null()
            node.replace(placeholder)
            placeholder.replace(exp.Cast(this=node, to=timestamp.copy()))
    return root
