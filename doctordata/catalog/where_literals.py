"""Literals of a ``where`` string, read the way DuckDB reads them against a column.

DuckDB is the reference for every ``where`` string, so this module lets DuckDB itself do
the parts that are easy to get subtly wrong: casting a string to the column's type (dates,
time zones, 'NaN', '1.5' into a BIGINT) and rounding a number to FLOAT. What is left is
the *domain* a comparison happens in, which follows DuckDB's binder:

- a string literal is cast to the column's type (an error there is a WhereClauseError);
- an integer or decimal literal (``1``, ``0.1``) compares exactly with integer and
  decimal columns, and is cast to FLOAT for a float32 column (so ``f = 0.1`` matches the
  float32 nearest 0.1);
- a literal in scientific notation (``1e-1``) is a DOUBLE: the column is widened to DOUBLE;
- in an IN list or a BETWEEN the widest literal decides for all of them.

Literals without a UTC offset compared with a ``timestamptz`` column are read in the time
zone DuckDB connections of this process use (the ``TZ`` environment variable, else the
system zone; ``SELECT current_setting('TimeZone')``), as DuckDB SQL on the router's
connection reads them.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlglot import exp

#: Kinds of literal, from the narrowest to the widest.
NULL, BOOL, STRING, EXACT, DOUBLE, TYPED = "null", "bool", "string", "exact", "double", "typed"

_TYPED_TIME = {
    exp.DataType.Type.DATE: "DATE",
    exp.DataType.Type.TIMESTAMP: "TIMESTAMP",
    exp.DataType.Type.TIMESTAMPNTZ: "TIMESTAMP",
    exp.DataType.Type.DATETIME: "TIMESTAMP",
    exp.DataType.Type.TIMESTAMPTZ: "TIMESTAMPTZ",
}


class NotALiteral(Exception):
    """The node is not a literal (a column, a function call, ...)."""


class Unsupported(Exception):
    """A construct a where string cannot use (the message names it and the fix)."""


class CastFailed(Exception):
    """DuckDB cannot cast the literal to the column's type (its message says why)."""


@dataclass(frozen=True)
class Lit:
    """One literal: its kind, the SQL DuckDB reads it from, and (numbers) its exact value."""

    kind: str
    sql: str
    number: Decimal | None = None  # EXACT: the exact value
    typed: str | None = None  # TYPED: DATE / TIMESTAMP / TIMESTAMPTZ
    text: str | None = None  # STRING: the string itself


def classify(node: Any) -> Lit:
    """Which kind of literal ``node`` is (NotALiteral when it is none)."""
    if isinstance(node, exp.Paren):
        return classify(node.this)
    if isinstance(node, exp.Null):
        return Lit(NULL, "NULL")
    if isinstance(node, exp.Boolean):
        return Lit(BOOL, "TRUE" if node.this else "FALSE")
    if isinstance(node, exp.Neg):
        inner = classify(node.this)
        if inner.kind == EXACT and inner.number is not None:
            return Lit(EXACT, f"(-{inner.sql})", -inner.number)
        if inner.kind == DOUBLE:
            return Lit(DOUBLE, f"(-{inner.sql})")
        raise NotALiteral(node.sql())
    if isinstance(node, exp.Literal):
        text = str(node.this)
        if node.is_string:
            return Lit(STRING, exp.Literal.string(text).sql(dialect="duckdb"), text=text)
        if "e" in text.lower():
            return Lit(DOUBLE, text)
        try:
            return Lit(EXACT, text, Decimal(text))
        except InvalidOperation:
            raise NotALiteral(node.sql()) from None
    if isinstance(node, (exp.Cast, exp.TryCast)) and isinstance(node.this, exp.Literal):
        to = node.args["to"].this
        if to in _TYPED_TIME and node.this.is_string:
            text = exp.Literal.string(str(node.this.this)).sql(dialect="duckdb")
            return Lit(TYPED, f"CAST({text} AS {_TYPED_TIME[to]})", typed=_TYPED_TIME[to])
        if to == exp.DataType.Type.DOUBLE:
            inner = classify(node.this)
            return Lit(DOUBLE, f"CAST({inner.sql} AS DOUBLE)")
    raise NotALiteral(node.sql())


# -- DuckDB as the oracle for casts --------------------------------------------------------

_LOCAL = threading.local()


def duckdb_cast(sql: str, target: str, *, select: str = "CAST({} AS {})") -> Any:
    """``SELECT CAST(<sql> AS <target>)`` on a private in-memory DuckDB connection.

    ``sql`` is a literal this module rendered itself (never user text as such). The
    connection is per thread and per ``TZ`` value, so the session time zone is the one a
    new DuckDB connection of this process gets, like the router's.
    """
    import duckdb

    key = os.environ.get("TZ")
    con = getattr(_LOCAL, "con", None)
    if con is None or getattr(_LOCAL, "tz", object()) != key:
        con = duckdb.connect(":memory:", config={"enable_external_access": False})
        _LOCAL.con, _LOCAL.tz = con, key
    try:
        row = con.execute("SELECT " + select.format(sql, target)).fetchone()
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        raise CastFailed(
            f"{sql} is not a valid {target.lower()} value (DuckDB: {first!r}); write one "
            f"such as {_EXAMPLES.get(target, '...')}"
        ) from None
    return row[0] if row else None


def session_time_zone() -> str:
    """The time zone a DuckDB connection of this process uses for TIMESTAMPTZ literals."""
    return str(duckdb_cast("current_setting('TimeZone')", "VARCHAR"))


def epoch_us(sql: str, target: str) -> int:
    """Microseconds since the epoch of a literal cast to TIMESTAMP or TIMESTAMPTZ."""
    value = duckdb_cast(sql, target, select="epoch_us(CAST({} AS {}))")
    return int(value)


_EXAMPLES = {
    "BIGINT": "id = 42",
    "INTEGER": "id = 42",
    "FLOAT": "f = 0.5",
    "DOUBLE": "x = 0.5",
    "BOOLEAN": "flag = TRUE",
    "DATE": "d = '2026-01-31'",
    "TIMESTAMP": "t < '2026-01-31 12:00:00'",
    "TIMESTAMPTZ": "t < '2026-01-31 12:00:00+00'",
}
