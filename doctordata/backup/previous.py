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

Two steps, so the stats do not delay the copies: :func:`load_previous` only parses the
manifest (in a helper thread while SQLite copies the catalog). The walk then copies each
file the previous backup does not hold at once and holds back the others; once it is
done, :meth:`PreviousBackup.check` stats them in one tight loop while the new files are
copied and fsynced (:class:`backup_copy.Copier`). In a helper thread instead, each stat
would wait for the GIL behind the walk: many times slower on a busy machine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from doctordata.backup.manifest import SOURCE_STAMPS, BackupFile
from doctordata.catalog.locations import split_location
from doctordata.errors import BackupError

if TYPE_CHECKING:
    from doctordata.backup.store import BackupTarget, ObjectIndex
    from doctordata.catalog.references import WalkCache

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
    # location -> (its manifest entry, stamp recorded or None), from the manifest
    recorded: dict[str, tuple[dict[str, Any], Stamp | None]] = field(default_factory=dict)
    tiers: dict[str, Any] | None = None  # the tiers it was made with (manifest "source")
    walk: dict[str, Any] = field(default_factory=dict)  # its manifest's walk_cache
    # Filled by the check (start_check): the files that passed every check above, to
    # reuse without reading; their stamps (carried into the next manifest); and their
    # manifest entries where those can be repeated as they are.
    reusable: dict[str, tuple[int, str]] = field(default_factory=dict)
    stamps: dict[str, Stamp] = field(default_factory=dict)
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    checked: bool = False

    def check(self, existing: ObjectIndex) -> None:
        """Fill :attr:`reusable` (once, however often this is called). ``existing`` is
        the target's object index: asking it about an object stats that object."""
        if not self.checked:
            self._check(existing)
            self.checked = True

    def _check(self, existing: ObjectIndex) -> None:
        reusable, stamps, entries = self.reusable, self.stamps, self.entries
        stored = existing.present({sha for _, sha in self.files.values()})
        stat = os.stat
        for path, (entry, stamp) in self.recorded.items():
            size, sha = entry["size"], entry["sha256"]
            if sha not in stored:
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
                entries[path] = entry

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
        from doctordata.catalog.references import WalkCache

        return WalkCache.from_dict(self.walk)


def load_previous(
    target: BackupTarget, lake: str | None = None, root: str | None = None
) -> PreviousBackup:
    """The newest complete backup on ``target`` of the lake ``lake`` at ``root`` (newest
    first, stopping at the first that loads: one manifest read per backup of this lake,
    not all), parsed; nothing checked yet (see check). Another lake's backup (a relocated
    copy sharing the target) names other locations: nothing in it could be reused."""
    from doctordata.backup.targets import BACKUP_ID, load_manifest_data

    for backup_id in reversed(target.backup_ids()):
        if not BACKUP_ID.match(backup_id):
            continue
        try:
            data = load_manifest_data(target, backup_id)
            if not _of_lake(data, lake, root):
                continue
            return _index(backup_id, data)
        except (BackupError, KeyError, TypeError, ValueError, AttributeError):
            continue  # damaged: an older backup may still serve
    return PreviousBackup()


def _of_lake(data: dict[str, Any], lake: str | None, root: str | None) -> bool:
    """True if the manifest ``data`` is of the lake (no lake given: any backup is)."""
    if lake is None and root is None:
        return True
    source = data.get("source") or {}
    owner = source.get("lake_id")
    return owner == lake if owner is not None else source.get("root") == root


def _index(backup_id: str, data: dict[str, Any]) -> PreviousBackup:
    entries = data.get("files", [])
    walk = data.get("walk_cache") or {}
    recorded = walk.get(SOURCE_STAMPS)
    if not isinstance(recorded, list) or len(recorded) != len(entries):
        recorded = [None] * len(entries)  # written before stamps: local files are read again
    tiers = (data.get("source") or {}).get("tiers")
    previous = PreviousBackup(backup_id, tiers=tiers, walk=walk)
    files, by_path = previous.files, previous.recorded
    for entry, stamp in zip(entries, recorded, strict=True):
        path, size, sha = entry["path"], entry["size"], entry["sha256"]
        if not (isinstance(path, str) and isinstance(size, int) and isinstance(sha, str)):
            raise TypeError(f"damaged file entry {entry!r}")
        files[path] = (size, sha)
        by_path[path] = (entry, stamp)
    return previous
