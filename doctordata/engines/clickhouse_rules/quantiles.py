"""median, quantile_cont and quantile_disc, exact, with DuckDB's interpolation."""

from __future__ import annotations

from sqlglot import exp

from doctordata.engines.clickhouse_rules.common import (
    DECIMALS,
    FLOATS,
    INTEGERS,
    call,
    decimal_scale,
    is_type,
)
from doctordata.engines.clickhouse_types import arg_types
from doctordata.errors import UnsupportedSQLError

# median / quantile_cont / quantile_disc: ClickHouse's median() is approximate and it has no
# PERCENTILE_CONT. Each is computed from the sorted values (arraySort of groupArray: NULLs
# skipped, NaN last as on DuckDB) with DuckDB's index rule; anything else is refused.
_QUANTILES = (exp.Median, exp.PercentileCont, exp.PercentileDisc, exp.Quantile)


_SORTED_VALUES = "_dd_sorted"  # the lambda parameter that holds one aggregate's sorted values


def _quantile_refusal(node: exp.Expr, why: str) -> UnsupportedSQLError:
    return UnsupportedSQLError(
        f"{node.sql('duckdb')} on ClickHouse: {why}, so its answer could differ from "
        "DuckDB's. Run this query with engine='duckdb'."
    )


def _quantile_level(node: exp.Expr) -> float:
    if isinstance(node, exp.Median):
        return 0.5
    level = node.args.get("quantile") if isinstance(node, exp.Quantile) else node.expression
    if isinstance(level, exp.Literal) and level.is_number and 0 <= float(level.name) <= 1:
        return float(level.name)
    raise _quantile_refusal(node, "only a constant level between 0 and 1 is translated")


def _nth(values: exp.Expr, index: exp.Expr) -> exp.Expr:
    """``values[index + 1]`` (ClickHouse arrays count from 1)."""
    one_based = exp.Add(this=exp.paren(index), expression=exp.Literal.number(1))
    return call("arrayElement", values.copy(), call("toUInt64", one_based))


def _continuous(values: exp.Expr, level: float, kind: exp.DataType) -> exp.Expr:
    """DuckDB's quantile_cont at (n - 1) * level: lo * (1 - d) + hi * d in doubles.

    A DECIMAL interpolates its unscaled integers and rounds down (2.25, 3.00 -> 2.62).
    """
    rank = exp.Mul(
        this=exp.paren(
            exp.Sub(this=call("length", values.copy()), expression=exp.Literal.number(1))
        ),
        expression=exp.Literal.number(repr(level)),
    )
    lower, upper = call("floor", rank.copy()), call("ceil", rank.copy())
    lo, hi = _nth(values, lower), _nth(values, upper)
    fraction = exp.paren(exp.Sub(this=rank.copy(), expression=lower.copy()))
    if is_type(kind, DECIMALS):
        scale = decimal_scale(kind) or 0
        unit = exp.Literal.number(10**scale)
        lo_raw = call("toFloat64", call("toInt128", exp.Mul(this=lo, expression=unit.copy())))
        hi_raw = call("toFloat64", call("toInt128", exp.Mul(this=hi, expression=unit.copy())))
        delta = exp.paren(exp.Sub(this=hi_raw, expression=lo_raw.copy()))
        point = exp.Add(this=lo_raw, expression=exp.Mul(this=delta, expression=fraction))
        raw = call("toInt128", call("floor", point))
        scaled = call("divide", call("toDecimal128", raw, exp.Literal.number(scale)), unit.copy())
        return exp.cast(call("toDecimal128", scaled, exp.Literal.number(scale)), kind.copy())
    lo_f, hi_f = call("toFloat64", lo), call("toFloat64", hi)
    # DuckDB's doubles: lo * (1 - d) + hi * d (-inf and 1 give -inf; lo + (hi - lo) * d
    # gave -inf + inf = nan, and overflowed between -1e308 and 1e308).
    rest = exp.paren(exp.Sub(this=exp.Literal.number(1), expression=fraction.copy()))
    between = exp.Add(
        this=exp.Mul(this=lo_f.copy(), expression=rest),
        expression=exp.Mul(this=hi_f, expression=fraction),
    )
    # At a whole rank DuckDB takes the value itself: inf, not inf + (inf - inf) * 0 = nan.
    whole = exp.EQ(this=lower.copy(), expression=upper.copy())
    return exp.If(this=whole, true=lo_f, false=between)


def _discrete(values: exp.Expr, level: float) -> exp.Expr:
    """DuckDB's quantile_disc: the value at ceil(n * level), counted from 1 (at least 1)."""
    position = call(
        "ceil",
        exp.Mul(this=call("length", values.copy()), expression=exp.Literal.number(repr(level))),
    )
    index = exp.Sub(
        this=call("greatest", position, exp.Literal.number(1)), expression=exp.Literal.number(1)
    )
    return _nth(values, index)


def quantiles(root: exp.Expr) -> exp.Expr:
    for node in list(root.find_all(*_QUANTILES)):
        if isinstance(node.parent, exp.WithinGroup):
            raise _quantile_refusal(node.parent, "WITHIN GROUP is not translated")
        if isinstance(node, exp.Quantile) and isinstance(node.args.get("quantile"), exp.Array):
            raise _quantile_refusal(node, "a list of levels is not translated")
        if isinstance(node.expression, exp.Array):
            raise _quantile_refusal(node, "a list of levels is not translated")
        (kind,) = arg_types(node)
        discrete = isinstance(node, exp.PercentileDisc | exp.Quantile)
        # quantile_disc picks a value, whatever its type: only a number is interpolated
        if not discrete and not is_type(kind, INTEGERS | FLOATS | DECIMALS):
            raise _quantile_refusal(node, "its argument's type is not known or not a number")
        level = _quantile_level(node)
        gathered: exp.Expr = call("groupArray", node.this.copy())
        outer: exp.Expr = node
        if isinstance(outer.parent, exp.Filter):  # median(x) FILTER (WHERE c)
            outer = outer.parent
            condition = outer.expression.this if isinstance(outer.expression, exp.Where) else None
            if condition is None:
                raise _quantile_refusal(outer, "this FILTER is not translated")
            gathered = call("groupArrayIf", node.this.copy(), condition.copy())
        window = outer.parent if isinstance(outer.parent, exp.Window) else None
        if window is not None:
            if outer is not node:
                raise _quantile_refusal(window, "FILTER with OVER is not translated")
            gathered = window.copy()
            gathered.set("this", call("groupArray", node.this.copy()))
        # The sorted values are computed once and read through a lambda's parameter (the
        # interpolation reads them up to 8 times): f(arraySort(...)) as
        # arrayMap(v -> f(v), [arraySort(...)])[1].
        values = exp.column(_SORTED_VALUES)
        value = (
            _discrete(values, level)
            if discrete or kind is None
            else _continuous(values, level, kind)
        )
        empty = exp.EQ(
            this=call("ifNull", call("length", values.copy()), exp.Literal.number(0)),
            expression=exp.Literal.number(0),
        )
        body = exp.Lambda(
            this=exp.If(this=empty, true=exp.Null(), false=value),
            expressions=[exp.to_identifier(_SORTED_VALUES)],
        )
        sorted_once = exp.Array(expressions=[call("arraySort", gathered)])
        result = call("arrayElement", call("arrayMap", body, sorted_once), exp.Literal.number(1))
        (window or outer).replace(result)
    return root
