"""Values turned into text (CAST(x AS VARCHAR), x::TEXT, x || 'y') as DuckDB writes them.

ClickHouse's toString writes several types differently: a DateTime64(6) always with six
fraction digits (DuckDB drops trailing zeros and a zero fraction), a Decimal without its
trailing zeros (DuckDB keeps the scale: 3.00), a Bool as 0/1 (DuckDB: true/false).
Those are rewritten to DuckDB's text. A type whose text cannot be matched is refused
loudly (:data:`REFUSED`): FLOAT (DuckDB writes some with more than the shortest digits:
496796.125, ClickHouse 496796.12), blobs, intervals, lists, maps and structs. A DOUBLE is
laid out as DuckDB does (1.0, 1e+20, 1e-07; ClickHouse: 1, 100000000000000000000, 1e-7). Types that
both write alike (integers, strings, DATE, UUID) and untyped operands are left as written.
A TIMESTAMPTZ is written as DuckDB writes it in its session zone: the wall-clock time there
and the offset (+00 in UTC, +09 in Tokyo, +05:30 in Kolkata).
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from doctordata.engines.clickhouse_rules.common import call, decimal_scale
from doctordata.engines.clickhouse_types import arg_types
from doctordata.errors import UnsupportedSQLError

T = exp.DataType.Type
_TRIMMED: frozenset[Any] = frozenset({T.TIMESTAMP, T.TIMESTAMPNTZ, T.TIME})
REFUSED: dict[Any, str] = {
    T.FLOAT: "a FLOAT",
    T.BLOB: "a BLOB",
    T.VARBINARY: "a BLOB",
    T.INTERVAL: "an INTERVAL",
    T.ARRAY: "a list",
    T.LIST: "a list",
    T.MAP: "a map",
    T.STRUCT: "a struct",
}
_CONCATENATED: frozenset[Any] = frozenset({T.ARRAY, T.LIST, T.MAP, T.STRUCT, T.BLOB, T.VARBINARY})


def _trimmed(value: exp.Expr) -> exp.Expr:
    """DateTime64(6) / Time64(6) text without trailing fraction zeros (and no '.000000')."""
    pattern = exp.Literal.string(r"(\.\d*[1-9])0+$|\.0+$")
    return call("replaceRegexpOne", call("toString", value), pattern, exp.Literal.string(r"\1"))


def _double_template() -> str:
    """ClickHouse SQL writing DOUBLE ``v`` as DuckDB does (Python's repr: 1.0, 1e+20,
    1e-07, 0.0001, 1234567890123456.0, nan, -nan (a NaN with its sign bit), -inf, -0.0). ClickHouse's toString gives the
    same shortest digits in another layout: the digits and the decimal exponent are read
    out of it and laid out again (scientific below 1e-4 and from 1e16 on)."""
    s = "toString(abs(v))"
    mantissa = f"splitByChar('e', {s})[1]"
    power = f"if(position({s}, 'e') > 0, toInt32(replaceOne(splitByChar('e', {s})[2], '+', '')), 0)"
    whole = f"splitByChar('.', {mantissa})[1]"
    fraction = f"if(position({mantissa}, '.') > 0, splitByChar('.', {mantissa})[2], '')"
    both = f"concat({whole}, {fraction})"
    unpadded = f"replaceRegexpOne({both}, '^0+', '')"
    digits = f"replaceRegexpOne({unpadded}, '0+$', '')"
    e = f"(toInt32(length({whole})) - 1 - toInt32(length({both}) - length({unpadded})) + {power})"
    n = f"toUInt64({e} + 1)"
    fixed = (
        f"concat(if(length({digits}) <= {n}, rightPad({digits}, {n}, '0'), "
        f"substring({digits}, 1, {n})), '.', "
        f"if(length({digits}) <= {n}, '0', substring({digits}, {n} + 1)))"
    )
    small = f"concat('0.', repeat('0', toUInt64(-{e} - 1)), {digits})"
    scientific = (
        f"concat(substring({digits}, 1, 1), if(length({digits}) > 1, "
        f"concat('.', substring({digits}, 2)), ''), 'e', if({e} < 0, '-', '+'), "
        f"if(abs({e}) < 10, '0', ''), toString(abs({e})))"
    )
    layout = f"multiIf({e} >= 16 OR {e} < -4, {scientific}, {e} >= 0, {fixed}, {small})"
    return (
        "if(isNull(v), NULL, multiIf("
        "isNaN(v), if(bitTest(reinterpretAsUInt64(v), 63), '-nan', 'nan'), "
        "isInfinite(v), if(v > 0, 'inf', '-inf'), "
        "v = 0, if(startsWith(toString(v), '-'), '-0.0', '0.0'), "
        f"concat(if(v < 0, '-', ''), {layout})))"
    )


_DOUBLE_TEXT: list[exp.Expr] = []


def _double_text(value: exp.Expr) -> exp.Expr:
    """arrayMap(v -> <template>, [value])[1]: the value is written (and computed) once."""
    if not _DOUBLE_TEXT:
        import sqlglot

        _DOUBLE_TEXT.append(sqlglot.parse_one(_double_template(), read="clickhouse"))
    param = exp.to_identifier("_dd_double")
    body = _DOUBLE_TEXT[0].copy()
    for column in list(body.find_all(exp.Column)):
        if column.name == "v":
            column.replace(exp.column(param.copy()))
    mapped = call(
        "arrayMap", exp.Lambda(this=body, expressions=[param]), exp.Array(expressions=[value])
    )
    return call("arrayElement", mapped, exp.Literal.number(1))


# DuckDB writes a TIMESTAMPTZ as its wall-clock time in its session zone and the offset:
# +09, -05, +05:30 (hours, then minutes where there are some; seconds of an offset dropped).
_ZONED_TEXT = (
    "concat({text}, if({o} < 0, '-', '+'), leftPad(toString(intDiv(abs({o}), 3600)), 2, '0'), "
    "if(intDiv(abs({o}) % 3600, 60) = 0, '', "
    "concat(':', leftPad(toString(intDiv(abs({o}) % 3600, 60)), 2, '0'))))"
)


def _zoned_text(value: exp.Expr, zone: str) -> exp.Expr:
    """arrayMap(v -> <wall-clock text of v in zone><offset>, [value])[1]."""
    import sqlglot

    local = call("toTimeZone", exp.column("_dd_tz"), exp.Literal.string(zone))
    text = _trimmed(local).sql("clickhouse")
    offset = call("timeZoneOffset", local.copy()).sql("clickhouse")
    body = sqlglot.parse_one(_ZONED_TEXT.format(text=text, o=offset), read="clickhouse")
    param = exp.to_identifier("_dd_tz")
    mapped = call(
        "arrayMap", exp.Lambda(this=body, expressions=[param]), exp.Array(expressions=[value])
    )
    return call("arrayElement", mapped, exp.Literal.number(1))


def _refusal(node: exp.Expr, what: str, why: str) -> UnsupportedSQLError:
    return UnsupportedSQLError(
        f"{node.sql('duckdb')!r} turns {what} into text, and ClickHouse's text for it "
        f"differs from DuckDB's ({why}). Run this query with engine='duckdb', or select "
        "the value itself and format it in the client."
    )


def _as_text(node: exp.Expr, value: exp.Expr, kind: exp.DataType | None) -> exp.Expr | None:
    """DuckDB's text of ``value`` (of DuckDB type ``kind``) on ClickHouse, or None: as is."""
    if kind is None:
        return None
    if kind.this in _TRIMMED:
        return _trimmed(value)
    if kind.this == T.TIMESTAMPTZ:
        from doctordata.engines.clickhouse_arrow import clickhouse_zone

        zone = clickhouse_zone()
        if zone == "UTC":
            return exp.DPipe(this=_trimmed(value), expression=exp.Literal.string("+00"))
        return _zoned_text(value, zone)
    if kind.this == T.BOOLEAN:
        return exp.Case(
            ifs=[
                exp.If(this=value.copy(), true=exp.Literal.string("true")),
                exp.If(
                    this=exp.Not(this=exp.paren(value.copy())), true=exp.Literal.string("false")
                ),
            ]
        )
    if kind.this == T.DECIMAL:
        scale = decimal_scale(kind)
        if scale is None:
            raise _refusal(node, "a DECIMAL of unknown scale", "DuckDB keeps the scale's zeros")
        return call("toDecimalString", value, exp.Literal.number(scale))
    if kind.this == T.DOUBLE:
        return _double_text(value)
    what = REFUSED.get(kind.this)
    if what is not None:
        raise _refusal(node, what, "its number, byte or nested form is written differently")
    return None


def text_casts(root: exp.Expr) -> exp.Expr:
    # innermost first: an operand is rewritten before the cast around it copies it
    for node in reversed(list(root.find_all(exp.Cast, exp.TryCast, exp.DPipe, exp.Concat))):
        if isinstance(node, (exp.DPipe, exp.Concat)):
            operands = (
                node.expressions if isinstance(node, exp.Concat) else [node.this, node.expression]
            )
            kinds = arg_types(node)
            if len(kinds) != len(operands):
                continue  # not typed
            if any(k is not None and k.this in _CONCATENATED for k in kinds):
                continue  # [1] || [2], blob || blob: lists and bytes joined, not text
            for operand, kind in zip(operands, kinds, strict=True):
                text = _as_text(node, operand.copy(), kind)
                if text is not None:
                    operand.replace(text)
            continue
        to = node.args.get("to")
        if not isinstance(to, exp.DataType) or not to.is_type(*exp.DataType.TEXT_TYPES):
            continue
        (kind,) = arg_types(node)
        text = _as_text(node, node.this.copy(), kind)
        if text is not None:
            node.replace(text)
    return root
