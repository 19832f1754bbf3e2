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
from doctordata.engines.clickhouse_rules.times import replace_keeping_name
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


# strftime(v, format): DuckDB's specifiers, each written as ClickHouse SQL of ``v`` (a
# DateTime64; a DATE is read as its midnight). ClickHouse's formatDateTime reads the same
# letters differently (%M: the month's name, %i: minutes, %W: the weekday's name, %f: the
# fraction in the value's scale...), so it is not used: an allow-list of DuckDB's
# specifiers, anything else refused by name. Names are English, as DuckDB writes them.
def _pad(value: str, width: int) -> str:
    return f"leftPad(toString({value}), {width}, '0')"


_DAYS = "['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday']"
_MONTHS = (
    "['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', "
    "'September', 'October', 'November', 'December']"
)
_MICROS = "positiveModulo(toUnixTimestamp64Micro(v), 1000000)"
_HOUR12 = "((toHour(v) + 11) % 12) + 1"
_SPECIFIERS: dict[str, str] = {
    "a": f"substring(arrayElement({_DAYS}, toDayOfWeek(v)), 1, 3)",
    "A": f"arrayElement({_DAYS}, toDayOfWeek(v))",
    "w": "toString(toDayOfWeek(v) % 7)",
    "u": "toString(toDayOfWeek(v))",
    "d": _pad("toDayOfMonth(v)", 2),
    "-d": "toString(toDayOfMonth(v))",
    "b": f"substring(arrayElement({_MONTHS}, toMonth(v)), 1, 3)",
    "h": f"substring(arrayElement({_MONTHS}, toMonth(v)), 1, 3)",
    "B": f"arrayElement({_MONTHS}, toMonth(v))",
    "m": _pad("toMonth(v)", 2),
    "-m": "toString(toMonth(v))",
    "y": _pad("toYear(v) % 100", 2),
    "-y": "toString(toYear(v) % 100)",
    "Y": "toString(toYear(v))",
    "G": "toString(toISOYear(v))",
    "H": _pad("toHour(v)", 2),
    "-H": "toString(toHour(v))",
    "I": _pad(_HOUR12, 2),
    "-I": f"toString({_HOUR12})",
    "p": "if(toHour(v) < 12, 'AM', 'PM')",
    "M": _pad("toMinute(v)", 2),
    "-M": "toString(toMinute(v))",
    "S": _pad("toSecond(v)", 2),
    "-S": "toString(toSecond(v))",
    "f": _pad(_MICROS, 6),
    "g": _pad(f"intDiv({_MICROS}, 1000)", 3),
    "n": f"concat({_pad(_MICROS, 6)}, '000')",
    "j": _pad("toDayOfYear(v)", 3),
    "-j": "toString(toDayOfYear(v))",
    # weeks of the year starting on Sunday (%U) or Monday (%W), C's formulas
    "U": _pad("intDiv(toDayOfYear(v) + 6 - toDayOfWeek(v) % 7, 7)", 2),
    "W": _pad("intDiv(toDayOfYear(v) + 7 - toDayOfWeek(v), 7)", 2),
    "V": _pad("toISOWeek(v)", 2),
    "%": "'%'",
}
_EXPANDED = {"c": "%Y-%m-%d %H:%M:%S", "x": "%Y-%m-%d", "X": "%H:%M:%S", "T": "%H:%M:%S"}
_OFFSET_TEXT = _ZONED_TEXT.replace("concat({text}, ", "concat(").replace("{o}", "timeZoneOffset(v)")


def _format_refusal(node: exp.Expr, what: str) -> UnsupportedSQLError:
    return UnsupportedSQLError(
        f"{node.sql('duckdb')!r}: {what}, which ClickHouse cannot write as DuckDB does. Run "
        "this query with engine='duckdb', or format the value in the client."
    )


def _format_parts(node: exp.Expr, text: str, kind: exp.DataType | None) -> list[str]:
    """ClickHouse SQL (of ``v``) for each piece of DuckDB's format ``text``."""
    parts: list[str] = []
    literal = ""
    i = 0
    while i < len(text):
        if text[i] != "%":
            literal += text[i]
            i += 1
            continue
        spec = text[i + 1 : i + 3] if text[i + 1 : i + 2] == "-" else text[i + 1 : i + 2]
        i += 1 + len(spec)
        if literal:
            parts.append(exp.Literal.string(literal).sql("clickhouse"))
            literal = ""
        if spec in _EXPANDED:
            parts.extend(_format_parts(node, _EXPANDED[spec], kind))
            continue
        if spec == "z" and kind is not None and kind.this == T.TIMESTAMPTZ:
            sql = _OFFSET_TEXT
        elif spec == "z" and kind is not None:
            sql = "'+00'"  # a TIMESTAMP or DATE: DuckDB writes UTC's offset
        elif spec in _SPECIFIERS:
            sql = _SPECIFIERS[spec]
        else:
            raise _format_refusal(node, f"the strftime specifier %{spec or ' at the end'}")
        parts.append(sql)
    if literal:
        parts.append(exp.Literal.string(literal).sql("clickhouse"))
    return parts


_TIME_KINDS: frozenset[Any] = frozenset(
    {T.DATE, T.TIMESTAMP, T.TIMESTAMPNTZ, T.TIMESTAMPTZ, T.DATETIME}
)


def formatted_times(root: exp.Expr) -> exp.Expr:
    """strftime(v, '<DuckDB format>') written piece by piece (see :data:`_SPECIFIERS`);
    strptime is refused (ClickHouse's parser reads other formats and errors)."""
    import sqlglot

    for parse in root.find_all(exp.StrToTime):
        raise _format_refusal(parse, "strptime reads a string by a DuckDB format")
    for node in reversed(list(root.find_all(exp.TimeToStr))):
        fmt = node.args.get("format")
        if not (isinstance(fmt, exp.Literal) and fmt.is_string):
            raise _format_refusal(node, "a strftime format that is not a string constant")
        kinds = arg_types(node)
        kind = kinds[0] if kinds else None
        if kind is not None and kind.this not in _TIME_KINDS:
            raise _format_refusal(node, f"strftime of a {kind.sql('duckdb')}")
        pieces = _format_parts(node, fmt.name, kind) or ["''"]
        sql = f"if(isNull(v), NULL, concat({', '.join(pieces)}, ''))"
        body = sqlglot.parse_one(sql, read="clickhouse")
        param = exp.to_identifier("_dd_format")
        for column in list(body.find_all(exp.Column)):
            if column.name == "v":
                column.replace(exp.column(param.copy()))
        value = node.this.copy()
        if kind is not None and kind.this == T.DATE:
            value = call("toDateTime64", value, exp.Literal.number(6))
        mapped = call(
            "arrayMap", exp.Lambda(this=body, expressions=[param]), exp.Array(expressions=[value])
        )
        replace_keeping_name(node, call("arrayElement", mapped, exp.Literal.number(1)))
    return root
