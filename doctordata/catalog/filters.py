"""``where`` strings (SQL boolean expressions) -> pyiceberg row filters, exactly.

    where_to_expression("time < '2026-01-01' AND type IN ('story', 'job')", schema)

A ``where`` string selects exactly the rows the same predicate selects in DuckDB SQL:
three-valued logic (a comparison with NULL is unknown, and NOT unknown is unknown), NaN
equal to itself and greater than every other number, literals read as DuckDB reads them
(where_literals). pyiceberg's filters are two-valued and treat NULL and NaN their own way,
so each SQL node is translated into *two* pyiceberg expressions, the rows where it is TRUE
and the rows where it is FALSE, both NULL-free (every comparison carries ``col IS NOT
NULL``; float comparisons name NaN explicitly). NOT swaps the pair, AND/OR follow De
Morgan, and the TRUE side is the filter. Because the filter names every NULL and NaN case,
pyiceberg's delete keeps exactly the rows where the predicate is FALSE or NULL.

Supported: AND/OR/NOT, = <> < <= > >=, BETWEEN, IN / NOT IN, IS [NOT] NULL, [NOT] LIKE
'prefix%' (or a pattern without wildcards), bare boolean columns, comparisons of a column
with a literal (strings, numbers, booleans, NULL, DATE/TIMESTAMP/TIMESTAMPTZ '...'). Anything
else raises WhereClauseError naming the construct.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Any

from doctordata.catalog import where_literals as wl
from doctordata.errors import WhereClauseError, suggest

if TYPE_CHECKING:
    from pyiceberg.expressions import BooleanExpression
    from pyiceberg.schema import Schema
    from sqlglot import exp

SUPPORTED = (
    "AND, OR, NOT, =, <>, <, <=, >, >=, BETWEEN, IN, NOT IN, IS [NOT] NULL, "
    "[NOT] LIKE 'prefix%', boolean columns"
)

#: Deeper nesting than this is refused (pyiceberg's visitors recurse once per level).
MAX_DEPTH = 100


class _Unsupported(Exception):
    pass


def parse_where(where: str, dialect: str = "duckdb") -> exp.Expression:
    """Parse a boolean SQL expression with sqlglot (as the WHERE of a SELECT)."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError

    if not isinstance(where, str) or not where.strip():
        raise WhereClauseError(
            f'where = {where!r} is empty; give a SQL condition such as "id > 10"'
        )
    try:
        statements = sqlglot.parse(f"SELECT 1 FROM t WHERE {where}", read=dialect)
    except ParseError as exc:
        raise WhereClauseError(f"where = {where!r} is not a valid SQL condition: {exc}") from None
    except RecursionError:
        raise _too_deep(where) from None
    if len(statements) != 1 or not isinstance(statements[0], exp.Select):
        raise WhereClauseError(f"where = {where!r} must be a single condition, not statements")
    select = statements[0]
    condition = select.args.get("where")
    extra = [k for k in ("group", "having", "order", "limit", "joins") if select.args.get(k)]
    if condition is None or extra:
        raise WhereClauseError(f"where = {where!r} must be a single condition")
    return condition.this


def where_to_expression(
    where: str, schema: Schema | None = None, dialect: str = "duckdb"
) -> BooleanExpression:
    """Convert a SQL condition to a pyiceberg BooleanExpression selecting exactly its rows."""
    node = parse_where(where, dialect)
    try:
        return _Translator(schema).true(node)
    except (_Unsupported, wl.CastFailed) as exc:
        raise WhereClauseError(
            f"where = {where!r}: {exc}. Supported: {SUPPORTED}, comparing a column with a literal."
        ) from None
    except RecursionError:
        raise _too_deep(where) from None


def try_convert(node: exp.Expression, schema: Schema | None = None) -> BooleanExpression | None:
    """The exact filter for a sqlglot condition, or None when it can't be expressed.

    For pushdown: None means "do not prune on this predicate", never an error.
    """
    try:
        expr = _Translator(schema).true(node)
        if schema is not None:
            from pyiceberg.expressions.visitors import bind

            bind(schema, expr, case_sensitive=True)  # fails here, not in the scan
        return expr
    except Exception:  # noqa: BLE001 - any failure only means "no pruning for this one"
        return None


def _too_deep(where: Any) -> WhereClauseError:
    text = where if isinstance(where, str) else where.sql()
    shown = text if len(text) <= 80 else text[:77] + "..."
    return WhereClauseError(
        f"where = {shown!r} nests more than {MAX_DEPTH} levels of parentheses or NOT; "
        "flatten it (a IN (...) list, or fewer parentheses)"
    )


# -- the translation ---------------------------------------------------------------------

_NEGATE = {"=": "<>", "<>": "=", "<": ">=", ">=": "<", ">": "<=", "<=": ">"}
_FLIP = {"=": "=", "<>": "<>", "<": ">", ">": "<", "<=": ">=", ">=": "<="}


def _ops() -> dict[type, str]:
    from sqlglot import exp

    return {exp.EQ: "=", exp.NEQ: "<>", exp.GT: ">", exp.GTE: ">=", exp.LT: "<", exp.LTE: "<="}


class _Translator:
    """SQL node -> (rows where TRUE, rows where FALSE), both pyiceberg expressions."""

    def __init__(self, schema: Schema | None) -> None:
        self.schema = schema
        self.depth = 0

    def true(self, node: Any) -> BooleanExpression:
        return self.pair(node)[0]

    def pair(self, node: Any) -> tuple[BooleanExpression, BooleanExpression]:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise RecursionError
            return self._pair(node)
        finally:
            self.depth -= 1

    def _pair(self, node: Any) -> tuple[BooleanExpression, BooleanExpression]:
        from pyiceberg import expressions as ie
        from sqlglot import exp

        if isinstance(node, exp.Paren):
            return self.pair(node.this)
        if isinstance(node, (exp.And, exp.Or)):
            parts = [self.pair(p) for p in _chain(node, type(node))]
            trues, falses = [t for t, _ in parts], [f for _, f in parts]
            if isinstance(node, exp.And):
                return _balanced(ie.And, trues), _balanced(ie.Or, falses)
            return _balanced(ie.Or, trues), _balanced(ie.And, falses)
        if isinstance(node, exp.Not):
            t, f = self.pair(node.this)
            return f, t
        if isinstance(node, exp.Boolean):
            return (ie.AlwaysTrue(), ie.AlwaysFalse()) if node.this else (ie.AlwaysFalse(), ie.AlwaysTrue())
        if isinstance(node, exp.Null):
            return ie.AlwaysFalse(), ie.AlwaysFalse()
        if isinstance(node, exp.Column):
            col = self._column(node)
            if self.schema is not None and _kind(self._type(col)) != "bool":
                raise _Unsupported(f"{node.sql()!r} is not a boolean column; compare it, e.g. {col} > 0")
            return (
                ie.And(ie.NotNull(col), ie.EqualTo(col, True)),
                ie.And(ie.NotNull(col), ie.EqualTo(col, False)),
            )
        op = _ops().get(type(node))
        if op is not None:
            return self._comparison(node, op)
        if isinstance(node, exp.Between):
            col = self._column(node.this)
            low, high = node.args["low"], node.args["high"]
            ge, lt = self._compare_many(col, [(">=", low), ("<=", high)])
            return ie.And(ge[0], lt[0]), ie.Or(ge[1], lt[1])
        if isinstance(node, exp.In):
            return self._in(node)
        if isinstance(node, exp.Is):
            col = self._column(node.this)
            if isinstance(node.expression, exp.Null):
                if self.schema is not None and _kind(self._type(col)) in ("float", "double"):
                    return _nan_named(col)
                return ie.IsNull(col), ie.NotNull(col)
            raise _Unsupported(f"{node.sql()!r}: only IS NULL / IS NOT NULL are supported")
        if isinstance(node, exp.Like):
            t, f = self._like(node)
            return (f, t) if node.args.get("negate") else (t, f)
        raise _Unsupported(f"{node.sql()!r} ({type(node).__name__}) is not supported")

    # -- comparisons ----------------------------------------------------------------------

    def _comparison(self, node: Any, op: str) -> tuple[BooleanExpression, BooleanExpression]:
        from sqlglot import exp

        left, right = node.args["this"], node.args["expression"]
        if isinstance(left, exp.Column) and not isinstance(right, exp.Column):
            col, lit = self._column(left), right
        elif isinstance(right, exp.Column) and not isinstance(left, exp.Column):
            col, lit, op = self._column(right), left, _FLIP[op]
        else:
            raise _Unsupported(f"{node.sql()!r} must compare one column with a literal")
        return self._compare_many(col, [(op, lit)])[0]

    def _compare_many(
        self, col: str, items: Sequence[tuple[str, Any]]
    ) -> list[tuple[BooleanExpression, BooleanExpression]]:
        """(TRUE, FALSE) for each ``col <op> literal``, literals typed together (BETWEEN)."""
        from pyiceberg import expressions as ie

        lits = [self._classify(node) for _, node in items]
        domain = self._domain(col, lits)
        out = []
        for (op, _), lit in zip(items, lits, strict=True):
            if lit.kind == wl.NULL:
                out.append((ie.AlwaysFalse(), ie.AlwaysFalse()))
                continue
            value = domain.value(lit)
            out.append((domain.compare(op, value), domain.compare(_NEGATE[op], value)))
        return out

    def _in(self, node: Any) -> tuple[BooleanExpression, BooleanExpression]:
        from pyiceberg import expressions as ie

        if node.args.get("query") is not None or node.args.get("unnest") is not None:
            raise _Unsupported(f"{node.sql()!r}: IN (subquery) is not supported")
        col = self._column(node.this)
        if not node.expressions:
            raise _Unsupported(f"{node.sql()!r}: IN needs at least one value")
        lits = [self._classify(v) for v in node.expressions]
        domain = self._domain(col, lits)
        values = [domain.value(lit) for lit in lits if lit.kind != wl.NULL]
        has_null = len(values) != len(lits)
        plain = sorted({domain.literal(v) for v in values if domain.plain(v)}, key=repr)
        odd = [v for v in values if not domain.plain(v)]
        trues, falses = [], []
        if plain:
            trues.append(domain.guard_eq(ie.In(col, plain) if len(plain) > 1 else ie.EqualTo(col, plain[0])))
            falses.append(domain.guard_ne(ie.NotIn(col, plain) if len(plain) > 1 else ie.NotEqualTo(col, plain[0])))
        trues += [domain.compare("=", v) for v in odd]
        falses += [domain.compare("<>", v) for v in odd]
        true = _balanced(ie.Or, trues) if trues else ie.AlwaysFalse()
        # x NOT IN (1, NULL) is never TRUE; with no match x IN (1, NULL) is NULL, not FALSE.
        false = ie.AlwaysFalse() if has_null else (_balanced(ie.And, falses) if falses else ie.NotNull(col))
        return true, false

    def _like(self, node: Any) -> tuple[BooleanExpression, BooleanExpression]:
        from pyiceberg import expressions as ie
        from sqlglot import exp

        col = self._column(node.this)
        pattern = node.expression
        if self.schema is not None and _kind(self._type(col)) != "string":
            raise _Unsupported(f"{node.sql()!r}: LIKE needs a string column")
        if not isinstance(pattern, exp.Literal) or not pattern.is_string:
            raise _Unsupported(f"{node.sql()!r}: LIKE needs a string pattern")
        text = str(pattern.this)
        prefix = text[:-1] if text.endswith("%") else text
        if "%" in prefix or "_" in prefix:
            raise _Unsupported(
                f"{node.sql()!r}: only LIKE 'prefix%' or a pattern without wildcards can be "
                "used here; for other patterns select the rows with lh.sql(...)"
            )
        if not text.endswith("%"):
            return (
                ie.And(ie.NotNull(col), ie.EqualTo(col, text)),
                ie.And(ie.NotNull(col), ie.NotEqualTo(col, text)),
            )
        if not prefix:
            return ie.NotNull(col), ie.AlwaysFalse()
        return (
            ie.And(ie.NotNull(col), ie.StartsWith(col, prefix)),
            ie.And(ie.NotNull(col), ie.NotStartsWith(col, prefix)),
        )

    # -- columns and literals -------------------------------------------------------------

    def _column(self, node: Any) -> str:
        from sqlglot import exp

        if not isinstance(node, exp.Column):
            raise _Unsupported(f"{node.sql()!r} is not a column")
        name = str(node.name)
        if self.schema is None:
            return name
        names = [f.name for f in self.schema.fields]
        if name in names:
            return name
        folded = [n for n in names if n.lower() == name.lower()]  # DuckDB: case-insensitive
        if len(folded) == 1:
            return folded[0]
        raise WhereClauseError(
            f"no column {name!r} in the table.{suggest(name, names)} Columns: {', '.join(names)}"
        )

    def _type(self, col: str) -> Any:
        assert self.schema is not None
        return self.schema.find_field(col).field_type

    def _classify(self, node: Any) -> wl.Lit:
        try:
            return wl.classify(node)
        except wl.NotALiteral:
            raise _Unsupported(f"{node.sql()!r} is not a literal") from None

    def _domain(self, col: str, lits: Sequence[wl.Lit]) -> _Domain:
        kinds = {lit.kind for lit in lits} - {wl.NULL}
        if self.schema is None:
            return _Untyped(col)
        return _domain_for(col, self._type(col), kinds)


def _nan_named(col: str) -> tuple[BooleanExpression, BooleanExpression]:
    """IS NULL / IS NOT NULL on a float column, with NaN named (always-false terms).

    pyiceberg's delete keeps the NaN rows of every float column the filter does not name
    with IsNaN/NotNaN, which would keep ``x IS NOT NULL`` rows holding NaN.
    """
    from pyiceberg import expressions as ie

    never = ie.And(ie.NotNull(col), ie.And(ie.IsNaN(col), ie.NotNaN(col)))
    is_null = ie.Or(ie.IsNull(col), never)
    not_null = ie.Or(ie.And(ie.NotNull(col), ie.NotNaN(col)), ie.And(ie.NotNull(col), ie.IsNaN(col)))
    return is_null, not_null


def _chain(node: Any, kind: type) -> list[Any]:
    """The operands of a chain of one operator (a OR b OR c ...), without recursion."""
    from sqlglot import exp

    out, stack = [], [node]
    while stack:
        item = stack.pop()
        while isinstance(item, exp.Paren) and isinstance(item.this, kind):
            item = item.this
        if isinstance(item, kind):
            stack += [item.right, item.left]
        else:
            out.append(item)
    return out


def _balanced(
    combine: Callable[[Any, Any], BooleanExpression], items: Sequence[BooleanExpression]
) -> BooleanExpression:
    """Combine many expressions as a balanced tree (pyiceberg recurses per level)."""
    if len(items) == 1:
        return items[0]
    mid = len(items) // 2
    return combine(_balanced(combine, items[:mid]), _balanced(combine, items[mid:]))


# -- domains: how a column compares with literals ------------------------------------------


def _kind(field_type: Any) -> str:
    from pyiceberg import types as it

    table = {
        it.BooleanType: "bool",
        it.IntegerType: "int",
        it.LongType: "long",
        it.FloatType: "float",
        it.DoubleType: "double",
        it.DecimalType: "decimal",
        it.StringType: "string",
        it.DateType: "date",
        it.TimestampType: "timestamp",
        it.TimestamptzType: "timestamptz",
    }
    return table.get(type(field_type), "other")


def _domain_for(col: str, field_type: Any, kinds: set[str]) -> _Domain:
    kind = _kind(field_type)

    def refuse(fix: str) -> _Unsupported:
        shown = ", ".join(sorted(kinds)) or "NULL"
        return _Unsupported(f"column {col!r} ({field_type}) cannot be compared with a {shown} literal; {fix}")

    if kind in ("int", "long", "decimal"):
        if kinds & {wl.BOOL, wl.TYPED}:
            raise refuse("compare it with a number")
        scale = field_type.scale if kind == "decimal" else 0
        if wl.DOUBLE in kinds and kind == "decimal":
            raise refuse("write the number without an exponent (1.5, not 15e-1)")
        return _Steps(col, field_type, kind, scale, double=wl.DOUBLE in kinds)
    if kind in ("float", "double"):
        if kinds & {wl.BOOL, wl.TYPED}:
            raise refuse("compare it with a number")
        return _Floats(col, single=kind == "float", double_literals=wl.DOUBLE in kinds)
    if kind == "string":
        if kinds - {wl.STRING}:
            raise refuse("quote the value: col = '42'")
        return _Plain(col, "VARCHAR")
    if kind == "bool":
        if kinds - {wl.BOOL, wl.STRING}:
            raise refuse("compare it with TRUE or FALSE")
        return _Plain(col, "BOOLEAN")
    if kind in ("date", "timestamp", "timestamptz"):
        target = {"date": "DATE", "timestamp": "TIMESTAMP", "timestamptz": "TIMESTAMPTZ"}[kind]
        return _Times(col, target, kinds, refuse)
    raise _Unsupported(f"column {col!r} has type {field_type}, which where strings cannot filter on")


class _Domain:
    """Values of one column's comparisons, and TRUE-expressions for ``col <op> value``."""

    def __init__(self, col: str) -> None:
        self.col = col

    def value(self, lit: wl.Lit) -> Any:
        raise NotImplementedError

    def plain(self, value: Any) -> bool:
        """Whether ``col = value`` is a plain EqualTo (can go into an In list)."""
        return True

    def literal(self, value: Any) -> Any:
        """A plain value as pyiceberg should see it."""
        return value

    def guard_eq(self, expr: BooleanExpression) -> BooleanExpression:
        from pyiceberg import expressions as ie

        return ie.And(ie.NotNull(self.col), expr)

    def guard_ne(self, expr: BooleanExpression) -> BooleanExpression:
        from pyiceberg import expressions as ie

        return ie.And(ie.NotNull(self.col), expr)

    def compare(self, op: str, value: Any) -> BooleanExpression:
        from pyiceberg import expressions as ie

        make = {
            "=": ie.EqualTo,
            "<>": ie.NotEqualTo,
            "<": ie.LessThan,
            "<=": ie.LessThanOrEqual,
            ">": ie.GreaterThan,
            ">=": ie.GreaterThanOrEqual,
        }[op]
        guard = self.guard_ne if op in ("<>", ">", ">=") else self.guard_eq
        return guard(make(self.col, value))


class _Untyped(_Domain):
    """No schema: literals as Python values (strings, ints, floats)."""

    def value(self, lit: wl.Lit) -> Any:
        if lit.kind == wl.STRING:
            return lit.text
        if lit.kind == wl.EXACT and lit.number is not None:
            return int(lit.number) if lit.number == lit.number.to_integral_value() else float(lit.number)
        if lit.kind == wl.BOOL:
            return lit.sql == "TRUE"
        return float(wl.duckdb_cast(lit.sql, "DOUBLE"))


class _Plain(_Domain):
    """Strings and booleans: a string literal is cast by DuckDB to the column's type."""

    def __init__(self, col: str, target: str) -> None:
        super().__init__(col)
        self.target = target

    def value(self, lit: wl.Lit) -> Any:
        if self.target == "BOOLEAN" and lit.kind == wl.BOOL:
            return lit.sql == "TRUE"
        if self.target == "VARCHAR" and lit.text is not None:
            return lit.text
        return wl.duckdb_cast(lit.sql, self.target)


class _Times(_Domain):
    """Dates (days) and timestamps (microseconds since the epoch), cast by DuckDB."""

    _ALLOWED = {
        "DATE": {"DATE"},
        "TIMESTAMP": {"DATE", "TIMESTAMP"},
        "TIMESTAMPTZ": {"DATE", "TIMESTAMP", "TIMESTAMPTZ"},
    }

    def __init__(self, col: str, target: str, kinds: set[str], refuse: Callable[[str], Exception]) -> None:
        super().__init__(col)
        self.target = target
        if kinds - {wl.STRING, wl.TYPED}:
            raise refuse(f"write a quoted value, e.g. {col} < '2026-01-31'")
        self.refuse = refuse

    def value(self, lit: wl.Lit) -> Any:
        if lit.kind == wl.TYPED and lit.typed not in self._ALLOWED[self.target]:
            raise self.refuse(f"write a {self.target} value, e.g. {self.target} '2026-01-31'")
        if self.target == "DATE":
            return int(wl.duckdb_cast(lit.sql, "DATE", select="date_diff('day', DATE '1970-01-01', CAST({} AS {}))"))
        return wl.epoch_us(lit.sql, self.target)


class _Steps(_Domain):
    """int, long, decimal(p, s): exact comparisons on the column's grid of values.

    ``id > 1.5`` is ``id >= 2``; ``id = 1.5`` matches nothing; a literal outside the type's
    range matches everything or nothing. With a DOUBLE literal (1e3) DuckDB compares in
    DOUBLE, which is the same as exact for |literal| <= 2**53 (refused above that).
    """

    def __init__(self, col: str, field_type: Any, kind: str, scale: int, double: bool) -> None:
        super().__init__(col)
        self.kind, self.scale, self.double = kind, scale, double
        self.type_name = {"int": "INTEGER", "long": "BIGINT"}.get(kind, str(field_type).upper())
        if kind == "int":
            self.low, self.high = -(2**31), 2**31 - 1
        elif kind == "long":
            self.low, self.high = -(2**63), 2**63 - 1
        else:
            self.high = 10**field_type.precision - 1
            self.low = -self.high

    def value(self, lit: wl.Lit) -> Any:
        if self.double:
            number = float(wl.duckdb_cast(lit.sql, "DOUBLE"))
            if math.isnan(number):
                return math.inf  # NaN is greater than every number in DuckDB
            if math.isinf(number) or abs(number) > 2**63:
                return math.copysign(math.inf, number)  # beyond every BIGINT, even as DOUBLE
            if abs(number) > 2**53 and self.kind == "long":
                raise _Unsupported(
                    f"{lit.sql} is a DOUBLE beyond 2**53 compared with BIGINT column {self.col!r}; "
                    "write it as an integer (no exponent)"
                )
            return Decimal(number)
        if lit.kind == wl.STRING:
            return Decimal(str(wl.duckdb_cast(lit.sql, self.type_name)))
        assert lit.number is not None
        return lit.number

    def plain(self, value: Any) -> bool:
        if isinstance(value, float):
            return False
        k = value.scaleb(self.scale)
        return bool(k == k.to_integral_value() and self.low <= k <= self.high)

    def literal(self, value: Any) -> Any:
        return self._out(int(value.scaleb(self.scale)))

    def _out(self, k: int) -> Any:
        return k if self.scale == 0 else Decimal(k).scaleb(-self.scale)

    def compare(self, op: str, value: Any) -> BooleanExpression:
        from pyiceberg import expressions as ie

        everything, nothing = ie.NotNull(self.col), ie.AlwaysFalse()
        if isinstance(value, float):  # +-inf
            above = value > 0
            if op == "<>":
                return everything
            if op == "=":
                return nothing
            return everything if (op in ("<", "<=")) == above else nothing
        k = value.scaleb(self.scale)
        if self.plain(value):
            return super().compare(op, self.literal(value))
        if op in ("=", "<>"):
            return nothing if op == "=" else everything
        if op in (">", "<="):
            m = int(k.to_integral_value(ROUND_FLOOR))  # col > k <=> col > m
            first_true = m + 1
        else:
            m = int(k.to_integral_value(ROUND_CEILING))  # col >= k <=> col >= m
            first_true = m
        # The predicate is "col >= first_true" for > / >=, its complement for < / <=.
        if op in (">", ">="):
            if first_true > self.high:
                return nothing
            if first_true <= self.low:
                return everything
            return super().compare(">=", self._out(first_true))
        if first_true <= self.low:
            return nothing
        if first_true > self.high:
            return everything
        return super().compare("<", self._out(first_true))


_F32_MAX = 3.4028234663852886e38


class _Floats(_Domain):
    """float32 and double with DuckDB's NaN: equal to itself, above every other value.

    Every expression names NaN (IsNaN / NotNaN), so pyiceberg's delete does not add its own
    NaN handling. For a float32 column, a literal in DuckDB's FLOAT domain is rounded to
    float32 by DuckDB; a DOUBLE literal widens the column, which for a literal between two
    float32 values is the same as comparing with the nearer float32 on the right side.
    """

    def __init__(self, col: str, single: bool, double_literals: bool) -> None:
        super().__init__(col)
        self.single = single
        self.target = "FLOAT" if single and not double_literals else "DOUBLE"

    def value(self, lit: wl.Lit) -> Any:
        return float(wl.duckdb_cast(lit.sql, self.target))

    def plain(self, value: Any) -> bool:
        # Zero is not: an In list compares bits (-0.0 is not in {0.0}); = does not.
        return value != 0 and not math.isnan(value) and not math.isinf(value) and self._fits(value)

    def _fits(self, value: float) -> bool:
        return not self.single or _to_f32(value) == value

    def guard_eq(self, expr: BooleanExpression) -> BooleanExpression:
        from pyiceberg import expressions as ie

        return ie.And(ie.And(ie.NotNull(self.col), ie.NotNaN(self.col)), expr)

    def guard_ne(self, expr: BooleanExpression) -> BooleanExpression:
        from pyiceberg import expressions as ie

        return ie.And(ie.NotNull(self.col), ie.Or(expr, ie.IsNaN(self.col)))

    def compare(self, op: str, value: Any) -> BooleanExpression:
        from pyiceberg import expressions as ie

        col = self.col
        if math.isnan(value):
            return {
                "=": ie.IsNaN(col),
                "<>": ie.And(ie.NotNull(col), ie.NotNaN(col)),
                "<": ie.And(ie.NotNull(col), ie.NotNaN(col)),
                "<=": ie.NotNull(col),
                ">": ie.AlwaysFalse(),
                ">=": ie.IsNaN(col),
            }[op]
        if op == "<>":
            return ie.Or(self.compare("<", value), self.compare(">", value))
        if not self._fits(value):  # a DOUBLE between two float32 values
            if op == "=":
                return ie.AlwaysFalse()
            low, high = _f32_neighbours(value)
            return self.compare(">=", high) if op in (">", ">=") else self.compare("<=", low)
        if math.isinf(value) and self.single:
            # pyiceberg clamps float32 literals beyond the finite range; say it with finites.
            top = _F32_MAX if value > 0 else -_F32_MAX
            if value > 0:
                table = {"=": (">", top), ">=": (">", top), "<": ("<=", top)}
                if op == ">":
                    return ie.AlwaysFalse()
                if op == "<=":
                    return ie.And(ie.NotNull(col), ie.NotNaN(col))
            else:
                table = {"=": ("<", top), "<=": ("<", top), ">": (">=", top)}
                if op == "<":
                    return ie.AlwaysFalse()
                if op == ">=":
                    return ie.NotNull(col)
            new_op, new_value = table[op]
            return self.compare(new_op, new_value)
        return super().compare(op, value)


def _to_f32(value: float) -> float:
    import struct

    try:
        return float(struct.unpack("<f", struct.pack("<f", value))[0])
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _f32_neighbours(value: float) -> tuple[float, float]:
    """The float32 values just below and just above a double that is not one."""
    import numpy as np

    with np.errstate(over="ignore"):
        nearest = np.float32(value)
    if float(nearest) > value:
        return float(np.nextafter(nearest, np.float32(-np.inf))), float(nearest)
    return float(nearest), float(np.nextafter(nearest, np.float32(np.inf)))


# -- reading with an exact filter ------------------------------------------------------------


def scan_exact(table: Any, row_filter: BooleanExpression, snapshot_id: int | None = None) -> Any:
    """``table.scan(row_filter=...).to_arrow()``, with the rows filtered after reading.

    pyiceberg hands the filter to pyarrow's Parquet scanner, which skips row groups by
    their statistics; Parquet statistics leave NaN out, so a NaN row in a row group whose
    other values are all 0.1 is skipped for ``IsNaN`` (pyarrow 2x). Files are still
    pruned by the filter; the rows of the planned files are filtered in memory.
    """
    from pyiceberg.expressions import AlwaysTrue
    from pyiceberg.expressions.visitors import bind
    from pyiceberg.io.pyarrow import ArrowScan, expression_to_pyarrow

    scan = table.scan(row_filter=row_filter, snapshot_id=snapshot_id)
    if isinstance(row_filter, AlwaysTrue):
        return scan.to_arrow()
    schema = scan.projection()
    rows = ArrowScan(table.metadata, table.io, schema, AlwaysTrue()).to_table(scan.plan_files())
    return rows.filter(expression_to_pyarrow(bind(schema, row_filter, case_sensitive=True), schema))
