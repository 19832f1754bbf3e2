"""Comparisons with DuckDB's NULL and NaN: floats, IN lists, NaN in ORDER BY."""

from __future__ import annotations

from sqlglot import exp

from doctordata.engines.clickhouse_rules.common import COMPARISONS, FLOATS, call, is_type
from doctordata.engines.clickhouse_types import (
    BRANCH_TYPES,
    arg_types,
    branch_types,
)
from doctordata.errors import UnsupportedSQLError


def in_null(root: exp.Expr) -> exp.Expr:
    """``x IN (1, NULL)`` is TRUE or NULL (never FALSE); ClickHouse says FALSE for x = 2."""
    for node in reversed(list(root.find_all(exp.In))):  # innermost first: x is copied
        items = node.expressions
        if not items or not any(isinstance(i, exp.Null) for i in items):
            continue
        rest = [i for i in items if not isinstance(i, exp.Null)]
        if not rest:
            node.replace(exp.cast(exp.Null(), exp.DataType.build("boolean")))
            continue
        found = exp.In(this=node.this.copy(), expressions=[i.copy() for i in rest])
        node.replace(exp.paren(exp.If(this=found, true=exp.true(), false=exp.Null())))
    return root


# ClickHouse (chDB 26.9) prunes Parquet row groups wrongly for coalesce(col, c) IN (...):
# coalesce(n, 7) IN (7, 10) loses the rows where n is NULL (input_format_parquet_filter_
# push_down=0 avoids it, for every query). The same choice written as CASE is read right.
def coalesce_in(root: exp.Expr) -> exp.Expr:
    for node in list(root.find_all(exp.In)):
        for coalesce in list(node.this.find_all(exp.Coalesce)):
            args = [coalesce.this, *coalesce.expressions]
            ifs = [
                exp.If(this=exp.Not(this=exp.Is(this=a.copy(), expression=exp.Null())), true=a)
                for a in args[:-1]
            ]
            case = exp.Case(ifs=ifs, default=args[-1])
            # The same values in the same order: decimal_scales reads their types.
            case.meta[BRANCH_TYPES] = branch_types(coalesce)
            coalesce.replace(case)
    return root


# -- float comparisons: DuckDB orders NaN above every number and finds NaN = NaN; a FLOAT
# column meets a decimal literal as FLOAT (0.1::FLOAT = 0.1). ClickHouse compares as IEEE
# does (NaN equals nothing, is neither greater nor smaller), and Float32 with 0.1 as Float64.
_NUMERIC = exp.DataType.NUMERIC_TYPES


def _float_operand(side: exp.Expr, kind: exp.DataType | None, float32: bool) -> exp.Expr | None:
    """``side`` ready for isNaN and a float comparison; None if its type is not known."""
    cast = "toFloat32" if float32 else "toFloat64"
    if isinstance(side, exp.Null):
        return side
    sign = ""
    if isinstance(side, exp.Neg) and isinstance(side.this, exp.Literal) and not side.this.is_string:
        side, sign = side.this, "-"
    if isinstance(side, exp.Literal):
        # 'NaN', 'inf', 0.1: read as the column's float type (DuckDB: 0.1 is FLOAT next to
        # a FLOAT, 1e-1 is a DOUBLE)
        wide = not side.is_string and "e" in side.name.lower()
        return call("toFloat64" if wide else cast, exp.Literal.string(sign + side.name))
    if is_type(kind, FLOATS):
        return side
    if kind is not None and kind.this in _NUMERIC:
        return call("toFloat64", side)  # DuckDB compares a number with a DOUBLE as DOUBLE
    return None


def _nan_aware(op: type[exp.Expr], a: exp.Expr, b: exp.Expr) -> exp.Expr:
    """``a op b`` with DuckDB's NaN: NULL if either is NULL, NaN greatest and equal to NaN."""
    na, nb = call("isNaN", a.copy()), call("isNaN", b.copy())
    both = exp.and_(na.copy(), nb.copy())
    cases: dict[type[exp.Expr], exp.Expr] = {
        exp.EQ: both,
        exp.NEQ: exp.not_(both),
        exp.GT: exp.and_(na.copy(), exp.not_(nb.copy())),
        exp.GTE: na.copy(),
        exp.LT: exp.and_(nb.copy(), exp.not_(na.copy())),
        exp.LTE: nb.copy(),
    }
    nan_case = cases[op]
    null = exp.or_(
        exp.Is(this=a.copy(), expression=exp.Null()), exp.Is(this=b.copy(), expression=exp.Null())
    )
    case = exp.Case(
        ifs=[
            exp.If(this=null, true=exp.Null()),
            exp.If(this=exp.or_(na, nb), true=nan_case),
        ],
        default=op(this=a, expression=b),
    )
    return exp.cast(case, exp.DataType.build("boolean"))  # selected, it is a BOOLEAN


def _float_pair(
    a: exp.Expr, b: exp.Expr, ka: exp.DataType | None, kb: exp.DataType | None
) -> tuple[exp.Expr, exp.Expr] | None:
    float32 = exp.DataType.Type.FLOAT in (getattr(ka, "this", None), getattr(kb, "this", None))
    if not (is_type(ka, FLOATS) or is_type(kb, FLOATS)):
        return None
    left, right = _float_operand(a, ka, float32), _float_operand(b, kb, float32)
    return None if left is None or right is None else (left, right)


def _join_key(node: exp.Expr) -> bool:
    both_columns = isinstance(node.this, exp.Column) and isinstance(node.expression, exp.Column)
    return isinstance(node, exp.EQ) and both_columns and node.find_ancestor(exp.Join) is not None


def float_comparisons(root: exp.Expr) -> exp.Expr:
    for node in list(root.find_all(*COMPARISONS, exp.In, exp.Between)):
        if _join_key(node):
            continue  # ClickHouse needs a JOIN's keys as plain equalities (NaN never joins)
        kinds = arg_types(node)
        if isinstance(node, exp.In):
            if node.args.get("query") is not None or not node.expressions:
                continue
            pairs = [_float_pair(node.this, i, kinds[0], None) for i in node.expressions]
            if any(p is None for p in pairs) or not pairs:
                continue
            # SQL's x IN (a, b) is x = a OR x = b, NULLs included.
            terms = [_nan_aware(exp.EQ, *p) for p in pairs if p is not None]
            node.replace(exp.paren(exp.or_(*terms)))
        elif isinstance(node, exp.Between):
            low = _float_pair(node.this, node.args["low"], kinds[0], kinds[1])
            high = _float_pair(node.this, node.args["high"], kinds[0], kinds[2])
            if low is None or high is None:
                continue
            node.replace(exp.paren(exp.and_(_nan_aware(exp.GTE, *low), _nan_aware(exp.LTE, *high))))
        else:
            pair = _float_pair(node.this, node.expression, *kinds)
            if pair is not None:
                node.replace(exp.paren(_nan_aware(type(node), *pair)))
    return root


# DuckDB sorts NaN above every number; ClickHouse puts it next to NULL (last for DESC, first
# for ASC NULLS FIRST). A first key isNaN(x), sorted the same way, orders it as DuckDB.
def nan_ordering(root: exp.Expr) -> exp.Expr:
    for ordered in list(root.find_all(exp.Ordered)):
        (kind,) = arg_types(ordered)
        desc, nulls_first = bool(ordered.args.get("desc")), bool(ordered.args.get("nulls_first"))
        if not is_type(kind, FLOATS) or desc == nulls_first:
            continue  # ASC NULLS LAST and DESC NULLS FIRST agree already
        order = ordered.parent
        if not isinstance(order, exp.Order) or not isinstance(order.parent, _SORTED):
            continue  # an aggregate's own ORDER BY (string_agg(...)) takes one key
        key = _sort_expression(ordered)
        if key is None:
            raise UnsupportedSQLError(
                f"ORDER BY {ordered.this.sql('duckdb')} sorts a float column by position "
                "where its expression is not written out (a UNION's output, SELECT *): "
                "DuckDB sorts NaN above every number, ClickHouse next to NULL, and no "
                "rewrite applies here. Run this query with engine='duckdb', or name the "
                "column in the select list and sort by it."
            )
        first = ordered.copy()
        first.set("this", call("isNaN", key))
        ordered.replace(exp.Tuple(expressions=[first, ordered.copy()]))
    for order in list(root.find_all(exp.Order)):  # the pairs become two keys
        keys: list[exp.Expr] = []
        for item in order.expressions:
            keys.extend(item.expressions if isinstance(item, exp.Tuple) else [item])
        order.set("expressions", keys)
    return root


_SORTED = (exp.Select, exp.SetOperation, exp.Window)


def _sort_expression(ordered: exp.Ordered) -> exp.Expr | None:
    """The expression a sort key stands for (a position names an output column)."""
    key = ordered.this
    if not (isinstance(key, exp.Literal) and key.is_int):
        return key.copy()
    query = ordered.parent.parent if ordered.parent is not None else None
    if not isinstance(query, exp.Select):
        return None
    items = query.expressions
    position = int(key.name)
    if not 1 <= position <= len(items) or items[position - 1].is_star:
        return None
    item = items[position - 1]
    return (item.this if isinstance(item, exp.Alias) else item).copy()
