"""Integrity check of a live lakehouse: ``lh.verify()`` / ``doctordata verify``.

Errors (the lakehouse cannot serve some data): a referenced file is missing or has the
wrong size, a manifest or metadata.json cannot be read, the metadata chain is broken
(current snapshot, branch, schema or spec id that does not exist); with ``deep=True``, a
data file whose bytes differ from the checksum recorded when doctordata wrote it
(catalog/checksums.py). Warnings (it works, but needs care): earlier metadata files gone,
orphan files, partitions with many small files, data files without a recorded checksum
(written by another writer: "unchecked"). Every issue carries the command that fixes it.
One table's damage never stops the check of the others.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from doctordata.catalog.damage import FIX_RESTORE, damage_errors, describe
from doctordata.config import parse_duration, parse_size
from doctordata.errors import BackupError
from doctordata.storage.tier import modified_at

if TYPE_CHECKING:
    from pyiceberg.io import FileIO
    from pyiceberg.table.metadata import TableMetadata

    from doctordata.catalog.checksums import ChecksumStore
    from doctordata.catalog.references import FileRef, TableRefs
    from doctordata.storage.tier import Tier
    from doctordata.workspace import Workspace

Severity = Literal["error", "warning"]

FIX_MAINTAIN = "doctordata maintain"


@dataclass(frozen=True)
class Issue:
    severity: Severity
    # missing-file | size-mismatch | checksum-mismatch | unreadable | broken-metadata |
    # history | orphans | small-files | unchecked
    kind: str
    table: str | None
    message: str
    fix: str
    paths: tuple[str, ...] = ()

    def __str__(self) -> str:
        where = f"{self.table}: " if self.table else ""
        return f"{self.severity.upper()} {where}{self.message}\n    fix: {self.fix}"


@dataclass
class IntegrityReport:
    """Result of :func:`verify`; ``ok`` is True when there is no error (warnings allowed)."""

    tables: int = 0
    files_checked: int = 0
    bytes_checked: int = 0
    seconds: float = 0.0
    issues: list[Issue] = field(default_factory=list)
    deep: bool = False
    files_hashed: int = 0  # deep: data files re-read and compared with their checksum
    bytes_hashed: int = 0
    unchecked: int = 0  # deep: data files with no recorded checksum (foreign or older)

    @property
    def failed_tables(self) -> list[str]:
        """Tables with at least one error."""
        return sorted({i.table for i in self.errors if i.table is not None})

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def __str__(self) -> str:
        from doctordata.config import human_bytes

        head = "OK" if self.ok else "DAMAGED"
        lines = [
            f"{head}: {self.tables} tables, {self.files_checked} referenced files "
            f"({human_bytes(self.bytes_checked)}) checked in {self.seconds:.1f} s; "
            f"{len(self.errors)} errors, {len(self.warnings)} warnings"
        ]
        if self.deep:
            lines.append(
                f"deep: {self.files_hashed} data files ({human_bytes(self.bytes_hashed)}) "
                f"re-read and compared with their checksums, {self.unchecked} unchecked "
                "(no recorded checksum)"
            )
        if self.failed_tables:
            lines.append(f"tables with errors: {', '.join(self.failed_tables)}")
        lines += [str(i) for i in self.issues]
        return "\n".join(lines)


def verify(
    lh: Workspace,
    *,
    table: str | None = None,
    orphans: bool = True,
    small_files: bool = True,
    orphan_min_age: str = "1h",
    small_file_size: str | int = "16MB",
    small_file_count: int = 20,
    deep: bool = False,
) -> IntegrityReport:
    """Check every file the catalog references exists with its recorded size, the
    metadata chain of every table, and report orphan files and small-file problems.

    ``deep``: also re-read every referenced data file and compare its size and sha256
    with the checksum recorded when doctordata wrote (or moved, or restored) it; a file
    with no recorded checksum is counted as unchecked, not as damaged.

    ``orphan_min_age``: files younger than this are writes in flight, never orphans.
    ``small_file_size`` / ``small_file_count``: a partition of the current snapshot with
    at least that many files below that size is reported (fix: ``doctordata maintain``).

    Example::

        report = lh.verify()
        if not report.ok:
            print(report)
    """
    started = time.monotonic()
    report = IntegrityReport(deep=deep)
    locations = table_locations(lh)
    if table is not None:
        if table not in locations:
            from doctordata.errors import TableNotFoundError, suggest

            raise TableNotFoundError(
                f"table {table!r} does not exist.{suggest(table, locations)} "
                "List tables with `doctordata tables`."
            )
        locations = {table: locations[table]}
    io = _file_io(lh)
    away, tiers = _offline_tiers(lh)
    min_age = parse_duration(orphan_min_age)
    small = parse_size(small_file_size)
    store = _checksum_store(lh) if deep else None
    for name, location in locations.items():
        report.tables += 1
        try:
            refs = _walk(io, name, location, report)
            if refs is None:
                continue
            _check_chain(name, refs.metadata, report)
            _skip_offline(lh, name, refs, away, report)
            sizes = _stat_all(lh.tiers, refs.files.values())
            _check_files(name, refs, sizes, report)
            if deep:
                _check_checksums(lh.tiers, store, name, refs, sizes, report)
            if orphans:
                _check_orphans(tiers, name, refs, min_age, report)
            if small_files:
                _check_small_files(name, refs, small, small_file_count, report)
        except damage_errors() as exc:  # whatever else a damaged table raises: this table only
            report.issues.append(
                Issue(
                    "error",
                    "broken-metadata",
                    name,
                    f"cannot be checked: reading it from {location} failed ({describe(exc)})",
                    FIX_RESTORE,
                    (location,),
                )
            )
    report.seconds = time.monotonic() - started
    return report


def _checksum_store(lh: Workspace) -> ChecksumStore | None:
    from doctordata.catalog.checksums import store_for

    return store_for(lh.settings.catalog_uri)


def _check_checksums(
    tiers: Mapping[str, Tier],
    store: ChecksumStore | None,
    name: str,
    refs: TableRefs,
    sizes: Mapping[str, int | None],
    report: IntegrityReport,
) -> None:
    """Re-read each present data file and compare it with its recorded checksum."""
    from doctordata.catalog.checksums import hash_file, is_data_file
    from doctordata.catalog.locations import fs_for, locate

    present = [  # missing or wrong-sized files are already reported by _check_files
        ref
        for ref in refs.files.values()
        if ref.kind in ("data", "delete")
        and sizes.get(ref.path) is not None
        and (ref.size is None or sizes[ref.path] == ref.size)
    ]
    recorded = store.lookup(r.path for r in present) if store is not None else {}
    unchecked: list[str] = []
    for ref in present:
        known = recorded.get(ref.path)
        if known is None or not is_data_file(ref.path):
            unchecked.append(ref.path)
            continue
        fs, path = fs_for(tiers, ref.path)
        tier = locate(tiers, ref.path)[0] or "no tier"
        fs.invalidate_cache(path)  # an object store's cached etag would refuse new bytes
        try:
            sha, size = hash_file(fs, path)
        except FileNotFoundError:  # deleted since the listing: reported by the next run
            continue
        except OSError as exc:
            report.issues.append(
                Issue(
                    "error",
                    "unreadable",
                    name,
                    f"data file {ref.path} (tier {tier}) cannot be read ({describe(exc)})",
                    FIX_RESTORE,
                    (ref.path,),
                )
            )
            continue
        report.files_hashed += 1
        report.bytes_hashed += size
        if size == known.size and sha == known.sha256:
            continue
        what = (
            f"has {size} bytes, {known.size} were recorded"
            if size != known.size
            else f"has sha256 {sha[:16]}..., {known.sha256[:16]}... was recorded"
        )
        report.issues.append(
            Issue(
                "error",
                "checksum-mismatch",
                name,
                f"data file {ref.path} (tier {tier}) {what} when it was written: its bytes "
                "changed (disk damage or an outside writer); queries on it return wrong "
                "results or fail",
                FIX_RESTORE,
                (ref.path,),
            )
        )
    report.unchecked += len(unchecked)
    if unchecked:
        report.issues.append(
            Issue(
                "warning",
                "unchecked",
                name,
                f"{len(unchecked)} data files have no recorded checksum (added with "
                f"add_files, written by another writer, or before doctordata recorded "
                f"checksums), e.g. {unchecked[0]}: their size was checked, their bytes not",
                "nothing to repair; files doctordata writes from now on are checksummed",
                tuple(unchecked),
            )
        )


def _offline_tiers(lh: Workspace) -> tuple[set[str], dict[str, Tier]]:
    """(tiers whose files cannot be checked now, the others); one marker stat per tier."""
    from doctordata.storage.offline import TierGuard

    away = TierGuard(lh.tiers, lh.root).unavailable()
    return away, {n: t for n, t in lh.tiers.items() if n not in away}


def _skip_offline(
    lh: Workspace, name: str, refs: TableRefs, away: set[str], report: IntegrityReport
) -> None:
    """Files on an offline tier are not missing: one issue says they were not checked."""
    from doctordata.storage.locations import tier_of

    skipped: dict[str, int] = {}
    for path in list(refs.files) if away else ():
        tier = tier_of(path, lh.tiers)
        if tier is not None and tier.name in away:
            del refs.files[path]
            skipped[tier.name] = skipped.get(tier.name, 0) + 1
    for tier_name, count in skipped.items():
        report.issues.append(
            Issue(
                "error",
                "offline-tier",
                name,
                f"{count} files on tier {tier_name!r} ({lh.tiers[tier_name].url}) were not "
                "checked: the tier is offline",
                "mount it (or check the NAS / S3 endpoint), then verify again",
            )
        )


def _file_io(lh: Workspace) -> FileIO:
    from pyiceberg.io import load_file_io

    return load_file_io(dict(lh.catalog.properties))


def table_locations(lh: Workspace) -> dict[str, str]:
    """ "ns.table" -> metadata.json location, read from the catalog rows (so a table whose
    metadata.json is gone is still checked, and reported, instead of failing to load)."""
    from doctordata.backup.catalog_snapshot import snapshot_catalog

    try:
        with tempfile.TemporaryDirectory(prefix="doctordata-verify-") as tmp:
            return snapshot_catalog(lh.settings, Path(tmp)).table_locations()
    except BackupError:  # a REST catalog: ask it
        return {name: lh.table(name).metadata_location for name in lh.tables()}


def _walk(io: FileIO, name: str, location: str, report: IntegrityReport) -> TableRefs | None:
    from doctordata.catalog.references import walk_table

    try:
        refs = walk_table(io, name, location)
    except FileNotFoundError:
        report.issues.append(
            Issue(
                "error",
                "missing-file",
                name,
                f"the current metadata file {location} is missing: the table cannot be read",
                FIX_RESTORE,
                (location,),
            )
        )
        return None
    except damage_errors() as exc:
        report.issues.append(
            Issue(
                "error",
                "broken-metadata",
                name,
                f"the current metadata file {location} cannot be parsed ({describe(exc)})",
                FIX_RESTORE,
                (location,),
            )
        )
        return None
    for path, kind, reason in refs.unreadable:
        report.issues.append(
            Issue(
                "error",
                "missing-file" if reason == "missing" else "unreadable",
                name,
                f"{kind} {path} is {reason}: snapshots that use it cannot be read",
                FIX_RESTORE,
                (path,),
            )
        )
    return refs


def _check_chain(name: str, md: TableMetadata, report: IntegrityReport) -> None:
    snapshot_ids = {s.snapshot_id for s in md.snapshots}
    problems: list[str] = []
    if md.current_snapshot_id is not None and md.current_snapshot_id not in snapshot_ids:
        problems.append(f"current snapshot {md.current_snapshot_id} is not in the metadata")
    for ref_name, ref in md.refs.items():
        if ref.snapshot_id not in snapshot_ids:
            problems.append(
                f"{ref.snapshot_ref_type} {ref_name!r} points at missing snapshot {ref.snapshot_id}"
            )
    if md.current_schema_id not in {s.schema_id for s in md.schemas}:
        problems.append(f"current schema id {md.current_schema_id} is not defined")
    if md.default_spec_id not in {s.spec_id for s in md.partition_specs}:
        problems.append(f"default partition spec id {md.default_spec_id} is not defined")
    last_seq = getattr(md, "last_sequence_number", None)
    for snap in md.snapshots:
        if last_seq is not None and (snap.sequence_number or 0) > last_seq:
            problems.append(
                f"snapshot {snap.snapshot_id} has sequence number "
                f"{snap.sequence_number} > last-sequence-number {last_seq}"
            )
    for problem in problems:
        report.issues.append(Issue("error", "broken-metadata", name, problem, FIX_RESTORE))


def _local_size(path: str) -> int | None:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return None


def _stat_all(tiers: Mapping[str, Tier], refs: Iterable[FileRef]) -> dict[str, int | None]:
    """Actual size of each referenced file (None = missing); one listing per remote dir."""
    from doctordata.catalog.locations import fs_for, split_location

    sizes: dict[str, int | None] = {}
    listings: dict[str, dict[str, int]] = {}
    for ref in refs:
        scheme, path = split_location(ref.path)
        if scheme == "file":
            sizes[ref.path] = _local_size(path)
            continue
        fs, fs_path = fs_for(tiers, ref.path)
        parent = fs_path.rsplit("/", 1)[0]
        if parent not in listings:
            try:
                listings[parent] = {
                    e["name"].rstrip("/"): int(e.get("size") or 0)
                    for e in fs.ls(parent, detail=True)
                }
            except FileNotFoundError:
                listings[parent] = {}
        sizes[ref.path] = listings[parent].get(fs_path)
    return sizes


def _check_files(
    name: str, refs: TableRefs, sizes: Mapping[str, int | None], report: IntegrityReport
) -> None:
    optional = {e.metadata_file for e in refs.metadata.metadata_log}
    reported = {path for path, _, _ in refs.unreadable}  # already an error from the walk
    lost_history: list[str] = []
    for ref in refs.files.values():
        size = sizes.get(ref.path)
        report.files_checked += 1
        if ref.path in reported:
            continue
        if size is None:
            if ref.path in optional:
                lost_history.append(ref.path)
                continue
            report.issues.append(
                Issue(
                    "error",
                    "missing-file",
                    name,
                    f"{ref.kind} file {ref.path} is missing",
                    FIX_RESTORE,
                    (ref.path,),
                )
            )
            continue
        report.bytes_checked += size
        if ref.size is not None and size != ref.size:
            report.issues.append(
                Issue(
                    "error",
                    "size-mismatch",
                    name,
                    f"{ref.kind} file {ref.path} has {size} bytes, the metadata records "
                    f"{ref.size} (truncated or overwritten)",
                    FIX_RESTORE,
                    (ref.path,),
                )
            )
    if lost_history:
        report.issues.append(
            Issue(
                "warning",
                "history",
                name,
                f"{len(lost_history)} earlier metadata files in the metadata-log are gone "
                "(reads work; only the table's change history lost them)",
                "nothing to repair; `doctordata maintain` rewrites the log on the next commit",
                tuple(lost_history),
            )
        )


def _check_orphans(
    tiers: Mapping[str, Tier],
    name: str,
    refs: TableRefs,
    min_age: float,
    report: IntegrityReport,
) -> None:
    from doctordata.catalog.locations import locate

    tier_name, rel = locate(tiers, refs.metadata.location)
    if tier_name == "":
        return
    from doctordata.storage.locations import Canonicalizer

    canon = Canonicalizer()  # compare canonical forms: 'data//f' is 'data/f'
    referenced = {canon(p) for p in refs.files}
    now = time.time()
    found: list[tuple[str, int]] = []
    for tier in tiers.values():
        table_dir = f"{tier.root.rstrip('/')}/{rel}"
        try:
            listing = tier.fs.find(table_dir, detail=True)
        except FileNotFoundError:
            continue
        for path, info in listing.items():
            listed = canon(path if tier.is_local else f"s3://{path}")
            mtime = modified_at(info)  # unknown age: a write in flight, as maintain() sees it
            if listed in referenced or mtime is None or now - mtime < min_age:
                continue
            found.append((path, int(info.get("size") or 0)))
    if found:
        from doctordata.config import human_bytes

        total = sum(size for _, size in found)
        report.issues.append(
            Issue(
                "warning",
                "orphans",
                name,
                f"{len(found)} orphan files ({human_bytes(total)}) no snapshot references, "
                f"e.g. {found[0][0]}",
                f"{FIX_MAINTAIN} (removes orphan files older than its safety age)",
                tuple(p for p, _ in found),
            )
        )


def _check_small_files(
    name: str, refs: TableRefs, small: int, count: int, report: IntegrityReport
) -> None:
    per_partition: Counter[str] = Counter()
    for ref in refs.files.values():
        if ref.kind == "data" and ref.current and ref.size is not None and ref.size < small:
            per_partition[ref.partition or ""] += 1
    crowded = {p: n for p, n in per_partition.items() if n >= count}
    if crowded:
        from doctordata.config import human_bytes

        files = sum(crowded.values())
        report.issues.append(
            Issue(
                "warning",
                "small-files",
                name,
                f"{len(crowded)} partitions hold {files} files smaller than "
                f"{human_bytes(small)} (at least {count} each): queries open too many files",
                f"{FIX_MAINTAIN} (compacts small files)",
            )
        )
