"""What a table references: the one answer to "which files does this table still need?".

Two entry points, for two starting points:

- :func:`table_references` / :func:`catalog_references` start from a loaded pyiceberg
  Table and answer the deletion question for expiry, orphan cleanup and the tier mover:
  a file may go only if no retained snapshot (branches and tags included) and no metadata
  file in the log references it, compared in canonical form.
- :func:`walk_table` starts from a bare metadata location (as a catalog copy gives it),
  reads the Avro files itself and keeps each file's kind and recorded size: backup (what
  to copy) and integrity checks (what must exist) use it.

Iceberg files are immutable, so a set taken from one catalog state is a consistent
picture of the table even while writers keep appending.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from doctordata.catalog.locations import TableDirs, table_dirs
from doctordata.storage.locations import Canonicalizer

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyiceberg.io import FileIO
    from pyiceberg.table import Table
    from pyiceberg.table.metadata import TableMetadata
    from pyiceberg.table.snapshots import Snapshot

    from doctordata.storage.tier import Tier


# -- from a loaded table: may this file be deleted? ----------------------------------------


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


# -- from a metadata location: every file, with its kind and size ----------------------

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
    # An earlier metadata.json from the metadata-log: history, which pyiceberg may prune.
    optional: bool = False


@dataclass
class WalkCache:
    """What manifest lists and manifests contain, keyed by their (immutable) location.

    A backup stores this, so the next backup reads only manifests written since: the
    walk of a long-lived table costs O(new manifests), not O(all snapshots).
    """

    # manifest list -> [[manifest location, manifest length], ...]
    manifest_lists: dict[str, list[list[Any]]] = field(default_factory=dict)
    # manifest -> [[file location, kind, size], ...] (live entries only)
    manifests: dict[str, list[list[Any]]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON for a backup manifest. Each manifest list repeats its parent's entries,
        so the lists are stored as indices into one table of distinct [location, length]
        entries: O(snapshots x manifests) small integers instead of as many locations
        (a 100-snapshot table: kilobytes instead of a megabyte written and parsed by every
        backup). ``manifest_lists`` stays empty, so a reader that predates the indices
        simply reads the manifest lists again."""
        entries: dict[tuple[str, int], int] = {}
        index: dict[str, list[int]] = {}
        for location, listed in self.manifest_lists.items():
            index[location] = [
                entries.setdefault((path, length), len(entries)) for path, length in listed
            ]
        return {
            "manifest_lists": {},
            "manifest_list_entries": [list(e) for e in entries],
            "manifest_list_index": index,
            "manifests": self.manifests,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> WalkCache:
        data = data or {}
        lists = dict(data.get("manifest_lists", {}))
        entries = data.get("manifest_list_entries") or []
        for location, positions in (data.get("manifest_list_index") or {}).items():
            lists[location] = [entries[i] for i in positions]
        return cls(lists, dict(data.get("manifests", {})))


OnRef = Callable[[FileRef], None]


@dataclass
class WalkedRefs:
    """A table's referenced files, plus what could not be read while walking them."""

    table: str
    metadata_location: str
    files: dict[str, FileRef] = field(default_factory=dict)
    # (path, kind, reason): a manifest list or manifest that could not be read.
    unreadable: list[tuple[str, str, str]] = field(default_factory=list)
    on_ref: OnRef | None = None

    def add(self, ref: FileRef) -> None:
        if ref.path not in self.files:
            self.files[ref.path] = ref
            if self.on_ref is not None:
                self.on_ref(ref)


@dataclass
class TableRefs(WalkedRefs):
    """:class:`WalkedRefs` with the table's metadata (integrity checks read it)."""

    metadata: TableMetadata = field(kw_only=True)


@dataclass(frozen=True)
class MetadataFiles:
    """What one metadata.json references: all a walk needs from it."""

    metadata_log: list[str]  # earlier metadata.json files
    statistics: list[tuple[str, int | None]]  # (path, size): table and partition stats
    current_snapshot_id: int | None
    snapshots: list[tuple[int, str]]  # (snapshot id, manifest list)

    @classmethod
    def of(cls, metadata: TableMetadata) -> MetadataFiles:
        return cls(
            [e.metadata_file for e in metadata.metadata_log],
            [
                (s.statistics_path, s.file_size_in_bytes)
                for s in [*metadata.statistics, *metadata.partition_statistics]
            ],
            metadata.current_snapshot_id,
            [(s.snapshot_id, s.manifest_list) for s in metadata.snapshots],
        )

    @classmethod
    def from_json(cls, data: Any) -> MetadataFiles:
        """The same fields from the parsed JSON (Iceberg's field names; -1 = no current
        snapshot, as pyiceberg reads it). ValueError if one is missing or malformed."""
        try:
            current = data.get("current-snapshot-id")
            stats = [*(data.get("statistics") or []), *(data.get("partition-statistics") or [])]
            return cls(
                [str(e["metadata-file"]) for e in data.get("metadata-log") or []],
                [(str(s["statistics-path"]), s.get("file-size-in-bytes")) for s in stats],
                None if current in (None, -1) else int(current),
                [
                    (int(s["snapshot-id"]), str(s["manifest-list"]))
                    for s in data.get("snapshots") or []
                ],
            )
        except (AttributeError, KeyError, TypeError) as exc:
            raise ValueError(f"not an Iceberg table metadata file: {exc!r}") from None


def read_metadata(io: FileIO, location: str) -> TableMetadata:
    from pyiceberg.serializers import FromInputFile

    return FromInputFile.table_metadata(io.new_input(location))


def read_metadata_files(io: FileIO, location: str) -> MetadataFiles:
    """:class:`MetadataFiles` of ``location``, parsed with json alone where it is plain JSON:
    pyiceberg's full model costs several times more for a table with many snapshots, and
    a backup needs only these fields. Raises OSError if the file cannot be read."""
    import json

    if location.endswith(".gz.metadata.json"):  # compressed: pyiceberg knows how
        return MetadataFiles.of(read_metadata(io, location))
    with io.new_input(location).open() as f:
        data = json.loads(f.read())
    return MetadataFiles.from_json(data)


def walk_table(
    io: FileIO,
    table: str,
    metadata_location: str,
    *,
    known: WalkCache | None = None,
    record: WalkCache | None = None,
    on_ref: OnRef | None = None,
) -> TableRefs:
    """Walk ``metadata_location`` and collect every file it references.

    ``known``: contents of manifests already read (by an earlier backup); ``record``
    receives the contents of every manifest this walk covers. ``on_ref`` is called for
    each new file as soon as it is found (backup starts copying while the walk goes on).
    With ``known``, files of cached manifests carry no partition (small-file checks need
    a full walk). Raises OSError if the metadata.json itself cannot be read; anything
    below it that is missing is recorded in ``unreadable``.
    """
    metadata = read_metadata(io, metadata_location)
    refs = TableRefs(table, metadata_location, on_ref=on_ref, metadata=metadata)
    _walk(io, refs, MetadataFiles.of(metadata), known, record)
    return refs


def walk_references(
    io: FileIO,
    table: str,
    metadata_location: str,
    files: MetadataFiles,
    *,
    known: WalkCache | None = None,
    record: WalkCache | None = None,
    on_ref: OnRef | None = None,
) -> WalkedRefs:
    """:func:`walk_table` from ``files``, the metadata.json already read (by
    :func:`read_metadata_files`)."""
    refs = WalkedRefs(table, metadata_location, on_ref=on_ref)
    _walk(io, refs, files, known, record)
    return refs


def _walk(
    io: FileIO,
    refs: WalkedRefs,
    metadata: MetadataFiles,
    known: WalkCache | None,
    record: WalkCache | None,
) -> None:
    table = refs.table
    refs.add(FileRef(refs.metadata_location, "metadata", table))
    for path in metadata.metadata_log:
        refs.add(FileRef(path, "metadata", table, optional=True))
    for path, size in metadata.statistics:
        refs.add(FileRef(path, "statistics", table, size))
    current_id = metadata.current_snapshot_id
    seen_manifests: set[str] = set()
    # The current snapshot first, so its files are tagged current when manifests are shared.
    for snapshot_id, manifest_list in sorted(metadata.snapshots, key=lambda s: s[0] != current_id):
        refs.add(FileRef(manifest_list, "manifest-list", table))
        manifests = _manifest_list(io, manifest_list, refs, known, record)
        is_current = snapshot_id == current_id
        for path, length in manifests:
            # Each snapshot lists its parent's manifests again: skip those early, without
            # building a FileRef (a backup walks snapshots x manifests of them).
            if path in seen_manifests:
                continue
            seen_manifests.add(path)
            refs.add(FileRef(path, "manifest", table, length))
            _manifest(io, path, refs, is_current, known, record)


def _manifest_list(
    io: FileIO, location: str, refs: WalkedRefs, known: WalkCache | None, record: WalkCache | None
) -> list[list[Any]]:
    if known is not None and location in known.manifest_lists:
        manifests = known.manifest_lists[location]
    else:
        from pyiceberg.manifest import PartitionFieldSummary
        from pyiceberg.typedef import Record

        try:
            # Only the fields we keep are decoded into records; the rest is skipped.
            with _avro_file(
                io.new_input(location),
                _manifest_list_paths(),
                read_types={-1: Record, 508: PartitionFieldSummary},
                read_enums={},
            ) as reader:
                manifests = [[m[0], m[1]] for m in reader]
        except (OSError, ValueError) as exc:
            refs.unreadable.append((location, "manifest-list", _reason(exc)))
            return []
    if record is not None:
        record.manifest_lists[location] = manifests
    return manifests


@functools.cache
def _manifest_list_paths() -> Any:
    """The manifest-list read schema cut down to manifest_path, manifest_length (and
    partitions: pyiceberg cannot skip a list the read schema leaves out)."""
    from pyiceberg.manifest import DEFAULT_READ_VERSION, MANIFEST_LIST_FILE_SCHEMAS

    return MANIFEST_LIST_FILE_SCHEMAS[DEFAULT_READ_VERSION].select(
        "manifest_path", "manifest_length", "partitions"
    )


def _manifest(
    io: FileIO,
    location: str,
    refs: WalkedRefs,
    is_current: bool,
    known: WalkCache | None,
    record: WalkCache | None,
) -> None:
    table = refs.table
    if known is not None and location in known.manifests:
        entries = known.manifests[location]
        for path, cached_kind, size in entries:
            refs.add(FileRef(path, cached_kind, table, size, current=is_current))
    else:
        from pyiceberg.manifest import DataFileContent

        try:
            read = _live_entries(io, location)
        except (OSError, ValueError) as exc:
            refs.unreadable.append((location, "manifest", _reason(exc)))
            return
        entries = []
        for entry in read:
            df = entry.data_file
            kind: FileKind = "data" if df.content == DataFileContent.DATA else "delete"
            entries.append([df.file_path, kind, df.file_size_in_bytes])
            partition = repr(df.partition) if is_current else None
            refs.add(
                FileRef(df.file_path, kind, table, df.file_size_in_bytes, partition, is_current)
            )
    if record is not None:
        record.manifests[location] = entries


def _live_entries(io: FileIO, location: str) -> list[Any]:
    """A manifest's live entries (what ManifestFile.fetch_manifest_entry reads, without
    needing the manifest-list record: we only want paths, kinds and sizes)."""
    from pyiceberg.manifest import (
        DEFAULT_READ_VERSION,
        MANIFEST_ENTRY_SCHEMAS,
        DataFile,
        DataFileContent,
        FileFormat,
        ManifestEntry,
        ManifestEntryStatus,
    )

    with _avro_file(
        io.new_input(location),
        MANIFEST_ENTRY_SCHEMAS[DEFAULT_READ_VERSION],
        read_types={-1: ManifestEntry, 2: DataFile},
        read_enums={0: ManifestEntryStatus, 101: FileFormat, 134: DataFileContent},
    ) as reader:
        return [e for e in reader if e.status != ManifestEntryStatus.DELETED]


# (writer schema JSON, read schema, read types, read enums) -> (file schema, reader).
_READERS: dict[tuple[Any, ...], tuple[Any, Any]] = {}
_READERS_LOCK = threading.Lock()


def _avro_file(
    input_file: Any, read_schema: Any, read_types: dict[int, Any], read_enums: dict[int, Any]
) -> Any:
    """pyiceberg's AvroFile, with the schema conversion and reader resolution cached.

    Every manifest of a table carries the same writer schema, yet pyiceberg converts and
    resolves it again per file (~10 ms each: most of a backup's walk over hundreds of
    snapshots). The resolved reader is stateless (it reads from the decoder it is given),
    so one per distinct schema serves every file.
    """
    return _cached_avro_file_class()(input_file, read_schema, read_types, read_enums)


@functools.cache
def _cached_avro_file_class() -> Any:
    from pyiceberg.avro.decoder import new_decoder
    from pyiceberg.avro.file import AvroFile
    from pyiceberg.avro.resolver import resolve_reader

    class CachedAvroFile(AvroFile[Any]):
        def __enter__(self) -> CachedAvroFile:
            with self.input_file.open() as f:
                self.decoder = new_decoder(f.read())
            # pyiceberg builds the header reader again for every file (~0.4 ms each).
            self.header = _header_reader().read(self.decoder)
            me: Any = self  # pyiceberg declares these slots without types mypy can see
            read_schema = me.read_schema
            key = (
                self.header.meta.get("avro.schema"),
                id(read_schema),
                tuple(sorted((k, id(v)) for k, v in self.read_types.items())),
                tuple(sorted((k, id(v)) for k, v in self.read_enums.items())),
            )
            with _READERS_LOCK:
                cached = _READERS.get(key)
            if cached is None:
                schema = self.header.get_schema()
                reader = resolve_reader(
                    schema, read_schema or schema, self.read_types, self.read_enums
                )
                cached = (schema, reader)
                with _READERS_LOCK:
                    _READERS[key] = cached
            self.schema, self.reader = cached
            if read_schema is None:
                me.read_schema = self.schema
            return self

    return CachedAvroFile


@functools.cache
def _header_reader() -> Any:
    """The reader of an Avro file header (stateless: it reads from the decoder given)."""
    from pyiceberg.avro.file import META_SCHEMA, AvroFileHeader
    from pyiceberg.avro.resolver import construct_reader

    return construct_reader(META_SCHEMA, {-1: AvroFileHeader})


def _reason(exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError):
        return "missing"
    return f"{type(exc).__name__}: {exc}"
