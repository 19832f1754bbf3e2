"""Table maintenance: compaction, snapshot expiry that frees files, orphan cleanup.

Example::

    report = lh.maintain()                      # every table, default ages
    report = lh.maintain("hn.items", expire_older_than="1d", retain_last=3)
    print(report)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from doctordata.catalog import compaction
from doctordata.catalog.compaction import CompactionResult
from doctordata.catalog.expiry import ExpiryResult, expire_and_delete, snapshots_to_expire
from doctordata.catalog.orphans import OrphanResult, remove_orphans
from doctordata.config import parse_duration

if TYPE_CHECKING:
    from doctordata.lakehouse import Lakehouse


@dataclass
class TableMaintenance:
    table: str
    compaction: CompactionResult | None = None
    expiry: ExpiryResult = field(default_factory=ExpiryResult)
    orphans: OrphanResult = field(default_factory=OrphanResult)

    @property
    def bytes_freed(self) -> int:
        return self.expiry.bytes_freed + self.orphans.bytes_freed


@dataclass
class MaintenanceReport:
    """Per table: what compaction rewrote, which snapshots expired, what was deleted."""

    dry_run: bool
    tables: list[TableMaintenance] = field(default_factory=list)
    # Tiers that were offline: their files were not compacted, deleted or listed.
    offline_tiers: dict[str, str] = field(default_factory=dict)  # name -> why

    @property
    def bytes_freed(self) -> int:
        return sum(t.bytes_freed for t in self.tables)

    @property
    def files_deleted(self) -> int:
        return sum(len(t.expiry.deleted) + len(t.orphans.deleted) for t in self.tables)

    def __str__(self) -> str:
        from doctordata.config import human_bytes

        verb = "would free" if self.dry_run else "freed"
        lines = []
        for t in self.tables:
            c = t.compaction
            if c is not None and c.rewritten:
                lines.append(
                    f"{t.table}: compaction {c.files_before} -> {c.files_after} files "
                    f"({len(c.rewritten)} rewritten into {len(c.written)})"
                )
            for why in c.skipped_partitions if c else []:
                lines.append(f"{t.table}: compaction skipped partition {why}")
            if t.expiry.expired:
                lines.append(
                    f"{t.table}: expired {len(t.expiry.expired)} snapshots, {verb} "
                    f"{len(t.expiry.deleted)} files ({human_bytes(t.expiry.bytes_freed)})"
                )
            if t.orphans.deleted or t.orphans.too_young:
                lines.append(
                    f"{t.table}: orphans: {verb} {len(t.orphans.deleted)} files "
                    f"({human_bytes(t.orphans.bytes_freed)}), kept {len(t.orphans.too_young)} "
                    "younger than the safety age"
                )
            lines += t.orphans.notes()
            if t.expiry.kept_offline:
                lines.append(
                    f"{t.table}: kept {len(t.expiry.kept_offline)} unreferenced files on "
                    "offline tiers (removed by a later maintain once the tier is back)"
                )
        for name, why in self.offline_tiers.items():
            lines.append(
                f"skipped tier {name!r}, which is offline ({why}): its files were not "
                "compacted, deleted or checked for orphans; mount it and run maintain again"
            )
        lines.append(f"total: {verb} {self.files_deleted} files, {human_bytes(self.bytes_freed)}")
        return "\n".join(lines)


def offline_tiers(lh: Lakehouse) -> tuple[dict[str, str], frozenset[str]]:
    """(offline tier -> why, every tier maintenance must leave alone); one stat per tier."""
    from doctordata.storage.offline import TierGuard

    guard = TierGuard(lh.tiers, lh.root)
    offline = {name: seen.detail for name, seen in guard.offline().items()}
    return offline, frozenset(guard.unavailable())


def maintain(
    lh: Lakehouse,
    table: str | None = None,
    *,
    compact: bool = True,
    expire_older_than: str = "5d",
    retain_last: int = 1,
    orphan_older_than: str = "1d",
    target_file_size: int | None = None,
    dry_run: bool = False,
) -> MaintenanceReport:
    """Compact small files, expire old snapshots (deleting the files they alone held) and
    remove orphan files older than ``orphan_older_than``, for one table or all."""
    from doctordata.storage.journal import lifecycle_lock

    expire_s = parse_duration(expire_older_than, "expire_older_than")
    orphan_s = parse_duration(orphan_older_than, "orphan_older_than")
    names = [table] if table is not None else lh.tables()
    report = MaintenanceReport(dry_run=dry_run)
    report.offline_tiers, offline = offline_tiers(lh)
    with lifecycle_lock(lh.root, "doctordata maintain"):
        for name in names:
            tbl = lh.table(name)
            entry = TableMaintenance(table=name)
            if compact:
                entry.compaction = compaction.compact(
                    lh, tbl, target_file_size=target_file_size, dry_run=dry_run, offline=offline
                )
                tbl.refresh()
            ids = snapshots_to_expire(tbl, older_than_s=expire_s, retain_last=retain_last)
            entry.expiry = expire_and_delete(lh, tbl, ids, dry_run=dry_run, offline=offline)
            tbl.refresh()
            entry.orphans = remove_orphans(
                lh, tbl, older_than_s=orphan_s, dry_run=dry_run, offline=offline
            )
            report.tables.append(entry)
    return report
