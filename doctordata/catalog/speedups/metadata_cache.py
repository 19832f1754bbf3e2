"""Reuse parsed metadata.json files instead of parsing the same file again.

pyiceberg's SqlCatalog parses the table's metadata.json on every ``load_table``, and an
append loads the table twice (``lh.append`` loads it, then the commit loads it again to
compare-and-swap). The file lists every snapshot, so at 1,000 snapshots each parse cost
~40 ms, most of an append's commit time.

An Iceberg metadata.json is written once under a fresh name and never changed, so a
parsed copy keyed by its location stays valid. The catalog row is still read on every
load (other processes' commits are seen at once); only the file parse is skipped. As a
guard against a file replaced in place (a restore, a test corrupting it on purpose), an
entry also records the file's size and mtime and is used only while both still match;
files on object storage are not cached. The metadata models are frozen and nothing
edits their containers in place (see metadata_updates.py), so sharing one parsed object
between Table instances is safe.

The same catalog class writes metadata.json through metadata_json.MetadataWriter, which
produces pyiceberg's exact bytes without re-serializing every old snapshot.

It also reads the catalog row with one prepared SQL statement instead of pyiceberg's ORM
query, which SQLAlchemy builds and compiles anew on every call: an append loads its table
twice (once to plan, once in the compare-and-swap commit), and the two ORM queries were
~1 ms of CPU per append each on a loaded box (issue 18, branch appends3). Same row, same
filter (the iceberg_type of the v1 schema), same NoSuchTableError.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyiceberg.table.metadata import TableMetadata

# Bounded by entries and by the snapshots they hold (a parsed file's size grows with its
# snapshots): one maintain() or query over a few hundred small tables reuses every parse,
# while a handful of tables with 1,000s of snapshots each still fit in tens of MB. (16
# entries used to be the bound: with more tables than that, every load missed.)
MAX_ENTRIES = 512
MAX_SNAPSHOTS = 16_000


def _weight(metadata: TableMetadata) -> int:
    return 1 + len(getattr(metadata, "snapshots", ()))


def _local_path(location: str) -> str | None:
    if location.startswith("file://"):
        return location[len("file://") :]
    if location.startswith("/"):
        return location
    return None


def _signature(location: str) -> tuple[int, int] | None:
    path = _local_path(location)
    if path is None:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


class MetadataCache:
    """location -> (size, mtime_ns, parsed metadata), least recently used dropped first."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_snapshots: int = MAX_SNAPSHOTS) -> None:
        self._entries: OrderedDict[str, tuple[tuple[int, int], TableMetadata]] = OrderedDict()
        self._max = max_entries
        self._max_weight = max_snapshots
        self._weight = 0
        self._lock = threading.Lock()  # queries may load tables from several threads

    def get(self, location: str) -> TableMetadata | None:
        signature = _signature(location)
        with self._lock:
            entry = self._entries.get(location)
            if entry is None:
                return None
            if signature != entry[0]:
                self._drop(location)  # replaced or removed since: parse it again
                return None
            self._entries.move_to_end(location)
            return entry[1]

    def put(self, location: str, metadata: TableMetadata) -> None:
        signature = _signature(location)
        if signature is None:
            return
        with self._lock:
            self._drop(location)
            self._entries[location] = (signature, metadata)
            self._weight += _weight(metadata)
            while len(self._entries) > 1 and (
                len(self._entries) > self._max or self._weight > self._max_weight
            ):
                self._drop(next(iter(self._entries)))  # least recently used

    def _drop(self, location: str) -> None:
        entry = self._entries.pop(location, None)
        if entry is not None:
            self._weight -= _weight(entry[1])

    def __len__(self) -> int:
        return len(self._entries)


@cache
def caching_sql_catalog() -> type:
    """SqlCatalog whose loads reuse parsed metadata (a class built on first use: lazy import)."""
    from pyiceberg.catalog import Catalog
    from pyiceberg.catalog.sql import ICEBERG_TABLE_TYPE, SqlCatalog
    from pyiceberg.exceptions import CommitFailedException, NoSuchTableError
    from pyiceberg.table import CommitTableResponse, Table
    from sqlalchemy import text

    # The catalog row, as pyiceberg's load_table selects it (a prepared statement: text()
    # is compiled once per dialect, not per call like the ORM query).
    load = (
        "SELECT table_namespace, table_name, metadata_location FROM iceberg_tables "
        "WHERE catalog_name = :catalog AND table_namespace = :namespace AND table_name = :name"
    )
    load_any = text(load)
    load_typed = text(load + " AND (iceberg_type = :table_type OR iceberg_type IS NULL)")
    # The commit's compare-and-swap, as pyiceberg's ORM update() spells it.
    swap = text(
        "UPDATE iceberg_tables SET metadata_location = :new, previous_metadata_location = :old "
        "WHERE catalog_name = :catalog AND table_namespace = :namespace "
        "AND table_name = :name AND metadata_location = :old"
    )

    from doctordata.catalog.speedups.metadata_json import MetadataWriter

    class CachingSqlCatalog(SqlCatalog):
        """pyiceberg's SqlCatalog, parsing each metadata.json once per process."""

        def __init__(self, name: str, **properties: str) -> None:
            super().__init__(name, **properties)
            self.metadata_cache = MetadataCache()
            self.metadata_writer = MetadataWriter()

        def load_table(self, identifier: str | tuple[str, ...]) -> Table:
            namespace = Catalog.namespace_to_string(Catalog.namespace_from(identifier))
            table_name = Catalog.table_name_from(identifier)
            v1 = self._schema_version == "v1"  # pyiceberg's filter: no views, where typed
            with self.engine.connect() as conn:
                row = conn.execute(
                    load_typed if v1 else load_any,
                    {"catalog": self.name, "namespace": namespace, "name": table_name}
                    | ({"table_type": ICEBERG_TABLE_TYPE} if v1 else {}),
                ).first()
            if row is None:
                raise NoSuchTableError(f"Table does not exist: {namespace}.{table_name}")
            return self._convert_orm_to_iceberg(row)

        def _write_metadata(self, metadata: TableMetadata, io: Any, metadata_path: str) -> None:
            # Same bytes as pyiceberg's, without re-serializing every old snapshot.
            self.metadata_writer.write(metadata, io, metadata_path)

        def _convert_orm_to_iceberg(self, orm_table: Any) -> Table:
            location = orm_table.metadata_location
            cached = self.metadata_cache.get(location) if location else None
            if cached is None or not orm_table.table_namespace or not orm_table.table_name:
                table: Table = super()._convert_orm_to_iceberg(orm_table)
                self.metadata_cache.put(table.metadata_location, table.metadata)
                return table
            return Table(
                identifier=(
                    *Catalog.identifier_to_tuple(orm_table.table_namespace),
                    orm_table.table_name,
                ),
                metadata=cached,
                metadata_location=location,
                io=self._load_file_io(cached.properties, location),
                catalog=self,
            )

        def commit_table(self, table: Table, requirements: Any, updates: Any) -> Any:
            response: CommitTableResponse | None = None
            if self.engine.dialect.supports_sane_rowcount:
                response = self._swap(table, requirements, updates)
            if response is None:  # a new table's row, or no reliable rowcount: pyiceberg
                response = super().commit_table(table, requirements, updates)
            # The file was just written (and fsynced) from exactly this object.
            self.metadata_cache.put(response.metadata_location, response.metadata)
            return response

        def _swap(self, table: Table, requirements: Any, updates: Any) -> Any:
            """pyiceberg's commit of an existing table (0.12 ``SqlCatalog.commit_table``,
            the ``supports_sane_rowcount`` branch): the same steps, the same
            compare-and-swap UPDATE ... WHERE metadata_location = <the base's> in one
            transaction, the same errors; only the UPDATE is a prepared statement on a
            connection instead of an ORM statement built per call in a Session (~0.5 ms
            of CPU per append, issue 18). None when the table has no row yet."""
            identifier = table.name()
            namespace = Catalog.namespace_to_string(Catalog.namespace_from(identifier))
            name = Catalog.table_name_from(identifier)
            try:
                current = self.load_table(identifier)
            except NoSuchTableError:
                return None
            staged = self._update_and_stage_table(current, identifier, requirements, updates)
            if staged.metadata == current.metadata:
                return CommitTableResponse(
                    metadata=current.metadata, metadata_location=current.metadata_location
                )
            self._write_metadata(
                metadata=staged.metadata, io=staged.io, metadata_path=staged.metadata_location
            )
            with self.engine.begin() as conn:
                swapped = conn.execute(
                    swap,
                    {
                        "new": staged.metadata_location,
                        "old": current.metadata_location,
                        "catalog": self.name,
                        "namespace": namespace,
                        "name": name,
                    },
                )
                if swapped.rowcount < 1:
                    raise CommitFailedException(
                        f"Table has been updated by another process: {namespace}.{name}"
                    )
            return CommitTableResponse(
                metadata=staged.metadata, metadata_location=staged.metadata_location
            )

    return CachingSqlCatalog
