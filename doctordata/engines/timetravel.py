"""Time travel: ``as_of=`` for the whole query, or per table in SQL.

SQL forms (per table reference, DuckDB/BigQuery style, parsed by sqlglot):

    SELECT * FROM hn.items FOR SYSTEM_TIME AS OF '2026-11-01 00:00:00'
    SELECT * FROM hn.items FOR TIMESTAMP AS OF '2026-11-01'
    SELECT * FROM hn.items FOR VERSION AS OF 4419265531044531   -- snapshot id
    SELECT * FROM hn.items FOR VERSION AS OF 'before-cleanup'   -- tag or branch

A table's own clause wins over the query-wide ``as_of``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlglot import exp

from doctordata.errors import UnsupportedSQLError

if TYPE_CHECKING:
    from pyiceberg.table import Table


def version_clause(node: exp.Table) -> Any:
    """The as_of value written on a table reference, or None."""
    version = node.args.get("version")
    if version is None:
        return None
    kind = str(version.args.get("kind") or "").upper()
    if kind != "AS OF":
        raise UnsupportedSQLError(
            f"time travel clause {version.sql()!r} is not supported; use "
            "FOR SYSTEM_TIME AS OF '<timestamp>' or FOR VERSION AS OF <snapshot id | 'tag'>"
        )
    value = version.expression
    if isinstance(value, (exp.Cast, exp.TryCast)):
        value = value.this
    if not isinstance(value, exp.Literal):
        raise UnsupportedSQLError(
            f"time travel needs a literal, got {value.sql()!r}; e.g. "
            "FOR SYSTEM_TIME AS OF '2026-11-01 00:00:00'"
        )
    text = str(value.this)
    if str(version.name).upper() == "VERSION" and not value.is_string:
        return int(text)
    return text


def snapshot_for(table: Table, node: exp.Table, as_of: Any) -> int | None:
    """Snapshot id to scan for this reference (None = current)."""
    from doctordata.catalog.snapshots import resolve_as_of

    own = version_clause(node)
    return resolve_as_of(table, own if own is not None else as_of)
