"""The sqlglot transforms that give DuckDB's semantics on ClickHouse where no setting does.

Listed in :data:`TRANSFORMS` (name, function, one-line reason), run in order by
``clickhouse_semantics.apply_transforms`` on each query's private tree before it is
generated in ClickHouse's dialect. The session settings are in clickhouse_semantics.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from doctordata.engines.clickhouse_types import (
    BRANCH_TYPES,
    arg_types,
    branch_types,
    branch_values,
    nested_columns,
    nested_element_columns,
    nested_tables,
    output_types,
    struct_columns,
)
from doctordata.errors import UnsupportedSQLError


@dataclass(frozen=True)
class Transform:
    name: str
    apply: Callable[[exp.Expr], exp.Expr]
    reason: str


# -- transforms: one function each, appended below --------------------------------
def _alias_case(root: exp.Expr) -> exp.Expr:
    """Spell every unquoted table qualifier and CTE reference like the alias it names."""
    defined: dict[str, str] = {}
    for alias in root.find_all(exp.TableAlias):
        ident = alias.args.get("this")
        if isinstance(ident, exp.Identifier) and not ident.quoted:
            defined.setdefault(ident.name.lower(), ident.name)
    for table in root.find_all(exp.Table):
        if not table.args.get("db") and table.alias:
            defined.setdefault(table.alias.lower(), table.alias)
    if not defined:
        return root
    for node in root.find_all(exp.Column, exp.Table):
        key = "table" if isinstance(node, exp.Column) else "this"
        if isinstance(node, exp.Table) and node.args.get("db"):
            continue
        ident = node.args.get(key)
        if isinstance(ident, exp.Identifier) and not ident.quoted:
            spelled = defined.get(ident.name.lower())
            if spelled is not None and spelled != ident.name:
                node.set(key, exp.to_identifier(spelled))
    return root


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


def _decimal_literals(root: exp.Expr) -> exp.Expr:
    """``1.5`` is DECIMAL(2, 1) on DuckDB, Float64 on ClickHouse: make it a Decimal."""
    planned = []
    for literal in root.find_all(exp.Literal):
        text = _decimal_text(literal)
        if text is not None and not _plain_number_position(literal):
            planned.append((literal, _decimal_literal(literal, text)))
    for literal, replacement in planned:  # decided first: siblings are read as literals
        literal.replace(replacement)
    return root


# -- division: one rule for DuckDB's /, // and %, zero divisors included ----------------
# DuckDB: x / y is DOUBLE division for every numeric type (x / 0 is +-inf, 0 / 0 nan).
# x // y truncates integers; for any other type it is x / y as a DOUBLE. x // 0 and x % 0
# are NULL for every type, except a double's %, which is fmod's nan (ClickHouse's own %).
# ClickHouse throws on an integer or Decimal zero divisor, also on the value a NULL row
# hides (NULLIF(k, 0) hides a 0), so no divisor that may be 0 reaches intDiv or modulo.
def _divisions(root: exp.Expr) -> exp.Expr:
    # innermost first: an operand copied into the rewrite of an outer one is rewritten
    for node in reversed(list(root.find_all(exp.Div, exp.IntDiv, exp.Mod))):
        if isinstance(node, exp.Div):
            if node.find(exp.Interval) is None:
                for key in ("this", "expression"):
                    node.set(key, _call("toFloat64", node.args[key]))
            continue
        kinds = arg_types(node)
        if isinstance(node, exp.IntDiv):
            node.replace(_integer_quotient(node, kinds))
        elif not any(_is(kind, _FLOATS) for kind in kinds):
            node.replace(_exact_remainder(node.this, node.expression))
    return root


def _zero(b: exp.Expr) -> exp.Expr:
    return exp.EQ(this=b.copy(), expression=exp.Literal.number(0))


def _integer_quotient(node: exp.Expr, kinds: tuple[exp.DataType | None, ...]) -> exp.Expr:
    """``a // b``: intDivOrNull of integers (and of unknown types, as sqlglot's CAST truncates),
    else the DOUBLE quotient, NULL for a zero divisor."""
    a, b = node.this, node.expression
    if not any(_is(kind, _FLOATS | _DECIMALS) for kind in kinds):
        return _call("intDivOrNull", a, b)
    quotient = exp.Div(this=_call("toFloat64", a), expression=_call("toFloat64", b.copy()))
    return exp.paren(exp.If(this=_zero(b), true=exp.Null(), false=quotient))


def _exact_remainder(a: exp.Expr, b: exp.Expr) -> exp.Expr:
    """``a % b`` as ``a - b * intDiv(a, b)``: ClickHouse's modulo misreads Decimal scales
    (1.47 % 2 = 0.01). intDiv never sees a 0, not even one hidden under a NULL."""
    hidden_zero = _zero(_call("ifNull", b.copy(), exp.Literal.number(0)))
    safe = exp.If(this=hidden_zero, true=exp.Literal.number(1), false=b.copy())
    quotient = exp.Anonymous(this="intDiv", expressions=[a.copy(), safe])
    rest = exp.Sub(this=a, expression=exp.Mul(this=b, expression=quotient))
    return exp.paren(exp.If(this=_zero(b), true=exp.Null(), false=rest))


# Sample statistics of one value: DuckDB says NULL, ClickHouse NaN.
_SAMPLE_STATISTICS = (exp.StddevSamp, exp.Stddev, exp.Variance)


def _sample_statistics_null(root: exp.Expr) -> exp.Expr:
    """stddev_samp/var_samp over fewer than two values is NULL (ClickHouse: nan)."""
    for stat in list(root.find_all(*_SAMPLE_STATISTICS)):
        window = stat.parent if isinstance(stat.parent, exp.Window) else None
        target: exp.Expr = window if window is not None and window.this is stat else stat
        count: exp.Expr = exp.Count(this=stat.this.copy())
        if target is window:
            count = window.copy()
            count.set("this", exp.Count(this=stat.this.copy()))
        placeholder = exp.Null()
        target.replace(placeholder)
        placeholder.replace(
            exp.Case(
                ifs=[exp.If(this=exp.GT(this=count, expression=exp.Literal.number(1)), true=target)]
            )
        )
    return root


def _projection_names(root: exp.Expr) -> exp.Expr:
    """``SELECT t.a`` names its column ``a`` (ClickHouse may say ``t.a`` when ``a`` is ambiguous)."""
    for select in list(root.find_all(exp.Select)):
        names = [s.alias_or_name for s in select.expressions]
        for column in select.expressions:
            if not isinstance(column, exp.Column) or not column.table or column.is_star:
                continue
            # Two outputs named `a` (SELECT t.a, u.a) are fine on DuckDB, but two equal
            # aliases are an error on ClickHouse: leave those to ClickHouse's naming.
            if names.count(column.name) == 1:
                column.replace(exp.alias_(column.copy(), column.this.copy()))
    return root


def _order_by_output_names(root: exp.Expr) -> exp.Expr:
    """ORDER BY a name means that output column first (as DuckDB), not a same-named input."""
    for query in list(root.find_all(exp.Select, exp.SetOperation)):
        order = query.args.get("order")
        if order is None or any(s.is_star for s in query.selects):
            continue
        names = [s.alias_or_name for s in query.selects]  # named_selects skips unnamed
        for ordered in order.expressions:
            key = ordered.this
            if isinstance(key, exp.Column) and not key.table and names.count(key.name) == 1:
                key.replace(exp.Literal.number(names.index(key.name) + 1))
    return root


TRANSFORMS: tuple[Transform, ...] = (
    Transform(
        "alias_case",
        _alias_case,
        "DuckDB matches unquoted aliases case-insensitively, ClickHouse does not (TPC-DS q49)",
    ),
    Transform(
        "projection_names",
        _projection_names,
        "SELECT t.a is column a on DuckDB; ClickHouse may name it t.a (TPC-DS q47, q57)",
    ),
    Transform(
        "order_by_output_names",
        _order_by_output_names,
        "ORDER BY x sorts by the output column x even where an input column x exists",
    ),
    Transform(
        "decimal_literals",
        _decimal_literals,
        "1.5 is DECIMAL(2,1) on DuckDB, Float64 on ClickHouse",
    ),
    Transform(
        "divisions",
        _divisions,
        "x / y is DOUBLE; x // 0 and x % 0 are NULL (ClickHouse: Division by zero), "
        "a % b of decimals exact, x // y of non-integers a DOUBLE quotient",
    ),
    Transform(
        "sample_statistics_null",
        _sample_statistics_null,
        "stddev_samp/var_samp of one value: NULL on DuckDB, nan on ClickHouse",
    ),
)


# -- found by the random differential test (tests/engines/test_differential.py) ---------
# Appended as independent entries; each is a plain function over the query's private tree.

# DuckDB's string functions count characters; ClickHouse's plain ones count bytes (and
# upper/lower change ASCII letters only). Their UTF-8 forms take the same arguments.
_UTF8_FUNCTIONS: dict[type[exp.Expr], tuple[str, tuple[str, ...]]] = {
    exp.Upper: ("upperUTF8", ("this",)),
    exp.Lower: ("lowerUTF8", ("this",)),
    exp.Left: ("leftUTF8", ("this", "expression")),
    exp.Right: ("rightUTF8", ("this", "expression")),
    exp.Substring: ("substringUTF8", ("this", "start", "length")),
}


def _utf8_strings(root: exp.Expr) -> exp.Expr:
    for node in list(root.find_all(*_UTF8_FUNCTIONS)):
        name, keys = _UTF8_FUNCTIONS[type(node)]
        args = [node.args[k] for k in keys if node.args.get(k) is not None]
        node.replace(exp.Anonymous(this=name, expressions=args))
    return root


# A comparison in ClickHouse is UInt8 (0/1); DuckDB's is BOOLEAN. Only the select list
# is cast: inside WHERE, JOIN ON, CASE and aggregates the UInt8 behaves the same.
_PREDICATES = (exp.Predicate, exp.Connector, exp.Not)


def _boolean_projections(root: exp.Expr) -> exp.Expr:
    for select in list(root.find_all(exp.Select)):
        for projection in select.expressions:
            inner = projection.this if isinstance(projection, exp.Alias) else projection
            if isinstance(inner.unnest(), _PREDICATES):
                inner.replace(exp.cast(inner.copy(), exp.DataType.build("boolean")))
    return root


# sqlglot writes DuckDB's make_date(y, m, d) as DATE_FROM_PARTS, which ClickHouse lacks;
# makeDate32 covers DuckDB's date range (makeDate stops at 2149).
def _make_date(root: exp.Expr) -> exp.Expr:
    for node in list(root.find_all(exp.DateFromParts)):
        args = [node.args.get(k) for k in ("year", "month", "day")]
        if all(a is not None for a in args):
            node.replace(exp.Anonymous(this="makeDate32", expressions=args))
    return root


# DuckDB's TIMESTAMP has microseconds; sqlglot writes it as ClickHouse's DateTime (whole
# seconds, returned as a number through Arrow, and 1970-2106 only: earlier or later values
# wrap around). DATE is written as Date (1970-2149, wraps the same way). Casts and literals
# become DateTime64(6) (with 'UTC' for TIMESTAMPTZ) and Date32, which span 1900-2299.
_WIDER_TIME_TYPES = {
    exp.DataType.Type.TIMESTAMP: "DateTime64(6)",
    exp.DataType.Type.TIMESTAMPNTZ: "DateTime64(6)",
    exp.DataType.Type.TIMESTAMPTZ: "DateTime64(6, 'UTC')",
    exp.DataType.Type.DATE: "Date32",
}


def _timestamp_microseconds(root: exp.Expr) -> exp.Expr:
    for node in list(root.find_all(exp.DataType)):
        wider = _WIDER_TIME_TYPES.get(node.this)
        if wider is not None and not node.expressions:
            built = exp.DataType.build(wider, dialect="clickhouse")
            built.set("nullable", None)  # let sqlglot wrap it in Nullable() as it did
            node.replace(built)
    return root


# GROUPING(expr) must name a GROUP BY key as written; a positional key (GROUP BY ROLLUP
# (1, 2)) is not matched. Positions become the select items they stand for.
def _grouping_keys(root: exp.Expr) -> exp.Expr:
    for select in list(root.find_all(exp.Select)):
        group = select.args.get("group")
        if group is None or not any(
            g.parent_select is select for g in select.find_all(exp.Grouping)
        ):
            continue
        items = [p.this if isinstance(p, exp.Alias) else p for p in select.expressions]
        for literal in list(group.find_all(exp.Literal)):
            if not literal.is_int or not isinstance(literal.parent, (exp.Group, exp.Rollup)):
                continue
            position = int(literal.name)
            item = items[position - 1] if 1 <= position <= len(items) else None
            if item is not None and not isinstance(item, exp.Star):
                # Parenthesised: sqlglot cannot read back `ROLLUP (a < b)` in ClickHouse.
                key = item.copy() if isinstance(item, exp.Column) else exp.Paren(this=item.copy())
                literal.replace(key)
    return root


# ClickHouse's abs() of a signed integer is unsigned (abs(Int64) is UInt64), and UInt64
# with Int64 in one CASE or UNION makes a Variant that cannot be sorted or summed.
# DuckDB's abs keeps its argument's type; so does if(x < 0, -x, x) on ClickHouse.
def _abs_keeps_type(root: exp.Expr) -> exp.Expr:
    for node in reversed(list(root.find_all(exp.Abs))):  # innermost first
        x = node.this
        negative = exp.LT(this=exp.Paren(this=x.copy()), expression=exp.Literal.number(0))
        node.replace(
            exp.If(this=negative, true=exp.Neg(this=exp.Paren(this=x.copy())), false=x.copy())
        )
    return root


TRANSFORMS = (
    *TRANSFORMS,
    Transform("utf8_strings", _utf8_strings, "upper/lower/left/right/substring count characters"),
    Transform("make_date", _make_date, "make_date(y, m, d) exists on ClickHouse as makeDate32"),
    Transform(
        "timestamp_microseconds",
        _timestamp_microseconds,
        "TIMESTAMP[TZ] is DateTime64(6), DATE is Date32: microseconds, years 1900-2299",
    ),
    # Before boolean_projections: the keys it copies must be the expressions as written.
    Transform("grouping_keys", _grouping_keys, "GROUPING() names keys, not positions"),
    Transform("boolean_projections", _boolean_projections, "a selected comparison is BOOLEAN"),
    Transform("abs_keeps_type", _abs_keeps_type, "abs(BIGINT) is BIGINT, not UInt64"),
)


# -- rewrites that need an argument's type (engines/clickhouse_types.py records it) ------
_FLOATS: frozenset[Any] = frozenset({exp.DataType.Type.FLOAT, exp.DataType.Type.DOUBLE})
_DECIMALS: frozenset[Any] = frozenset({exp.DataType.Type.DECIMAL})


def _call(name: str, *args: exp.Expr) -> exp.Expr:
    return exp.Anonymous(this=name, expressions=list(args))


def _is(kind: exp.DataType | None, types: frozenset[Any]) -> bool:
    return kind is not None and kind.this in types


def _round_half_away(x: exp.Expr) -> exp.Expr:
    """C's round(x): trunc(x) + trunc(2 * fraction), exact for every double."""
    frac = exp.Sub(this=x.copy(), expression=_call("trunc", x.copy()))
    twice = exp.Mul(this=exp.paren(frac), expression=exp.Literal.number(2))
    return exp.Add(this=_call("trunc", x.copy()), expression=_call("trunc", twice))


def _float_round(root: exp.Expr) -> exp.Expr:
    """round(double, n) as DuckDB: C round(x * 10^n) / 10^n (ClickHouse rounds half to even)."""
    for node in reversed(list(root.find_all(exp.Round))):  # innermost first: x is copied
        (kind,) = arg_types(node)
        digits = node.args.get("decimals")
        if not _is(kind, _FLOATS) or node.args.get("truncate") is not None:
            continue
        if digits is not None and not (isinstance(digits, exp.Literal) and digits.is_int):
            continue  # a computed or negative precision: left as ClickHouse's round
        n = int(digits.name) if digits is not None else 0
        if n < 0 or n > 15:
            continue
        x = node.this
        scaled = exp.paren(exp.Mul(this=exp.paren(x.copy()), expression=exp.Literal.number(10**n)))
        rounded = exp.paren(_round_half_away(scaled if n else exp.paren(x.copy())))
        value = _call("divide", rounded, exp.Literal.number(10**n)) if n else rounded
        # DuckDB returns x itself where x * 10^n or the result is not finite (inf, nan).
        node.replace(exp.If(this=_call("isFinite", value.copy()), true=value, false=x.copy()))
    return root


def _casts_round(root: exp.Expr) -> exp.Expr:
    """CAST(x AS INT) rounds a double (half to even) or a decimal (half away); ClickHouse truncates.

    ClickHouse's round() does exactly that for each type. CAST(decimal AS DECIMAL(p, s))
    with fewer digits rounds on DuckDB too.
    """
    for node in list(root.find_all(exp.Cast)):
        (kind,) = arg_types(node)
        to = node.to
        if kind is None or not isinstance(to, exp.DataType):
            continue
        if to.is_type(*exp.DataType.INTEGER_TYPES) and _is(kind, _FLOATS | _DECIMALS):
            node.set("this", _call("round", node.this))
        elif to.is_type(exp.DataType.Type.DECIMAL) and _is(kind, _DECIMALS):
            scale = _decimal_scale(to)
            if scale is not None and scale < (_decimal_scale(kind) or 0):
                node.set("this", _call("round", node.this, exp.Literal.number(scale)))
    return root


def _decimal_scale(kind: exp.DataType) -> int | None:
    params = kind.expressions
    if len(params) < 2:
        return 0 if params else None  # DECIMAL(p) has scale 0; bare DECIMAL is (18, 3)
    literal = params[1].this if isinstance(params[1], exp.DataTypeParam) else params[1]
    return int(literal.name) if isinstance(literal, exp.Literal) and literal.is_int else None


def _in_null(root: exp.Expr) -> exp.Expr:
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


def _lag_lead_null(root: exp.Expr) -> exp.Expr:
    """lag/lead past the partition's edge are NULL; ClickHouse gives a non-Nullable's default."""
    for node in list(root.find_all(exp.Lag, exp.Lead)):
        value, default = node.this, node.args.get("default")
        if default is not None:
            # ClickHouse wants the default of exactly the value's type: if(0, ...) gives
            # both their common type (DuckDB's too) without changing either's value.
            no = exp.Literal.number(0)
            node.set("default", _call("if", no.copy(), value.copy(), default))
            value = _call("if", no, default.copy(), value)
        node.set("this", _call("toNullable", value))
    return root


TRANSFORMS = (
    *TRANSFORMS,
    Transform("float_round", _float_round, "round(double) rounds half away from zero"),
    Transform("casts_round", _casts_round, "CAST(double or decimal AS INT) rounds"),
    Transform("in_null", _in_null, "x IN (1, NULL) is NULL, not FALSE, for x = 2"),
    Transform("lag_lead_null", _lag_lead_null, "lag/lead beyond the partition are NULL"),
)


# ClickHouse (chDB 26.9) prunes Parquet row groups wrongly for coalesce(col, c) IN (...):
# coalesce(n, 7) IN (7, 10) loses the rows where n is NULL (input_format_parquet_filter_
# push_down=0 avoids it, for every query). The same choice written as CASE is read right.
def _coalesce_in(root: exp.Expr) -> exp.Expr:
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


TRANSFORMS = (
    *TRANSFORMS,
    Transform("coalesce_in", _coalesce_in, "coalesce(n, 7) IN (7) keeps n's NULL rows"),
)


# -- float comparisons: DuckDB orders NaN above every number and finds NaN = NaN; a FLOAT
# column meets a decimal literal as FLOAT (0.1::FLOAT = 0.1). ClickHouse compares as IEEE
# does (NaN equals nothing, is neither greater nor smaller), and Float32 with 0.1 as Float64.
_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)
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
        return _call("toFloat64" if wide else cast, exp.Literal.string(sign + side.name))
    if _is(kind, _FLOATS):
        return side
    if kind is not None and kind.this in _NUMERIC:
        return _call("toFloat64", side)  # DuckDB compares a number with a DOUBLE as DOUBLE
    return None


def _nan_aware(op: type[exp.Expr], a: exp.Expr, b: exp.Expr) -> exp.Expr:
    """``a op b`` with DuckDB's NaN: NULL if either is NULL, NaN greatest and equal to NaN."""
    na, nb = _call("isNaN", a.copy()), _call("isNaN", b.copy())
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
    if not (_is(ka, _FLOATS) or _is(kb, _FLOATS)):
        return None
    left, right = _float_operand(a, ka, float32), _float_operand(b, kb, float32)
    return None if left is None or right is None else (left, right)


def _join_key(node: exp.Expr) -> bool:
    both_columns = isinstance(node.this, exp.Column) and isinstance(node.expression, exp.Column)
    return isinstance(node, exp.EQ) and both_columns and node.find_ancestor(exp.Join) is not None


def _float_comparisons(root: exp.Expr) -> exp.Expr:
    for node in list(root.find_all(*_COMPARISONS, exp.In, exp.Between)):
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


# First: it reads number literals as written, before decimal_literals rewrites them.
TRANSFORMS = (
    Transform("float_comparisons", _float_comparisons, "NaN = NaN and NaN > 1; 0.1::FLOAT = 0.1"),
    *TRANSFORMS,
)


# ClickHouse refuses a conditional over Decimals of different scales (Code 48); DuckDB
# takes the widest scale. Decimal branches of a smaller scale are cast to it, with 38
# digits so that no value overflows.
def _decimal_scales(root: exp.Expr) -> exp.Expr:
    for node in list(root.find_all(exp.Case, exp.Coalesce, exp.If)):
        values = branch_values(node)
        kinds = branch_types(node)
        if len(kinds) != len(values):
            continue
        scales = {
            _decimal_scale(k)
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
            if decimal and kind is not None and _decimal_scale(kind) != widest:
                value.replace(_to_scale(value.copy(), kind, widest))
    return root


def _decimal_precision(kind: exp.DataType) -> int | None:
    params = kind.expressions
    if not params:
        return 18  # DuckDB's bare DECIMAL is DECIMAL(18, 3)
    literal = params[0].this if isinstance(params[0], exp.DataTypeParam) else params[0]
    return int(literal.name) if isinstance(literal, exp.Literal) and literal.is_int else None


def duckdb_decimal_scale(kinds: list[exp.DataType]) -> int | None:
    """The scale of DuckDB's common type of these DECIMALs (None if one is not known).

    DuckDB keeps the most integer digits and the largest scale; where the two need more
    than 38 digits, it gives up scale: DECIMAL(38, 2) and DECIMAL(14, 3) make DECIMAL(38, 2).
    """
    digits, scales = [], []
    for kind in kinds:
        precision, scale = _decimal_precision(kind), _decimal_scale(kind)
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
    if kind is None or (_decimal_scale(kind) or 0) > scale:
        value = _call("round", value, exp.Literal.number(scale))
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
def _set_operation_decimals(root: exp.Expr) -> exp.Expr:
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
            if scale is None or scale >= max(_decimal_scale(k) or 0 for k in decimals):
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


# count() and length() are UInt64 on ClickHouse and so is the sum of 0/1 literals (UInt8);
# with a signed integer in one CASE or UNION, their common type is a Variant that cannot be
# sorted or summed (Code 43/44). On DuckDB they are BIGINT (sums: HUGEINT): signed.
# Also UInt64 on ClickHouse, BIGINT on DuckDB: row numbers, ranks, tiles, approximate counts.
_UNSIGNED_RESULTS = (exp.RowNumber, exp.Rank, exp.DenseRank, exp.Ntile, exp.ApproxDistinct)


def _signed_counts(root: exp.Expr) -> exp.Expr:
    for node in list(root.find_all(exp.Count, exp.Sum, exp.Length, *_UNSIGNED_RESULTS)):
        if isinstance(node, exp.Sum):
            (kind,) = arg_types(node)
            if kind is None or not kind.is_type(*exp.DataType.INTEGER_TYPES):
                continue
        target: exp.Expr = node
        while isinstance(target.parent, (exp.Filter, exp.Window)) and target.parent.this is target:
            target = target.parent
        placeholder = exp.Null()
        target.replace(placeholder)
        placeholder.replace(_call("toInt64", target))
    return root


TRANSFORMS = (
    *TRANSFORMS,
    Transform("decimal_scales", _decimal_scales, "DuckDB takes the widest decimal scale"),
    Transform(
        "set_operation_decimals",
        _set_operation_decimals,
        "a UNION of DECIMAL(38, 2) and DECIMAL(14, 3) is DECIMAL(38, 2) (1.125 -> 1.13)",
    ),
    Transform(
        "signed_counts",
        _signed_counts,
        "count(), length(), integer sums, row_number(), rank(), ntile(): signed",
    ),
)


# A string with a UTC offset next to a TIMESTAMPTZ ('2026-01-03 00:00:00+09') is that
# instant on DuckDB; ClickHouse cannot read the offset when it converts the string to the
# column's DateTime64 (an error). parseDateTime64BestEffort reads it.
_OFFSET = re.compile(r"\d[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*[+-]\d{2}(:?\d{2})?$")


def _offset_literal(side: exp.Expr) -> bool:
    return isinstance(side, exp.Literal) and side.is_string and bool(_OFFSET.search(side.name))


def _timestamp_offsets(root: exp.Expr) -> exp.Expr:
    tz = exp.DataType.Type.TIMESTAMPTZ
    for node in list(root.find_all(*_COMPARISONS, exp.In, exp.Between)):
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
                side.replace(_call("parseDateTime64BestEffort", side.copy(), exp.Literal.number(6)))
    return root


TRANSFORMS = (
    Transform("timestamp_offsets", _timestamp_offsets, "'... 00:00:00+09' is that instant"),
    *TRANSFORMS,
)


def _date_difference(root: exp.Expr) -> exp.Expr:
    """date - date is a BIGINT count of days on DuckDB; ClickHouse has no minus for Date32."""
    for node in list(root.find_all(exp.Sub)):
        a, b = arg_types(node)
        if a is not None and b is not None and a.is_type("date") and b.is_type("date"):
            days = _call(
                "dateDiff", exp.Literal.string("day"), node.expression.copy(), node.this.copy()
            )
            node.replace(exp.Cast(this=days, to=exp.DataType.build("BIGINT")))
    return root


TRANSFORMS = (
    *TRANSFORMS,
    Transform("date_difference", _date_difference, "date - date is days (Date32 has no minus)"),
)


# -- nested columns: ClickHouse reads a NULL list or map as [] / {} and a NULL struct as a
# tuple of NULLs (no Nullable(Array) or Nullable(Map); a Parquet struct cannot be read as
# Nullable(Tuple)). Its elements and fields read right: x[1], m['k'], s['a'] are NULL on
# both engines. Anything that sees the value itself (count(x), x IS NULL, coalesce(x, ..),
# len(x), SELECT x, SELECT *) would differ from DuckDB: refused, loudly.
_ELEMENT_ACCESS = (exp.Bracket, exp.Dot)


def _nested_refusal(name: str, kind: str, context: str) -> UnsupportedSQLError:
    return UnsupportedSQLError(
        f"column {name!r} is a {kind} that may be NULL, and ClickHouse reads a NULL {kind} "
        f"as empty, so {context} could differ from DuckDB's answer. Run this query with "
        "engine='duckdb', or read only its elements or fields (x[1], x['key'])."
    )


def _nested_nulls(root: exp.Expr) -> exp.Expr:
    nested = nested_columns(root)
    if not nested:
        return root
    by_table = nested_tables(root)
    cleared = _plain_columns(root, by_table)
    for column in root.find_all(exp.Column):
        kind = nested.get(column.name.lower())
        if kind is None or column.is_star or id(column) in cleared:
            continue  # a star (t.*) is checked below
        parent = column.parent
        if isinstance(parent, _ELEMENT_ACCESS) and parent.this is column:
            continue
        if isinstance(parent, (exp.Unnest, exp.Explode)):
            continue
        context = parent.sql("duckdb") if parent is not None else column.sql("duckdb")
        raise _nested_refusal(column.name, kind, repr(context))
    for star in root.find_all(exp.Star):
        select = star.parent_select
        if isinstance(star.parent, exp.Count) or select is None:
            continue
        source = select.args.get("from") or select.args.get("from_")
        sources = [source, *(select.args.get("joins") or [])]
        tables = [s.this for s in sources if s is not None and isinstance(s.this, exp.Table)]
        seen = _star_nested(star, tables, by_table) if by_table else list(nested.items())
        if tables and seen:
            name, kind = seen[0]
            raise _nested_refusal(name, kind, "SELECT *")
    return root


def _star_nested(
    star: exp.Star, tables: list[exp.Table], by_table: dict[str, dict[str, str]]
) -> list[tuple[str, str]]:
    """The optional nested columns a star reads from the scanned ``tables`` it covers.

    A table that is not a scan (a CTE's name) was checked where it was defined.
    """
    qualifier = star.parent.table if isinstance(star.parent, exp.Column) else ""
    out: list[tuple[str, str]] = []
    for table in tables:
        if qualifier and qualifier.lower() not in (table.alias_or_name.lower(), ""):
            continue
        out.extend((c, k) for c, k in by_table.get(table.name.lower(), {}).items() if k)
    return out


def _plain_columns(root: exp.Expr, by_table: dict[str, dict[str, str]]) -> set[int]:
    """Columns resolved to a table (or a subquery) where their name is not a nested column.

    A column that cannot be resolved with certainty is not in the set: the refusal, which
    matches by name, then applies to it (loud, never wrong).
    """
    from sqlglot.errors import SqlglotError
    from sqlglot.optimizer.scope import traverse_scope

    if not by_table:
        return set()
    cleared: set[int] = set()
    try:
        scopes = traverse_scope(root)
    except (SqlglotError, KeyError, ValueError):
        return cleared
    for scope in scopes:
        for column in scope.columns:
            # A subquery's column may be listed in the enclosing scope too: it is judged
            # in the scope of the query it is written in.
            if column.parent_select is not scope.expression:
                continue
            if _resolves_to_plain(column, scope, by_table):
                cleared.add(id(column))
    return cleared


def _resolves_to_plain(column: exp.Column, scope: Any, by_table: dict[str, dict[str, str]]) -> bool:
    name = column.name.lower()
    while scope is not None:
        sources = {k.lower(): v for k, v in scope.sources.items()}
        if column.table:
            found = sources.get(column.table.lower())
            provides: dict[str, bool | None] = {column.table.lower(): True} if found else {}
        else:
            provides = {k: _provides(v, name, by_table) for k, v in sources.items()}
        if None in provides.values():
            return False  # a source whose columns are not known
        hits = [k for k, v in provides.items() if v]
        if len(hits) > 1:
            return False
        if hits:
            found = sources[hits[0]]
            if isinstance(found, exp.Table):
                return not by_table.get(found.name.lower(), {}).get(name)
            return True  # a subquery or CTE: its own columns were checked where it reads them
        # Only a subquery sees the columns of the query around it.
        scope = scope.parent if scope.is_subquery or scope.is_correlated_subquery else None
    return False


def _provides(source: Any, name: str, by_table: dict[str, dict[str, str]]) -> bool | None:
    """Whether ``source`` has a column ``name`` (None: not known)."""
    if isinstance(source, exp.Table):
        columns = by_table.get(source.name.lower())
        return None if columns is None else name in columns
    query = getattr(source, "expression", None)
    if not isinstance(query, exp.Query) or any(s.is_star for s in query.selects):
        return None
    return name in {n.lower() for n in query.named_selects}


# DuckDB's struct literal {'a': x} is written tuple(a := x), a syntax error on ClickHouse.
# tuple(x AS a) is a named tuple (setting enable_named_columns_in_function_tuple), but an
# alias is visible in the whole SELECT on ClickHouse: field a clashes with a column alias
# a (Code 179). Inside a lambda an alias stays local, so the tuple is built in one:
# arrayMap((f0, f1) -> tuple(f0 AS a, f1 AS b), [x], [y])[1]; the values stay outside the
# lambda (aggregates and windows cannot be inside it).
def _struct_literals(root: exp.Expr) -> exp.Expr:
    for node in reversed(list(root.find_all(exp.Struct))):  # innermost first
        items = node.expressions
        if not items or not all(isinstance(i, exp.PropertyEQ) for i in items):
            continue
        params = [exp.to_identifier(f"_dd_field{i}") for i in range(len(items))]
        named = [
            exp.alias_(exp.column(p.copy()), i.this.name, quoted=True)
            for p, i in zip(params, items, strict=True)
        ]
        body = exp.Lambda(this=_call("tuple", *named), expressions=params)
        values = [exp.Array(expressions=[i.expression]) for i in items]
        built = _call("arrayMap", body, *values)
        node.replace(_call("arrayElement", built, exp.Literal.number(1)))
    return root


# DuckDB's make_timestamp(y, m, d, h, min, sec) (sec a double) is TIMESTAMP_FROM_PARTS,
# which ClickHouse lacks: makeDateTime64 with whole seconds and microseconds.
def _make_timestamp(root: exp.Expr) -> exp.Expr:
    keys = ("year", "month", "day", "hour", "min", "sec")
    for node in list(root.find_all(exp.TimestampFromParts)):
        args = [a for a in (node.args.get(k) for k in keys) if isinstance(a, exp.Expr)]
        if len(args) < len(keys) or node.args.get("zone") is not None:
            continue
        *rest, sec = args
        million = exp.Literal.number(1000000)
        micros = _call("toInt64", _call("round", exp.Mul(this=exp.paren(sec), expression=million)))
        whole = _call("intDiv", micros.copy(), exp.Literal.number(1000000))
        fraction = _call("modulo", micros, exp.Literal.number(1000000))
        node.replace(_call("makeDateTime64", *rest, whole, fraction, exp.Literal.number(6)))
    return root


# date + INTERVAL is a TIMESTAMP on DuckDB (Date32 on ClickHouse); date_trunc of a
# TIMESTAMP is a TIMESTAMP (ClickHouse: Date for day and coarser units).
_NAIVE_TIMES: frozenset[Any] = frozenset(
    {exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPNTZ, exp.DataType.Type.DATE}
)


def _timestamp_results(root: exp.Expr) -> exp.Expr:
    timestamp = exp.DataType.build("DateTime64(6)", dialect="clickhouse")
    timestamp.set("nullable", None)
    for node in list(root.find_all(exp.Add, exp.Sub, exp.TimestampTrunc, exp.DateTrunc)):
        kinds = arg_types(node)
        if isinstance(node, (exp.TimestampTrunc, exp.DateTrunc)):
            typed = _is(kinds[0], _NAIVE_TIMES)
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


# s['a'] reads field a of a struct on DuckDB; ClickHouse's [] is for arrays and maps only.
def _struct_fields(root: exp.Expr) -> exp.Expr:
    structs = struct_columns(root)
    if not structs:
        return root
    for node in list(root.find_all(exp.Bracket)):
        column, keys = node.this, node.expressions
        if not isinstance(column, exp.Column) or column.name.lower() not in structs:
            continue
        if len(keys) == 1 and isinstance(keys[0], exp.Literal) and keys[0].is_string:
            node.replace(_call("tupleElement", column.copy(), keys[0].copy()))
    return root


TRANSFORMS = (
    Transform(
        "nested_nulls",
        _nested_nulls,
        "a NULL list/map/struct reads as empty on ClickHouse: queries that see it are refused",
    ),
    *TRANSFORMS,
    Transform(
        "struct_literals",
        _struct_literals,
        "{'a': x} is a named tuple(x AS a), built in a lambda: its alias a is local there",
    ),
    Transform("struct_fields", _struct_fields, "s['a'] is field a of struct s"),
    Transform("make_timestamp", _make_timestamp, "make_timestamp(...) is makeDateTime64"),
    Transform(
        "timestamp_results",
        _timestamp_results,
        "date + INTERVAL and date_trunc(unit, timestamp) are TIMESTAMPs",
    ),
)


# -- ROLLUP, CUBE and GROUPING SETS (the GROUPING family) ---------------------------------
# ClickHouse's WITH ROLLUP / WITH CUBE derive the upper levels from the groups found, so an
# input without rows has no grand-total row (DuckDB: one, count 0 and NULL sums), and they
# merge a key named twice (ROLLUP (k, k) loses a level). Its GROUPING SETS aggregate each
# set from the input, so the empty set gives its row over no rows and repeated keys stay.
# Written as GROUPING SETS, every clause around the GROUP BY (HAVING, GROUPING(), windows,
# ORDER BY, LIMIT) keeps its meaning: one scan, one aggregation step per set.
_GROUPING_CONSTRUCTS = (exp.Rollup, exp.Cube, exp.GroupingSets)
# CUBE of 12 keys; beyond that the rewrite refuses rather than run an enormous query.
MAX_GROUPING_SETS = 4096


def _grouping_refusal(what: str) -> UnsupportedSQLError:
    return UnsupportedSQLError(
        f"{what}: ClickHouse cannot give DuckDB's answer for this GROUP BY. "
        "Run this query with engine='duckdb'."
    )


def _position(key: exp.Expr, select: exp.Select) -> exp.Expr:
    """``ROLLUP (1, 2)``: a position becomes the select item it stands for (as DuckDB)."""
    if not (isinstance(key.unnest(), exp.Literal) and key.unnest().is_int):
        return key
    items = [p.this if isinstance(p, exp.Alias) else p for p in select.expressions]
    position = int(key.unnest().name)
    item = items[position - 1] if 1 <= position <= len(items) else None
    if item is None or isinstance(item, exp.Star) or item.find(exp.Star):
        return key  # ClickHouse resolves it (or fails as DuckDB does)
    # Parenthesised as in grouping_keys: sqlglot cannot read back `ROLLUP (a < b)`.
    return item.copy() if isinstance(item, exp.Column) else exp.Paren(this=item.copy())


def _product(lists: list[list[list[exp.Expr]]]) -> list[list[exp.Expr]]:
    out: list[list[exp.Expr]] = [[]]
    for sets in lists:
        out = [a + b for a in out for b in sets]
        if len(out) > MAX_GROUPING_SETS:
            raise _grouping_refusal(f"more than {MAX_GROUPING_SETS} grouping sets")
    return out


def _grouping_sets(node: exp.Expr, select: exp.Select) -> list[list[exp.Expr]]:
    """The grouping sets one GROUP BY element stands for, in DuckDB's meaning."""
    if isinstance(node, exp.Tuple):
        return _product([_grouping_sets(i, select) for i in node.expressions])
    if isinstance(node, exp.GroupingSets):
        return [s for i in node.expressions for s in _grouping_sets(i, select)]
    if isinstance(node, exp.Paren):  # GROUPING SETS ((a), b): a set of one key
        return _grouping_sets(node.this, select)
    if isinstance(node, (exp.Rollup, exp.Cube)):
        parts = [
            [_position(k, select) for k in (i.expressions if isinstance(i, exp.Tuple) else [i])]
            for i in node.expressions
        ]
        if isinstance(node, exp.Rollup):
            return [[k for p in parts[:n] for k in p] for n in range(len(parts), -1, -1)]
        if len(parts) > 12:
            raise _grouping_refusal(f"CUBE of {len(parts)} keys")
        masks = range(2 ** len(parts) - 1, -1, -1)
        return [[k for i, p in enumerate(parts) if m >> i & 1 for k in p] for m in masks]
    return [[_position(node, select)]]


def _constant(key: exp.Expr) -> bool:
    """A key that reads no column: ClickHouse drops it from the grouping."""
    return key.find(exp.Column, exp.Select, exp.Star, exp.AggFunc, exp.Window) is None


def _materialize_constant(select: exp.Select, key: exp.Expr) -> None:
    """Every use of a constant key in this SELECT (not its subqueries) as materialize(key).

    DuckDB binds a select expression's parts to the keys: ``'x' || 'y'`` with key ``'x'``
    is NULL where 'x' is rolled up. Inside an aggregate the key's value is the same.
    """
    for arg in ("expressions", "having", "qualify", "order", "group"):
        value = select.args.get(arg)
        for part in value if isinstance(value, list) else [value]:
            if not isinstance(part, exp.Expr):
                continue
            hits = [n for n in part.find_all(type(key)) if n == key]
            for node in hits:
                if node.parent_select is select and not node.find_ancestor(
                    exp.Interval, exp.Limit, exp.Offset
                ):
                    node.replace(_call("materialize", node.copy()))


def _refuse_positional_repeats(group: exp.Group, select: exp.Select) -> None:
    """A position and another spelling of the same key: two keys on DuckDB, one on ClickHouse.

    DuckDB keeps ``ROLLUP (1, k)`` with ``SELECT k`` as two keys (its GROUPING(k) and the
    select items bind to either), while the same expression written twice is one key.
    """
    spellings: dict[exp.Expr, set[str]] = {}
    positional: set[exp.Expr] = set()
    for leaf in group.find_all(exp.Expr):
        parent = leaf.parent
        if isinstance(leaf, (*_GROUPING_CONSTRUCTS, exp.Tuple)) or not isinstance(
            parent, (exp.Group, *_GROUPING_CONSTRUCTS, exp.Tuple)
        ):
            continue
        key = _position(leaf, select).unnest()
        spellings.setdefault(key, set()).add(leaf.unnest().sql("duckdb"))
        if key is not leaf.unnest() and key != leaf.unnest():
            positional.add(key)
    for key in positional:
        if len(spellings[key]) > 1:
            raise _grouping_refusal(
                f"the grouping key {key.sql('duckdb')!r} is named by position and again"
            )


def _grouping_sets_rewrite(root: exp.Expr) -> exp.Expr:
    for select in list(root.find_all(exp.Select)):
        group = select.args.get("group")
        if group is None or group.args.get("all") or group.args.get("totals"):
            continue
        elements = list(group.expressions)
        empty_only = len(elements) == 1 and elements[0] == exp.Tuple()  # GROUP BY ()
        if not empty_only and not any(isinstance(e, _GROUPING_CONSTRUCTS) for e in elements):
            continue
        _refuse_positional_repeats(group, select)
        sets = _product([_grouping_sets(e, select) for e in elements])
        tuples = [exp.Tuple(expressions=[k.copy() for k in s]) for s in sets]
        group.set("expressions", [exp.GroupingSets(expressions=tuples)])
    return root


def _constant_keys(root: exp.Expr) -> exp.Expr:
    for select in list(root.find_all(exp.Select)):
        group = select.args.get("group")
        if group is None or not any(isinstance(e, _GROUPING_CONSTRUCTS) for e in group.expressions):
            continue  # a constant key of a plain GROUP BY has one value in every row
        constants: list[exp.Expr] = []
        for construct in group.find_all(*_GROUPING_CONSTRUCTS):
            for key in construct.expressions:
                for item in key.expressions if isinstance(key, exp.Tuple) else [key]:
                    leaf = item.unnest()  # a resolved position is parenthesised
                    positional = isinstance(leaf, exp.Literal) and leaf.is_int
                    if not positional and _constant(leaf) and leaf not in constants:
                        constants.append(leaf.copy())
        for key in constants:
            _materialize_constant(select, key)
    return root


# First: positions become the select items as written (before boolean_projections casts
# them, so that GROUPING(a < b) still names the key a < b), and every later rewrite then
# treats a key and its select item alike.
TRANSFORMS = (
    Transform(
        "grouping_sets",
        _grouping_sets_rewrite,
        "ROLLUP/CUBE/GROUP BY () as GROUPING SETS: a grand-total row over no rows, "
        "repeated keys kept",
    ),
    *TRANSFORMS,
    Transform(
        "constant_grouping_keys",
        _constant_keys,
        "a constant ROLLUP key is NULL where it is rolled up (ClickHouse drops constant keys)",
    ),
)


# A list (or map) whose elements may not be NULL is Array(T) on ClickHouse, and x[i] past
# its end is T's default (0, ''); DuckDB says NULL. arrayElementOrNull says NULL too.
# After struct_fields: the brackets left index lists and maps.
def _list_elements_null(root: exp.Expr) -> exp.Expr:
    from sqlglot.dialects.dialect import Dialect

    generator = Dialect.get_or_raise("clickhouse").generator()
    nested = nested_element_columns(root)
    brackets = [
        node
        for node in root.find_all(exp.Bracket)
        if len(node.expressions) == 1
        and not node.args.get("json_access")
        and not isinstance(node.expressions[0], exp.Slice)
    ]
    for node in brackets:  # all checked before any is rewritten
        _check_nested_element(node, nested)
    for node in brackets:
        # The parser stores literal indices 0-based; the generator adds ClickHouse's base.
        (key,) = generator.bracket_offset_expressions(node)
        node.replace(_call("arrayElementOrNull", node.this, key))
    return root


TRANSFORMS = (
    *TRANSFORMS,
    Transform("list_elements_null", _list_elements_null, "x[i] past a list's end is NULL"),
)


_NESTED_VALUES = (exp.Array, exp.Map, exp.VarMap, exp.Struct, exp.Tuple)


def _check_nested_element(node: exp.Bracket, nested: set[str]) -> None:
    """An element that is itself a list, map or struct has no NULL on ClickHouse: refused.

    x[i][j] or x[i].a read on into the element and stay NULL where DuckDB's are.
    """
    container = node.this
    if isinstance(container, exp.Column):
        nested_element = container.name.lower() in nested  # by name: loud when unsure
    else:
        values = container.expressions if isinstance(container, exp.Array) else []
        nested_element = any(isinstance(v, _NESTED_VALUES) for v in values)
    parent = node.parent
    read_on = isinstance(parent, exp.Bracket | exp.Dot) and parent.this is node
    if nested_element and not read_on:
        raise UnsupportedSQLError(
            f"{node.sql('duckdb')!r} reads an element that is itself a list, map or struct; "
            "past the end of the list (or for a missing key) it is NULL on DuckDB but empty "
            "on ClickHouse. Run this query with engine='duckdb', or read into the element "
            "(x[i][j], x[i].field)."
        )


# round(double, n) with n negative, large or computed (float_round takes 0 <= n <= 15):
# DuckDB's rule for any n, with 10^n a double as there. Beyond the double range DuckDB
# returns x itself (n >= 0) or 0 (n < 0).
def _float_round_any_precision(root: exp.Expr) -> exp.Expr:
    for node in reversed(list(root.find_all(exp.Round))):  # innermost first: x is copied
        (kind,) = arg_types(node)
        digits = node.args.get("decimals")
        if not _is(kind, _FLOATS) or digits is None or node.args.get("truncate") is not None:
            continue
        if isinstance(digits, exp.Literal) and digits.is_int and 0 <= int(digits.name) <= 15:
            continue  # float_round's
        node.replace(_round_at(node.this, digits))
    return root


def _round_at(x: exp.Expr, n: exp.Expr) -> exp.Expr:
    def power(exponent: exp.Expr) -> exp.Expr:
        return _call("pow", exp.Literal.number(10), exponent)

    up = exp.Mul(this=exp.paren(x.copy()), expression=power(exp.paren(n.copy())))
    up_value = _call("divide", exp.paren(_round_half_away(up)), power(exp.paren(n.copy())))
    down_exponent = exp.Neg(this=exp.paren(n.copy()))
    down = _call("divide", exp.paren(x.copy()), power(down_exponent))
    down_value = exp.Mul(this=exp.paren(_round_half_away(down)), expression=power(down_exponent))
    zero = _call(
        "if", _call("isNull", x.copy()), exp.Null(), _call("toFloat64", exp.Literal.number(0))
    )
    positive = _call("if", _call("isFinite", up_value.copy()), up_value, x.copy())
    negative = _call("if", _call("isFinite", down_value.copy()), down_value, zero)
    sign = exp.GTE(this=exp.paren(n.copy()), expression=exp.Literal.number(0))
    unknown = _call("isNull", n.copy())
    return _call("if", unknown, exp.Null(), _call("if", sign, positive, negative))


TRANSFORMS = (
    *TRANSFORMS,
    Transform(
        "float_round_any_precision",
        _float_round_any_precision,
        "round(double, -1) rounds half away from zero too; so does a computed precision",
    ),
)


# lag/lead(x, n, default) is of x's type on DuckDB: the default is cast to it (an INTEGER x
# with default 2.5 gives 3; a DECIMAL(7, 2) with 2.125 gives 2.13). ClickHouse keeps the
# default's value. DuckDB's casts round; round() before the cast does that on ClickHouse.
# First: the default is still as written (lag_lead_null wraps it).
def _lag_lead_default_type(root: exp.Expr) -> exp.Expr:
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
            changes = _is(given, _FLOATS | _DECIMALS)
        elif _is(value, _DECIMALS):
            scale = _decimal_scale(value)
            finer = _is(given, _DECIMALS) and (_decimal_scale(given) or 0) > (scale or 0)
            changes = scale is not None and (finer or _is(given, _FLOATS))
        else:
            continue
        if changes:
            rounded = _call("round", default.copy(), exp.Literal.number(scale or 0))
            node.set("default", exp.Cast(this=rounded, to=value.copy()))
    return root


TRANSFORMS = (
    Transform(
        "lag_lead_default_type",
        _lag_lead_default_type,
        "lag(int, 1, 2.5) is 3: the default takes the value's type",
    ),
    *TRANSFORMS,
)


# DuckDB sorts NaN above every number; ClickHouse puts it next to NULL (last for DESC, first
# for ASC NULLS FIRST). A first key isNaN(x), sorted the same way, orders it as DuckDB.
def _nan_ordering(root: exp.Expr) -> exp.Expr:
    for ordered in list(root.find_all(exp.Ordered)):
        (kind,) = arg_types(ordered)
        desc, nulls_first = bool(ordered.args.get("desc")), bool(ordered.args.get("nulls_first"))
        if not _is(kind, _FLOATS) or desc == nulls_first:
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
        first.set("this", _call("isNaN", key))
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


TRANSFORMS = (
    *TRANSFORMS,
    Transform("nan_ordering", _nan_ordering, "NaN sorts above every number, also DESC"),
)


# ClickHouse evaluates CAST(Nullable(Float64) AS Int64) also on the NULL rows' hidden value:
# x / NULLIF(k, 0) hides x / 0 = inf there, and the cast fails ("inf or nan to integer")
# where DuckDB gives NULL. The cast reads 0 for a NULL (ifNull: also where ClickHouse
# rewrites sum(if(...)) to sumIf and evaluates every row) and an if() keeps the NULL; a real
# inf or nan is not NULL, so it is still cast, and still an error as on DuckDB.
def _null_float_casts(root: exp.Expr) -> exp.Expr:
    for node in list(root.find_all(exp.Cast)):
        (kind,) = arg_types(node)
        to = node.to
        exact = (*exp.DataType.INTEGER_TYPES, exp.DataType.Type.DECIMAL)
        if not _is(kind, _FLOATS) or not isinstance(to, exp.DataType) or not to.is_type(*exact):
            continue
        placeholder = exp.Null()
        node.replace(placeholder)
        test = exp.Is(this=exp.paren(node.this.copy()), expression=exp.Null())
        node.set("this", _call("ifNull", node.this, exp.Literal.number(0)))
        placeholder.replace(exp.If(this=test, true=exp.Null(), false=node))
    return root


TRANSFORMS = (
    *TRANSFORMS,
    Transform(
        "null_float_casts",
        _null_float_casts,
        "CAST(x / NULLIF(k, 0) AS BIGINT) is NULL where k = 0, not an inf-to-integer error",
    ),
)


# median / quantile_cont / quantile_disc: ClickHouse's median() is approximate and it has no
# PERCENTILE_CONT. Each is computed from the sorted values (arraySort of groupArray: NULLs
# skipped, NaN last as on DuckDB) with DuckDB's index rule; anything else is refused.
_QUANTILES = (exp.Median, exp.PercentileCont, exp.PercentileDisc, exp.Quantile)
_INTEGERS: frozenset[Any] = frozenset(exp.DataType.INTEGER_TYPES)
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
    return _call("arrayElement", values.copy(), _call("toUInt64", one_based))


def _continuous(values: exp.Expr, level: float, kind: exp.DataType) -> exp.Expr:
    """DuckDB's quantile_cont: lo + (hi - lo) * d at (n - 1) * level, in doubles.

    A DECIMAL interpolates its unscaled integers and rounds down (2.25, 3.00 -> 2.62).
    """
    rank = exp.Mul(
        this=exp.paren(
            exp.Sub(this=_call("length", values.copy()), expression=exp.Literal.number(1))
        ),
        expression=exp.Literal.number(repr(level)),
    )
    lower, upper = _call("floor", rank.copy()), _call("ceil", rank.copy())
    lo, hi = _nth(values, lower), _nth(values, upper)
    fraction = exp.paren(exp.Sub(this=rank.copy(), expression=lower.copy()))
    if _is(kind, _DECIMALS):
        scale = _decimal_scale(kind) or 0
        unit = exp.Literal.number(10**scale)
        lo_raw = _call("toFloat64", _call("toInt128", exp.Mul(this=lo, expression=unit.copy())))
        hi_raw = _call("toFloat64", _call("toInt128", exp.Mul(this=hi, expression=unit.copy())))
        delta = exp.paren(exp.Sub(this=hi_raw, expression=lo_raw.copy()))
        point = exp.Add(this=lo_raw, expression=exp.Mul(this=delta, expression=fraction))
        raw = _call("toInt128", _call("floor", point))
        scaled = _call("divide", _call("toDecimal128", raw, exp.Literal.number(scale)), unit.copy())
        return exp.cast(_call("toDecimal128", scaled, exp.Literal.number(scale)), kind.copy())
    lo_f, hi_f = _call("toFloat64", lo), _call("toFloat64", hi)
    delta = exp.paren(exp.Sub(this=hi_f, expression=lo_f.copy()))
    return exp.Add(this=lo_f, expression=exp.Mul(this=delta, expression=fraction))


def _discrete(values: exp.Expr, level: float) -> exp.Expr:
    """DuckDB's quantile_disc: the value at ceil(n * level), counted from 1 (at least 1)."""
    position = _call(
        "ceil",
        exp.Mul(this=_call("length", values.copy()), expression=exp.Literal.number(repr(level))),
    )
    index = exp.Sub(
        this=_call("greatest", position, exp.Literal.number(1)), expression=exp.Literal.number(1)
    )
    return _nth(values, index)


def _quantiles(root: exp.Expr) -> exp.Expr:
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
        if not discrete and not _is(kind, _INTEGERS | _FLOATS | _DECIMALS):
            raise _quantile_refusal(node, "its argument's type is not known or not a number")
        level = _quantile_level(node)
        gathered: exp.Expr = _call("groupArray", node.this.copy())
        outer: exp.Expr = node
        if isinstance(outer.parent, exp.Filter):  # median(x) FILTER (WHERE c)
            outer = outer.parent
            condition = outer.expression.this if isinstance(outer.expression, exp.Where) else None
            if condition is None:
                raise _quantile_refusal(outer, "this FILTER is not translated")
            gathered = _call("groupArrayIf", node.this.copy(), condition.copy())
        window = outer.parent if isinstance(outer.parent, exp.Window) else None
        if window is not None:
            if outer is not node:
                raise _quantile_refusal(window, "FILTER with OVER is not translated")
            gathered = window.copy()
            gathered.set("this", _call("groupArray", node.this.copy()))
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
            this=_call("ifNull", _call("length", values.copy()), exp.Literal.number(0)),
            expression=exp.Literal.number(0),
        )
        body = exp.Lambda(
            this=exp.If(this=empty, true=exp.Null(), false=value),
            expressions=[exp.to_identifier(_SORTED_VALUES)],
        )
        sorted_once = exp.Array(expressions=[_call("arraySort", gathered)])
        result = _call("arrayElement", _call("arrayMap", body, sorted_once), exp.Literal.number(1))
        (window or outer).replace(result)
    return root


TRANSFORMS = (
    *TRANSFORMS,
    Transform(
        "quantiles",
        _quantiles,
        "median/quantile_cont/quantile_disc: exact, with DuckDB's interpolation and index",
    ),
)


# round(DECIMAL(p, s), n) is DECIMAL(p, n) on DuckDB (n < s), floor/ceil DECIMAL(p, 0);
# ClickHouse keeps the scale s. The other typed rules (common types of CASE and UNION) read
# DuckDB's type, so the ClickHouse value is cast to it. First: before decimal_scales.
def _decimal_rounding_type(root: exp.Expr) -> exp.Expr:
    for node in list(root.find_all(exp.Round, exp.Floor, exp.Ceil)):
        (kind,) = arg_types(node)
        if not _is(kind, _DECIMALS) or kind is None:
            continue
        digits = node.args.get("decimals") if isinstance(node, exp.Round) else None
        if digits is not None and not (isinstance(digits, exp.Literal) and digits.is_int):
            continue
        if node.args.get("truncate") is not None:
            continue
        precision, scale = _decimal_precision(kind), _decimal_scale(kind)
        n = int(digits.name) if digits is not None else 0
        if precision is None or scale is None or min(scale, max(n, 0)) == scale:
            continue
        target = exp.DataType.build(f"DECIMAL({precision}, {min(scale, max(n, 0))})")
        placeholder = exp.Null()
        node.replace(placeholder)
        placeholder.replace(exp.Cast(this=node, to=target))
    return root


TRANSFORMS = (
    Transform(
        "decimal_rounding_type",
        _decimal_rounding_type,
        "round(DECIMAL(12, 2), 1) is DECIMAL(12, 1), floor/ceil DECIMAL(12, 0), as on DuckDB",
    ),
    *TRANSFORMS,
)
