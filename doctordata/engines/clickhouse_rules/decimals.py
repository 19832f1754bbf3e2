"""DuckDB's DECIMAL: literals, common scales of CASE/coalesce/UNION, rounding types."""

from __future__ import annotations

from sqlglot import exp

from doctordata.engines.clickhouse_rules.common import (
    DECIMALS,
    call,
    decimal_precision,
    decimal_scale,
    is_type,
)
from doctordata.engines.clickhouse_types import (
    arg_types,
    branch_types,
    branch_values,
    output_types,
)
from doctordata.errors import UnsupportedSQLError

# Literals where ClickHouse wants a plain number (parameters, limits, intervals).
_PLAIN_NUMBER_PARENTS = (
    exp.Interval,
    exp.Limit,
    exp.Offset,
    exp.Quantile,
    exp.ApproxQuantile,
    exp.PercentileCont,
    exp.PercentileDisc,
    exp.TableSample,
)


def _branch_values(literal: exp.Expr) -> list[exp.Expr | None] | None:
    """The values a conditional chooses among, when ``literal`` is one of them."""
    parent = literal.parent
    if isinstance(parent, exp.Coalesce):
        return [parent.this, *parent.expressions]
    if isinstance(parent, exp.If) and literal.arg_key in ("true", "false"):
        parent = parent.parent if isinstance(parent.parent, exp.Case) else parent
    if isinstance(parent, exp.Case) and literal.arg_key in ("true", "default"):
        return [i.args["true"] for i in parent.args["ifs"]] + [parent.args.get("default")]
    if isinstance(parent, exp.If):
        return [parent.args.get("true"), parent.args.get("false")]
    return None


def _decimal_text(literal: exp.Expr) -> str | None:
    """The text of a number literal DuckDB reads as a DECIMAL, else None."""
    if not isinstance(literal, exp.Literal) or literal.is_string:
        return None
    text = str(literal.this)
    if "." not in text or "e" in text.lower() or sum(c.isdigit() for c in text) > 38:
        return None
    return text


def _scale(value: exp.Expr | None) -> int:
    text = _decimal_text(value) if value is not None else None
    return len(text.split(".", 1)[1]) if text else 0


def _decimal_literal(literal: exp.Literal, text: str) -> exp.Expr:
    """The ClickHouse spelling of one DuckDB decimal literal."""
    whole, fraction = text.split(".", 1)
    scale = len(fraction)
    # ClickHouse refuses conditionals over Decimals of different scales; DuckDB takes the
    # widest. Literal branches get the widest literal scale; an integral literal next to
    # a column becomes an integer, which takes the column's Decimal type.
    branches = [b for b in _branch_values(literal) or [] if not isinstance(b, exp.Null)]
    if all(isinstance(b, exp.Literal) for b in branches):
        scale = max([scale, *(_scale(b) for b in branches)])
    elif not fraction.strip("0"):
        return exp.Literal.number(whole.lstrip("+") or "0")
    # 38 digits: DuckDB widens DECIMAL products up to 38 digits; ClickHouse keeps the
    # widest operand's width, so a narrow literal would overflow where DuckDB does not.
    return exp.Anonymous(
        this="toDecimal128", expressions=[exp.Literal.string(text), exp.Literal.number(scale)]
    )


def _plain_number_position(literal: exp.Expr) -> bool:
    """A literal ClickHouse needs as a plain number: an interval, LIMIT, a sample size, or a
    quantile's level - not the values a quantile reads (``quantile_cont(coalesce(x,
    -2.3), 1)``: -2.3 there is a DECIMAL like anywhere else)."""
    child, parent = literal, literal.parent
    while parent is not None:
        if isinstance(parent, _PLAIN_NUMBER_PARENTS):
            return not (isinstance(parent, _QUANTILE_NODES) and child is parent.this)
        child, parent = parent, parent.parent
    return False


_QUANTILE_NODES = (exp.Quantile, exp.ApproxQuantile, exp.PercentileCont, exp.PercentileDisc)


def decimal_literals(root: exp.Expr) -> exp.Expr:
    """``1.5`` is DECIMAL(2, 1) on DuckDB, Float64 on ClickHouse: make it a Decimal."""
    planned = []
    for literal in root.find_all(exp.Literal):
        text = _decimal_text(literal)
        if text is not None and not _plain_number_position(literal):
            planned.append((literal, _decimal_literal(literal, text)))
    for literal, replacement in planned:  # decided first: siblings are read as literals
        literal.replace(replacement)
    return root


# ClickHouse refuses a conditional over Decimals of different scales (Code 48); DuckDB
# takes the widest scale. Decimal branches of a smaller scale are cast to it, with 38
# digits so that no value overflows.
def decimal_scales(root: exp.Expr) -> exp.Expr:
    for node in list(root.find_all(exp.Case, exp.Coalesce, exp.If)):
        values = branch_values(node)
        kinds = branch_types(node)
        if len(kinds) != len(values):
            continue
        scales = {
            decimal_scale(k)
            for k in kinds
            if k is not None and k.is_type(exp.DataType.Type.DECIMAL)
        }
        if len(scales) < 2 or None in scales:
            continue
        decimals = [k for k in kinds if k is not None and k.is_type(exp.DataType.Type.DECIMAL)]
        widest = duckdb_decimal_scale(decimals)
        if widest is None:
            continue
        for value, kind in zip(values, kinds, strict=True):
            decimal = kind is not None and kind.is_type(exp.DataType.Type.DECIMAL)
            if decimal and kind is not None and decimal_scale(kind) != widest:
                value.replace(_to_scale(value.copy(), kind, widest))
    return root


def duckdb_decimal_scale(kinds: list[exp.DataType]) -> int | None:
    """The scale of DuckDB's common type of these DECIMALs (None if one is not known).

    DuckDB keeps the most integer digits and the largest scale; where the two need more
    than 38 digits, it gives up scale: DECIMAL(38, 2) and DECIMAL(14, 3) make DECIMAL(38, 2).
    """
    digits, scales = [], []
    for kind in kinds:
        precision, scale = decimal_precision(kind), decimal_scale(kind)
        if precision is None or scale is None:
            return None
        digits.append(precision - scale)
        scales.append(scale)
    if not scales:
        return None
    return min(max(scales), 38 - max(digits))


def _to_scale(value: exp.Expr, kind: exp.DataType | None, scale: int) -> exp.Expr:
    """``value`` (a DECIMAL of type ``kind``) as DECIMAL(38, scale), rounded as DuckDB casts
    (``kind`` None: rounded in any case, as ClickHouse's own scale may be finer)."""
    if kind is None or (decimal_scale(kind) or 0) > scale:
        value = call("round", value, exp.Literal.number(scale))
    # exp.Cast, not exp.cast(): that one leaves a CAST to another DECIMAL as it is
    return exp.Cast(this=value, to=exp.DataType.build(f"DECIMAL(38, {scale})"))


def _set_operation_leaves(node: exp.Expr) -> list[exp.Select] | None:
    """The SELECTs a set operation combines, or None where one is not a plain SELECT."""
    while isinstance(node, exp.Subquery):
        node = node.this
    if isinstance(node, exp.Select):
        return [node]
    if not isinstance(node, exp.SetOperation):
        return None
    left, right = _set_operation_leaves(node.this), _set_operation_leaves(node.expression)
    return None if left is None or right is None else left + right


# A UNION (INTERSECT, EXCEPT) of decimals takes DuckDB's common type, which gives up scale
# where it would need more than 38 digits; ClickHouse keeps the finer scale. Each branch
# whose scale is finer is rounded to that type's scale.
def set_operation_decimals(root: exp.Expr) -> exp.Expr:
    for node in list(root.find_all(exp.SetOperation)):
        parent = node.parent
        while isinstance(parent, exp.Subquery):
            parent = parent.parent
        if isinstance(parent, exp.SetOperation):
            continue  # its leaves are the outer operation's
        leaves = _set_operation_leaves(node)
        if not leaves or len({len(leaf.expressions) for leaf in leaves}) != 1:
            continue
        types = [output_types(leaf) for leaf in leaves]
        scales: dict[int, int] = {}
        for i in range(len(leaves[0].expressions)):
            kinds = [t[i] for t in types]
            decimals = [k for k in kinds if k is not None and k.is_type(exp.DataType.Type.DECIMAL)]
            if len(decimals) != len(kinds):
                continue  # an unknown or other type: left as written
            scale = duckdb_decimal_scale(decimals)
            if scale is None or scale >= max(decimal_scale(k) or 0 for k in decimals):
                continue  # no scale given up: ClickHouse's common type agrees
            scales[i] = scale
        if scales:
            for leaf in leaves:  # all: ClickHouse's own scale may be finer than DuckDB's
                _round_columns(leaf, scales)
    return root


def _round_columns(select: exp.Select, scales: dict[int, int]) -> None:
    """``select`` as a SELECT of its own rows, columns ``i`` rounded to DECIMAL(38, scale).

    Rounded outside the branch: its GROUP BY, DISTINCT or ORDER BY (by alias or position)
    still see the values DuckDB groups and sorts.
    """
    inner = select.copy()
    names = []
    for i, item in enumerate(inner.expressions):
        if isinstance(item, exp.Alias | exp.Column) and item.alias_or_name:
            names.append(item.alias_or_name)
        else:
            names.append(f"_dd_u{i}")
            item.replace(exp.alias_(item.copy(), names[-1], quoted=True))
    if len(set(names)) != len(names):
        raise UnsupportedSQLError(
            f"a UNION branch with two columns named alike ({', '.join(names)}) and decimals "
            "DuckDB rounds to a common type: ClickHouse cannot give DuckDB's answer here. "
            "Run this query with engine='duckdb', or give each column its own name."
        )
    items = []
    for i, (item, name) in enumerate(zip(select.expressions, names, strict=True)):
        value: exp.Expr = exp.column(name, "_dd_u", quoted=True)
        if i in scales:
            value = _to_scale(value, None, scales[i])
        shown = item.sql("duckdb") if name.startswith("_dd_u") else name
        items.append(exp.alias_(value, shown, quoted=True))
    select.replace(exp.select(*items).from_(inner.subquery("_dd_u")))


# round(DECIMAL(p, s), n) is DECIMAL(p, n) on DuckDB (n < s), floor/ceil DECIMAL(p, 0);
# ClickHouse keeps the scale s. The other typed rules (common types of CASE and UNION) read
# DuckDB's type, so the ClickHouse value is cast to it. First: before decimal_scales.
def decimal_rounding_type(root: exp.Expr) -> exp.Expr:
    for node in list(root.find_all(exp.Round, exp.Floor, exp.Ceil)):
        (kind,) = arg_types(node)
        if not is_type(kind, DECIMALS) or kind is None:
            continue
        digits = node.args.get("decimals") if isinstance(node, exp.Round) else None
        if digits is not None and not (isinstance(digits, exp.Literal) and digits.is_int):
            continue
        if node.args.get("truncate") is not None:
            continue
        precision, scale = decimal_precision(kind), decimal_scale(kind)
        n = int(digits.name) if digits is not None else 0
        if precision is None or scale is None or min(scale, max(n, 0)) == scale:
            continue
        target = exp.DataType.build(f"DECIMAL({precision}, {min(scale, max(n, 0))})")
        placeholder = exp.Null()
        node.replace(placeholder)
        placeholder.replace(exp.Cast(this=node, to=target))
    return root
