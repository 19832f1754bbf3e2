"""Which files a table's metadata still references, snapshot by snapshot.

Expiry, orphan cleanup and the tier mover all ask the same question ("may this file be
deleted?"); the answer is always "only if no retained snapshot and no metadata file in
the log references it".
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from doctordata.catalog.locations import TableDirs, table_dirs
from doctordata.storage.locations import Canonicalizer

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyiceberg.table import Table
    from pyiceberg.table.snapshots import Snapshot

    from doctordata.storage.tier import Tier


@dataclass
class References:
    """Files referenced by a set of snapshots (plus the table's metadata files)."""

    data: set[str] = field(default_factory=set)  # data and delete files
    manifests: set[str] = field(default_factory=set)
    manifest_lists: set[str] = field(default_factory=set)
    metadata: set[str] = field(default_factory=set)  # metadata.json, statistics files
    by_snapshot: dict[int, set[str]] = field(default_factory=dict)  # snapshot -> data files

    def all(self) -> set[str]:
        return self.data | self.manifests | self.manifest_lists | self.metadata


def snapshot_references(table: Table, snapshots: Iterable[Snapshot]) -> References:
    """Data files, manifests and manifest lists of ``snapshots`` (manifests read once)."""
    refs = References()
    entries_of: dict[str, list[str]] = {}
    for snap in snapshots:
        refs.manifest_lists.add(snap.manifest_list)
        files: set[str] = set()
        for manifest in snap.manifests(table.io):
            refs.manifests.add(manifest.manifest_path)
            if manifest.manifest_path not in entries_of:
                entries_of[manifest.manifest_path] = [
                    e.data_file.file_path
                    for e in manifest.fetch_manifest_entry(table.io, discard_deleted=True)
                ]
            files.update(entries_of[manifest.manifest_path])
        refs.by_snapshot[snap.snapshot_id] = files
        refs.data |= files
    return refs


def table_references(table: Table) -> References:
    """Everything the table's current metadata references (all retained snapshots)."""
    refs = snapshot_references(table, table.metadata.snapshots)
    refs.metadata.add(table.metadata_location)
    refs.metadata.update(entry.metadata_file for entry in table.metadata.metadata_log)
    refs.metadata.update(s.statistics_path for s in table.metadata.statistics)
    refs.metadata.update(s.statistics_path for s in table.metadata.partition_statistics)
    return refs


# Canonical references per metadata file. Metadata files are immutable, so a table whose
# metadata location has not changed references exactly what it referenced before: the
# next maintain() walks only the tables that changed. Bounded by entries and by the
# locations they hold (a table with 1,000s of snapshots references 100,000s of files).
_CACHE: OrderedDict[str, frozenset[str]] = OrderedDict()
_CACHE_SIZE = 1024
_CACHE_LOCATIONS = 1_000_000
_CACHE_LOCK = threading.Lock()


@dataclass
class CatalogReferences:
    """What every table of a catalog references, in canonical form, and which directories
    each owns. ``unreadable``: tables whose metadata, manifest lists or manifests could not
    be read; while there are any, nothing may be deleted as unreferenced."""

    files: set[str] = field(default_factory=set)
    dirs: TableDirs = field(default_factory=TableDirs)
    unreadable: dict[str, str] = field(default_factory=dict)


def canonical_references(table: Table, canon: Canonicalizer) -> frozenset[str]:
    """Canonical form of every file ``table``'s metadata references (all snapshots,
    including branch and tag heads, manifest lists, manifests, metadata and statistics)."""
    key = table.metadata_location
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
    refs = frozenset(canon(p) for p in table_references(table).all())
    with _CACHE_LOCK:
        _CACHE[key] = refs
        _CACHE.move_to_end(key)
        while len(_CACHE) > 1 and (
            len(_CACHE) > _CACHE_SIZE or sum(map(len, _CACHE.values())) > _CACHE_LOCATIONS
        ):
            _CACHE.popitem(last=False)
    return refs


def catalog_references(
    catalog: Catalog,
    tiers: Mapping[str, Tier],
    canon: Canonicalizer | None = None,
    *,
    exclude: str | None = None,
) -> CatalogReferences:
    """:class:`CatalogReferences` of every table in ``catalog`` (but ``exclude``'s files)."""
    canon = canon or Canonicalizer()
    out = CatalogReferences(dirs=table_dirs(catalog, tiers, canon))
    out.unreadable.update(out.dirs.unreadable)
    for name, table in out.dirs.tables.items():
        if name == exclude:
            continue
        try:
            out.files |= canonical_references(table, canon)
        except Exception as exc:  # a manifest we cannot read: fail safe
            out.unreadable[name] = f"{type(exc).__name__}: {exc}"
    return out
