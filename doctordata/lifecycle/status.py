"""Where a lakehouse's bytes are: files and bytes per tier per table, free space per tier.

"live" files are those the current snapshot reads; "retained" files only older snapshots
reference (old copies kept for time travel until expiry frees them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from doctordata.storage.checks import free_bytes

if TYPE_CHECKING:
    from doctordata.workspace import Workspace


@dataclass
class TierUsage:
    table: str
    tier: str  # "(outside)" for files under no configured tier
    live_files: int = 0
    live_bytes: int = 0
    retained_files: int = 0
    retained_bytes: int = 0


@dataclass
class TierStatus:
    rows: list[TierUsage] = field(default_factory=list)
    free: dict[str, int | None] = field(default_factory=dict)  # None: unbounded (S3)
    # online | offline | unmarked | unused (storage/offline.py); free space of an offline
    # tier is that of the disk below its mount point, so it is not reported.
    state: dict[str, str] = field(default_factory=dict)

    def totals(self) -> dict[str, tuple[int, int]]:
        """tier -> (live files, live bytes) over every table."""
        out: dict[str, tuple[int, int]] = {}
        for row in self.rows:
            files, nbytes = out.get(row.tier, (0, 0))
            out[row.tier] = (files + row.live_files, nbytes + row.live_bytes)
        return out

    def usage(self, table: str, tier: str) -> TierUsage:
        for row in self.rows:
            if row.table == table and row.tier == tier:
                return row
        return TierUsage(table, tier)


# (is the snapshot current, file path, size) of every data file a table's snapshots
# reference, current snapshot first: pyiceberg's manifests, or catalog/reader's.
FileEntries = Callable[[str], Iterable[tuple[bool, str, int]]]


def tier_status(
    lh: Workspace, *, names: list[str] | None = None, entries: FileEntries | None = None
) -> TierStatus:
    """Files and bytes per tier per table, and free space per tier.

    ``names``/``entries``: the tables and their file entries from another reader (the
    CLI's read-only fast path); by default ``lh``'s pyiceberg catalog."""
    from doctordata.storage.locations import TierIndex
    from doctordata.storage.offline import TierGuard

    index = TierIndex(lh.tiers)
    guard = TierGuard(lh.tiers, lh.root)
    state: dict[str, str] = {name: guard.probe(name).state for name in lh.tiers}
    status = TierStatus(
        free={
            name: free_bytes(tier) if state[name] != "offline" else None
            for name, tier in lh.tiers.items()
        },
        state=state,
    )
    for name in lh.tables() if names is None else names:
        rows: dict[str, TierUsage] = {}
        seen: set[str] = set()
        for is_current, path, size in (entries or _pyiceberg_entries(lh))(name):
            if path in seen:
                continue
            seen.add(path)
            tier = index.tier_of(path)
            key = tier.name if tier else "(outside)"
            row = rows.setdefault(key, TierUsage(name, key))
            if is_current:
                row.live_files += 1
                row.live_bytes += size
            else:
                row.retained_files += 1
                row.retained_bytes += size
        status.rows += [rows[k] for k in sorted(rows, key=_tier_order(lh))]
    return status


def _pyiceberg_entries(lh: Workspace) -> FileEntries:
    def entries(name: str) -> Iterator[tuple[bool, str, int]]:
        table = lh.table(name)
        current = table.current_snapshot()
        snapshots = sorted(
            table.metadata.snapshots,
            key=lambda s: current is not None and s.snapshot_id == current.snapshot_id,
            reverse=True,
        )
        for snap in snapshots:
            is_current = current is not None and snap.snapshot_id == current.snapshot_id
            for manifest in snap.manifests(table.io):
                for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True):
                    f = entry.data_file
                    yield is_current, f.file_path, f.file_size_in_bytes

    return entries


def _tier_order(lh: Workspace) -> Callable[[str], int]:
    order = {name: i for i, name in enumerate(lh.tiers)}
    return lambda name: order.get(name, len(order))
