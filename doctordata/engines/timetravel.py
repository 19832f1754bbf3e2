"""Time travel: ``as_of=`` for the whole query, or per table in SQL.

SQL forms (per table reference, parsed by sqlglot):

    SELECT * FROM hn.items FOR SYSTEM_TIME AS OF '2026-11-01 00:00:00'
    SELECT * FROM hn.items FOR TIMESTAMP AS OF '2026-11-01'
    SELECT * FROM hn.items FOR VERSION AS OF 4419265531044531   -- snapshot id
    SELECT * FROM hn.items FOR VERSION AS OF 'before-cleanup'   -- tag or branch
    SELECT * FROM hn.items AT (TIMESTAMP => '2026-11-01')       -- DuckDB iceberg / DuckLake
    SELECT * FROM hn.items AT (VERSION => 4419265531044531)     -- or a 'tag' / 'branch'

A table's own clause wins over the query-wide ``as_of``. Any other clause of that kind
(``AT (STREAM => ...)``, ``BEFORE (...)``, ``CHANGES (...)``, ``FOR SYSTEM_TIME FROM ...``)
is refused, and ``check_applied`` refuses a tree in which a table reference still carries
one after the router applied the clauses it supports: a clause is never dropped silently.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlglot import exp

from doctordata.errors import UnsupportedSQLError

if TYPE_CHECKING:
    from pyiceberg.table import Table

# Table-reference args through which sqlglot spells time travel (or change tracking).
TIME_TRAVEL_ARGS = ("version", "when", "changes", "system_time")

SUPPORTED = (
    "FOR SYSTEM_TIME AS OF '<timestamp>', FOR VERSION AS OF <snapshot id | 'tag'>, "
    "AT (TIMESTAMP => '<timestamp>') or AT (VERSION => <snapshot id | 'tag'>)"
)


def _refuse(clause: exp.Expr, why: str = "is not supported") -> UnsupportedSQLError:
    return UnsupportedSQLError(
        f"time travel clause {clause.sql(dialect='duckdb')!r} {why}; use {SUPPORTED}"
    )


def _literal(clause: exp.Expr, value: exp.Expr, is_version: bool) -> Any:
    if isinstance(value, (exp.Cast, exp.TryCast)):
        value = value.this
    if not isinstance(value, exp.Literal):
        raise UnsupportedSQLError(
            f"time travel needs a literal, got {value.sql(dialect='duckdb')!r} in "
            f"{clause.sql(dialect='duckdb')!r}; use {SUPPORTED}, with a literal such as "
            "'2026-11-01 00:00:00'"
        )
    text = str(value.this)
    if is_version and not value.is_string:
        return int(text)
    return text


def version_clause(node: exp.Table) -> Any:
    """The as_of value written on a table reference, or None."""
    present = [k for k in TIME_TRAVEL_ARGS if node.args.get(k) is not None]
    if not present:
        return None
    if present not in (["version"], ["when"]):
        other = [k for k in present if k not in ("version", "when")]
        raise _refuse(node.args[(other or present)[-1]])
    if present == ["version"]:
        version = node.args["version"]
        if not isinstance(version, exp.Version):
            raise _refuse(version)
        if str(version.args.get("kind") or "").upper() != "AS OF":
            raise _refuse(version)
        is_version = str(version.name).upper() == "VERSION"
        return _literal(version, version.expression, is_version)
    when = node.args["when"]
    if not isinstance(when, exp.HistoricalData):
        raise _refuse(when)
    point = str(when.name).upper()
    kind = str(when.text("kind")).upper()
    if point != "AT" or kind not in ("VERSION", "TIMESTAMP"):
        raise _refuse(when)
    return _literal(when, when.expression, kind == "VERSION")


def check_applied(root: exp.Expr) -> None:
    """Refuse a tree where any node still carries a time travel clause.

    The router replaces each Iceberg table reference by a scan of the snapshot its clause
    names; a clause left over was not applied (a CTE, an engine-native table, or a shape
    a future sqlglot parses differently) and would otherwise change nothing or mean
    something else to the engine.
    """
    for node in root.walk():
        for arg in TIME_TRAVEL_ARGS:
            clause = node.args.get(arg)
            if clause is not None:
                what = node.sql(dialect="duckdb") if isinstance(node, exp.Table) else arg
                raise UnsupportedSQLError(
                    f"time travel clause {clause.sql(dialect='duckdb')!r} on {what!r} is not "
                    f"applied: doctordata time-travels Iceberg tables only, with {SUPPORTED}. "
                    "Remove the clause, or name an Iceberg table"
                )


def snapshot_for(table: Table, node: exp.Table, as_of: Any) -> int | None:
    """Snapshot id to scan for this reference (None = current)."""
    from doctordata.catalog.snapshots import resolve_as_of

    own = version_clause(node)
    return resolve_as_of(table, own if own is not None else as_of)
