"""What the newest complete backup on a target lets the next backup skip.

An incremental backup stores a file again only if it cannot prove the store already
holds its bytes. Without reading the file, it may reuse the object the previous complete
backup recorded for the same location when all of these hold:

- the size Iceberg records for the file (if any) is the recorded one;
- the object is still in the store (one stat each; S3: the listing made up front);
- a local file still has the size, modification time and change time it had when it was
  copied. Iceberg never rewrites a file in place, so a file whose stamp moved has been
  written to by something else (a damaged disk being repaired, a tool writing into the
  lake): it is read and stored again, and if its bytes differ the backup says so. A file
  copied before stamps were recorded is read again once. Files on S3 tiers have no cheap
  stamp: the location and size decide, as Iceberg's immutability promises.

:func:`load_previous` does its stats in one tight loop; the backup runs it in a helper
thread while SQLite copies the catalog (both release the GIL), so the metadata walk finds
each answer in a dict instead of waiting on a syscall per file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from doctordata.catalog.backup_manifest import SOURCE_STAMPS, BackupFile
from doctordata.catalog.locations import split_location
from doctordata.errors import BackupError

if TYPE_CHECKING:
    from doctordata.catalog.backup_store import BackupTarget
    from doctordata.catalog.file_refs import WalkCache

ENTRY_KEYS = {f.name for f in fields(BackupFile)}
Stamp = list[int]  # [mtime_ns, ctime_ns] of a local source file when it was copied


def source_stamp(path: str) -> Stamp | None:
    """The stamp of the local file at location ``path`` now; None for a file on S3."""
    scheme, local = split_location(path)
    if scheme != "file":
        return None
    st = os.stat(local)
    return [st.st_mtime_ns, st.st_ctime_ns]


@dataclass
class PreviousBackup:
    """The newest complete backup on a target, as far as the next backup needs it."""

    id: str | None = None
    # location -> (size, sha256) of every file it holds
    files: dict[str, tuple[int, str]] = field(default_factory=dict)
    # the subset that passed every check above: reuse without reading
    reusable: dict[str, tuple[int, str]] = field(default_factory=dict)
    # location -> stamp, for the reusable local files (carried into the next manifest)
    stamps: dict[str, Stamp] = field(default_factory=dict)
    # location -> its manifest entry (BackupFile fields as JSON), for the reusable files
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    tiers: dict[str, Any] | None = None  # the tiers it was made with (manifest "source")
    walk: dict[str, Any] = field(default_factory=dict)  # its manifest's walk_cache

    def entry(
        self, path: str, kind: str, table: str, tiers: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The reusable file's manifest entry, if the next manifest may repeat it as is:
        same kind and table, and the same tiers (which decide its tier and rel)."""
        entry = self.entries.get(path)
        if entry is None or entry["kind"] != kind or entry["table"] != table:
            return None
        return entry if tiers == self.tiers else None

    def walk_cache(self) -> WalkCache:
        from doctordata.catalog.file_refs import WalkCache

        return WalkCache.from_dict(self.walk)


def load_previous(target: BackupTarget, existing: dict[str, int]) -> PreviousBackup:
    """The newest complete backup on ``target`` (newest first, stopping at the first that
    loads: one manifest read, not all). ``existing`` is the target's object index
    (backup_store.ObjectIndex); asking it about an object stats that object."""
    from doctordata.catalog.backup_targets import BACKUP_ID, load_manifest_data

    for backup_id in reversed(target.backup_ids()):
        if not BACKUP_ID.match(backup_id):
            continue
        try:
            data = load_manifest_data(target, backup_id)
            return _check_files(backup_id, data, existing)
        except (BackupError, KeyError, TypeError, ValueError):
            continue  # damaged: an older backup may still serve
    return PreviousBackup()


def _check_files(backup_id: str, data: dict[str, Any], existing: dict[str, int]) -> PreviousBackup:
    entries = data.get("files", [])
    walk = data.get("walk_cache") or {}
    recorded = walk.get(SOURCE_STAMPS)
    if not isinstance(recorded, list) or len(recorded) != len(entries):
        recorded = [None] * len(entries)  # written before stamps: local files are read again
    tiers = (data.get("source") or {}).get("tiers")
    previous = PreviousBackup(backup_id, tiers=tiers, walk=walk)
    files, reusable, stamps = previous.files, previous.reusable, previous.stamps
    reused_entries = previous.entries
    stat = os.stat
    for entry, stamp in zip(entries, recorded, strict=True):
        path, size, sha = entry["path"], entry["size"], entry["sha256"]
        files[path] = (size, sha)
        if sha not in existing:
            continue
        scheme, local = split_location(path)
        if scheme == "file":
            if stamp is None:
                continue
            try:
                st = stat(local)
            except OSError:
                continue  # gone: the walk reports it if the catalog still needs it
            if st.st_size != size or [st.st_mtime_ns, st.st_ctime_ns] != stamp:
                continue
            stamps[path] = stamp
        reusable[path] = (size, sha)
        if entry.keys() == ENTRY_KEYS:
            reused_entries[path] = entry
    return previous
