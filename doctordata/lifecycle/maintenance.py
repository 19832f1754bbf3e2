"""Table maintenance: compaction, snapshot expiry that frees files, orphan cleanup.

Example::

    report = lh.maintain()                      # every table, default ages
    report = lh.maintain("hn.items", expire_older_than="1d", retain_last=3)
    print(report)

One table's failure (a corrupt metadata.json, a commit that kept conflicting with another
writer) is recorded in that table's entry and the other tables are maintained; the
report's ``failed`` names them and the CLI exits non-zero.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from doctordata.config import parse_duration
from doctordata.errors import (
    CommitConflictError,
    DoctorDataError,
    IntegrityError,
    TableNotFoundError,
)
from doctordata.lifecycle import compaction
from doctordata.lifecycle.compaction import CompactionResult
from doctordata.lifecycle.expiry import ExpiryResult, expire_and_delete, snapshots_to_expire
from doctordata.lifecycle.orphans import OrphanResult, remove_orphans_of

if TYPE_CHECKING:
    from pyiceberg.table import Table

    from doctordata.workspace import Workspace

log = logging.getLogger(__name__)


@dataclass
class TableMaintenance:
    table: str
    compaction: CompactionResult | None = None
    expiry: ExpiryResult = field(default_factory=ExpiryResult)
    orphans: OrphanResult = field(default_factory=OrphanResult)
    error: DoctorDataError | None = None  # why this table was not (fully) maintained

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
    def failed(self) -> list[TableMaintenance]:
        """Entries of tables maintenance could not finish (each with its ``error``)."""
        return [t for t in self.tables if t.error is not None]

    @property
    def ok(self) -> bool:
        return not self.failed

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
            if t.error is not None:
                lines.append(f"{t.table}: FAILED: {t.error}")
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
        if self.failed:
            names = ", ".join(t.table for t in self.failed)
            lines.append(f"{len(self.failed)} table(s) failed: {names}")
        return "\n".join(lines)


def offline_tiers(lh: Workspace) -> tuple[dict[str, str], frozenset[str]]:
    """(offline tier -> why, every tier maintenance must leave alone); one stat per tier."""
    from doctordata.storage.offline import TierGuard

    guard = TierGuard(lh.tiers, lh.root)
    offline = {name: seen.detail for name, seen in guard.offline().items()}
    return offline, frozenset(guard.unavailable())


def maintain(
    lh: Workspace,
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
    from doctordata.lifecycle.journal import lifecycle_lock

    expire_s = parse_duration(expire_older_than, "expire_older_than")
    orphan_s = parse_duration(orphan_older_than, "orphan_older_than")
    if table is not None:
        _check_named_table(lh, table)
    names = [table] if table is not None else lh.tables()
    report = MaintenanceReport(dry_run=dry_run)
    report.offline_tiers, offline = offline_tiers(lh)
    # Orphan cleanup runs once for all tables, after every table's commits.
    cleaned: list[tuple[TableMaintenance, Table]] = []
    with lifecycle_lock(lh.root, "doctordata maintain"):
        for name in names:
            entry = TableMaintenance(table=name)
            report.tables.append(entry)
            step = "loading"
            try:
                tbl = lh.table(name)
                if compact:
                    step = "compaction"
                    entry.compaction = compaction.compact(
                        lh,
                        tbl,
                        target_file_size=target_file_size,
                        dry_run=dry_run,
                        offline=offline,
                    )
                    tbl.refresh()
                step = "snapshot expiry"
                ids = snapshots_to_expire(tbl, older_than_s=expire_s, retain_last=retain_last)
                entry.expiry = expire_and_delete(lh, tbl, ids, dry_run=dry_run, offline=offline)
                tbl.refresh()
                cleaned.append((entry, tbl))
            except _table_errors() as exc:
                entry.error = _table_error(lh, name, step, exc)
        # One pass: list every table's directories, then read every table's references
        # once (cleaning table by table would load all N tables N times).
        tables = [tbl for _, tbl in cleaned]
        try:
            orphans = remove_orphans_of(
                lh, tables, older_than_s=orphan_s, dry_run=dry_run, offline=offline
            )
        except _table_errors() as exc:
            orphans = [OrphanResult() for _ in cleaned]
            for entry, _ in cleaned:
                entry.error = _table_error(lh, entry.table, "orphan cleanup", exc)
        for (entry, _), result in zip(cleaned, orphans, strict=True):
            entry.orphans = result
            if not dry_run:
                _forget_checksums(lh, [*entry.expiry.deleted, *entry.orphans.deleted])
    return report


def _check_named_table(lh: Workspace, table: str) -> None:
    """A table the user named must be a valid, existing name: that is their input to fix,
    not a damaged table to report and skip (its metadata is not read here)."""
    from doctordata.catalog.identifiers import parse_table_name
    from doctordata.catalog.tables import no_table

    parse_table_name(table)
    if table not in lh.tables():
        raise TableNotFoundError(no_table(lh.catalog, table))


def _forget_checksums(lh: Workspace, deleted: list[str]) -> None:
    from sqlalchemy.exc import SQLAlchemyError

    from doctordata.catalog.checksums import store_for

    store = store_for(lh.settings.catalog_uri)
    if store is None or not deleted:
        return
    try:
        store.forget(deleted)
    except SQLAlchemyError as exc:  # stale rows are harmless: no file has their name
        log.warning("could not drop the checksums of %d deleted files: %s", len(deleted), exc)


def _table_errors() -> tuple[type[BaseException], ...]:
    from pyiceberg.exceptions import CommitFailedException

    from doctordata.catalog.damage import damage_errors

    # Not TableNotFoundError (a name the user typed) nor CatalogUnavailableError /
    # CatalogAuthError (every table would fail the same way): those stop the run.
    return (CommitConflictError, CommitFailedException, IntegrityError, *damage_errors())


def _table_error(lh: Workspace, name: str, step: str, exc: BaseException) -> DoctorDataError:
    from pyiceberg.exceptions import CommitFailedException

    from doctordata.catalog.damage import FIX_RESTORE, describe

    if isinstance(exc, (CommitConflictError, CommitFailedException)):
        return CommitConflictError(
            f"table {name}: {step} conflicted with a concurrent writer and was not "
            f"committed ({describe(exc)}); nothing was lost. Rerun `doctordata maintain "
            f"--table {name}` when the writer is done."
        )
    if isinstance(exc, DoctorDataError):
        return exc
    location = _metadata_location(lh, name)
    return IntegrityError(
        f"table {name}: {step} failed reading its metadata ({describe(exc)}; current "
        f"metadata file {location}). The other tables were maintained. Fix: {FIX_RESTORE}; "
        "`doctordata verify` lists what is damaged."
    )


def _metadata_location(lh: Workspace, name: str) -> str:
    """The catalog row's metadata location (readable even when the file is not)."""
    from doctordata.catalog.damage import metadata_location

    try:
        return metadata_location(lh.catalog, name) or "?"
    except Exception:  # a message detail: never hide the error being reported
        return "?"
