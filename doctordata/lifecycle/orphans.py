"""Orphan files: anything under a table's directory, on any tier, that no metadata references.

Failed or killed commits leave data files, manifests and metadata.json files that the
catalog never pointed at. A file is deleted only when all of these hold:

- its canonical form (doctordata.storage.locations) is referenced by no snapshot of *any*
  table of the catalog (every retained snapshot, branch and tag head, manifest list,
  manifest, metadata and statistics file), read *after* the directory was listed, so a
  file committed meanwhile is seen as referenced;
- it lies below this table's directory and below no other table's (a renamed table and a
  new one never share a directory, but older lakes may have such pairs);
- it is not named in an unfinished mover journal, and is older than the safety age (a
  write in flight is young);
- every table's metadata could be read. If one cannot, nothing is deleted (the files of
  a table we cannot read look unreferenced); the run reports which table blocked it;
- the table still exists under its name (same table uuid) when references are read.

maintain() cleans all its tables in one pass (:func:`remove_orphans_of`): every table's
directories are listed, then every table's references are read once, so N tables cost
N table loads, not N x N (benchmarks/results/maintain_many_tables.md).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from doctordata.catalog.references import CatalogReferences, catalog_references
from doctordata.storage.locations import (
    Canonicalizer,
    TierIndex,
    is_within,
    unsplit,
    within_any,
)
from doctordata.storage.tier import modified_at

if TYPE_CHECKING:
    from pyiceberg.table import Table

    from doctordata.storage.tier import Tier
    from doctordata.workspace import Workspace


@dataclass
class OrphanResult:
    deleted: list[str] = field(default_factory=list)
    sizes: dict[str, int] = field(default_factory=dict)
    too_young: list[str] = field(default_factory=list)  # unreferenced but within the safety age
    # Unreferenced files left alone because another table's directory holds them.
    other_table: list[str] = field(default_factory=list)
    # Tables whose metadata could not be read -> why; while any, nothing is deleted.
    blocked_by: dict[str, str] = field(default_factory=dict)

    @property
    def bytes_freed(self) -> int:
        return sum(self.sizes.values())

    def notes(self) -> list[str]:
        """Report lines for what cleanup refused to touch, and why."""
        lines = [
            f"orphan cleanup deleted nothing: the metadata of table {name!r} cannot be read "
            f"({why}); its files would look unreferenced. Repair it (`doctordata verify`, "
            "`doctordata restore`), or drop it, then run maintain again."
            for name, why in sorted(self.blocked_by.items())
        ]
        if self.other_table:
            lines.append(
                f"kept {len(self.other_table)} unreferenced files that also lie in another "
                f"table's directory, e.g. {self.other_table[0]}"
            )
        return lines


def _listing(tier: Tier, directory: tuple[str, str]) -> dict[str, dict[str, Any]]:
    """Files below canonical ``directory`` on ``tier``, keyed by the path fsspec gives."""
    try:
        found = tier.fs.find(directory[1], detail=True)
    except FileNotFoundError:
        return {}
    return {path: info for path, info in found.items() if info.get("type") != "directory"}


def remove_orphans(
    lh: Workspace,
    table: Table,
    *,
    older_than_s: float,
    dry_run: bool = False,
    offline: frozenset[str] = frozenset(),
) -> OrphanResult:
    """Delete unreferenced files under the table's directory on every tier but ``offline``."""
    return remove_orphans_of(
        lh, [table], older_than_s=older_than_s, dry_run=dry_run, offline=offline
    )[0]


def remove_orphans_of(
    lh: Workspace,
    tables: Sequence[Table],
    *,
    older_than_s: float,
    dry_run: bool = False,
    offline: frozenset[str] = frozenset(),
) -> list[OrphanResult]:
    """:func:`remove_orphans` for each of ``tables``, one result each, in order.

    Every table's directories are listed first, then the references of every table of
    the catalog are read once, and each table's deletions are decided from that one set:
    cleaning N tables loads each table once, not N times (N x N loads, minutes at a few
    hundred tables)."""
    from doctordata.lifecycle.journal import pending_paths

    canon = Canonicalizer()
    index = TierIndex(lh.tiers, canon)
    results = [OrphanResult() for _ in tables]
    # List first, read references second: a file committed in between is then referenced.
    scans = [_list_table(lh, table, index, offline) for table in tables]
    if not any(scan is not None for scan in scans):
        return results
    refs = catalog_references(lh.catalog, lh.tiers, canon)
    if refs.unreadable:
        for scan, result in zip(scans, results, strict=True):
            if scan is not None:
                result.blocked_by = dict(refs.unreadable)
        return results
    pending = {canon(p) for p in pending_paths(lh.root)}
    cutoff = time.time() - older_than_s
    for scan, result in zip(scans, results, strict=True):
        if scan is not None:
            _decide(scan, refs, pending, cutoff, canon, result, dry_run=dry_run)
    return results


@dataclass
class _Scan:
    """One table's directories and what was found in them (before references were read)."""

    name: str
    uuid: str
    own_dirs: list[tuple[str, str]]
    listed: list[tuple[Tier, str, dict[str, Any]]]


def _list_table(
    lh: Workspace, table: Table, index: TierIndex, offline: frozenset[str]
) -> _Scan | None:
    """The files below ``table``'s directories on every tier; None for a table outside
    every tier (not ours to clean)."""
    from doctordata.catalog.locations import table_dirs_of

    if index.tier_of(table.location()) is None:
        return None
    own_dirs = table_dirs_of(table, index)
    listed: list[tuple[Tier, str, dict[str, Any]]] = []
    for tier in lh.tiers.values():
        if tier.name in offline or (tier.is_local and not _exists(tier)):
            continue
        for directory in own_dirs:
            tier_name, _ = index.locate(unsplit(*directory))
            if tier_name != tier.name:
                continue
            listed += [(tier, p, info) for p, info in _listing(tier, directory).items()]
    return _Scan(".".join(table.name()), str(table.metadata.table_uuid), own_dirs, listed)


def _decide(
    scan: _Scan,
    refs: CatalogReferences,
    pending: set[str],
    cutoff: float,
    canon: Canonicalizer,
    result: OrphanResult,
    *,
    dry_run: bool,
) -> None:
    """Delete (unless ``dry_run``) the files of ``scan`` that nothing references."""
    now = refs.dirs.tables.get(scan.name)
    if now is None or str(now.metadata.table_uuid) != scan.uuid:
        return  # dropped, renamed or replaced since it was listed: its files may be kept
    own_dirs = scan.own_dirs
    # Other tables' directories that meet this table's (legacy lakes: a shared directory).
    foreign = [
        d
        for other, dirs in refs.dirs.dirs.items()
        if other != scan.name
        for d in dirs
        if any(is_within(d, own) or is_within(own, d) for own in own_dirs)
    ]
    for tier, path, info in sorted(scan.listed, key=lambda x: x[1]):
        parts = canon.parts(_location_of(tier, path))
        location = unsplit(*parts)
        if location in refs.files or location in pending:
            continue
        if within_any(parts, own_dirs) is None:
            continue  # reached through a symlink to somewhere else: not ours
        if within_any(parts, foreign) is not None:
            result.other_table.append(location)
            continue
        mtime = modified_at(info)
        if mtime is None or mtime > cutoff:
            result.too_young.append(location)
            continue
        result.sizes[location] = int(info.get("size") or 0)
        if not dry_run:
            try:
                tier.fs.rm_file(path)
            except FileNotFoundError:
                continue
        result.deleted.append(location)


def _location_of(tier: Tier, fs_path: str) -> str:
    """A path as the tier's filesystem lists it -> a location (scheme included)."""
    return fs_path if tier.is_local else f"s3://{fs_path}"


def _exists(tier: Tier) -> bool:
    import os

    return os.path.isdir(tier.root)
