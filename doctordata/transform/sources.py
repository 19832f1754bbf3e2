"""Iceberg sources inside dbt-duckdb: planned when a model runs, pinned per invocation.

A model that is materialised right away (table, incremental) reads its sources through
an inline subquery over the files planned for the invocation's pinned snapshot, with any
``where`` pushed into the plan. A *view* model must not embed a file list: it outlives
the invocation (``dbt build --select my_mart`` reuses it), and the files it names are
replaced by new appends and deleted by maintain(). Views read sources through one view
per source table, ``doctordata_sources."<ns>.<table>"``, which the plugin re-plans at the
start of every invocation (and the package's on-run-start hook creates for every source
in the project), so every view always reads the invocation's snapshot.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from doctordata.transform.session import ScanStat, Session

# DuckDB schema (in dbt's working database) holding one view per Iceberg source table.
SOURCE_SCHEMA = "doctordata_sources"


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def view_name(table: str) -> str:
    """The DuckDB view that reads ``table`` (``ns.table``) for view models."""
    return f"{quote(SOURCE_SCHEMA)}.{quote(table)}"


def scratch_dir(session: Session) -> Path:
    """Where scans of tables with delete files are materialised (removed after a run)."""
    from doctordata.engines.duckdb import scratch_root

    return scratch_root(session.lh) / f"dbt-{session.id}"


def plan_sql(session: Session, table: str, where: str | None) -> str:
    """DuckDB SQL (a parenthesised subquery) reading the rows of ``table`` at the
    invocation's pinned snapshot that pass ``where`` (pushed into the plan)."""
    from doctordata.catalog.filters import where_to_expression
    from doctordata.engines.scan import plan_scan

    lh = session.lh
    snapshot_id = session.pin(table)
    iceberg_table = lh.table(table)
    row_filter = where_to_expression(where, iceberg_table.schema()) if where else None
    plan = plan_scan(table, iceberg_table, row_filter, snapshot_id, scratch_dir(session))
    session.record_scan(
        ScanStat(
            table=table,
            where=where,
            files_planned=len(plan.files),
            files_total=plan.files_total,
            bytes_planned=plan.bytes_planned,
            planning_ms=plan.planning_ms,
            snapshot_id=snapshot_id,
        )
    )
    scan = lh.engine("duckdb").scan(plan)
    scan_text = scan if isinstance(scan, str) else scan.sql("duckdb")
    if where:
        # Pruning keeps whole files; the rows outside the filter still need dropping.
        return f"(SELECT * FROM {scan_text} AS planned WHERE {where})"
    return scan_text


def view_ddl(session: Session, table: str) -> str:
    """The statement (re)creating the source view of ``table`` at the pinned snapshot."""
    return f"CREATE OR REPLACE VIEW {view_name(table)} AS SELECT * FROM {plan_sql(session, table, None)}"


def existing_views(conn: Any) -> list[str]:
    rows = conn.execute(
        "SELECT view_name FROM duckdb_views() WHERE schema_name = ? "
        "AND database_name = current_database()",
        [SOURCE_SCHEMA],
    ).fetchall()
    return [r[0] for r in rows]


def refresh_views(conn: Any, session: Session, extra: Iterable[str] = ()) -> list[str]:
    """Re-plan every source view in ``conn`` (and create those of ``extra`` tables) at the
    invocation's snapshot; drop the views of tables that no longer exist. Returns the
    tables whose views now exist."""
    from doctordata.errors import NotFoundError

    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(SOURCE_SCHEMA)}")
    live = []
    for table in dict.fromkeys([*existing_views(conn), *extra]):
        try:
            ddl = view_ddl(session, table)
        except NotFoundError:
            conn.execute(f"DROP VIEW IF EXISTS {view_name(table)}")
            continue
        conn.execute(ddl)
        live.append(table)
    return live
