"""Every file a table's metadata references, with its kind and recorded size.

Used by backup (what to copy) and integrity checks (what must exist). Walking from one
metadata.json: the metadata-log (earlier metadata files), each retained snapshot's
manifest list, each manifest, and each live data/delete file in them, plus statistics
files. Iceberg files are immutable, so this set, taken from one catalog state, is a
consistent picture of the table even while writers keep appending. (reachability.py
answers the deletion question for maintenance from a loaded Table; this module starts
from a bare metadata location, as a catalog copy gives it, and keeps sizes.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from pyiceberg.io import FileIO
    from pyiceberg.table.metadata import TableMetadata

FileKind = Literal["metadata", "manifest-list", "manifest", "data", "delete", "statistics"]

# Order in which restore writes kinds: manifests before the manifest lists that record
# their lengths; metadata.json last.
KIND_ORDER: dict[str, int] = {
    "data": 0,
    "delete": 0,
    "statistics": 0,
    "manifest": 1,
    "manifest-list": 2,
    "metadata": 3,
}


@dataclass(frozen=True)
class FileRef:
    """One referenced file. ``size`` is the size Iceberg recorded (None if it records none)."""

    path: str
    kind: FileKind
    table: str
    size: int | None = None
    # Partition of a data file in the current snapshot (for small-file checks), else None.
    partition: str | None = None
    current: bool = False


@dataclass
class TableRefs:
    """A table's referenced files, plus what could not be read while walking them."""

    table: str
    metadata_location: str
    metadata: TableMetadata
    files: dict[str, FileRef] = field(default_factory=dict)
    # (path, kind, reason): a manifest list or manifest that could not be read.
    unreadable: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, ref: FileRef) -> None:
        self.files.setdefault(ref.path, ref)


def read_metadata(io: FileIO, location: str) -> TableMetadata:
    from pyiceberg.serializers import FromInputFile

    return FromInputFile.table_metadata(io.new_input(location))


def table_references(io: FileIO, table: str, metadata_location: str) -> TableRefs:
    """Walk ``metadata_location`` and collect every file it references.

    Raises OSError if the metadata.json itself cannot be read; anything below it that is
    missing is recorded in ``unreadable`` so callers decide (backup retries, verify reports).
    """
    metadata = read_metadata(io, metadata_location)
    refs = TableRefs(table, metadata_location, metadata)
    refs.add(FileRef(metadata_location, "metadata", table))
    for entry in metadata.metadata_log:
        refs.add(FileRef(entry.metadata_file, "metadata", table))
    for stats in [*metadata.statistics, *metadata.partition_statistics]:
        refs.add(FileRef(stats.statistics_path, "statistics", table, stats.file_size_in_bytes))
    current_id = metadata.current_snapshot_id
    seen_manifests: set[str] = set()
    # The current snapshot first, so its files are tagged current when manifests are shared.
    for snapshot in sorted(metadata.snapshots, key=lambda s: s.snapshot_id != current_id):
        refs.add(FileRef(snapshot.manifest_list, "manifest-list", table))
        try:
            manifests = _read_manifest_list(io, snapshot.manifest_list)
        except (OSError, ValueError) as exc:
            refs.unreadable.append((snapshot.manifest_list, "manifest-list", _reason(exc)))
            continue
        is_current = snapshot.snapshot_id == current_id
        for manifest in manifests:
            path = manifest.manifest_path
            refs.add(FileRef(path, "manifest", table, manifest.manifest_length))
            if path in seen_manifests:
                continue
            seen_manifests.add(path)
            try:
                entries = manifest.fetch_manifest_entry(io, discard_deleted=True)
            except (OSError, ValueError) as exc:
                refs.unreadable.append((path, "manifest", _reason(exc)))
                continue
            for entry in entries:
                _add_entry(refs, entry.data_file, table, is_current)
    return refs


def _add_entry(refs: TableRefs, data_file: Any, table: str, is_current: bool) -> None:
    from pyiceberg.manifest import DataFileContent

    kind: FileKind = "data" if data_file.content == DataFileContent.DATA else "delete"
    refs.add(
        FileRef(
            data_file.file_path,
            kind,
            table,
            data_file.file_size_in_bytes,
            partition=repr(data_file.partition) if is_current else None,
            current=is_current,
        )
    )


def _read_manifest_list(io: FileIO, location: str) -> list[Any]:
    from pyiceberg.manifest import read_manifest_list

    return list(read_manifest_list(io.new_input(location)))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError):
        return "missing"
    return f"{type(exc).__name__}: {exc}"
