"""Numbers as DuckDB computes them: division, rounding, casts, signed results."""

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


# -- division: one rule for DuckDB's /, // and %, zero divisors included ----------------
# DuckDB: x / y is DOUBLE division for every numeric type (x / 0 is +-inf, 0 / 0 nan).
# x // y truncates integers; for any other type it is x / y as a DOUBLE. x // 0 and x % 0
# are NULL for every type, except a double's %, which is fmod's nan (ClickHouse's own %).
# ClickHouse throws on an integer or Decimal zero divisor, also on the value a NULL row
# hides (NULLIF(k, 0) hides a 0), so no divisor that may be 0 reaches intDiv or modulo.
def divisions(root: exp.Expr) -> exp.Expr:
    # innermost first: an operand copied into the rewrite of an outer one is rewritten
    for node in reversed(list(root.find_all(exp.Div, exp.IntDiv, exp.Mod))):
        if isinstance(node, exp.Div):
            if node.find(exp.Interval) is None:
                for key in ("this", "expression"):
                    node.set(key, call("toFloat64", node.args[key]))
            continue
        kinds = arg_types(node)
        if isinstance(node, exp.IntDiv):
            node.replace(_integer_quotient(node, kinds))
        elif not any(is_type(kind, FLOATS) for kind in kinds):
            node.replace(_exact_remainder(node.this, node.expression))
    return root


def _zero(b: exp.Expr) -> exp.Expr:
    return exp.EQ(this=b.copy(), expression=exp.Literal.number(0))


def _integer_quotient(node: exp.Expr, kinds: tuple[exp.DataType | None, ...]) -> exp.Expr:
    """``a // b``: intDivOrNull of integers (and of unknown types, as sqlglot's CAST truncates),
    else the DOUBLE quotient, NULL for a zero divisor."""
    a, b = node.this, node.expression
    if not any(is_type(kind, FLOATS | DECIMALS) for kind in kinds):
        return call("intDivOrNull", a, b)
    quotient = exp.Div(this=call("toFloat64", a), expression=call("toFloat64", b.copy()))
    return exp.paren(exp.If(this=_zero(b), true=exp.Null(), false=quotient))


def _exact_remainder(a: exp.Expr, b: exp.Expr) -> exp.Expr:
    """``a % b`` as ``a - b * intDiv(a, b)``: ClickHouse's modulo misreads Decimal scales
    (1.47 % 2 = 0.01). intDiv never sees a 0, not even one hidden under a NULL."""
    hidden_zero = _zero(call("ifNull", b.copy(), exp.Literal.number(0)))
    safe = exp.If(this=hidden_zero, true=exp.Literal.number(1), false=b.copy())
    quotient = exp.Anonymous(this="intDiv", expressions=[a.copy(), safe])
    rest = exp.Sub(this=a, expression=exp.Mul(this=b, expression=quotient))
    return exp.paren(exp.If(this=_zero(b), true=exp.Null(), false=rest))


# Sample statistics of one value: DuckDB says NULL, ClickHouse NaN.
_SAMPLE_STATISTICS = (exp.StddevSamp, exp.Stddev, exp.Variance)


def sample_statistics_null(root: exp.Expr) -> exp.Expr:
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


# DuckDB orders NaN above every number, so max(x) of doubles is NaN once one value is NaN;
# ClickHouse's max skips NaN (unless every value is NaN). min agrees on both: NaN is last.
def float_max_nan(root: exp.Expr) -> exp.Expr:
    """max(double) is NaN where a NaN is among the values (also as a window function)."""
    for node in list(root.find_all(exp.Max)):
        if node.expressions or not any(is_type(kind, FLOATS) for kind in arg_types(node)):
            continue
        window = node.parent if isinstance(node.parent, exp.Window) else None
        target: exp.Expr = window if window is not None and window.this is node else node
        nans: exp.Expr = call("countIf", call("isNaN", node.this.copy()))
        if target is window:
            nans = window.copy()
            nans.set("this", call("countIf", call("isNaN", node.this.copy())))
        placeholder = exp.Null()
        target.replace(placeholder)
        seen = exp.GT(
            this=call("ifNull", nans, exp.Literal.number(0)), expression=exp.Literal.number(0)
        )
        nan = call("toFloat64", exp.Literal.string("nan"))
        placeholder.replace(exp.If(this=seen, true=nan, false=target))
    return root


# ClickHouse's abs() of a signed integer is unsigned (abs(Int64) is UInt64), and UInt64
# with Int64 in one CASE or UNION makes a Variant that cannot be sorted or summed.
# DuckDB's abs keeps its argument's type; so does if(x < 0, -x, x) on ClickHouse.
def abs_keeps_type(root: exp.Expr) -> exp.Expr:
    for node in reversed(list(root.find_all(exp.Abs))):  # innermost first
        x = node.this
        negative = exp.LT(this=exp.Paren(this=x.copy()), expression=exp.Literal.number(0))
        node.replace(
            exp.If(this=negative, true=exp.Neg(this=exp.Paren(this=x.copy())), false=x.copy())
        )
    return root


def _round_half_away(x: exp.Expr) -> exp.Expr:
    """C's round(x): trunc(x) + trunc(2 * fraction), exact for every double."""
    frac = exp.Sub(this=x.copy(), expression=call("trunc", x.copy()))
    twice = exp.Mul(this=exp.paren(frac), expression=exp.Literal.number(2))
    return exp.Add(this=call("trunc", x.copy()), expression=call("trunc", twice))


def float_round(root: exp.Expr) -> exp.Expr:
    """round(double, n) as DuckDB: C round(x * 10^n) / 10^n (ClickHouse rounds half to even)."""
    for node in reversed(list(root.find_all(exp.Round))):  # innermost first: x is copied
        (kind,) = arg_types(node)
        digits = node.args.get("decimals")
        if not is_type(kind, FLOATS) or node.args.get("truncate") is not None:
            continue
        if digits is not None and not (isinstance(digits, exp.Literal) and digits.is_int):
            continue  # a computed or negative precision: left as ClickHouse's round
        n = int(digits.name) if digits is not None else 0
        if n < 0 or n > 15:
            continue
        x = node.this
        scaled = exp.paren(exp.Mul(this=exp.paren(x.copy()), expression=exp.Literal.number(10**n)))
        rounded = exp.paren(_round_half_away(scaled if n else exp.paren(x.copy())))
        value = call("divide", rounded, exp.Literal.number(10**n)) if n else rounded
        # DuckDB returns x itself where x * 10^n or the result is not finite (inf, nan).
        node.replace(exp.If(this=call("isFinite", value.copy()), true=value, false=x.copy()))
    return root


def casts_round(root: exp.Expr) -> exp.Expr:
    """CAST(x AS INT) rounds a double (half to even) or a decimal (half away); ClickHouse truncates.

    ClickHouse's round() does exactly that for each type. CAST(decimal AS DECIMAL(p, s))
    with fewer digits rounds on DuckDB too.
    """
    for node in list(root.find_all(exp.Cast)):
        (kind,) = arg_types(node)
        to = node.to
        if kind is None or not isinstance(to, exp.DataType):
            continue
        if to.is_type(*exp.DataType.INTEGER_TYPES) and is_type(kind, FLOATS | DECIMALS):
            node.set("this", call("round", node.this))
        elif to.is_type(exp.DataType.Type.DECIMAL) and is_type(kind, DECIMALS):
            scale = decimal_scale(to)
            if scale is not None and scale < (decimal_scale(kind) or 0):
                node.set("this", call("round", node.this, exp.Literal.number(scale)))
    return root


# count() and length() are UInt64 on ClickHouse and so is the sum of 0/1 literals (UInt8);
# with a signed integer in one CASE or UNION, their common type is a Variant that cannot be
# sorted or summed (Code 43/44). On DuckDB they are BIGINT (sums: HUGEINT): signed.
# Also UInt64 on ClickHouse, BIGINT on DuckDB: row numbers, ranks, tiles, approximate counts.
_UNSIGNED_RESULTS = (exp.RowNumber, exp.Rank, exp.DenseRank, exp.Ntile, exp.ApproxDistinct)


def signed_counts(root: exp.Expr) -> exp.Expr:
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
        placeholder.replace(call("toInt64", target))
    return root


# round(double, n) with n negative, large or computed (float_round takes 0 <= n <= 15):
# DuckDB's rule for any n, with 10^n a double as there. Beyond the double range DuckDB
# returns x itself (n >= 0) or 0 (n < 0).
def float_round_any_precision(root: exp.Expr) -> exp.Expr:
    for node in reversed(list(root.find_all(exp.Round))):  # innermost first: x is copied
        (kind,) = arg_types(node)
        digits = node.args.get("decimals")
        if not is_type(kind, FLOATS) or digits is None or node.args.get("truncate") is not None:
            continue
        if isinstance(digits, exp.Literal) and digits.is_int and 0 <= int(digits.name) <= 15:
            continue  # float_round's
        node.replace(_round_at(node.this, digits))
    return root


def _round_at(x: exp.Expr, n: exp.Expr) -> exp.Expr:
    def power(exponent: exp.Expr) -> exp.Expr:
        return call("pow", exp.Literal.number(10), exponent)

    up = exp.Mul(this=exp.paren(x.copy()), expression=power(exp.paren(n.copy())))
    up_value = call("divide", exp.paren(_round_half_away(up)), power(exp.paren(n.copy())))
    down_exponent = exp.Neg(this=exp.paren(n.copy()))
    down = call("divide", exp.paren(x.copy()), power(down_exponent))
    down_value = exp.Mul(this=exp.paren(_round_half_away(down)), expression=power(down_exponent))
    zero = call(
        "if", call("isNull", x.copy()), exp.Null(), call("toFloat64", exp.Literal.number(0))
    )
    positive = call("if", call("isFinite", up_value.copy()), up_value, x.copy())
    negative = call("if", call("isFinite", down_value.copy()), down_value, zero)
    sign = exp.GTE(this=exp.paren(n.copy()), expression=exp.Literal.number(0))
    unknown = call("isNull", n.copy())
    return call("if", unknown, exp.Null(), call("if", sign, positive, negative))


# ClickHouse evaluates CAST(Nullable(Float64) AS Int64) also on the NULL rows' hidden value:
# x / NULLIF(k, 0) hides x / 0 = inf there, and the cast fails ("inf or nan to integer")
# where DuckDB gives NULL. The cast reads 0 for a NULL (ifNull: also where ClickHouse
# rewrites sum(if(...)) to sumIf and evaluates every row) and an if() keeps the NULL; a real
# inf or nan is not NULL, so it is still cast, and still an error as on DuckDB.
def null_float_casts(root: exp.Expr) -> exp.Expr:
    # innermost first: the NULL test copies the operand, which must hold the rewrite of a
    # cast nested in it (seed 31 index 144: CAST(CAST(x / NULLIF(n, 0) AS BIGINT) / ...))
    for node in reversed(list(root.find_all(exp.Cast))):
        (kind,) = arg_types(node)
        to = node.to
        exact = (*exp.DataType.INTEGER_TYPES, exp.DataType.Type.DECIMAL)
        if not is_type(kind, FLOATS) or not isinstance(to, exp.DataType) or not to.is_type(*exact):
            continue
        placeholder = exp.Null()
        node.replace(placeholder)
        test = exp.Is(this=exp.paren(node.this.copy()), expression=exp.Null())
        node.set("this", call("ifNull", node.this, exp.Literal.number(0)))
        placeholder.replace(exp.If(this=test, true=exp.Null(), false=node))
    return root


# Integer +, - and *: DuckDB raises "Overflow in multiplication of INT64" where the result
# leaves the result type (the wider operand's; a literal takes the other operand's type if
# it fits there), ClickHouse wraps around (Int64) or widens (Int32 * Int32 is Int64). Each
# is computed in Int128 and checked against DuckDB's result type, which it then has.
_BITS = {
    exp.DataType.Type.TINYINT: 8,
    exp.DataType.Type.SMALLINT: 16,
    exp.DataType.Type.INT: 32,
    exp.DataType.Type.BIGINT: 64,
}
_OPERATION = {exp.Add: "addition", exp.Sub: "subtraction", exp.Mul: "multiplication"}


def _bits_of(operand: exp.Expr, kind: exp.DataType | None) -> int | None:
    if isinstance(operand, exp.Literal) and operand.is_int:
        value = int(operand.name)
        return next((b for b in (8, 16, 32, 64) if -(2 ** (b - 1)) <= value < 2 ** (b - 1)), None)
    return _BITS.get(kind.this) if kind is not None else None


def _result_bits(node: exp.Expr, kinds: tuple[exp.DataType | None, ...]) -> int | None:
    """DuckDB's result type (bits): integer literals are INTEGER at least, or take a
    column's narrower type where they fit it (TINYINT * 100 is TINYINT, * 1000 INTEGER)."""
    operands = (node.this, node.expression)
    a, b = (_bits_of(arg, kind) for arg, kind in zip(operands, kinds, strict=True))
    if a is None or b is None:
        return None
    literal_a, literal_b = (isinstance(arg, exp.Literal) for arg in operands)
    if literal_a and literal_b:
        return max(32, a, b)
    if literal_a or literal_b:
        column, literal = (b, a) if literal_a else (a, b)
        return column if literal <= column else max(32, literal)
    return max(a, b)


def _range_check(value: exp.Expr, bits: int, message: str) -> exp.Expr:
    """0, or an error where ``value`` is outside a signed ``bits``-bit integer."""
    low, high = exp.Literal.number(-(2 ** (bits - 1))), exp.Literal.number(2 ** (bits - 1) - 1)
    outside = exp.or_(
        exp.LT(this=value.copy(), expression=low), exp.GT(this=value.copy(), expression=high)
    )
    return call(
        "throwIf", call("ifNull", outside, exp.Literal.number(0)), exp.Literal.string(message)
    )


def _constant_fits(node: exp.Expr, bits: int) -> bool:
    """Both operands literals and the result in range: left as written (a constant, which
    ClickHouse folds: a constant grouping key must stay one)."""
    a, b = node.this, node.expression
    if not (isinstance(a, exp.Literal) and a.is_int and isinstance(b, exp.Literal) and b.is_int):
        return False
    x, y = int(a.name), int(b.name)
    value = x + y if isinstance(node, exp.Add) else x - y if isinstance(node, exp.Sub) else x * y
    return -(2 ** (bits - 1)) <= value < 2 ** (bits - 1)


def _checks(node: exp.Expr) -> bool:
    return any(f.name == "throwIf" for f in node.find_all(exp.Anonymous))


def _lazy_coalesce(root: exp.Expr) -> None:
    """COALESCE(a, b * c): DuckDB evaluates b * c only where a is NULL, ClickHouse's
    coalesce evaluates every argument (an overflow check raised where DuckDB returns a).
    As if(a IS NOT NULL, a, ...), which ClickHouse evaluates lazily, as CASE."""
    for node in reversed(list(root.find_all(exp.Coalesce))):  # innermost first
        args = [node.this, *node.expressions]
        if len(args) < 2 or not any(_checks(arg) for arg in args[1:]):
            continue
        result: exp.Expr = args[-1].copy()
        for arg in reversed(args[:-1]):
            present = exp.Not(this=exp.Is(this=arg.copy(), expression=exp.Null()))
            result = exp.If(this=present, true=arg.copy(), false=result)
        node.replace(exp.paren(result))


def checked_integers(root: exp.Expr) -> exp.Expr:
    for node in reversed(list(root.find_all(*_OPERATION))):  # innermost first
        kinds = arg_types(node)
        if len(kinds) != 2 or not all(is_type(kind, INTEGERS) for kind in kinds):
            continue
        bits = _result_bits(node, kinds)
        if bits is None or _constant_fits(node, bits):
            continue
        wide = type(node)(
            this=call("toInt128", node.this), expression=call("toInt128", node.expression)
        )
        check = _range_check(wide, bits, f"Overflow in {_OPERATION[type(node)]} of INT{bits}")
        node.replace(exp.paren(exp.Add(this=call(f"toInt{bits}", wide), expression=check)))
    _lazy_coalesce(root)
    # CAST(bigint AS INTEGER) out of INTEGER's range: DuckDB raises, ClickHouse wraps.
    for cast in list(root.find_all(exp.Cast)):
        (kind,) = arg_types(cast)
        to = cast.to
        if kind is None or not isinstance(to, exp.DataType) or to.this not in _BITS:
            continue
        source = _BITS.get(kind.this)
        if source is not None and _BITS[to.this] < source:
            bits = _BITS[to.this]
            check = _range_check(cast.this, bits, f"Conversion Error: out of range for INT{bits}")
            cast.set("this", exp.paren(exp.Add(this=cast.this.copy(), expression=check)))
    return root


# isfinite(x) is ClickHouse's isFinite (function names there are case-sensitive; sqlglot
# maps isnan and isinf itself); all three are BOOLEAN on DuckDB, UInt8 on ClickHouse.
def float_class_functions(root: exp.Expr) -> exp.Expr:
    for test in list(root.find_all(exp.IsNan, exp.IsInf)):  # isNaN/isInfinite are 0/1
        if not isinstance(test.parent, exp.Cast):
            test.replace(exp.cast(test.copy(), exp.DataType.build("boolean")))
    for node in list(root.find_all(exp.Anonymous)):
        if node.name.lower() == "isfinite" and len(node.expressions) == 1:
            finite = call("isFinite", node.expressions[0])
            node.replace(exp.cast(finite, exp.DataType.build("boolean")))  # not 0/1
    return root
