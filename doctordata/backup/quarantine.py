"""After a restore over a lake: move the files the restored catalog does not reference
out of the tables' directories, into a quarantine folder that nothing deletes.

A restore with --force (or in place) makes the catalog point at the backup's state. The
lake's files written after that backup (newer snapshots' data, manifests, metadata), or
another lake's files at the same table paths, are then referenced by nothing, and the
next ``maintain`` (orphan removal, lifecycle/orphans.py) would delete them: data the user
may not have meant to drop. Moving them to ``<tier root>/quarantine/restore-<backup id>/``
(same relative path, same tier, so a rename on a local disk) keeps them out of every
table's directory, where orphan removal never looks; the restore report names the count
and the folders, to inspect and delete by hand.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from doctordata.errors import BackupError
from doctordata.storage.local_copy import fsync_path, make_dirs_durably

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog

    from doctordata.storage.tier import Tier

QUARANTINE_DIR = "quarantine"


@dataclass
class Quarantined:
    """What :func:`quarantine_unreferenced` moved (or could not judge)."""

    files: int = 0
    bytes: int = 0
    folders: list[str] = field(default_factory=list)  # locations, one per tier used
    # Tables whose metadata could not be read: nothing was moved (or judged), and orphan
    # removal deletes nothing either while they stay unreadable.
    unreadable: dict[str, str] = field(default_factory=dict)


def quarantine_folder(tier: Tier, backup_id: str) -> str:
    """``<tier root>/quarantine/restore-<backup id>`` as the tier's filesystem names it."""
    return f"{tier.root.rstrip('/')}/{QUARANTINE_DIR}/restore-{backup_id}"


def quarantine_unreferenced(
    catalog: Catalog, tiers: Mapping[str, Tier], tables: Iterable[str], backup_id: str
) -> Quarantined:
    """Move every file below the directories of ``tables`` (on every tier) that no table
    of ``catalog`` references into the tier's quarantine folder for ``backup_id``."""
    from doctordata.catalog.locations import table_dirs_of
    from doctordata.catalog.references import catalog_references
    from doctordata.storage.locations import Canonicalizer, TierIndex, unsplit

    canon = Canonicalizer()
    index = TierIndex(tiers, canon)
    refs = catalog_references(catalog, tiers, canon)
    out = Quarantined()
    if refs.unreadable:
        out.unreadable = dict(refs.unreadable)
        return out
    moves: list[tuple[Tier, str, str, int]] = []  # (tier, file, its path below the root, size)
    for name in tables:
        table = refs.dirs.tables.get(name)
        if table is None or index.tier_of(table.location()) is None:
            continue  # outside every tier: orphan removal never cleans it
        for directory in table_dirs_of(table, index):
            tier_name, _ = index.locate(unsplit(*directory))
            if tier_name is None:
                continue
            tier = tiers[tier_name]
            for path, info in _files_below(tier, directory[1]).items():
                location = _location(tier, path)
                if unsplit(*canon.parts(location)) not in refs.files:
                    rel = index.locate(location)[1]
                    moves.append((tier, path, rel, int(info.get("size") or 0)))
    folders = {tier.name: quarantine_folder(tier, backup_id) for tier, *_ in moves}
    for tier, *_ in moves:  # every folder checked before anything moves
        shown = _location(tier, folders[tier.name])
        owner = refs.dirs.owner(canon.parts(shown))
        if owner is not None:
            raise BackupError(
                f"cannot move the files the backup does not reference out of the way: the "
                f"quarantine folder {shown} lies inside table {owner!r}'s directory, where "
                "maintain deletes files. Nothing was moved or deleted; restore into a new "
                "directory, or move that table first."
            )
        if shown not in out.folders:
            out.folders.append(shown)
    for tier, path, rel, size in moves:
        _move(tier, path, f"{folders[tier.name]}/{rel}")
        out.files += 1
        out.bytes += size
    return out


def _location(tier: Tier, fs_path: str) -> str:
    return "file://" + fs_path if tier.is_local else f"s3://{fs_path}"


def _files_below(tier: Tier, path: str) -> dict[str, dict[str, Any]]:
    if not tier.is_local:
        tier.fs.invalidate_cache(path)
    try:
        found = tier.fs.find(path, detail=True)
    except FileNotFoundError:
        return {}
    return {p: info for p, info in found.items() if info.get("type") != "directory"}


def _move(tier: Tier, src: str, dst: str) -> None:
    """Rename ``src`` to ``dst`` on ``tier``; on a local disk durably (the new name and
    the old one's removal both reach the disk before the restore reports success)."""
    if tier.fs.exists(dst):  # quarantined before (a restore run again): keep both
        dst = f"{dst}.{uuid.uuid4().hex[:8]}"
    if not tier.is_local:
        tier.fs.mv(src, dst)
        return
    folder = os.path.dirname(dst)
    make_dirs_durably(folder)
    os.rename(src, dst)
    fsync_path(folder)
    fsync_path(os.path.dirname(src))
