"""Dates and timestamps with DuckDB's types, ranges and literals."""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from doctordata.engines.clickhouse_rules.common import call, is_type
from doctordata.engines.clickhouse_types import arg_types
from doctordata.errors import UnsupportedSQLError


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


# DuckDB's date parts (date_part('x', v), datepart, EXTRACT(x FROM v), and the functions
# named after a part: epoch(v), dayofweek(v), microsecond(v), ...) as ClickHouse SQL of the
# value ``v`` with DuckDB's result type. ClickHouse lacks some (epoch, isodow, decade, ...)
# and counts others differently (its microsecond is the fraction only, DuckDB's includes the
# seconds). A field of a TIMESTAMPTZ is read in the value's zone (its type carries DuckDB's
# session zone: zones.py). Parts not listed (julian, timezone*) are refused.
_MICRO = "positiveModulo(toUnixTimestamp64Micro(v), 1000000)"
_PART_SQL: dict[str, tuple[str, str]] = {
    "year": ("toYear(v)", "Int64"),
    "month": ("toMonth(v)", "Int64"),
    "day": ("toDayOfMonth(v)", "Int64"),
    "hour": ("toHour(v)", "Int64"),
    "minute": ("toMinute(v)", "Int64"),
    "second": ("toSecond(v)", "Int64"),
    "millisecond": (f"toSecond(v) * 1000 + intDiv({_MICRO}, 1000)", "Int64"),
    "microsecond": (f"toSecond(v) * 1000000 + {_MICRO}", "Int64"),
    "epoch": ("toUnixTimestamp64Micro(v) / 1000000.0", "Float64"),
    "dow": ("toDayOfWeek(v) % 7", "Int64"),
    "isodow": ("toDayOfWeek(v)", "Int64"),
    "doy": ("toDayOfYear(v)", "Int64"),
    "week": ("toISOWeek(v)", "Int64"),
    "quarter": ("toQuarter(v)", "Int64"),
    "isoyear": ("toISOYear(v)", "Int64"),
    "yearweek": ("toISOYear(v) * 100 + toISOWeek(v)", "Int64"),
    # DuckDB's formulas for years after 0 (ClickHouse's Date32 starts in 1900)
    "decade": ("intDiv(toYear(v), 10)", "Int64"),
    "century": ("intDiv(toYear(v) - 1, 100) + 1", "Int64"),
    "millennium": ("intDiv(toYear(v) - 1, 1000) + 1", "Int64"),
    "era": ("toYear(v) > 0", "Int64"),
}
# Functions only (not date_part's parts). epoch_ms(ts) truncates towards zero, as DuckDB.
_US = "toUnixTimestamp64Micro(v)"
_DAY_NAMES = "['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday']"
_MONTH_NAMES = (
    "['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', "
    "'September', 'October', 'November', 'December']"
)
_FUNCTION_SQL: dict[str, tuple[str, str]] = {
    "epoch_ms": (f"if({_US} < 0, -intDiv(-{_US}, 1000), intDiv({_US}, 1000))", "Int64"),
    "epoch_us": (_US, "Int64"),
    "epoch_ns": (f"{_US} * 1000", "Int64"),
    "nanosecond": (f"(toSecond(v) * 1000000 + {_MICRO}) * 1000", "Int64"),
    "dayname": (f"arrayElement({_DAY_NAMES}, toDayOfWeek(v))", "String"),
    "monthname": (f"arrayElement({_MONTH_NAMES}, toMonth(v))", "String"),
    # toLastDayOfMonth is a Date (1970 at the earliest): a Date32 built from the fields
    "last_day": ("makeDate32(toYear(v), toMonth(v), toDaysInMonth(v))", "Date32"),
}
_PART_SQL.update(_FUNCTION_SQL)
_PART_ALIASES = {
    "year": "y yr yrs years",
    "month": "mon mons months",
    "day": "d days dayofmonth",
    "hour": "h hr hrs hours",
    "minute": "m min mins minutes",
    "second": "s sec secs seconds",
    "millisecond": "ms msec msecs milliseconds",
    "microsecond": "us usec usecs microseconds",
    "dow": "dayofweek weekday",
    "doy": "dayofyear",
    "week": "w weeks weekofyear",
    "quarter": "quarters",
    "decade": "dec decades",
    "century": "c cent centuries",
    "millennium": "mil mils millennia millenium",
}
_PARTS = {alias: part for part, names in _PART_ALIASES.items() for alias in names.split()}
_PARTS.update({part: part for part in _PART_SQL})
# Functions named after a part, for those sqlglot leaves as they are (exp.Anonymous).
_PART_FUNCTIONS = _PARTS.keys() - {"y", "yr", "d", "h", "m", "s", "c", "w", "us", "ms", "dec"}
_PART_NODES: dict[type[exp.Expr], str] = {
    exp.Year: "year",  # ClickHouse's toYear/toHour/...: UInt16/UInt8, DuckDB's a BIGINT
    exp.Month: "month",
    exp.Day: "day",
    exp.Hour: "hour",
    exp.Minute: "minute",
    exp.Second: "second",
    exp.LastDay: "last_day",
    exp.Dayname: "dayname",
    exp.Monthname: "monthname",
    exp.UnixToTime: "epoch_ms",  # sqlglot reads epoch_ms(x) so; of a timestamp: see below
    exp.TimeToUnix: "epoch",
    exp.DayOfWeek: "dow",
    exp.DayOfWeekIso: "isodow",
    exp.DayOfYear: "doy",
    exp.DayOfMonth: "day",
    exp.Week: "week",
    exp.WeekOfYear: "week",
    exp.Quarter: "quarter",
}
_PART_TREES: dict[str, exp.Expr] = {}


def replace_keeping_name(node: exp.Expr, new: exp.Expr) -> None:
    """``node.replace(new)``; a select item keeps its DuckDB text as its name (two items
    rewritten alike, strftime(ts, '%b') and strftime(ts, '%h'), stay two columns)."""
    if isinstance(node.parent, exp.Select) and node.arg_key == "expressions":
        new = exp.alias_(new, node.sql("duckdb"), quoted=True)
    node.replace(new)


def _part_refusal(node: exp.Expr, what: str) -> UnsupportedSQLError:
    return UnsupportedSQLError(
        f"{node.sql('duckdb')!r}: {what} has no exact ClickHouse form here. Run this query "
        "with engine='duckdb'."
    )


def part_value(value: exp.Expr, kind: exp.DataType | None) -> exp.Expr:
    """``value`` as ClickHouse's DateTime64(6) where the part functions need one (a DATE)."""
    if kind is not None and kind.is_type("date"):
        return call("toDateTime64", value, exp.Literal.number(6))
    return value


def _part(part: str, value: exp.Expr, kind: exp.DataType | None) -> exp.Expr:
    import sqlglot

    sql, to = _PART_SQL[part]
    if part not in _PART_TREES:
        _PART_TREES[part] = sqlglot.parse_one(f"to{to}({sql})", read="clickhouse")
    body = _PART_TREES[part].copy()
    param = exp.to_identifier("_dd_part")
    for column in list(body.find_all(exp.Column)):
        if column.name == "v":
            column.replace(exp.column(param.copy()))
    mapped = call(
        "arrayMap",
        exp.Lambda(this=body, expressions=[param]),
        exp.Array(expressions=[part_value(value, kind)]),
    )
    return call("arrayElement", mapped, exp.Literal.number(1))


def _part_name(node: exp.Expr) -> tuple[str | None, exp.Expr | None]:
    """(DuckDB part name as written, the value) of a date-part node, or (None, None)."""
    if isinstance(node, exp.Extract):
        return node.name.lower(), node.expression
    if isinstance(node, exp.Anonymous):
        name = str(node.this).lower()
        args = node.expressions
        if name in ("date_part", "datepart") and len(args) == 2:
            if not (isinstance(args[0], exp.Literal) and args[0].is_string):
                raise _part_refusal(node, "date_part with a part that is not a string constant")
            return args[0].name.lower(), args[1]
        if (name in _PART_FUNCTIONS or name in _FUNCTION_SQL) and len(args) == 1:
            return name, args[0]
        if name in ("julian", "timezone", "timezone_hour", "timezone_minute"):
            return name, args[0] if args else None
        return None, None
    part = _PART_NODES.get(type(node))
    return (part, node.this) if part is not None else (None, None)


def date_parts(root: exp.Expr) -> exp.Expr:
    """date_part, EXTRACT and epoch/dayofweek/isodow/... as DuckDB computes them."""
    nodes: tuple[type[exp.Expr], ...] = (exp.Extract, exp.Anonymous, *_PART_NODES)
    for node in reversed(list(root.find_all(*nodes))):
        name, value = _part_name(node)
        if name is None or value is None:
            continue
        part = name if name in _FUNCTION_SQL else _PARTS.get(name)
        if part is None:
            raise _part_refusal(node, f"the date part {name!r}")
        kind = arg_types(node)[-1] if arg_types(node) else None
        scale = node.args.get("scale")
        if isinstance(node, exp.UnixToTime) and (
            kind is None or not isinstance(scale, exp.Literal) or scale.name != "3"
        ):
            continue  # to_timestamp(n), epoch_ms(n): a number read as a time
        if kind is not None and not kind.is_type(*_PART_TYPES):
            continue  # an INTERVAL or TIME part, epoch_ms of a number: as before
        replace_keeping_name(node, _part(part, value.copy(), kind))
    return root


_PART_TYPES: frozenset[Any] = frozenset(
    {
        exp.DataType.Type.DATE,
        exp.DataType.Type.TIMESTAMP,
        exp.DataType.Type.TIMESTAMPNTZ,
        exp.DataType.Type.TIMESTAMPTZ,
        exp.DataType.Type.DATETIME,
    }
)


# time_bucket(INTERVAL n unit, v) with DuckDB's default origins: 2000-01-03 (a Monday) for
# widths of microseconds to weeks, 2000-01 for months and years. Other forms (an origin or
# offset argument, a computed or mixed width) and age() are refused.
_BUCKET_MICROS = {
    "MICROSECOND": 1,
    "MILLISECOND": 1000,
    "SECOND": 1000000,
    "MINUTE": 60 * 1000000,
    "HOUR": 3600 * 1000000,
    "DAY": 86400 * 1000000,
    "WEEK": 7 * 86400 * 1000000,
}
_BUCKET_MONTHS = {"MONTH": 1, "QUARTER": 3, "YEAR": 12}
_ORIGIN_US = 946857600 * 1000000  # 2000-01-03 00:00:00 UTC


def _bucket_width(interval: exp.Expr) -> tuple[int, str] | None:
    """(width, 'micros' or 'months') of a constant single-unit interval, or None."""
    if not isinstance(interval, exp.Interval) or not isinstance(interval.this, exp.Literal):
        return None
    unit = interval.args.get("unit")
    text = interval.this.name.strip()
    if unit is None and len(text.split()) == 2:
        text, name = text.split()
    elif unit is not None:
        name = unit.name
    else:
        return None
    name = name.upper().removesuffix("S")
    if not text.isdigit() or int(text) <= 0:
        return None
    if name in _BUCKET_MICROS:
        return int(text) * _BUCKET_MICROS[name], "micros"
    if name in _BUCKET_MONTHS:
        return int(text) * _BUCKET_MONTHS[name], "months"
    return None


def _bucket_sql(width: int, how: str) -> str:
    """ClickHouse SQL of the bucket's start (a naive DateTime64(6)) for DateTime64 ``v``."""
    if how == "micros":
        x = f"(toUnixTimestamp64Micro(v) - {_ORIGIN_US})"
        return f"fromUnixTimestamp64Micro({_ORIGIN_US} + {x} - positiveModulo({x}, {width}))"
    m = "((toYear(v) - 2000) * 12 + toMonth(v) - 1)"
    k = f"({m} - positiveModulo({m}, {width}))"
    year = f"2000 + intDiv({k} - positiveModulo({k}, 12), 12)"
    return f"makeDateTime64({year}, positiveModulo({k}, 12) + 1, 1, 0, 0, 0, 0, 6)"


def time_buckets(root: exp.Expr) -> exp.Expr:
    import sqlglot

    from doctordata.engines.clickhouse_arrow import clickhouse_zone

    for anonymous in root.find_all(exp.Anonymous):
        if str(anonymous.this).lower() == "age":
            raise _part_refusal(anonymous, "age() (an INTERVAL of months, days and microseconds)")
    for node in reversed(list(root.find_all(exp.DateBin))):
        width = _bucket_width(node.this)
        extra = [
            k for k, v in node.args.items() if v is not None and k not in ("this", "expression")
        ]
        kinds = arg_types(node)
        kind = kinds[1] if len(kinds) > 1 else None
        if width is None or extra or kind is None or not kind.is_type(*_PART_TYPES):
            raise _part_refusal(
                node,
                "time_bucket() other than (INTERVAL n unit, a DATE or TIMESTAMP[TZ] value) "
                "with DuckDB's default origin",
            )
        body = sqlglot.parse_one(_bucket_sql(*width), read="clickhouse")
        param = exp.to_identifier("_dd_bucket")
        for column in list(body.find_all(exp.Column)):
            if column.name == "v":
                column.replace(exp.column(param.copy()))
        if kind.is_type("date"):
            body = call("toDate32", body)
        elif kind.this == exp.DataType.Type.TIMESTAMPTZ:
            # in UTC here (zones.py refuses it elsewhere): the start read in the session zone
            zone = exp.Literal.string(clickhouse_zone())
            body = call("toDateTime64", body, exp.Literal.number(6), zone)
        mapped = call(
            "arrayMap",
            exp.Lambda(this=body, expressions=[param]),
            exp.Array(expressions=[part_value(node.expression.copy(), kind)]),
        )
        replace_keeping_name(node, call("arrayElement", mapped, exp.Literal.number(1)))
    return root


def week_differences(root: exp.Expr) -> exp.Expr:
    """date_diff('week', a, b) is DuckDB's day difference (day boundaries) divided by 7,
    truncated towards zero; ClickHouse counts the Mondays crossed (Sunday to Monday: 1)."""
    for node in list(root.find_all(exp.DateDiff)):
        unit = node.args.get("unit")
        if unit is None or unit.name.upper() not in ("WEEK", "WEEKS"):
            continue
        node.set("unit", exp.var("DAY"))
        placeholder = exp.Null()
        node.replace(placeholder)
        param = exp.to_identifier("_dd_days")
        days = exp.column(param.copy())
        seven = exp.Literal.number(7)
        body = exp.If(
            this=exp.LT(this=days.copy(), expression=exp.Literal.number(0)),
            true=exp.Neg(this=call("intDiv", exp.Neg(this=days.copy()), seven.copy())),
            false=call("intDiv", days.copy(), seven.copy()),
        )
        mapped = call(
            "arrayMap",
            exp.Lambda(this=call("toInt64", body), expressions=[param]),
            exp.Array(expressions=[node]),
        )
        placeholder.replace(call("arrayElement", mapped, exp.Literal.number(1)))
    return root
