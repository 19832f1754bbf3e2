"""Values turned into text (CAST(x AS VARCHAR), x::TEXT, x || 'y') as DuckDB writes them.

ClickHouse's toString writes several types differently: a DateTime64(6) always with six
fraction digits (DuckDB drops trailing zeros and a zero fraction), a Decimal without its
trailing zeros (DuckDB keeps the scale: 3.00), a Bool as 0/1 (DuckDB: true/false).
Those are rewritten to DuckDB's text. A type whose text cannot be matched is refused
loudly (:data:`REFUSED`): floats (DuckDB writes 1.0, 1e+20 and 1e-07, ClickHouse 1,
100000000000000000000 and 1e-7), blobs, intervals, lists, maps and structs. Types that
both write alike (integers, strings, DATE, UUID) and untyped operands are left as written.
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
    T.DOUBLE: "a DOUBLE",
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
# The DuckDB zones in which TIMESTAMPTZ is written with '+00' (its session zone is this
# process's, engines/clickhouse_arrow.duckdb_time_zone; ClickHouse's session is UTC).
_UTC_ZONES = frozenset(
    {"UTC", "Etc/UTC", "GMT", "Etc/GMT", "UCT", "Etc/UCT", "Universal", "Etc/Universal"}
    | {"Zulu", "Etc/Zulu", "Etc/GMT+0", "Etc/GMT-0", "Etc/GMT0", "GMT0", "GMT+0", "GMT-0"}
)


def _trimmed(value: exp.Expr) -> exp.Expr:
    """DateTime64(6) / Time64(6) text without trailing fraction zeros (and no '.000000')."""
    pattern = exp.Literal.string(r"(\.\d*[1-9])0+$|\.0+$")
    return call("replaceRegexpOne", call("toString", value), pattern, exp.Literal.string(r"\1"))


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
        from doctordata.engines.clickhouse_arrow import duckdb_time_zone

        zone = duckdb_time_zone()
        if zone not in _UTC_ZONES:
            raise _refusal(node, "a TIMESTAMPTZ", f"DuckDB writes it in its zone {zone!r}")
        return exp.DPipe(this=_trimmed(value), expression=exp.Literal.string("+00"))
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
    what = REFUSED.get(kind.this)
    if what is not None:
        raise _refusal(node, what, "its number, byte or nested form is written differently")
    return None


def text_casts(root: exp.Expr) -> exp.Expr:
    # innermost first: an operand is rewritten before the cast around it copies it
    for node in reversed(list(root.find_all(exp.Cast, exp.TryCast, exp.DPipe))):
        if isinstance(node, exp.DPipe):
            kinds = arg_types(node)
            if any(k is not None and k.this in _CONCATENATED for k in kinds):
                continue  # [1] || [2], blob || blob: lists and bytes joined, not text
            for key, kind in zip(("this", "expression"), kinds, strict=True):
                operand = node.args[key]
                text = _as_text(node, operand.copy(), kind)
                if text is not None:
                    node.set(key, text)
            continue
        to = node.args.get("to")
        if not isinstance(to, exp.DataType) or not to.is_type(*exp.DataType.TEXT_TYPES):
            continue
        (kind,) = arg_types(node)
        text = _as_text(node, node.this.copy(), kind)
        if text is not None:
            node.replace(text)
    return root
