"""TIMESTAMPTZ in DuckDB's session zone (most of it matters when that zone is not UTC).

DuckDB computes on a TIMESTAMPTZ in its session zone (the process's TZ): hour(ts),
CAST(ts AS DATE), date_trunc('day', ts), ts::TIMESTAMP, a string or a TIMESTAMP read as a
TIMESTAMPTZ. ClickHouse's session stays UTC (a naive TIMESTAMP is wall-clock time), and a
TIMESTAMPTZ value carries DuckDB's zone in its type instead (``DateTime64(6, '<zone>')``:
the scans, casts and literals, engines/clickhouse.py and times.timestamp_microseconds), so
ClickHouse computes fields, truncations, dates and text in that zone itself. What the zone
in the type does not give is done here (in UTC only ::TIMESTAMP and to_timestamp(), whose
ClickHouse types and fractions differed from DuckDB's there too, and a string constant
compared with a TIMESTAMPTZ, which ClickHouse could not parse without seconds):

- a string constant read as a TIMESTAMPTZ (``ts > '2026-01-02 03:00'``, ``CAST('...' AS
  TIMESTAMPTZ)``) is read by DuckDB itself, in its zone, and written as that instant;
- a TIMESTAMP or DATE value read as a TIMESTAMPTZ (a cast, a comparison with one, a CASE or
  coalesce mixing both) is its wall-clock time in the zone, as ICU reads it: a time that
  the clocks skip is read with the offset before the change, a repeated one as the later;
- ``CAST(ts AS TIMESTAMP)`` is the wall-clock time in the zone; ``CAST(ts AS DATE/TIME)``
  reads the value in the zone whatever zone ClickHouse's expression carries;
  ``to_timestamp(n)`` is in the zone (sqlglot writes a DateTime of the UTC session);
  date_trunc of a TIMESTAMPTZ is in times.timestamp_results (ICU's steps, the same helpers);
- what cannot be made exact is refused (:class:`UnsupportedSQLError`, naming the construct):
  interval arithmetic of a day or more on a TIMESTAMPTZ (ICU and ClickHouse resolve a
  wall-clock time the clocks skip differently), TIMESTAMPTZ - TIMESTAMPTZ, date_diff,
  date_add/date_sub, time_bucket, age and other calendar functions of a TIMESTAMPTZ,
  AT TIME ZONE, a UNION mixing TIMESTAMPTZ and TIMESTAMP, a string expression cast to
  TIMESTAMPTZ, a value of unknown type cast to TIMESTAMP, and a query over TIMESTAMPTZ
  values that could not be typed.

The wall-clock conversions were checked against DuckDB every 15 minutes over 2026 and
1945-1949 in New York, Berlin, Lord Howe, Santiago, Kolkata and Tokyo (no difference).
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from doctordata.engines.clickhouse_rules.common import COMPARISONS, call
from doctordata.engines.clickhouse_types import (
    CALENDAR_NODES,
    UNTYPED,
    arg_types,
    branch_types,
    branch_values,
    output_types,
)
from doctordata.errors import UnsupportedSQLError

T = exp.DataType.Type
_TZ: frozenset[Any] = frozenset({T.TIMESTAMPTZ, T.TIMESTAMPLTZ})
_NAIVE: frozenset[Any] = frozenset(
    {T.TIMESTAMP, T.TIMESTAMPNTZ, T.DATE, T.DATETIME, T.TIMESTAMP_S, T.TIMESTAMP_MS}
)
_TEXT: frozenset[Any] = frozenset(exp.DataType.TEXT_TYPES)
# Interval units whose length is fixed (ICU and ClickHouse add them as microseconds).
_EXACT_UNITS = frozenset(
    {"HOUR", "MINUTE", "SECOND", "MILLISECOND", "MICROSECOND"}
    | {"HOURS", "MINUTES", "SECONDS", "MILLISECONDS", "MICROSECONDS"}
)
# Functions of a TIMESTAMPTZ that count or step in the zone's calendar (CALENDAR_NODES and
# these names), written by sqlglot into ClickHouse calls whose DST rules are not ICU's.
_CALENDAR_NAMES = frozenset(
    {"age", "time_bucket", "date_sub", "date_diff", "datediff", "datesub", "date_add"}
    | {"make_timestamptz", "timezone"}
)
_MICROS = 1000000
_DAY_US = 86400 * _MICROS


def _zone() -> str:
    from doctordata.engines.clickhouse_arrow import clickhouse_zone

    return clickhouse_zone()


def _is(kind: exp.DataType | None, types: frozenset[Any]) -> bool:
    return kind is not None and kind.this in types


def _refuse(node: exp.Expr, zone: str, what: str) -> UnsupportedSQLError:
    return UnsupportedSQLError(
        f"{node.sql('duckdb')!r}: {what} is computed in DuckDB's session zone {zone!r} (the "
        "process's TZ), which ClickHouse cannot reproduce exactly. Run this query with "
        "engine='duckdb', or set TZ=UTC for the process."
    )


def _lit(text: str) -> exp.Expr:
    return exp.Literal.string(text)


def _offset(micros: exp.Expr, zone: str) -> exp.Expr:
    """The zone's UTC offset, in microseconds, at the instant ``micros`` (epoch)."""
    instant = call("fromUnixTimestamp64Micro", micros, _lit(zone))
    return exp.Mul(
        this=call("toInt64", call("timeZoneOffset", instant)),
        expression=exp.Literal.number(_MICROS),
    )


def _once(value: exp.Expr, name: str, body: Any) -> exp.Expr:
    """``body(param)`` applied to ``value`` computed once: arrayMap(p -> ..., [value])[1]."""
    param = exp.to_identifier(name)
    lam = exp.Lambda(this=body(exp.column(param.copy())), expressions=[param])
    mapped = call("arrayMap", lam, exp.Array(expressions=[value]))
    return call("arrayElement", mapped, exp.Literal.number(1))


def wall_to_instant(value: exp.Expr, zone: str) -> exp.Expr:
    """A naive TIMESTAMP or DATE ``value`` read as wall-clock time in ``zone``, as DuckDB
    (ICU) reads it: w - offset after a nearby change if that is w's own offset, else w -
    offset before it (a skipped time moves forward, a repeated one is the later)."""

    def body(w: exp.Expr) -> exp.Expr:
        day = exp.Literal.number(_DAY_US)
        after = exp.Sub(
            this=w.copy(),
            expression=exp.paren(_offset(exp.Add(this=w.copy(), expression=day.copy()), zone)),
        )
        before = exp.Sub(
            this=w.copy(),
            expression=exp.paren(_offset(exp.Sub(this=w.copy(), expression=day.copy()), zone)),
        )
        valid = exp.EQ(
            this=exp.Add(
                this=exp.paren(after.copy()),
                expression=exp.paren(_offset(exp.paren(after.copy()), zone)),
            ),
            expression=w.copy(),
        )
        chosen = exp.If(this=valid, true=after, false=before)
        return call("fromUnixTimestamp64Micro", chosen, _lit(zone))

    naive = exp.DataType.build("DateTime64(6)", dialect="clickhouse")
    naive.set("nullable", None)  # Nullable(DateTime64(6)), as sqlglot writes casts
    micros = call("toUnixTimestamp64Micro", exp.Cast(this=value, to=naive))
    return _once(micros, "_dd_wall", body)


def instant_to_wall(value: exp.Expr, zone: str) -> exp.Expr:
    """A TIMESTAMPTZ ``value`` as DuckDB's TIMESTAMP: its wall-clock time in ``zone``
    (a naive ``DateTime64(6)``)."""

    def body(i: exp.Expr) -> exp.Expr:
        shifted = exp.Add(this=i.copy(), expression=exp.paren(_offset(i.copy(), zone)))
        return call("fromUnixTimestamp64Micro", shifted)

    micros = call("toUnixTimestamp64Micro", call("toDateTime64", value, exp.Literal.number(6)))
    return _once(micros, "_dd_instant", body)


def _constant_instant(node: exp.Expr, literal: exp.Expr, zone: str) -> exp.Expr:
    """A string constant read as a TIMESTAMPTZ by DuckDB in its session zone."""
    from doctordata.engines.constants import evaluate

    text = literal.sql(dialect="duckdb")
    cast = "TRY_CAST" if isinstance(node, exp.TryCast) else "CAST"
    try:
        _, micros = evaluate(f"{cast}({text} AS TIMESTAMPTZ)")
    except Exception as exc:  # DuckDB's own conversion error
        raise UnsupportedSQLError(
            f"{node.sql('duckdb')!r}: DuckDB cannot read {text} as a TIMESTAMPTZ ({exc})"
        ) from None
    if micros is None:
        return exp.cast(exp.Null(), exp.DataType.build("TIMESTAMPTZ"))
    return call(
        "fromUnixTimestamp64Micro", call("toInt64", exp.Literal.number(int(micros))), _lit(zone)
    )


def _string_constant(value: exp.Expr) -> bool:
    return isinstance(value, exp.Literal) and value.is_string


def _as_instant(node: exp.Expr, value: exp.Expr, kind: exp.DataType | None, zone: str) -> None:
    """Replace ``value`` (of DuckDB type ``kind``), read as a TIMESTAMPTZ next to one."""
    if _string_constant(value):
        value.replace(_constant_instant(node, value, zone))
    elif _is(kind, _NAIVE):
        value.replace(wall_to_instant(value.copy(), zone))
    elif _is(kind, _TEXT):
        raise _refuse(node, zone, "a string expression read as a TIMESTAMPTZ")


def _casts(root: exp.Expr, zone: str) -> None:
    for node in reversed(list(root.find_all(exp.Cast, exp.TryCast))):
        to = node.args.get("to")
        if not isinstance(to, exp.DataType):
            continue
        (kind,) = arg_types(node)
        value = node.this
        if to.this in (T.TIMESTAMP, T.TIMESTAMPNTZ, T.DATETIME) and _is(kind, _TZ):
            # also in UTC: ClickHouse's CAST to DateTime64(6) keeps the value's zone, so
            # the result was a TIMESTAMPTZ
            node.replace(instant_to_wall(value.copy(), zone))
        elif zone == "UTC":
            continue
        elif to.this in _TZ:
            if _string_constant(value):
                node.replace(_constant_instant(node, value, zone))
            elif _is(kind, _NAIVE):
                node.replace(wall_to_instant(value.copy(), zone))
            elif kind is None or _is(kind, _TEXT):
                raise _refuse(node, zone, "a value of unknown type or a string cast to TIMESTAMPTZ")
        elif to.this in (T.TIMESTAMP, T.TIMESTAMPNTZ, T.DATETIME) and kind is None:
            # a column of a local frame: it may be a TIMESTAMPTZ
            raise _refuse(node, zone, "a value of unknown type cast to TIMESTAMP")
        elif _is(kind, _TZ) and to.this in (T.DATE, T.TIME):
            value.replace(call("toTimeZone", value.copy(), _lit(zone)))
        elif _is(kind, _TZ) and to.this not in _TEXT and to.this not in _TZ:
            raise _refuse(node, zone, f"a TIMESTAMPTZ cast to {to.sql('duckdb')}")


def _comparisons(root: exp.Expr, zone: str, *, strings_only: bool = False) -> None:
    """Values next to a TIMESTAMPTZ read as one (``strings_only``: the string constants,
    which ClickHouse cannot always parse: '2026-03-08 02:30' has no seconds)."""
    for node in list(root.find_all(*COMPARISONS, exp.In, exp.Between)):
        kinds = arg_types(node)
        if isinstance(node, exp.In):
            if _is(kinds[0], _TZ):
                for value in list(node.expressions):
                    if not strings_only or _string_constant(value):
                        _as_instant(node, value, None, zone)
            continue
        if isinstance(node, exp.Between):
            sides = [node.this, node.args.get("low"), node.args.get("high")]
        else:
            sides = [node.this, node.expression]
        if len(kinds) != len(sides) or not any(_is(k, _TZ) for k in kinds):
            continue
        for side, kind in zip(sides, kinds, strict=True):
            wanted = not strings_only or _string_constant(side)
            if side is not None and not _is(kind, _TZ) and wanted:
                _as_instant(node, side, kind, zone)


def _branches(root: exp.Expr, zone: str) -> None:
    for node in list(root.find_all(exp.Case, exp.Coalesce, exp.If)):
        values, kinds = branch_values(node), branch_types(node)
        if len(values) != len(kinds) or not any(_is(k, _TZ) for k in kinds):
            continue
        for value, kind in zip(values, kinds, strict=True):
            if not _is(kind, _TZ) and not isinstance(value, exp.Null):
                _as_instant(node, value, kind, zone)
    for setop in root.find_all(exp.SetOperation):
        sides = []
        for side in (setop.this, setop.expression):
            while isinstance(side, exp.Subquery):
                side = side.this
            if isinstance(side, exp.Select):
                sides.append(output_types(side))
        if len(sides) == 2 and len(sides[0]) == len(sides[1]):
            for a, b in zip(*sides, strict=True):
                if (_is(a, _TZ) and not _is(b, _TZ) and b is not None) or (
                    _is(b, _TZ) and not _is(a, _TZ) and a is not None
                ):
                    raise _refuse(setop, zone, "a UNION of a TIMESTAMPTZ and another type")


def _unit(interval: exp.Expr) -> str | None:
    unit = interval.args.get("unit")
    if unit is not None:
        return unit.name.upper()
    text = interval.this.name if isinstance(interval.this, exp.Literal) else ""
    parts = text.split()
    return parts[1].upper() if len(parts) == 2 else None


def _arithmetic(root: exp.Expr, zone: str) -> None:
    for node in root.find_all(exp.Add, exp.Sub):
        kinds = arg_types(node)
        sides = (node.this, node.expression)
        if not any(_is(k, _TZ) for k in kinds):
            # a value of unknown type (a local frame's column) may be a TIMESTAMPTZ
            for side, kind in zip(sides, kinds, strict=True):
                other = sides[1] if side is sides[0] else sides[0]
                calendar = isinstance(other, exp.Interval) and _unit(other) not in _EXACT_UNITS
                if calendar and kind is None and not isinstance(side, exp.Interval):
                    raise _refuse(
                        node, zone, "adding days, months or years to a value of unknown type"
                    )
            continue
        other = [s for s, k in zip(sides, kinds, strict=True) if not _is(k, _TZ)]
        if not other:
            raise _refuse(
                node, zone, "TIMESTAMPTZ - TIMESTAMPTZ (an interval in the zone's calendar)"
            )
        interval = other[0]
        if not (isinstance(interval, exp.Interval) and _unit(interval) in _EXACT_UNITS):
            raise _refuse(
                node, zone, "adding or subtracting days, months or years to a TIMESTAMPTZ"
            )


def _calendar_functions(root: exp.Expr, zone: str) -> None:
    for node in root.find_all(*CALENDAR_NODES, exp.Anonymous):
        if isinstance(node, exp.Anonymous) and str(node.this).lower() not in _CALENDAR_NAMES:
            continue
        kinds = arg_types(node)
        if any(_is(k, _TZ) for k in kinds) or all(k is None for k in kinds):
            name = str(node.this) if isinstance(node, exp.Anonymous) else node.key
            raise _refuse(node, zone, f"{name.lower()}() of a TIMESTAMPTZ")


def _instants(root: exp.Expr, zone: str) -> None:
    """to_timestamp(n) is a TIMESTAMPTZ (sqlglot: fromUnixTimestamp, a DateTime in the
    session's UTC): in DuckDB's zone, so that hour(to_timestamp(n)) is the zone's hour."""
    million = exp.Literal.number(_MICROS)
    for node in list(root.find_all(exp.UnixToTime)):
        if node.args.get("scale") is None and node.args.get("zone") is None:
            (kind,) = arg_types(node) or (None,)
            micros: exp.Expr
            if kind is not None and kind.is_type(*exp.DataType.INTEGER_TYPES):
                micros = exp.Mul(this=call("toInt64", node.this.copy()), expression=million)
            else:
                # seconds with a fraction (to_timestamp(1.5)): microseconds rounded half
                # away from zero, as DuckDB (sqlglot's fromUnixTimestamp dropped them)
                def rounded(p: exp.Expr) -> exp.Expr:
                    whole = call("trunc", p.copy())
                    fraction = call("abs", exp.Sub(this=p.copy(), expression=whole.copy()))
                    half = exp.GTE(this=fraction, expression=exp.Literal.number(0.5))
                    step = exp.If(
                        this=half, true=call("sign", p.copy()), false=exp.Literal.number(0)
                    )
                    return call("toInt64", exp.Add(this=whole, expression=step))

                seconds = exp.Mul(this=call("toFloat64", node.this.copy()), expression=million)
                micros = _once(seconds, "_dd_seconds", rounded)
            node.replace(call("fromUnixTimestamp64Micro", micros, _lit(zone)))


def time_zones(root: exp.Expr) -> exp.Expr:
    zone = _zone()
    if zone != "UTC":
        if root.meta.get(UNTYPED) if root.meta else False:
            raise UnsupportedSQLError(
                "the query reads TIMESTAMPTZ values, which DuckDB computes in its session "
                f"zone {zone!r} (the process's TZ), and its types could not be worked out "
                "to do the same on ClickHouse. Run this query with engine='duckdb', or set "
                "TZ=UTC for the process."
            )
        for at in root.find_all(exp.AtTimeZone):
            raise _refuse(at, zone, "AT TIME ZONE (a TIMESTAMPTZ to or from a wall-clock time)")
        _calendar_functions(root, zone)
        _arithmetic(root, zone)
        _branches(root, zone)
        _comparisons(root, zone)
    else:
        _comparisons(root, zone, strings_only=True)
    # In UTC too: to_timestamp() and ::TIMESTAMP had ClickHouse's types (naive, zoned).
    _instants(root, zone)
    _casts(root, zone)
    return root
