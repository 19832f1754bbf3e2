"""Snapshot expiry that also deletes the files only the expired snapshots referenced.

pyiceberg's ``expire_snapshots`` edits metadata only; the data files, manifests and
manifest lists it leaves behind are ours to delete. A file is deleted only if a retained
snapshot does not reference it, comparing the references before and after the commit
(files written meanwhile by other processes are in neither set, so never touched).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from doctordata.catalog.commits import commit_errors
from doctordata.catalog.references import snapshot_references, table_references

if TYPE_CHECKING:
    from pyiceberg.table import Table

    from doctordata.workspace import Workspace


@dataclass
class ExpiryResult:
    expired: list[int] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    sizes: dict[str, int] = field(default_factory=dict)  # path -> bytes (deleted files)
    # Unreferenced now, but on an offline tier: kept (orphan cleanup removes them later).
    kept_offline: list[str] = field(default_factory=list)

    @property
    def bytes_freed(self) -> int:
        return sum(self.sizes.values())


def file_size(lh: Workspace, path: str) -> int:
    """Size of a file on any tier (0 if it is already gone)."""
    from doctordata.storage.locations import tier_of

    tier = tier_of(path, lh.tiers)
    if tier is None:
        return 0
    try:
        return int(tier.fs.size(tier.fs_path(path)))
    except (OSError, ValueError):
        return 0


def _tier_name(lh: Workspace, path: str) -> str | None:
    from doctordata.storage.locations import tier_of

    tier = tier_of(path, lh.tiers)
    return tier.name if tier is not None else None


def snapshots_to_expire(table: Table, *, older_than_s: float, retain_last: int) -> list[int]:
    """Snapshots older than the age limit, except the newest ``retain_last`` and any
    branch head or tag."""
    cutoff_ms = (time.time() - older_than_s) * 1000
    protected = {ref.snapshot_id for ref in table.metadata.refs.values()}
    by_age = sorted(table.metadata.snapshots, key=lambda s: s.timestamp_ms, reverse=True)
    keep = {s.snapshot_id for s in by_age[: max(retain_last, 0)]}
    return [
        s.snapshot_id
        for s in by_age
        if s.timestamp_ms < cutoff_ms and s.snapshot_id not in keep | protected
    ]


def expire_and_delete(
    lh: Workspace,
    table: Table,
    snapshot_ids: list[int],
    *,
    dry_run: bool = False,
    offline: frozenset[str] = frozenset(),
) -> ExpiryResult:
    """Expire ``snapshot_ids`` and delete every file no retained snapshot references
    (except on ``offline`` tiers, which are not touched)."""
    from doctordata.storage.transfer import crash_point

    result = ExpiryResult(expired=list(snapshot_ids))
    if not snapshot_ids:
        return result
    before = table_references(table)
    if dry_run:
        ids = set(snapshot_ids)
        after = snapshot_references(
            table, [s for s in table.metadata.snapshots if s.snapshot_id not in ids]
        )
    else:
        expire = table.maintenance.expire_snapshots()
        # by_ids() deep-copies the whole table metadata once per id in pyiceberg 0.12
        # (quadratic: minutes for a few hundred snapshots). Our ids exist and are not
        # branch heads or tags (callers exclude refs); _commit() drops protected ids anyway.
        expire._snapshot_ids_to_expire.update(snapshot_ids)
        with commit_errors(table, "snapshot expiry"):
            expire.commit()
        table.refresh()
        after = table_references(table)
    kept = after.all()
    gone = sorted((before.data | before.manifests | before.manifest_lists) - kept)
    gone = _not_shared(lh, table, gone)
    for path in gone:
        if offline and _tier_name(lh, path) in offline:
            result.kept_offline.append(path)
            continue
        result.sizes[path] = file_size(lh, path)
        if not dry_run:
            crash_point("delete")
            with contextlib.suppress(FileNotFoundError):
                table.io.delete(path)
        result.deleted.append(path)
    return result


def _not_shared(lh: Workspace, table: Table, paths: list[str]) -> list[str]:
    """``paths`` minus those another table still references (canonical forms: one file may
    be registered in two tables), and, while some table's metadata is unreadable, minus
    those outside this table's own directories (they might be that table's)."""
    if not paths:
        return paths
    from doctordata.catalog.locations import table_dirs_of
    from doctordata.catalog.references import catalog_references
    from doctordata.storage.locations import Canonicalizer, TierIndex, unsplit, within_any

    canon = Canonicalizer()
    name = ".".join(table.name())
    others = catalog_references(lh.catalog, lh.tiers, canon, exclude=name)
    own = table_dirs_of(table, TierIndex(lh.tiers, canon))
    out = []
    for path in paths:
        parts = canon.parts(path)
        if unsplit(*parts) in others.files:
            continue
        if others.unreadable and within_any(parts, own) is None:
            continue
        out.append(path)
    return out
