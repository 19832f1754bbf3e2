"""``where`` strings (SQL boolean expressions) -> pyiceberg row filters.

    where_to_expression("time < '2026-01-01' AND type IN ('story', 'job')", schema)

Supported: AND/OR/NOT, = <> < <= > >=, BETWEEN, IN / NOT IN, IS [NOT] NULL, LIKE 'prefix%',
bare boolean columns, and literals (strings, numbers, booleans, DATE/TIMESTAMP '...',
CAST('...' AS DATE|TIMESTAMP)). Anything else raises WhereClauseError naming the construct.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from doctordata.errors import WhereClauseError, suggest

if TYPE_CHECKING:
    from pyiceberg.expressions import BooleanExpression
    from pyiceberg.schema import Schema
    from sqlglot import exp

SUPPORTED = (
    "AND, OR, NOT, =, <>, <, <=, >, >=, BETWEEN, IN, NOT IN, IS [NOT] NULL, LIKE 'prefix%', "
    "boolean columns"
)


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
    """Convert a SQL condition to a pyiceberg BooleanExpression, checking column names."""
    node = parse_where(where, dialect)
    try:
        return _Converter(schema).convert(node)
    except _Unsupported as exc:
        raise WhereClauseError(
            f"where = {where!r}: {exc}. Supported: {SUPPORTED}, comparing a column with a literal."
        ) from None


def try_convert(node: exp.Expression, schema: Schema | None = None) -> BooleanExpression | None:
    """Convert a sqlglot condition, or return None when it can't be expressed exactly."""
    try:
        return _Converter(schema).convert(node)
    except (_Unsupported, WhereClauseError):
        return None


class _Converter:
    def __init__(self, schema: Schema | None) -> None:
        self.schema = schema

    def convert(self, node: Any) -> BooleanExpression:
        from pyiceberg import expressions as ie
        from sqlglot import exp

        if isinstance(node, exp.Paren):
            return self.convert(node.this)
        if isinstance(node, exp.And):
            return ie.And(self.convert(node.left), self.convert(node.right))
        if isinstance(node, exp.Or):
            return ie.Or(self.convert(node.left), self.convert(node.right))
        if isinstance(node, exp.Not):
            inner = node.this.unnest() if isinstance(node.this, exp.Paren) else node.this
            if isinstance(inner, exp.In):
                col, values = self._in(inner)
                return ie.NotIn(col, values)
            if isinstance(inner, exp.Like):
                col, prefix = self._like(inner)
                return ie.NotStartsWith(col, prefix)
            if isinstance(inner, exp.Is):
                return ie.Not(self.convert(inner))
            return ie.Not(self.convert(node.this))
        if isinstance(node, exp.Column):
            return ie.EqualTo(self._column(node), True)
        if isinstance(node, exp.Boolean):
            return ie.AlwaysTrue() if node.this else ie.AlwaysFalse()
        comparisons: dict[type[exp.Expression], tuple[Any, Any]] = {
            exp.EQ: (ie.EqualTo, ie.EqualTo),
            exp.NEQ: (ie.NotEqualTo, ie.NotEqualTo),
            exp.GT: (ie.GreaterThan, ie.LessThan),
            exp.GTE: (ie.GreaterThanOrEqual, ie.LessThanOrEqual),
            exp.LT: (ie.LessThan, ie.GreaterThan),
            exp.LTE: (ie.LessThanOrEqual, ie.GreaterThanOrEqual),
        }
        for kind, (op, flipped) in comparisons.items():
            if type(node) is kind:
                left, right = node.args["this"], node.args["expression"]
                if isinstance(left, exp.Column) and not isinstance(right, exp.Column):
                    col = self._column(left)
                    return op(col, self._literal(right, col))
                if isinstance(right, exp.Column) and not isinstance(left, exp.Column):
                    col = self._column(right)
                    return flipped(col, self._literal(left, col))
                raise _Unsupported(f"{node.sql()!r} must compare one column with a literal")
        if isinstance(node, exp.Between):
            col = self._column(node.this)
            low = self._literal(node.args["low"], col)
            high = self._literal(node.args["high"], col)
            return ie.And(ie.GreaterThanOrEqual(col, low), ie.LessThanOrEqual(col, high))
        if isinstance(node, exp.In):
            col, values = self._in(node)
            return ie.In(col, values)
        if isinstance(node, exp.Is):
            col = self._column(node.this)
            if isinstance(node.expression, exp.Null):
                return ie.IsNull(col)
            raise _Unsupported(f"{node.sql()!r}: only IS NULL / IS NOT NULL are supported")
        if isinstance(node, exp.Like):
            col, prefix = self._like(node)
            return ie.StartsWith(col, prefix)
        raise _Unsupported(f"{node.sql()!r} ({type(node).__name__}) is not supported")

    def _in(self, node: Any) -> tuple[str, set[Any]]:
        if node.args.get("query") is not None:
            raise _Unsupported(f"{node.sql()!r}: IN (subquery) is not supported")
        col = self._column(node.this)
        values = {self._literal(v, col) for v in node.expressions}
        if not values:
            raise _Unsupported(f"{node.sql()!r}: IN needs at least one value")
        return col, values

    def _like(self, node: Any) -> tuple[str, str]:
        from sqlglot import exp

        col = self._column(node.this)
        pattern = node.expression
        if not isinstance(pattern, exp.Literal) or not pattern.is_string:
            raise _Unsupported(f"{node.sql()!r}: LIKE needs a string pattern")
        text = pattern.this
        prefix = text[:-1] if text.endswith("%") else text
        if "%" in prefix or "_" in prefix or not text.endswith("%"):
            raise _Unsupported(f"{node.sql()!r}: only LIKE 'prefix%' is supported")
        return col, prefix

    def _column(self, node: Any) -> str:
        from sqlglot import exp

        if not isinstance(node, exp.Column):
            raise _Unsupported(f"{node.sql()!r} is not a column")
        name = node.name
        if self.schema is not None:
            names = [f.name for f in self.schema.fields]
            try:
                self.schema.find_field(name)
            except ValueError:
                raise WhereClauseError(
                    f"no column {name!r} in the table.{suggest(name, names)} "
                    f"Columns: {', '.join(names)}"
                ) from None
        return name

    def _literal(self, node: Any, column: str) -> Any:
        from sqlglot import exp

        if isinstance(node, exp.Paren):
            return self._literal(node.this, column)
        if isinstance(node, exp.Neg):
            value = self._literal(node.this, column)
            if isinstance(value, (int, float)):
                return -value
        if isinstance(node, exp.Boolean):
            return bool(node.this)
        if isinstance(node, exp.Literal):
            if node.is_string:
                return self._typed_string(node.this, column)
            text = node.this
            return float(text) if any(c in text for c in ".eE") else int(text)
        if isinstance(node, (exp.Cast, exp.TryCast)) and isinstance(node.this, exp.Literal):
            return self._typed_string(str(node.this.this), column)
        if isinstance(node, exp.Null):
            raise _Unsupported("comparing with NULL is always unknown; use IS NULL")
        raise _Unsupported(f"{node.sql()!r} is not a literal")

    def _typed_string(self, text: str, column: str) -> Any:
        """Strings compared with date/time columns become ISO literals pyiceberg can bind."""
        if self.schema is None:
            return text
        from pyiceberg.types import DateType, TimestampType, TimestamptzType

        field_type = self.schema.find_field(column).field_type
        try:
            if isinstance(field_type, DateType):
                return date.fromisoformat(text[:10]).isoformat()
            if isinstance(field_type, TimestampType):
                value = datetime.fromisoformat(text)
                if value.tzinfo is not None:
                    value = value.astimezone(UTC).replace(tzinfo=None)
                return value.isoformat(timespec="microseconds")
            if isinstance(field_type, TimestamptzType):
                value = datetime.fromisoformat(text)
                if value.tzinfo is None:
                    value = value.replace(tzinfo=UTC)
                return value.isoformat(timespec="microseconds")
        except ValueError:
            raise WhereClauseError(
                f"{text!r} is not a valid {field_type} for column {column!r}; "
                "use ISO format, e.g. '2026-01-31' or '2026-01-31 12:00:00'"
            ) from None
        return text
