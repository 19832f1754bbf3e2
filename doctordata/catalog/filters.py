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

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from doctordata.catalog import where_literals as wl
from doctordata.catalog.where_domains import Domain, Untyped, domain_for, kind_of
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


_Unsupported = wl.Unsupported


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
    except Exception:  # any failure only means "no pruning for this predicate"
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
            return (
                (ie.AlwaysTrue(), ie.AlwaysFalse())
                if node.this
                else (ie.AlwaysFalse(), ie.AlwaysTrue())
            )
        if isinstance(node, exp.Null):
            return ie.AlwaysFalse(), ie.AlwaysFalse()
        if isinstance(node, exp.Column):
            col = self._column(node)
            if self.schema is not None and kind_of(self._type(col)) != "bool":
                raise _Unsupported(
                    f"{node.sql()!r} is not a boolean column; compare it, e.g. {col} > 0"
                )
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
                if self.schema is not None and kind_of(self._type(col)) in ("float", "double"):
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
            trues.append(
                domain.guard_eq(ie.In(col, plain) if len(plain) > 1 else ie.EqualTo(col, plain[0]))
            )
            falses.append(
                domain.guard_ne(
                    ie.NotIn(col, plain) if len(plain) > 1 else ie.NotEqualTo(col, plain[0])
                )
            )
        trues += [domain.compare("=", v) for v in odd]
        falses += [domain.compare("<>", v) for v in odd]
        true = _balanced(ie.Or, trues) if trues else ie.AlwaysFalse()
        # x NOT IN (1, NULL) is never TRUE; with no match x IN (1, NULL) is NULL, not FALSE.
        false = (
            ie.AlwaysFalse()
            if has_null
            else (_balanced(ie.And, falses) if falses else ie.NotNull(col))
        )
        return true, false

    def _like(self, node: Any) -> tuple[BooleanExpression, BooleanExpression]:
        from pyiceberg import expressions as ie
        from sqlglot import exp

        col = self._column(node.this)
        pattern = node.expression
        if self.schema is not None and kind_of(self._type(col)) != "string":
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

    def _domain(self, col: str, lits: Sequence[wl.Lit]) -> Domain:
        kinds = {lit.kind for lit in lits} - {wl.NULL}
        if self.schema is None:
            return Untyped(col)
        return domain_for(col, self._type(col), kinds)


def _nan_named(col: str) -> tuple[BooleanExpression, BooleanExpression]:
    """IS NULL / IS NOT NULL on a float column, with NaN named (always-false terms).

    pyiceberg's delete keeps the NaN rows of every float column the filter does not name
    with IsNaN/NotNaN, which would keep ``x IS NOT NULL`` rows holding NaN.
    """
    from pyiceberg import expressions as ie

    never = ie.And(ie.NotNull(col), ie.And(ie.IsNaN(col), ie.NotNaN(col)))
    is_null = ie.Or(ie.IsNull(col), never)
    not_null = ie.Or(
        ie.And(ie.NotNull(col), ie.NotNaN(col)), ie.And(ie.NotNull(col), ie.IsNaN(col))
    )
    return is_null, not_null


def _chain(node: Any, kind: Any) -> list[Any]:
    """The operands of a chain of one operator (a OR b OR c ...), without recursion."""
    from sqlglot import exp

    out: list[Any] = []
    stack: list[Any] = [node]
    while stack:
        item: Any = stack.pop()
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
