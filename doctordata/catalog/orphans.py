"""Orphan files: anything under a table's location, on any tier, that no metadata references.

Failed or killed commits leave data files, manifests and metadata.json files that the
catalog never pointed at. They are deleted only when older than a safety age (a write
in flight is young) and not named in an unfinished mover journal.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from doctordata.catalog.reachability import table_references

if TYPE_CHECKING:
    from pyiceberg.table import Table

    from doctordata.lakehouse import Lakehouse
    from doctordata.storage.tier import Tier


@dataclass
class OrphanResult:
    deleted: list[str] = field(default_factory=list)
    sizes: dict[str, int] = field(default_factory=dict)
    too_young: list[str] = field(default_factory=list)  # unreferenced but within the safety age

    @property
    def bytes_freed(self) -> int:
        return sum(self.sizes.values())


def _mtime(info: dict[str, object]) -> float:
    stamp = info.get("mtime") or info.get("LastModified") or info.get("created")
    if hasattr(stamp, "timestamp"):
        return float(stamp.timestamp())
    return float(stamp) if isinstance(stamp, int | float) else time.time()


def _listing(tier: Tier, relative: str, like: str) -> dict[str, dict[str, object]]:
    """Files below ``relative`` on ``tier``, keyed by location spelled like ``like``."""
    base = tier.fs_path(tier.location(relative, like=like))
    try:
        found = tier.fs.find(base, detail=True)
    except FileNotFoundError:
        return {}
    out = {}
    for path, info in found.items():
        if info.get("type") == "directory":
            continue
        rel = path[len(tier.root.rstrip("/")) + 1 :] if path.startswith(tier.root) else None
        if rel is None:  # s3fs drops no prefix; local paths always start with the root
            continue
        out[tier.location(rel, like=like)] = info
    return out


def remove_orphans(
    lh: Lakehouse, table: Table, *, older_than_s: float, dry_run: bool = False
) -> OrphanResult:
    """Delete unreferenced files under the table's location on every tier."""
    from doctordata.storage.journal import pending_paths
    from doctordata.storage.policy import tier_of

    result = OrphanResult()
    home = tier_of(table.location(), lh.tiers)
    if home is None:
        return result
    relative = home.relative(table.location())
    referenced = table_references(table).all() | pending_paths(lh.root)
    cutoff = time.time() - older_than_s
    for tier in lh.tiers.values():
        if tier.is_local and not _exists(tier):
            continue
        for location, info in sorted(_listing(tier, relative, table.location()).items()):
            if location in referenced or _plain(location) in referenced:
                continue
            if _mtime(info) > cutoff:
                result.too_young.append(location)
                continue
            result.sizes[location] = int(info.get("size") or 0)  # type: ignore[call-overload]
            if not dry_run:
                try:
                    tier.fs.rm_file(tier.fs_path(location))
                except FileNotFoundError:
                    continue
            result.deleted.append(location)
    return result


def _exists(tier: Tier) -> bool:
    import os

    return os.path.isdir(tier.root)


def _plain(location: str) -> str:
    """file:///x -> /x (and back), so either spelling in the metadata matches."""
    if location.startswith("file://"):
        return location[len("file://") :]
    if location.startswith("/"):
        return "file://" + location
    return location
