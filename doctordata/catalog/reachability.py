"""Which files a table's metadata still references, snapshot by snapshot.

Expiry, orphan cleanup and the tier mover all ask the same question ("may this file be
deleted?"); the answer is always "only if no retained snapshot and no metadata file in
the log references it".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyiceberg.table import Table
    from pyiceberg.table.snapshots import Snapshot


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
