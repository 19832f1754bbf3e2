"""lag/lead: NULL past the partition's edge, the default of the value's type."""

from __future__ import annotations

from sqlglot import exp

from doctordata.engines.clickhouse_rules.common import (
    DECIMALS,
    FLOATS,
    call,
    decimal_scale,
    is_type,
)
from doctordata.engines.clickhouse_types import arg_types


def lag_lead_null(root: exp.Expr) -> exp.Expr:
    """lag/lead past the partition's edge are NULL; ClickHouse gives a non-Nullable's default."""
    for node in list(root.find_all(exp.Lag, exp.Lead)):
        value, default = node.this, node.args.get("default")
        if default is not None:
            # ClickHouse wants the default of exactly the value's type: if(0, ...) gives
            # both their common type (DuckDB's too) without changing either's value.
            no = exp.Literal.number(0)
            node.set("default", call("if", no.copy(), value.copy(), default))
            value = call("if", no, default.copy(), value)
        node.set("this", call("toNullable", value))
    return root


# lag/lead(x, n, default) is of x's type on DuckDB: the default is cast to it (an INTEGER x
# with default 2.5 gives 3; a DECIMAL(7, 2) with 2.125 gives 2.13). ClickHouse keeps the
# default's value. DuckDB's casts round; round() before the cast does that on ClickHouse.
# First: the default is still as written (lag_lead_null wraps it).
def lag_lead_default_type(root: exp.Expr) -> exp.Expr:
    for node in list(root.find_all(exp.Lag, exp.Lead)):
        default = node.args.get("default")
        kinds = arg_types(node)
        value, given = kinds if len(kinds) == 2 else (None, None)
        if default is None or value is None or given is None:
            continue
        # Only where the cast changes the value: a fraction into an integer or into a
        # decimal of a smaller scale (otherwise lag_lead_null's common type is exact).
        if value.is_type(*exp.DataType.INTEGER_TYPES):
            scale: int | None = 0
            changes = is_type(given, FLOATS | DECIMALS)
        elif is_type(value, DECIMALS):
            scale = decimal_scale(value)
            finer = is_type(given, DECIMALS) and (decimal_scale(given) or 0) > (scale or 0)
            changes = scale is not None and (finer or is_type(given, FLOATS))
        else:
            continue
        if changes:
            rounded = call("round", default.copy(), exp.Literal.number(scale or 0))
            node.set("default", exp.Cast(this=rounded, to=value.copy()))
    return root


# DuckDB's first_value/last_value return the frame's first/last value even when it is NULL
# (unless IGNORE NULLS); ClickHouse's skip NULLs unless asked to respect them.
_RESPECT_NULLS = {
    exp.FirstValue: "first_value_respect_nulls",
    exp.LastValue: "last_value_respect_nulls",
}


def first_last_value_nulls(root: exp.Expr) -> exp.Expr:
    """first_value/last_value(x) keep a NULL first/last value, as on DuckDB."""
    for node in list(root.find_all(exp.FirstValue, exp.LastValue)):
        if isinstance(node.parent, exp.IgnoreNulls):
            continue  # IGNORE NULLS is ClickHouse's own behaviour
        if isinstance(node.parent, exp.RespectNulls):
            node.parent.replace(node)
        node.replace(call(_RESPECT_NULLS[type(node)], node.this.copy()))
    return root


# RANGE BETWEEN INTERVAL '10' DAY PRECEDING ...: ClickHouse wants a number there (and a
# Date32 key counts days, a DateTime64 one seconds): refused, naming the fix.
def range_interval_frames(root: exp.Expr) -> exp.Expr:
    from doctordata.errors import UnsupportedSQLError

    for spec in root.find_all(exp.WindowSpec):
        bounds = (spec.args.get("start"), spec.args.get("end"))
        if spec.args.get("kind") == "RANGE" and any(isinstance(b, exp.Interval) for b in bounds):
            raise UnsupportedSQLError(
                f"{spec.sql('duckdb')} on ClickHouse: a RANGE frame with an INTERVAL offset is "
                "not translated; use ROWS, a RANGE over a number (e.g. the date's day number), "
                "or run this query with engine='duckdb'."
            )
    return root
