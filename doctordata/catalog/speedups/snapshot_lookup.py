"""Find a snapshot by id without walking the table's whole history.

pyiceberg 0.12's ``TableMetadata.snapshot_by_id`` scans ``snapshots`` from the oldest, and
an append calls it about ten times: for the current snapshot (the newest, so the scan
walks everything) and, in every ``AddSnapshotUpdate``, for the new id (absent: a full
scan). At 1,000 snapshots that was 1-2 ms of CPU per append, growing with the history
(issue 18, branch appends3: the objects are scattered over the heap, so each step is a
cache miss).

:func:`snapshot_by_id` answers the newest snapshot at once and anything else from an index
per snapshot list (metadata lists are never changed in place: every metadata model is
frozen and updates build new lists, see metadata_updates.py). An append's list is the
previous list plus one snapshot, so its index is the previous one's plus the new id (the
prefix is checked by identity, a pointer comparison per entry); only another list is
indexed from scratch. The cache holds the lists themselves, so a list's id cannot be
reused while its index is kept, and a hit is checked against the list before it is
returned.
Same answers as pyiceberg for metadata whose snapshot ids are unique (pyiceberg refuses
to add a duplicate; with duplicates the newest may be answered where pyiceberg answers
the oldest). Tests compare them. Only pyiceberg 0.12.x is patched; on any
other version ``install()`` does nothing.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

_PATCHED_VERSION = "0.12."
MAX_LISTS = 8  # a few tables' current and staged metadata
_state: dict[str, Any] = {}
_lock = threading.Lock()
_indexes: OrderedDict[int, tuple[list[Any], dict[int, int]]] = OrderedDict()


def _index(snapshots: list[Any]) -> dict[int, int]:
    """snapshot id -> a position: every id of ``snapshots`` is a key (so an absent id is
    not in the list), but a position may belong to another list of the same lineage
    (the caller checks it). Empty: no index (duplicate ids), scan instead."""
    with _lock:
        entry = _indexes.get(id(snapshots))
        if entry is not None and entry[0] is snapshots:
            _indexes.move_to_end(id(snapshots))
            return entry[1]
        base = _extended(snapshots)
        if base is not None:
            # An append's list (the previous list + its snapshot): the previous list's
            # index, shared, gains the new ids; no walk over the old snapshots' fields.
            kept, index = base
            for pos in range(kept, len(snapshots)):
                index.setdefault(snapshots[pos].snapshot_id, pos)
            _remember(snapshots, index)
            return index
    index = {snapshot.snapshot_id: pos for pos, snapshot in enumerate(snapshots)}
    if len(index) != len(snapshots):
        return {}  # duplicate ids (invalid metadata): the caller scans, as pyiceberg does
    with _lock:
        _remember(snapshots, index)
    return index


def _extended(snapshots: list[Any]) -> tuple[int, dict[int, int]] | None:
    """(length, index) of a kept list that ``snapshots`` starts with (caller holds the lock)."""
    for kept, index in reversed(_indexes.values()):
        n = len(kept)
        # A pointer comparison per entry (list equality checks identity first).
        if 0 < n < len(snapshots) and snapshots[n - 1] is kept[-1] and snapshots[:n] == kept:
            return n, index
    return None


def _remember(snapshots: list[Any], index: dict[int, int]) -> None:
    _indexes[id(snapshots)] = (snapshots, index)
    while len(_indexes) > MAX_LISTS:
        _indexes.popitem(last=False)


def snapshot_by_id(self: Any, snapshot_id: int) -> Any:
    """``TableMetadata.snapshot_by_id``: the snapshot with this id, or None."""
    snapshots = self.snapshots
    if not snapshots:
        return None
    if snapshots[-1].snapshot_id == snapshot_id:
        return snapshots[-1]  # the current snapshot, almost always
    if not isinstance(snapshots, list):
        return _scan(snapshots, snapshot_id)
    index = _index(snapshots)
    if not index:
        return _scan(snapshots, snapshot_id)
    pos = index.get(snapshot_id)
    if pos is None:
        return None  # every id of the list is in its index
    found = snapshots[pos] if pos < len(snapshots) else None
    if found is None or found.snapshot_id != snapshot_id:  # another list's position
        return _scan(snapshots, snapshot_id)
    return found


def _scan(snapshots: Any, snapshot_id: int) -> Any:
    return next((s for s in snapshots if s.snapshot_id == snapshot_id), None)


def installed() -> bool:
    return bool(_state.get("installed"))


def install() -> bool:
    """Patch pyiceberg 0.12.x (idempotent); whether the patch is active."""
    if _state.get("installed"):
        return True
    import pyiceberg
    from pyiceberg.table.metadata import TableMetadataCommonFields

    if not pyiceberg.__version__.startswith(_PATCHED_VERSION):
        return False
    if not callable(getattr(TableMetadataCommonFields, "snapshot_by_id", None)):
        return False
    _state["original"] = TableMetadataCommonFields.snapshot_by_id
    TableMetadataCommonFields.snapshot_by_id = snapshot_by_id
    _state["installed"] = True
    return True


def original() -> Any:
    """pyiceberg's own method (for the equivalence tests)."""
    from pyiceberg.table.metadata import TableMetadataCommonFields

    return _state.get("original", TableMetadataCommonFields.snapshot_by_id)
