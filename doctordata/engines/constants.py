"""Fold now(), current_date and the constant arithmetic around them, once per query.

``WHERE time > now() - INTERVAL 7 DAY`` prunes nothing while ``now()`` is a function call:
pyiceberg needs a literal. So the router reads the clock once, replaces every ``now()``,
``current_timestamp``, ``current_date`` (and their aliases) by a literal of that instant,
and replaces each constant expression around them (``now() - INTERVAL 7 DAY``,
``current_date - 7``, ``date_trunc('month', now())``) by its value. The rewritten tree is
what both the pushdown *and* the engine get, so the files pruned and the rows filtered
use the same value.

DuckDB is the reference: each constant expression is evaluated by DuckDB itself (a private
in-memory connection with no file access, in this process's session time zone, as the
router's DuckDB connection reads it), so interval arithmetic across DST changes, month
ends and ``DATE - INTEGER`` mean exactly what they mean in DuckDB. Instants are written
back in UTC (``CAST('... +00' AS TIMESTAMPTZ)``): one spelling every engine reads alike.

A folded query must never be answered from a plan built for another instant: the plan
cache skips any query text that mentions one of these functions (engines/clock.py).
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from typing import Any

from sqlglot import exp

# Anonymous function names DuckDB reads as now(); sqlglot has its own nodes for the rest.
_NOW_NAMES = frozenset({"now", "get_current_timestamp", "transaction_timestamp"})
# Nodes a foldable constant expression may consist of (no columns, calls or subqueries).
_CONSTANT = (
    exp.Literal,
    exp.Interval,
    exp.Var,
    exp.DataType,
    exp.Paren,
    exp.Neg,
    exp.Add,
    exp.Sub,
    exp.Cast,
    exp.TryCast,
    exp.TimestampTrunc,
    exp.DateTrunc,
    exp.CurrentDate,
    exp.CurrentTimestamp,
    exp.Anonymous,
)
_TYPES = {
    "DATE": "DATE",
    "TIMESTAMP": "TIMESTAMP",
    "TIMESTAMP WITH TIME ZONE": "TIMESTAMPTZ",
}

_LOCAL = threading.local()


def _is_now(node: exp.Expr) -> bool:
    if isinstance(node, exp.CurrentTimestamp):
        return not node.this
    if isinstance(node, exp.CurrentDate):
        return not node.this
    return (
        isinstance(node, exp.Anonymous)
        and str(node.this).lower() in _NOW_NAMES
        and not node.expressions
    )


def _constant(node: exp.Expr) -> bool:
    for sub in node.walk():
        if not isinstance(sub, _CONSTANT):
            return False
        if isinstance(sub, exp.Anonymous) and not _is_now(sub):
            return False
    return True


def utc_text(epoch_us: int) -> str:
    """Microseconds since the epoch as 'YYYY-MM-DD HH:MM:SS.ffffff+00'."""
    moment = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=epoch_us)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f") + "+00"


def instant_literal(epoch_us: int) -> exp.Expr:
    return exp.cast(exp.Literal.string(utc_text(epoch_us)), exp.DataType.Type.TIMESTAMPTZ)


def evaluate(sql: str) -> tuple[str, Any]:
    """(DuckDB type name, value) of one constant DuckDB expression; the value of a
    TIMESTAMP or TIMESTAMPTZ as epoch microseconds, of a DATE as 'YYYY-MM-DD'."""
    import duckdb

    key = os.environ.get("TZ")
    con = getattr(_LOCAL, "con", None)
    if con is None or getattr(_LOCAL, "tz", object()) != key:
        con = duckdb.connect(":memory:", config={"enable_external_access": False})
        _LOCAL.con, _LOCAL.tz = con, key
    [(kind,)] = con.execute(f"SELECT typeof(({sql}))").fetchall()
    if kind in ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE"):
        [(value,)] = con.execute(f"SELECT epoch_us(({sql}))").fetchall()
    elif kind == "DATE":
        [(value,)] = con.execute(f"SELECT strftime(({sql}), '%Y-%m-%d')").fetchall()
    else:
        value = None
    return str(kind), value


def literal_of(kind: str, value: Any) -> exp.Expr | None:
    """The literal for an evaluated value (None for a type not folded)."""
    if value is None or kind not in _TYPES:
        return None
    if kind == "DATE":
        return exp.cast(exp.Literal.string(str(value)), exp.DataType.Type.DATE)
    if kind == "TIMESTAMP":
        text = utc_text(int(value))[:-3]  # wall time, no offset
        return exp.cast(exp.Literal.string(text), exp.DataType.Type.TIMESTAMP)
    return instant_literal(int(value))


def fold_now(root: exp.Expr, now_us: int | None = None) -> str | None:
    """Replace clock calls and the constant expressions around them, in place.

    Returns the instant used ('YYYY-MM-DD HH:MM:SS.ffffff+00'), or None if the query
    calls no clock function. ``now_us``: the instant (epoch microseconds); default now."""
    calls = [node for node in root.find_all(exp.CurrentTimestamp, exp.CurrentDate, exp.Anonymous)]
    # Time-travel clauses keep their own rules (timetravel.py takes literals only).
    calls = [
        node
        for node in calls
        if _is_now(node) and node.find_ancestor(exp.HistoricalData, exp.Version) is None
    ]
    if not calls:
        return None
    if now_us is None:
        now_us = time.time_ns() // 1000
    instant = instant_literal(now_us)
    _, today = evaluate(f"CAST({instant.sql(dialect='duckdb')} AS DATE)")
    today_literal = exp.cast(exp.Literal.string(today), exp.DataType.Type.DATE)
    # The largest constant expression around each call, evaluated as a whole.
    tops: list[exp.Expr] = []
    for call in calls:
        top: exp.Expr = call
        while top.parent is not None and _constant(top.parent):
            top = top.parent
        if not any(top is t for t in tops):
            tops.append(top)
    for top in tops:
        if _is_now(top):
            top.replace(
                today_literal.copy() if isinstance(top, exp.CurrentDate) else instant.copy()
            )
            continue
        for node in list(top.walk()):
            if _is_now(node):
                is_date = isinstance(node, exp.CurrentDate)
                node.replace(today_literal.copy() if is_date else instant.copy())
        try:
            folded = literal_of(*evaluate(top.sql(dialect="duckdb")))
        except Exception:
            folded = None
        if folded is not None:
            top.replace(folded)
    return utc_text(now_us)
