"""Domains: how one column compares with literals, as pyiceberg expressions.

Each domain turns ``col <op> value`` into the pyiceberg expression of the rows where the
comparison is TRUE in DuckDB, NULL-free (``col IS NOT NULL`` is part of it): integers and
decimals on their grid of values (``id > 1.5`` is ``id >= 2``), floats with DuckDB's NaN
(equal to itself, above every number) and its float32 rounding, dates and timestamps as
DuckDB casts them (where_literals). filters.py combines them with AND/OR/NOT.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Any

from doctordata.catalog import where_literals as wl
from doctordata.catalog.where_literals import Unsupported

if TYPE_CHECKING:
    from pyiceberg.expressions import BooleanExpression

# Typed literals a date/time column accepts (DuckDB casts these up to the column's type).
_TYPED_ALLOWED = {
    "DATE": {"DATE"},
    "TIMESTAMP": {"DATE", "TIMESTAMP"},
    "TIMESTAMPTZ": {"DATE", "TIMESTAMP", "TIMESTAMPTZ"},
}


def kind_of(field_type: Any) -> str:
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


def domain_for(col: str, field_type: Any, kinds: set[str]) -> Domain:
    kind = kind_of(field_type)

    def refuse(fix: str) -> Unsupported:
        shown = ", ".join(sorted(kinds)) or "NULL"
        return Unsupported(
            f"column {col!r} ({field_type}) cannot be compared with a {shown} literal; {fix}"
        )

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
    raise Unsupported(f"column {col!r} has type {field_type}, which where strings cannot filter on")


class Domain:
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


class Untyped(Domain):
    """No schema: literals as Python values (strings, ints, floats)."""

    def value(self, lit: wl.Lit) -> Any:
        if lit.kind == wl.STRING:
            return lit.text
        if lit.kind == wl.EXACT and lit.number is not None:
            return (
                int(lit.number)
                if lit.number == lit.number.to_integral_value()
                else float(lit.number)
            )
        if lit.kind == wl.BOOL:
            return lit.sql == "TRUE"
        return float(wl.duckdb_cast(lit.sql, "DOUBLE"))


class _Plain(Domain):
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


class _Times(Domain):
    """Dates (days) and timestamps (microseconds since the epoch), cast by DuckDB."""

    def __init__(
        self, col: str, target: str, kinds: set[str], refuse: Callable[[str], Exception]
    ) -> None:
        super().__init__(col)
        self.target = target
        if kinds - {wl.STRING, wl.TYPED}:
            raise refuse(f"write a quoted value, e.g. {col} < '2026-01-31'")
        self.refuse = refuse

    def value(self, lit: wl.Lit) -> Any:
        if lit.kind == wl.TYPED and lit.typed not in _TYPED_ALLOWED[self.target]:
            raise self.refuse(f"write a {self.target} value, e.g. {self.target} '2026-01-31'")
        if self.target == "DATE":
            return int(
                wl.duckdb_cast(
                    lit.sql, "DATE", select="date_diff('day', DATE '1970-01-01', CAST({} AS {}))"
                )
            )
        return wl.epoch_us(lit.sql, self.target)


class _Steps(Domain):
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
                raise Unsupported(
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


class _Floats(Domain):
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
                "=": self._nan(),
                "<>": ie.And(ie.NotNull(col), ie.NotNaN(col)),
                "<": ie.And(ie.NotNull(col), ie.NotNaN(col)),
                "<=": self._any(),
                ">": ie.AlwaysFalse(),
                ">=": self._nan(),
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
            return self._infinite(op, value > 0)
        return super().compare(op, value)

    # pyiceberg's delete keeps the rows of every column its filter does not name with
    # IsNull/NotNull (and, for floats, IsNaN/NotNaN): so each expression names both.

    def _nan(self) -> BooleanExpression:
        from pyiceberg import expressions as ie

        return ie.And(ie.NotNull(self.col), ie.IsNaN(self.col))

    def _any(self) -> BooleanExpression:
        """Every non-NULL value, NaN included."""
        from pyiceberg import expressions as ie

        return ie.Or(ie.And(ie.NotNull(self.col), ie.NotNaN(self.col)), self._nan())

    def _infinite(self, op: str, positive: bool) -> BooleanExpression:
        """float32 ``col <op> +-inf`` (NaN is above +inf, as in DuckDB)."""
        from pyiceberg import expressions as ie

        col = self.col
        if positive:
            above_max = ie.GreaterThan(col, _F32_MAX)  # i.e. +inf
            return {
                "=": self.guard_eq(above_max),
                ">=": self.guard_ne(above_max),
                ">": self._nan(),
                "<": self.guard_eq(ie.LessThanOrEqual(col, _F32_MAX)),
                "<=": ie.And(ie.NotNull(col), ie.NotNaN(col)),
            }[op]
        below_min = ie.LessThan(col, -_F32_MAX)  # i.e. -inf
        return {
            "=": self.guard_eq(below_min),
            "<=": self.guard_eq(below_min),
            "<": ie.AlwaysFalse(),
            ">": self.guard_ne(ie.GreaterThanOrEqual(col, -_F32_MAX)),
            ">=": self._any(),
        }[op]


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
