"""A consistent point-in-time copy of the catalog database (the root of every backup).

SQLite: the online backup API copies the whole database under one read transaction, so
the copy is a state that existed even while other processes commit. Postgres: the
``iceberg_tables`` / ``iceberg_namespace_properties`` rows read in one REPEATABLE READ
transaction. Either way the rows (table -> metadata.json location, namespace properties)
are what restore needs; the SQLite file is kept as well, byte for byte.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from doctordata.catalog.catalog_guard import sqlite_path
from doctordata.config import mask_url
from doctordata.errors import BackupError

if TYPE_CHECKING:
    from doctordata.config import Settings

_TABLES_SQL = (
    "SELECT table_namespace, table_name, metadata_location, previous_metadata_location "
    "FROM iceberg_tables WHERE catalog_name = {p} ORDER BY table_namespace, table_name"
)
_NAMESPACES_SQL = (
    "SELECT namespace, property_key, property_value FROM iceberg_namespace_properties "
    "WHERE catalog_name = {p} ORDER BY namespace, property_key"
)


@dataclass
class CatalogSnapshot:
    """The catalog's rows at one instant (and, for SQLite, a copy of the database file)."""

    kind: str  # "sqlite" | "postgresql"
    tables: list[dict[str, Any]] = field(default_factory=list)
    namespaces: dict[str, dict[str, str]] = field(default_factory=dict)
    sqlite_copy: Path | None = None

    def table_locations(self) -> dict[str, str]:
        """ "ns.table" -> current metadata.json location."""
        return {f"{t['namespace']}.{t['name']}": t["metadata_location"] for t in self.tables}

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "tables": self.tables, "namespaces": self.namespaces}


def snapshot_catalog(settings: Settings, workdir: Path) -> CatalogSnapshot:
    """Copy the catalog of ``settings`` at one instant into ``workdir``."""
    uri = settings.catalog_uri
    name = settings.catalog.name
    if settings.catalog.type == "rest" or uri.startswith(("http://", "https://", "rest")):
        raise BackupError(
            f"catalog.uri = {mask_url(uri)!r} is a REST catalog: its state lives on the REST "
            "server, which doctordata cannot copy. Back up that server's own database."
        )
    if uri.startswith("sqlite"):
        return _snapshot_sqlite(sqlite_path(uri), name, workdir)
    if uri.startswith("postgresql"):
        return _snapshot_sql(uri, name)
    raise BackupError(f"catalog.uri = {mask_url(uri)!r}: backup supports SQLite and Postgres only")


def _snapshot_sqlite(path: Path, catalog_name: str, workdir: Path) -> CatalogSnapshot:
    if not path.is_file():
        raise BackupError(f"the catalog database {path} does not exist; nothing to back up")
    copy = workdir / "catalog.db"
    dst = sqlite3.connect(str(copy))
    try:
        # A scratch copy: SQLite need not fsync it or keep a rollback journal (the backup
        # store fsyncs the bytes it keeps); that was most of a small catalog's copy time.
        dst.execute("PRAGMA synchronous = OFF")
        dst.execute("PRAGMA journal_mode = OFF")
        src = sqlite3.connect(str(path), timeout=60)
        try:
            # pages=-1: one step, one read transaction -> a single consistent state.
            src.backup(dst, pages=-1)
        finally:
            src.close()
        # The copy keeps the source's WAL journal mode; a plain file is easier to ship.
        dst.execute("PRAGMA journal_mode = DELETE")
        tables, namespaces = _read_rows(dst, catalog_name, "?")
    finally:
        dst.close()
    return CatalogSnapshot("sqlite", tables, namespaces, copy)


def _read_rows(conn: Any, catalog_name: str, param: str) -> tuple[list[dict[str, Any]], Any]:
    existing = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    tables: list[dict[str, Any]] = []
    namespaces: dict[str, dict[str, str]] = {}
    if "iceberg_tables" in existing:
        for ns, tbl, loc, prev in conn.execute(_TABLES_SQL.format(p=param), (catalog_name,)):
            tables.append(_table_row(ns, tbl, loc, prev))
    if "iceberg_namespace_properties" in existing:
        for ns, key, value in conn.execute(_NAMESPACES_SQL.format(p=param), (catalog_name,)):
            namespaces.setdefault(ns, {})[key] = value
    return tables, namespaces


def _table_row(ns: str, tbl: str, loc: str, prev: str | None) -> dict[str, Any]:
    return {
        "namespace": ns,
        "name": tbl,
        "metadata_location": loc,
        "previous_metadata_location": prev,
    }


def _snapshot_sql(uri: str, catalog_name: str) -> CatalogSnapshot:
    from sqlalchemy import create_engine, inspect, text
    from sqlalchemy.exc import SQLAlchemyError

    engine = create_engine(uri)
    try:
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
            names = set(inspect(conn).get_table_names())
            tables: list[dict[str, Any]] = []
            namespaces: dict[str, dict[str, str]] = {}
            params = {"c": catalog_name}
            if "iceberg_tables" in names:
                for ns, tbl, loc, prev in conn.execute(text(_TABLES_SQL.format(p=":c")), params):
                    tables.append(
                        _table_row(str(ns), str(tbl), str(loc), None if prev is None else str(prev))
                    )
            if "iceberg_namespace_properties" in names:
                for ns, key, value in conn.execute(text(_NAMESPACES_SQL.format(p=":c")), params):
                    namespaces.setdefault(str(ns), {})[str(key)] = str(value)
    except SQLAlchemyError as exc:
        raise BackupError(
            f"cannot read the catalog database {mask_url(uri)}: {type(exc).__name__}"
        ) from None
    finally:
        engine.dispose()
    return CatalogSnapshot("postgresql", tables, namespaces, None)
