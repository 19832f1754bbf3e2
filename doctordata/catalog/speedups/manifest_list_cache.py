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

        def prepare_manifest(self: Any, manifest_file: Any) -> Any:
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
    _state["installed"] = active
    return active
