"""The doctordata plugin for dbt-duckdb (named in the generated profile's ``plugins:``).

Reading: models select from Iceberg sources through the ``source()`` override in the dbt
project (macros/iceberg_source.sql), which calls the SQL function ``doctordata_scan(table,
where)`` registered here. It plans the scan with the router's planner (partition pruning
with ``where`` pushed down) and returns DuckDB SQL reading exactly the planned Parquet
files by Iceberg field id, so nothing is materialised in memory.

Writing: each mart's post-hook calls ``adapter.store_relation('doctordata', ...)``, which
lands in :meth:`Plugin.store`: the relation is read (Arrow) and queued; when the dbt
invocation succeeded the runner writes each queued model to the catalog as
``<namespace>.<model>`` with :func:`write_table` (overwrite for tables, upsert on
``unique_key`` for incremental models, so re-running is idempotent).
"""

from __future__ import annotations

import threading
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from doctordata.errors import ConfigError, SchemaMismatchError
from doctordata.transform.session import (
    PendingWrite,
    ScanStat,
    Session,
    get_session,
    open_session,
)

SCAN_FUNCTION = "doctordata_scan"


class Plugin(BasePlugin):
    """dbt-duckdb plugin; config keys: ``session`` (set by doctordata's runner) or ``root``
    (a lakehouse root, when dbt is run by hand with a generated profile), ``namespace``."""

    def initialize(self, plugin_config: dict[str, Any]) -> None:
        session = get_session(str(plugin_config.get("session", "")))
        if session is None:
            root = plugin_config.get("root")
            if not root:
                raise ConfigError(
                    "the doctordata dbt plugin needs `session` or `root` in its profile "
                    "config; generate the profile with `doctordata dbt` instead of writing it"
                )
            from doctordata.lakehouse import connect

            session = open_session(connect(root), plugin_config.get("namespace", "marts"))
        self.session: Session = session
        self._conn: Any = None
        # The cursor of each dbt worker thread: store() runs inside the model's
        # transaction and must read through that thread's cursor to see the new rows.
        self._cursors = threading.local()

    # -- connection setup ------------------------------------------------------------
    def configure_connection(self, conn: Any) -> None:
        from duckdb import sqltypes

        self._conn = conn
        self._prepare_storage(conn)
        conn.create_function(
            SCAN_FUNCTION,
            self.scan_sql,
            [sqltypes.VARCHAR, sqltypes.VARCHAR],
            sqltypes.VARCHAR,
            null_handling="special",
            side_effects=True,
        )

    def configure_cursor(self, cursor: Any) -> None:
        self._cursors.current = cursor

    def _prepare_storage(self, conn: Any) -> None:
        # Remote tiers need httpfs and one S3 secret each, as in the DuckDB engine.
        remote = [t for t in self.session.lh.tiers.values() if not t.is_local]
        if not remote:
            return
        from doctordata.engines.duckdb import s3_secret_sql
        from doctordata.engines.extensions import load_extension

        load_extension(conn, "httpfs")
        for tier in remote:
            conn.execute(s3_secret_sql(tier))

    # -- reading ---------------------------------------------------------------------
    def scan_sql(self, table: str, where: str | None) -> str:
        """DuckDB SQL (a parenthesised subquery) reading the files planned for ``where``."""
        from doctordata.catalog.filters import where_to_expression
        from doctordata.engines.duckdb import scratch_root
        from doctordata.engines.scan import plan_scan

        lh = self.session.lh
        iceberg_table = lh.table(table)
        row_filter = where_to_expression(where, iceberg_table.schema()) if where else None
        # Tables with delete files are materialised here; the runner removes the folder.
        scratch = scratch_root(lh) / f"dbt-{self.session.id}"
        plan = plan_scan(table, iceberg_table, row_filter, None, scratch)
        self.session.record_scan(
            ScanStat(
                table=table,
                where=where,
                files_planned=len(plan.files),
                files_total=plan.files_total,
                bytes_planned=plan.bytes_planned,
                planning_ms=plan.planning_ms,
            )
        )
        scan = lh.engine("duckdb").scan(plan)
        scan_text = scan if isinstance(scan, str) else scan.sql("duckdb")
        if where:
            # Pruning keeps whole files; the rows outside the filter still need dropping.
            return f"(SELECT * FROM {scan_text} AS planned WHERE {where})"
        return scan_text

    # -- writing ---------------------------------------------------------------------
    def store(self, target_config: Any) -> None:
        relation = target_config.relation
        config = target_config.config
        name = f"{self.session.namespace}.{relation.identifier}"
        sql = f"SELECT * FROM {relation.render()}"
        cursor = getattr(self._cursors, "current", None)
        if cursor is not None:
            data = cursor.execute(sql).to_arrow_table()
        else:
            fresh = self._conn.cursor()
            try:
                data = fresh.execute(sql).to_arrow_table()
            finally:
                fresh.close()
        # Written by the runner once the whole invocation passed (tests included), so a
        # mart that fails its tests never replaces the good copy in the catalog.
        self.session.add_pending(
            PendingWrite(
                table=name,
                data=data,
                incremental=config.get("materialized") == "incremental",
                unique_key=config.get("unique_key"),
            )
        )

    def default_materialization(self) -> str:
        return "view"


def write_table(
    lh: Any, name: str, data: Any, *, incremental: bool, unique_key: str | list[str] | None
) -> str:
    """Write one built model to the catalog; returns what happened."""
    from doctordata.errors import AlreadyExistsError, NotFoundError

    try:
        lh.table(name)
    except NotFoundError:
        lh.create_namespace(name.split(".", 1)[0])
        try:
            lh.create_table(name, data)
            return "created"
        except AlreadyExistsError:
            pass  # another dbt thread created it first: fall through to a write
    if incremental and unique_key:
        keys = [unique_key] if isinstance(unique_key, str) else list(unique_key)
        lh.upsert(name, data, on=keys)
        return "upserted"
    try:
        lh.overwrite(name, data)
    except SchemaMismatchError:
        # The model's columns changed: a mart is derived data, so replace the table.
        lh.drop_table(name, purge=False)
        lh.create_table(name, data)
        return "created"
    return "overwritten"
