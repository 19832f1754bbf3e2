"""The catalog rows of pyiceberg's SqlCatalog, read with sqlite3 (read-only, WAL-safe)."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from doctordata.catalog.reader.avro import Unsupported, UnsupportedAvro

if TYPE_CHECKING:
    from doctordata.config import Settings
    from doctordata.storage.tier import Tier


def open_reader(
    settings: Settings, tiers: Mapping[str, Tier], *, shared: bool = False
) -> CatalogReader | None:
    """A reader for this lakehouse's SQLite catalog, or None (another catalog kind).

    Runs the same guards as opening the catalog for writing (catalog_guard.py): a
    half-finished restore or an empty/missing catalog over tables raises
    EmptyCatalogError here too. ``shared``: the reader may be used from several threads
    (SharedReader), one statement at a time."""
    uri = settings.catalog_uri
    if settings.catalog.type == "rest" or not uri.startswith("sqlite"):
        return None
    if settings.catalog.properties:
        return None  # custom pyiceberg properties: let pyiceberg interpret them
    from doctordata.catalog import catalog_guard

    catalog_guard.check_before_open(settings, tiers)
    from doctordata.catalog.moved import moved_tiers

    if moved_tiers(tiers):
        return None  # a copied or moved lake: the pyiceberg path refuses it, naming the fix
    raw = uri.split(":///", 1)[1] if ":///" in uri else None
    if not raw:
        return None
    path = Path(raw.split("?", 1)[0])
    if not path.is_file():
        return None  # created on first use, by pyiceberg
    try:
        reader = CatalogReader(path, settings.catalog.name, shared=shared)
    except Unsupported:
        return None
    if not reader.namespaces() and catalog_guard.table_dirs(tiers):
        reader.close()
        return None  # the pyiceberg path raises EmptyCatalogError with the fix
    return reader


class CatalogReader:
    """Namespaces, tables and metadata locations of one SqlCatalog in a SQLite file.

    The connection is read-only (``mode=ro``): it never creates, migrates or locks the
    file for writing, and it reads a WAL database as of its last commit like any other
    reader (a writer's uncommitted transaction is invisible)."""

    def __init__(
        self,
        path: Path,
        catalog_name: str,
        busy_timeout_s: float = 30.0,
        *,
        shared: bool = False,
    ) -> None:
        self.path = path
        self.catalog_name = catalog_name
        self.pid = os.getpid()
        self._lock = threading.Lock()  # one statement at a time on a shared connection
        try:
            self._conn = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=ro",
                uri=True,
                timeout=busy_timeout_s,
                check_same_thread=not shared,
            )
            columns = {r[1] for r in self._conn.execute("PRAGMA table_info(iceberg_tables)")}
        except sqlite3.Error as exc:
            raise Unsupported(f"cannot read {path}: {exc}") from None
        if not {"table_namespace", "table_name", "metadata_location"} <= columns:
            self.close()
            raise Unsupported(f"{path} has no pyiceberg catalog tables yet")
        self._typed = "iceberg_type" in columns  # pyiceberg's v1 catalog schema

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> CatalogReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        try:
            with self._lock:
                return self._conn.execute(sql, (self.catalog_name, *args)).fetchall()
        except sqlite3.Error as exc:
            raise Unsupported(f"cannot read {self.path}: {exc}") from None

    def _table_filter(self) -> str:
        # Views written by other Iceberg implementations share the table (pyiceberg's filter).
        return " AND (iceberg_type = 'TABLE' OR iceberg_type IS NULL)" if self._typed else ""

    def namespaces(self) -> list[str]:
        """Top-level namespaces, sorted (tables.list_namespaces)."""
        rows = self._rows(
            "SELECT table_namespace FROM iceberg_tables WHERE catalog_name = ? UNION "
            "SELECT namespace FROM iceberg_namespace_properties WHERE catalog_name = ?",
            self.catalog_name,
        )
        return sorted({str(r[0]).split(".")[0] for r in rows if r[0]})

    def tables(self, namespace: str | None = None) -> list[str]:
        """ "ns.table" names, sorted (tables.list_tables); Unsupported for a namespace that
        does not exist (the pyiceberg path names it and suggests one)."""
        namespaces = self.namespaces()
        if namespace is not None:
            if namespace not in namespaces:
                raise Unsupported(f"no top-level namespace {namespace!r}")
            namespaces = [namespace]
        out: list[str] = []
        for ns in namespaces:
            rows = self._rows(
                "SELECT table_name FROM iceberg_tables WHERE catalog_name = ? "
                f"AND table_namespace = ?{self._table_filter()}",
                ns,
            )
            out.extend(f"{ns}.{r[0]}" for r in rows)
        return sorted(out)

    def location(self, name: str) -> str | None:
        """The current metadata location of ``name`` ("ns.table"), None if no such table."""
        if "." not in name:
            return None
        namespace, table = name.rsplit(".", 1)
        rows = self._rows(
            "SELECT metadata_location FROM iceberg_tables WHERE catalog_name = ? "
            f"AND table_namespace = ? AND table_name = ?{self._table_filter()}",
            namespace,
            table,
        )
        return str(rows[0][0]) if rows and rows[0][0] else None

    def metadata(self, name: str) -> Any:
        """The parsed current metadata of ``name`` (metadata.TableMetadata)."""
        from doctordata.catalog.reader.metadata import TableMetadata

        location = self.location(name)
        if location is None:
            raise Unsupported(f"no table {name!r}")
        try:
            return TableMetadata.load(name, location)
        except UnsupportedAvro as exc:
            raise Unsupported(str(exc)) from None


class SharedReader:
    """One lakehouse's CatalogReader, kept open across its queries (closed with it).

    Why: opening a reader runs the open-time guards and two SQLite connections; a
    query that finds its cached plan valid then needs one SELECT per table. Per query
    this only checks that a restore is not under way (a marker file) and that the
    catalog file is the one it opened (device and inode: a restore or relocation that
    replaces the file makes it open the new one, running the guards again). A forked
    child opens its own. Each statement is its own read transaction, so a commit by
    any process is seen by the next query."""

    def __init__(self, settings: Settings, tiers: Mapping[str, Tier]) -> None:
        self._settings = settings
        self._tiers = tiers
        self._lock = threading.Lock()
        self._reader: CatalogReader | None = None
        self._identity: tuple[int, int, int] | None = None  # (pid, st_dev, st_ino)
        self._closed = False

    def get(self) -> CatalogReader | None:
        """The open reader, or None where the fast path does not apply (see open_reader).
        Raises what open_reader raises (EmptyCatalogError for a half-finished restore)."""
        from doctordata.catalog import catalog_guard

        catalog_guard.check_restore_mark(self._settings.root)
        with self._lock:
            if self._closed:
                return None
            identity = self._current_identity()
            if self._reader is not None and identity == self._identity:
                return self._reader
            self._drop()
            reader = open_reader(self._settings, self._tiers, shared=True)
            if reader is not None:
                self._reader, self._identity = reader, identity
            return reader

    def _current_identity(self) -> tuple[int, int, int] | None:
        uri = self._settings.catalog_uri
        if not uri.startswith("sqlite") or ":///" not in uri:
            return None
        try:
            st = os.stat(uri.split(":///", 1)[1].split("?", 1)[0])
        except OSError:
            return None
        return (os.getpid(), st.st_dev, st.st_ino)

    def _drop(self) -> None:
        reader, self._reader, self._identity = self._reader, None, None
        if reader is not None and reader.pid == os.getpid():
            reader.close()  # a parent's connection is never closed by a forked child

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._drop()
