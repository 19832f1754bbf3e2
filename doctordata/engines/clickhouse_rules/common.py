"""What the rule modules share: the type families, a ClickHouse call, decimal types.

The rewrites that need an argument's type read it from engines/clickhouse_types.py, which
records DuckDB's type of each argument before the rules run.
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp

FLOATS: frozenset[Any] = frozenset({exp.DataType.Type.FLOAT, exp.DataType.Type.DOUBLE})
DECIMALS: frozenset[Any] = frozenset({exp.DataType.Type.DECIMAL})


def call(name: str, *args: exp.Expr) -> exp.Expr:
    return exp.Anonymous(this=name, expressions=list(args))


def is_type(kind: exp.DataType | None, types: frozenset[Any]) -> bool:
    return kind is not None and kind.this in types


def decimal_scale(kind: exp.DataType) -> int | None:
    params = kind.expressions
    if len(params) < 2:
        return 0 if params else None  # DECIMAL(p) has scale 0; bare DECIMAL is (18, 3)
    literal = params[1].this if isinstance(params[1], exp.DataTypeParam) else params[1]
    return int(literal.name) if isinstance(literal, exp.Literal) and literal.is_int else None


COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)


def decimal_precision(kind: exp.DataType) -> int | None:
    params = kind.expressions
    if not params:
        return 18  # DuckDB's bare DECIMAL is DECIMAL(18, 3)
    literal = params[0].this if isinstance(params[0], exp.DataTypeParam) else params[0]
    return int(literal.name) if isinstance(literal, exp.Literal) and literal.is_int else None


INTEGERS: frozenset[Any] = frozenset(exp.DataType.INTEGER_TYPES)
