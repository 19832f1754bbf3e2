"""Keep the manifest lists this process wrote, so the next commit does not read them back.

Every append reads the manifest list of the table's current snapshot (to carry its
manifests over); after an append by this process that is the list it has just written,
read back from disk and parsed in pure-Python Avro (~1.5 ms per append at 1,000
snapshots, benchmarks/results/ducklake.md, "Appends"). A manifest list is never changed
once written (its name holds a UUID), so the ManifestFile records handed to the writer,
as the writer prepared them (sequence numbers assigned), are exactly what reading the
file returns: they are kept here by location once the file is closed without error, and
pyiceberg's ``_manifests`` returns them instead of reading the file. Only format-version
2 lists (a v1 list reads back with defaults filled in; v3 assigns row ids) and only
pyiceberg 0.12.x; on any other version ``install()`` does nothing.

Manifests likewise: every ~99th append merges ~100 one-entry manifests, each read back and
its Avro header parsed (100-400 ms). The entries a v2 manifest writer wrote are kept by
location (the ``MAX_MANIFESTS`` newest) and ``fetch_manifest_entry`` returns copies of
them with the manifest's values inherited exactly as a read does.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

_PATCHED_VERSION = "0.12."
MAX_LISTS = 32  # the newest lists written; one per table committed to is what is reused
_state: dict[str, Any] = {}
_lock = threading.Lock()
_written: OrderedDict[str, tuple[Any, ...]] = OrderedDict()
MAX_MANIFESTS = 512  # entries of the newest manifests written (one-entry ones, mostly)
_entries: OrderedDict[str, tuple[Any, ...]] = OrderedDict()


def _copy(record: Any) -> Any:
    """A new Record with the same values (Records keep their values in one list)."""
    out = type(record)(*record._data)
    if getattr(record, "__dict__", None):
        out.__dict__.update(record.__dict__)
    return out


def _entry_copy(entry: Any) -> Any:
    out = _copy(entry)
    out.data_file = _copy(entry.data_file)
    return out


def cached_entries(location: str) -> tuple[Any, ...] | None:
    """The entries of a manifest this process wrote (as written), if still kept."""
    with _lock:
        hit = _entries.get(location)
        if hit is not None:
            _entries.move_to_end(location)
        return hit


def _keep_entries(location: str, entries: tuple[Any, ...]) -> None:
    with _lock:
        _entries[location] = entries
        while len(_entries) > MAX_MANIFESTS:
            _entries.popitem(last=False)


def cached(location: str) -> tuple[Any, ...] | None:
    """The ManifestFiles of a manifest list this process wrote, if still kept."""
    with _lock:
        hit = _written.get(location)
        if hit is not None:
            _written.move_to_end(location)
        return hit


def _keep(location: str, manifests: tuple[Any, ...]) -> None:
    with _lock:
        _written[location] = manifests
        while len(_written) > MAX_LISTS:
            _written.popitem(last=False)


def install() -> bool:
    """Patch the v2 manifest list writer and ``_manifests`` once; whether it is active."""
    if "installed" in _state:
        return bool(_state["installed"])
    import pyiceberg
    from pyiceberg import manifest
    from pyiceberg.table import snapshots

    active = pyiceberg.__version__.startswith(_PATCHED_VERSION) and (
        snapshots._manifests is manifest._manifests
    )
    if active:
        writer = manifest.ManifestListWriterV2
        prepare, close, read = writer.prepare_manifest, writer.__exit__, manifest._manifests
        unassigned = manifest.UNASSIGNED_SEQ

        def prepare_manifest(self: Any, manifest_file: Any) -> Any:
            if (
                manifest_file.sequence_number != unassigned
                and manifest_file.min_sequence_number != unassigned
            ):
                # pyiceberg copies it and changes nothing: a manifest carried over from
                # the previous list (all but the new one; ~7 us each, ~50 per append).
                prepared = manifest_file
            else:
                prepared = prepare(self, manifest_file)
            self.__dict__.setdefault("_dd_prepared", []).append(prepared)
            return prepared

        def __exit__(self: Any, exc_type: Any, exc: Any, tb: Any) -> None:
            close(self, exc_type, exc, tb)  # raises if the file could not be closed
            if exc_type is None:
                _keep(self._output_file.location, tuple(self.__dict__.get("_dd_prepared", ())))

        def _manifests(io: Any, manifest_list: str) -> tuple[Any, ...]:
            hit = cached(manifest_list)
            if hit is None:
                return tuple(read(io, manifest_list))
            shared = manifest._manifest_cache  # pyiceberg's ManifestFile cache, as read does
            return tuple(shared.get_or_cache(m) for m in hit)

        writer.prepare_manifest = prepare_manifest
        writer.__exit__ = __exit__
        manifest._manifests = _manifests
        snapshots._manifests = _manifests  # imported by name there
        _install_entries(manifest)
    _state["installed"] = active
    return active


def _install_entries(manifest: Any) -> None:
    writer = manifest.ManifestWriterV2
    prepare, close = writer.prepare_entry, writer.__exit__
    fetch = manifest.ManifestFile.fetch_manifest_entry
    deleted = manifest.ManifestEntryStatus.DELETED
    inherit = manifest._inherit_from_manifest

    def prepare_entry(self: Any, entry: Any) -> Any:
        prepared = prepare(self, entry)
        # A copy: the writer's caller may go on using its own entry objects.
        self.__dict__.setdefault("_dd_entries", []).append(_entry_copy(prepared))
        return prepared

    def __exit__(self: Any, exc_type: Any, exc: Any, tb: Any) -> None:
        close(self, exc_type, exc, tb)
        if exc_type is None:
            _keep_entries(self._output_file.location, tuple(self.__dict__.get("_dd_entries", ())))

    def fetch_manifest_entry(self: Any, io: Any, discard_deleted: bool = True) -> list[Any]:
        hit = cached_entries(self.manifest_path)
        if hit is None:
            return list(fetch(self, io, discard_deleted))
        return [
            inherit(_entry_copy(entry), self)
            for entry in hit
            if not discard_deleted or entry.status != deleted
        ]

    writer.prepare_entry = prepare_entry
    writer.__exit__ = __exit__
    manifest.ManifestFile.fetch_manifest_entry = fetch_manifest_entry
