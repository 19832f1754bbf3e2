"""The doctordata plugin for dbt-duckdb (named in the profile's ``plugins:``).

Reading: ``source()`` (the dbt package's macros/iceberg_source.sql) calls the SQL function
``doctordata_source(table, where, inline)`` registered here; see transform/sources.py for
why table models get an inline plan and view models a per-invocation source view.

Writing: each mart's post-hook calls ``adapter.store_relation('doctordata', ...)``, which
lands in :meth:`Plugin.store` and queues the model (its relation, or for an incremental
run a copy of only the new rows, and for the package's ``rebuild_keys`` strategy a copy of
the keys it deleted from dbt's table, so that Iceberg deletes the same ones). The package's on-run-end hook stores a "commit" marker:
when no node of the invocation failed, every queued model is streamed to Iceberg with
transform/writes.py; otherwise nothing is written, so a mart that fails its tests never
replaces the last good copy. The on-run-start hook (re)creates the source views.
"""

from __future__ import annotations

import atexit
import sys
import threading
from dataclasses import replace
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from doctordata.errors import ConfigError
from doctordata.transform import changes, sources, writes
from doctordata.transform.session import (
    PendingWrite,
    Session,
    StoreStat,
    get_session,
    open_session,
)

SOURCE_FUNCTION = "doctordata_source"
# doctordata_changes(table, model): the source rows changed since the model's last write.
CHANGES_FUNCTION = "doctordata_changes"
# DuckDB schema holding copies of the new rows of incremental models until the commit.
PENDING_SCHEMA = "doctordata_pending"
# store_relation() formats: a built model, the on-run-end commit, the on-run-start sources.
STORE_FORMAT = "iceberg"
COMMIT_FORMAT = "doctordata-commit"
SOURCES_FORMAT = "doctordata-sources"
# Incremental strategies and how their new rows reach Iceberg.
APPEND_STRATEGIES = frozenset({"append"})
KEYED_STRATEGIES = frozenset({"delete+insert", "merge", "default", "rebuild_keys"})
# The package's strategy (macros/rebuild_keys.sql): its temp table of the rebuilt keys.
REBUILT_KEYS_SUFFIX = "__dbt_rebuilt_keys"


class Plugin(BasePlugin):
    """dbt-duckdb plugin; config keys: ``session`` (set by doctordata's runner) or ``root``
    (a lakehouse root, for plain ``dbt`` with your own profiles.yml), ``namespace``
    (default ``marts``), ``as_of`` (read sources as of a time, tag or snapshot id)."""

    def initialize(self, plugin_config: dict[str, Any]) -> None:
        session = get_session(str(plugin_config.get("session", "")))
        if session is None:
            root = plugin_config.get("root")
            if not root:
                raise ConfigError(
                    "the doctordata dbt plugin needs `root: <lakehouse root>` in its profile "
                    "config (or run dbt through `doctordata dbt`, which generates the profile)"
                )
            from doctordata.lakehouse import connect

            session = open_session(
                connect(root),
                plugin_config.get("namespace", "marts"),
                as_of=plugin_config.get("as_of"),
            )
            atexit.register(_warn_uncommitted, session)
        self.session: Session = session
        session.committer = self.commit
        self._conn: Any = None
        self._views: set[str] = set()
        self._refreshed = False
        self._lock = threading.Lock()
        # The cursor of each dbt worker thread: store() runs inside the model's
        # transaction and must read through that thread's cursor to see the new rows.
        self._cursors = threading.local()

    # -- connection setup ------------------------------------------------------------
    def configure_connection(self, conn: Any) -> None:
        from duckdb import sqltypes

        self._conn = conn
        self._prepare_storage(conn)
        conn.create_function(
            SOURCE_FUNCTION,
            self.source_sql,
            [sqltypes.VARCHAR, sqltypes.VARCHAR, sqltypes.BOOLEAN],
            sqltypes.VARCHAR,
            null_handling="special",
            side_effects=True,
        )
        conn.create_function(
            CHANGES_FUNCTION,
            self.changes_sql,
            [sqltypes.VARCHAR, sqltypes.VARCHAR],
            sqltypes.VARCHAR,
            side_effects=True,
        )
        with self._lock:
            if not self._refreshed:
                # Created here, before dbt's threads start: two models creating the schema
                # in their own transactions would conflict (catalog write-write conflict).
                conn.execute(f"CREATE SCHEMA IF NOT EXISTS {sources.quote(PENDING_SCHEMA)}")
                # Views built by earlier invocations must read this invocation's snapshot.
                self._views.update(sources.refresh_views(conn, self.session))
                self._refreshed = True

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
    def source_sql(self, table: str, where: str | None, inline: bool | None) -> str:
        """DuckDB SQL (a parenthesised subquery) reading ``table`` for the running model."""
        with self._lock:
            known = table in self._views
        if inline or not known:
            # No source view: the package's on-run-start hook did not run (dbt compile,
            # show, ls), so no view is created in this invocation either.
            return sources.plan_sql(self.session, table, where)
        if where:
            return f"(SELECT * FROM {sources.view_name(table)} AS planned WHERE {where})"
        return f"(SELECT * FROM {sources.view_name(table)})"

    def changes_sql(self, table: str, model: str) -> str:
        """DuckDB SQL reading the rows of ``table`` that changed since the last write of
        the mart ``model`` (every row when that cannot be told): transform/changes.py."""
        return changes.changes_sql(self.session, table, model)

    def _prepare_sources(self, tables: list[str]) -> None:
        cursor = self._conn.cursor()
        try:
            live = sources.refresh_views(cursor, self.session, extra=tables)
        finally:
            cursor.close()
        with self._lock:
            self._views.update(live)

    # -- writing ---------------------------------------------------------------------
    def store(self, target_config: Any) -> None:
        kind = target_config.location.format
        config = target_config.config or {}
        if config.get("invocation_id"):
            self.session.invocation_id = str(config["invocation_id"])
        if kind == SOURCES_FORMAT:
            self._prepare_sources([str(t) for t in config.get("tables", [])])
        elif kind == COMMIT_FORMAT:
            if config.get("ok"):
                self.commit()
            else:
                self.discard()
        else:
            self._queue(target_config.relation, config)

    def _queue(self, relation: Any, config: Any) -> None:
        name = f"{self.session.namespace}.{relation.identifier}"
        cursor = getattr(self._cursors, "current", None) or self._conn
        upstream = tuple(str(t) for t in (config.get("sources") or ()))
        partition_by = _keys(config.get("partition_by"))
        temp = (
            _temp_table(cursor, f"{relation.identifier}__dbt_tmp")
            if config.get("materialized") == "incremental"
            else None
        )
        if temp is not None:
            strategy = str(config.get("incremental_strategy") or "default")
            keys = _keys(config.get("unique_key"))
            if strategy in APPEND_STRATEGIES or (strategy == "default" and not keys):
                mode = "append"
            elif strategy in KEYED_STRATEGIES and keys:
                mode = "upsert"
            else:
                raise ConfigError(
                    f"model {name!r}: incremental_strategy {strategy!r} "
                    f"{'needs a unique_key' if strategy in KEYED_STRATEGIES else 'is not supported'}"
                    " by doctordata; use 'append', or 'delete+insert' / 'merge' / 'rebuild_keys' "
                    "with unique_key"
                )
            # dbt drops its temp table of new rows before the invocation ends: keep a copy.
            copy = f"{sources.quote(PENDING_SCHEMA)}.{sources.quote(name)}"
            cursor.execute(
                f"CREATE OR REPLACE TABLE {copy} AS SELECT * FROM temp.main.{sources.quote(temp)}"
            )
            unique = strategy == "merge"
            rebuilt = (
                self._copy_rebuilt_keys(cursor, relation.identifier, name)
                if strategy == "rebuild_keys"
                else None
            )
            write = PendingWrite(
                name, copy, mode, keys, upstream, unique, partition_by, rebuilt=rebuilt
            )
        else:
            write = PendingWrite(
                name, relation.render(), "replace", (), upstream, partition_by=partition_by
            )
        if config.get("materialized") == "incremental":
            write = replace(write, discard=relation.render())
        self.session.add_pending(write)

    def _copy_rebuilt_keys(self, cursor: Any, identifier: str, name: str) -> str:
        """A copy of the keys the rebuild_keys strategy deleted from dbt's table, so the
        Iceberg mart deletes the same ones; the temp table is dropped (not left for the
        next invocation on this connection)."""
        table = identifier + REBUILT_KEYS_SUFFIX
        found = cursor.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = ?", [table]
        ).fetchone()
        if not found or not found[0]:
            raise ConfigError(
                f"model {name!r}: incremental_strategy 'rebuild_keys' left no table of "
                f"rebuilt keys ({table}); the project must declare the strategy as "
                "doctordata.get_incremental_rebuild_keys_sql (see the doctordata dbt README)"
            )
        temp = f"temp.main.{sources.quote(table)}"
        copy = f"{sources.quote(PENDING_SCHEMA)}.{sources.quote(name + REBUILT_KEYS_SUFFIX)}"
        cursor.execute(f"CREATE OR REPLACE TABLE {copy} AS SELECT * FROM {temp}")
        cursor.execute(f"DROP TABLE {temp}")
        return copy

    def commit(self) -> list[StoreStat]:
        """Stream every queued model to Iceberg (called when the invocation passed)."""
        stats = []
        for write in self.session.take_pending():
            stats.append(self._write(write))
        self.session.committed = True
        return stats

    def discard(self) -> None:
        """The invocation failed: nothing is written, and every incremental model it built
        is dropped from dbt's database. Its rows there never reached Iceberg; building the
        next increment on them (``{{ this }}``) would leave them out of Iceberg for good."""
        cursor = self._conn.cursor()
        try:
            for write in self.session.pending:
                if write.discard:
                    cursor.execute(f"DROP TABLE IF EXISTS {write.discard}")
        finally:
            cursor.close()

    def _write(self, write: PendingWrite) -> StoreStat:
        session = self.session
        pins = session.pins
        upstream = {t: pins.get(t) for t in write.sources if t in pins} or dict(pins)
        props = writes.lineage(session.invocation_id, upstream, session.as_of, write.mode)

        def rows() -> Any:
            cursor = self._conn.cursor()
            return cursor.execute(f"SELECT * FROM {write.relation}").to_arrow_reader(
                writes.READ_BATCH_ROWS
            )

        lh = session.lh
        layout = writes.Layout(write.partition_by)

        def rebuilt() -> Any:
            cursor = self._conn.cursor()
            return cursor.execute(f"SELECT * FROM {write.rebuilt}").to_arrow_reader(
                writes.READ_BATCH_ROWS
            )

        if write.mode == "append":
            count = writes.append(lh, write.table, rows, props, layout)
        elif write.mode == "upsert":
            count = writes.upsert(
                lh,
                write.table,
                rows,
                write.unique_key,
                props,
                layout,
                unique=write.unique,
                rebuilt=rebuilt if write.rebuilt else None,
            )
        else:
            count = writes.replace(lh, write.table, rows, props, layout)
        stat = StoreStat(
            table=write.table,
            rows=count,
            mode={"append": "appended", "upsert": "upserted"}.get(write.mode, "replaced"),
            snapshot_id=lh.table(write.table).metadata.current_snapshot_id,
        )
        session.record_store(stat)
        return stat

    def default_materialization(self) -> str:
        return "view"


def _keys(unique_key: Any) -> tuple[str, ...]:
    if not unique_key:
        return ()
    return (unique_key,) if isinstance(unique_key, str) else tuple(unique_key)


def _temp_table(cursor: Any, prefix: str) -> str | None:
    """The temp table of new rows dbt-duckdb built for an incremental run of the model in
    this thread (``<model>__dbt_tmp<timestamp>``), or None for a full build."""
    row = cursor.execute(
        "SELECT max(table_name) FROM duckdb_tables() WHERE temporary "
        "AND starts_with(table_name, ?)",
        [prefix],
    ).fetchone()
    return str(row[0]) if row and row[0] is not None else None


def _warn_uncommitted(session: Session) -> None:
    # Plain `dbt` without the package's on-run-end hook: say so loudly, never silently.
    if session.pending and not session.committed:
        names = ", ".join(w.table for w in session.pending)
        print(
            f"doctordata: {len(session.pending)} model(s) built but NOT written to Iceberg "
            f"({names}): the invocation failed, or the project lacks the doctordata "
            "package's on-run-end hook (install the package: see the doctordata dbt README)",
            file=sys.stderr,
        )
