"""``CAST(ts AS DATE) = d`` and ``date_trunc('month', ts) >= t`` as ranges of ``ts``.

pyiceberg prunes files by a column's bounds; a function of the column prunes nothing. A
comparison of a truncated timestamp with a literal implies a range of the column itself:

- ``trunc(ts) = L``   =>  lo <= ts < hi
- ``trunc(ts) >= L``, ``trunc(ts) > L``  =>  ts >= lo
- ``trunc(ts) <= L``, ``trunc(ts) < L``  =>  ts < hi

where lo is ``trunc(L)`` and hi is lo plus one unit. The range holds every row the
comparison holds (it is looser for a literal not on a unit boundary, or for ``>``/``<``),
which is all pruning needs: the router keeps the whole WHERE, so the engine still applies
the exact comparison. DuckDB computes lo and hi (time zones, DST, month lengths) in the
session time zone, as the engine truncates.
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from doctordata.engines.constants import evaluate, literal_of

_UNITS = frozenset({"year", "quarter", "month", "week", "day", "hour", "minute", "second"})
_FLIP: dict[type[exp.Expr], type[exp.Expr]] = {
    exp.GT: exp.LT,
    exp.GTE: exp.LTE,
    exp.LT: exp.GT,
    exp.LTE: exp.GTE,
    exp.EQ: exp.EQ,
}
_TYPES = {"timestamp": "TIMESTAMP", "timestamptz": "TIMESTAMPTZ", "date": "DATE"}


def as_range(node: exp.Expr, column_types: dict[str, str]) -> exp.Expr | None:
    """The range of the column implied by ``node`` (a comparison), or None.

    ``column_types``: lower-case column name -> Iceberg primitive type name
    ('timestamp', 'timestamptz', 'date', ...)."""
    if type(node) not in _FLIP:
        return None
    left, right, kind = node.this, node.expression, type(node)
    if not _truncated(left) and _truncated(right):
        left, right, kind = right, left, _FLIP[kind]
    found = _truncated(left)
    if found is None or not _literal(right):
        return None
    column, unit = found
    col_type = _TYPES.get(column_types.get(column.name.lower(), ""))
    if col_type is None:
        return None
    try:
        lo, hi = _bounds(right.sql(dialect="duckdb"), unit, col_type, left)
    except Exception:
        return None
    if lo is None or hi is None:
        return None
    col = column.copy()
    if kind is exp.EQ:
        return exp.and_(exp.GTE(this=col, expression=lo), exp.LT(this=col.copy(), expression=hi))
    if kind in (exp.GT, exp.GTE):
        return exp.GTE(this=col, expression=lo)
    return exp.LT(this=col, expression=hi)


def _truncated(node: exp.Expr) -> tuple[exp.Column, str] | None:
    """(column, unit) of CAST(col AS DATE) or date_trunc('unit', col)."""
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Column):
        if node.to.this == exp.DataType.Type.DATE:
            return node.this, "day"
        return None
    if isinstance(node, (exp.TimestampTrunc, exp.DateTrunc)) and isinstance(node.this, exp.Column):
        unit = node.args.get("unit")
        name = (unit.name if isinstance(unit, exp.Expr) else str(unit or "")).lower()
        return (node.this, name) if name in _UNITS else None
    return None


def _literal(node: exp.Expr) -> bool:
    if isinstance(node, exp.Literal):
        return True
    return (
        isinstance(node, exp.Cast)
        and isinstance(node.this, exp.Literal)
        and node.to.this
        in (
            exp.DataType.Type.DATE,
            exp.DataType.Type.TIMESTAMP,
            exp.DataType.Type.TIMESTAMPTZ,
        )
    )


def _bounds(
    literal: str, unit: str, col_type: str, truncated: exp.Expr
) -> tuple[exp.Expr | None, exp.Expr | None]:
    """lo = trunc(literal) and hi = lo + 1 unit, as literals of the column's type."""
    if isinstance(truncated, exp.Cast):
        # CAST(col AS DATE) compares as DATE: the literal is read as a DATE, and the day
        # starts at midnight of the session time zone (timestamptz) or of the wall clock.
        start = f"CAST(CAST({literal} AS DATE) AS {col_type})"
    else:
        # date_trunc(unit, col) compares in the column's type (DATE: a TIMESTAMP).
        as_type = "TIMESTAMP" if col_type == "DATE" else col_type
        start = f"date_trunc('{unit}', CAST({literal} AS {as_type}))"
    lo_sql = f"CAST({start} AS {col_type})" if col_type == "DATE" else start
    hi_sql = f"CAST(({start}) + INTERVAL 1 {unit} AS {col_type})"
    return _literal_from(lo_sql), _literal_from(hi_sql)


def _literal_from(sql: str) -> Any:
    return literal_of(*evaluate(sql))
