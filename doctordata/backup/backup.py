"""Backups of a whole lakehouse: catalog + metadata + data, incremental, to any tier.

    report = lh.backup("nas")          # or doctordata backup --to nas
    list_backups(lh, "nas"); verify_backup(lh, report.id, to="nas"); prune(lh, keep_last=7)
    dd.restore(report.url, "/srv/lake2")

Consistency: the catalog is copied first, at one instant (catalog_snapshot.py); then every
file the catalog copy references is copied. Iceberg files are immutable, so the result is
exactly that instant even while other processes append. Files already in the target's
object store (same location and size as in an earlier backup, or same sha256) are not
copied again. The manifest goes last, atomically: no manifest, no backup.

``to`` is a tier name from the config, or a path / URL (``/mnt/usb/lake-backups``,
``s3://bucket/prefix`` with ``endpoint=``) for a one-off target; backups land in
``<to>/backups/``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets
import socket
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from doctordata.backup.fence import wait_for_prunes
from doctordata.backup.heartbeat import HEARTBEAT_SECONDS, Heartbeat
from doctordata.backup.manifest import SOURCE_STAMPS, BackupManifest
from doctordata.backup.previous import PreviousBackup, load_previous
from doctordata.backup.store import (
    DEFAULT_WORKERS,
    MANIFEST_NAME,
    STARTED_NAME,
    SYNC_WORKERS,
    BackupTarget,
    ObjectIndex,
)
from doctordata.config import mask_url

if TYPE_CHECKING:
    from concurrent.futures import Executor, Future

    from pyiceberg.io import FileIO

    from doctordata.backup.catalog_snapshot import CatalogSnapshot
    from doctordata.backup.copy import Copier
    from doctordata.backup.manifest import BackupFile
    from doctordata.backup.restore import RestoreReport
    from doctordata.catalog.references import MetadataFiles
    from doctordata.workspace import Workspace

from doctordata.backup.prune import PruneReport, prune
from doctordata.backup.targets import (
    BACKUP_ID,
    BackupInfo,
    adhoc_tier,
    list_backups,
    list_target_backups,
    load_manifest,
    open_backup,
    open_store,
    prepare_target,
    resolve_target,
    target_for_tier,
    unusable,
)
from doctordata.backup.verify import BackupVerifyReport, verify_backup, verify_objects

MAX_ATTEMPTS = 3  # re-snapshot when a concurrent expiry deleted a file we were about to copy


# -- reports ------------------------------------------------------------------------------
@dataclass
class BackupReport:
    """What one backup did. ``str(report)`` is the CLI summary."""

    id: str
    url: str
    tables: int
    files: int
    bytes: int
    copied_files: int
    copied_bytes: int
    seconds: float
    missing: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def failed_tables(self) -> list[str]:
        """Tables whose metadata could not be read: not (fully) in this backup."""
        return sorted({m["table"] for m in self.missing if m.get("kind") == "metadata"})

    @property
    def reused_files(self) -> int:
        return self.files - self.copied_files

    @property
    def throughput(self) -> float:
        """Bytes copied per second."""
        return self.copied_bytes / self.seconds if self.seconds > 0 else 0.0

    def __str__(self) -> str:
        from doctordata.config import human_bytes

        lines = [
            f"backup {self.id} -> {self.url}",
            f"  {self.tables} tables, {self.files} files, {human_bytes(self.bytes)}",
            f"  copied {self.copied_files} files ({human_bytes(self.copied_bytes)}), "
            f"reused {self.reused_files} from earlier backups",
            f"  {self.seconds:.1f} s, {human_bytes(self.throughput)}/s",
        ]
        lines += [f"  warning: {w}" for w in self.warnings]
        lines += [f"  missing in source: {m['path']} ({m['reason']})" for m in self.missing]
        if self.failed_tables:
            lines.append(
                f"  tables left out (metadata unreadable): {', '.join(self.failed_tables)}; "
                "`doctordata verify` names the damage, an earlier backup still holds them"
            )
        return "\n".join(lines)


# -- backup -------------------------------------------------------------------------------
def new_backup_id(now: dt.datetime | None = None) -> str:
    """'20261127T031500.123456Z-1a2b3c': ids sort by time (microseconds, so two backups
    in one second still list in order); the suffix keeps concurrent ones apart."""
    now = now or dt.datetime.now(dt.UTC)
    return f"{now:%Y%m%dT%H%M%S.%fZ}-{secrets.token_hex(3)}"


def _utcnow() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _file_io(lh: Workspace) -> FileIO:
    from pyiceberg.io import load_file_io

    return load_file_io(dict(lh.catalog.properties))


def backup(
    lh: Workspace,
    to: str = "nas",
    *,
    progress: bool | None = None,
    workers: int = DEFAULT_WORKERS,
    endpoint: str | None = None,
    durable: bool = True,
    create: bool = False,
) -> BackupReport:
    """Back up the catalog, every metadata file and every referenced data file to ``to``.

    A target directory that does not exist is refused unless ``create=True``; an offline
    one (an unmounted NAS that held backups or data before) raises TierOfflineError.

    Incremental: files already stored by an earlier backup on the same target are not
    copied again. Returns a :class:`BackupReport`; the backup is listed (and restorable)
    only once its manifest is written, as the very last step.

    Example::

        report = lh.backup("nas")
        print(report)            # files, bytes, throughput
    """
    target = resolve_target(lh, to, endpoint=endpoint, durable=durable, create=create)
    prepare_target(target)
    # Held for the whole run: a prune deciding and deleting objects on this target holds
    # it exclusively (store.object_lock), so no object this backup reuses is deleted.
    # Without locks (S3) prune markers do that job (fence.py).
    with target.object_lock(exclusive=False) as lock:
        return _back_up(lh, to, target, lock == "none", progress, workers)


def _back_up(
    lh: Workspace,
    to: str,
    target: BackupTarget,
    fenced: bool,
    progress: bool | None,
    workers: int,
) -> BackupReport:
    from doctordata.storage.offline import lake_id
    from doctordata.version import __version__

    backup_id = new_backup_id()
    started = time.monotonic()
    record = {
        "id": backup_id,
        "started_at": _utcnow(),
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "source_root": str(lh.root),
        "lake_id": lake_id(lh.root),
    }
    # Only tells a concurrent prune that this backup is running; after a crash nothing
    # runs, and prune falls back to the id's timestamp: no fsync needed. The heartbeat
    # rewrites it while the backup runs (a long backup is not "abandoned").
    try:
        target.write_json(target.path(backup_id, STARTED_NAME), record, sync=False)
    except OSError as exc:
        raise unusable(target, exc) from exc
    heartbeat = Heartbeat(target, backup_id, record, HEARTBEAT_SECONDS)
    io = _file_io(lh)
    source = _source_info(lh)
    published: set[str] = set()  # objects this backup added, over every attempt
    with (
        heartbeat,
        tempfile.TemporaryDirectory(prefix="doctordata-backup-") as tmp,
        ThreadPoolExecutor(max_workers=SYNC_WORKERS) as helpers,
    ):
        # Our started.json exists: a prune starting from now on sees this backup and
        # deletes no object. One that started before must finish before we learn what
        # the store holds (what this backup may reuse), or it could delete that.
        waited = wait_for_prunes(target) if fenced else []
        existing = open_store(target)
        # Read and check the previous backup while SQLite copies the catalog (both
        # release the GIL): an incremental backup's fixed cost is mostly such small steps.
        loading = helpers.submit(load_previous, target, source["lake_id"], source["root"])
        for attempt in range(MAX_ATTEMPTS):
            created_at = _utcnow()
            snap = _snapshot(lh, Path(tmp))
            copier, missing, walk_cache = _walk_and_copy(
                lh, io, snap, target, loading, existing, progress, workers, helpers, source
            )
            previous = loading.result()
            published |= copier.published
            if not missing or attempt == MAX_ATTEMPTS - 1 or not _catalog_moved(lh, snap, tmp):
                break
        catalog = snap.to_dict()
        if copier.catalog_object is not None:
            sha, size = copier.catalog_object
            catalog.update(object=sha, size=size)
        elif snap.sqlite_copy is not None:
            data = snap.sqlite_copy.read_bytes()
            sha = hashlib.sha256(data).hexdigest()
            target.put_bytes(sha, data, existing)
            catalog.update(object=sha, size=len(data))
        # The objects' names become durable while the manifest is built and written; it
        # is renamed into place (the backup exists) only once they all are.
        names_durable = target.sync_dirs(published, helpers)
        # The manifest's file entries as JSON: the new files', and those repeated as they
        # were from the previous manifest (no BackupFile built and taken apart again).
        files = sorted(
            [vars(f) for f in copier.files] + copier.reused, key=lambda f: str(f["path"])
        )
        copied_files, copied_bytes = copier.copied_files, copier.copied_bytes
        walk_cache[SOURCE_STAMPS] = [copier.stamps.get(f["path"]) for f in files]
        seconds = time.monotonic() - started
        manifest = BackupManifest(
            id=backup_id,
            created_at=created_at,
            doctordata_version=__version__,
            source=source,
            catalog=catalog,
            missing=missing,
            completed_at=_utcnow(),
            complete=True,
            walk_cache=walk_cache,
            stats={
                "copied_files": copied_files,
                "copied_bytes": copied_bytes,
                "seconds": round(seconds, 3),
            },
        )
        written = manifest.to_dict()
        written["files"] = files
        heartbeat.check_alive()
        target.write_json(
            target.path(backup_id, MANIFEST_NAME), written, before_rename=names_durable
        )
    warnings = [_changed_warning(path, sha, previous) for path, sha in copier.changed]
    warnings += [f"waited for a prune of {target.url} to finish ({m})" for m in waited]
    warnings += _damaged_in_lake(lh, copier.files)
    if to == lh.settings.hot_tier:
        warnings.append(
            f"the backup is on the hot tier {to!r}, the same disk as the data: it will not "
            "survive a dead SSD. Back up to a NAS or S3 tier."
        )
    return BackupReport(
        id=backup_id,
        url=f"{target.url}/{backup_id}",
        tables=len(snap.tables),
        files=len(files),
        bytes=sum(int(f["size"]) for f in files),
        copied_files=copied_files,
        copied_bytes=copied_bytes,
        seconds=seconds,
        missing=missing,
        warnings=warnings,
    )


def _snapshot(lh: Workspace, workdir: Path) -> CatalogSnapshot:
    from doctordata.backup.catalog_snapshot import snapshot_catalog

    return snapshot_catalog(lh.settings, workdir)


def _catalog_moved(lh: Workspace, snap: CatalogSnapshot, tmp: str) -> bool:
    """True if a table's metadata pointer moved since ``snap`` (a concurrent commit)."""
    with tempfile.TemporaryDirectory(dir=tmp) as again:
        return _snapshot(lh, Path(again)).table_locations() != snap.table_locations()


def _walk_and_copy(
    lh: Workspace,
    io: FileIO,
    snap: CatalogSnapshot,
    target: BackupTarget,
    loading: Future[PreviousBackup],
    existing: ObjectIndex,
    progress: bool | None,
    workers: int,
    sync_pool: Executor,
    source: dict[str, Any],
) -> tuple[Copier, list[dict[str, str]], dict[str, Any]]:
    """Walk every table of ``snap`` and copy each file as soon as the walk finds it.
    ``loading`` gives the previous backup; the metadata.json files are parsed meanwhile.
    Returns the copier, the files found missing, and the walk cache for the manifest."""
    from doctordata.backup.copy import Copier, missing_entry
    from doctordata.catalog.damage import damage_errors, describe
    from doctordata.catalog.references import WalkCache, read_metadata_files, walk_references
    from doctordata.progress import byte_progress

    record = WalkCache()
    missing: list[dict[str, str]] = []
    metadata: dict[str, MetadataFiles] = {}
    for table, location in snap.table_locations().items():
        try:
            metadata[table] = read_metadata_files(io, location)
        except damage_errors() as exc:  # this table is left out and reported; others go on
            missing.append(missing_entry(location, "metadata", table, describe(exc)))
    previous = loading.result()
    known = previous.walk_cache()
    with byte_progress("backup", None, progress) as advance:
        copier = Copier(
            lh.tiers,
            target,
            previous,
            existing,
            advance,
            workers,
            sync_pool,
            source["tiers"],
            hold_known=not previous.checked,  # checked after the walk (copier.flush)
        )
        try:
            if snap.sqlite_copy is not None:
                copier.store_catalog(str(snap.sqlite_copy))
            for table, location in snap.table_locations().items():
                if table not in metadata:
                    continue
                try:
                    walked = walk_references(
                        io,
                        table,
                        location,
                        metadata[table],
                        known=known,
                        record=record,
                        on_ref=copier,
                    )
                except damage_errors() as exc:
                    missing.append(missing_entry(location, "metadata", table, describe(exc)))
                    continue
                for path, kind, reason in walked.unreadable:
                    missing.append(missing_entry(path, kind, table, reason))
            copier.flush()
            walk_cache = record.to_dict()  # while the last copies are still being synced
        finally:
            copier.finish()
    return copier, missing + copier.missing, walk_cache


def _changed_warning(path: str, old_sha: str, previous: PreviousBackup) -> str:
    return (
        f"{path} changed since backup {previous.id} although Iceberg never rewrites a "
        f"file (its sha256 was {old_sha[:12]}..., now different): something wrote into "
        "the lake, or the disk damaged it. This backup holds its current bytes, the "
        f"earlier backup the old ones; check the table with `doctordata verify`."
    )


def _damaged_in_lake(lh: Workspace, copied: list[BackupFile]) -> list[str]:
    """Warnings for data files this backup read whose sha256 differs from the checksum
    recorded when doctordata wrote them: the lake's copy is damaged (the backup holds
    the damaged bytes; an earlier backup may hold the good ones)."""
    from doctordata.catalog.checksums import store_for

    store = store_for(lh.settings.catalog_uri)
    data = {f.path: f for f in copied if f.kind in ("data", "delete")}
    if store is None or not data:
        return []
    recorded = store.lookup(data)
    return [
        f"data file {path} of table {data[path].table} differs from the checksum recorded "
        f"when it was written (sha256 {data[path].sha256[:12]}..., recorded "
        f"{r.sha256[:12]}...): it is damaged in the lake and this backup holds the damaged "
        "bytes. Run `doctordata verify --deep`; an earlier backup may hold the good ones."
        for path, r in recorded.items()
        if r.sha256 != data[path].sha256
    ]


def _source_info(lh: Workspace) -> dict[str, Any]:
    from doctordata.storage.offline import lake_id

    return {
        "root": str(lh.root),
        # Which lake made it: prune and `restore latest` keep to one lake's backups when
        # two (a lake and its relocated copy) back up to the same target.
        "lake_id": lake_id(lh.root),
        "catalog_uri": mask_url(lh.settings.catalog_uri),
        "catalog_name": lh.settings.catalog.name,
        "hot_tier": lh.settings.hot_tier,
        "tiers": {
            name: {"url": t.url, "endpoint": t.endpoint, "region": t.region}
            for name, t in lh.tiers.items()
        },
        "policies": [p.model_dump(exclude_none=True) for p in lh.settings.policies],
    }


# -- restore ------------------------------------------------------------------------------
def restore(
    backup: str | BackupInfo,
    root: str | os.PathLike[str],
    *,
    force: bool = False,
    **options: Any,
) -> RestoreReport:
    """Rebuild a working lakehouse at ``root`` from ``backup`` (see backup/restore.py)."""
    from doctordata.backup.restore import restore as _restore

    return _restore(backup, root, force=force, **options)


__all__ = [
    "BACKUP_ID",
    "BackupInfo",
    "BackupReport",
    "BackupVerifyReport",
    "PruneReport",
    "adhoc_tier",
    "backup",
    "list_backups",
    "list_target_backups",
    "load_manifest",
    "open_backup",
    "prune",
    "resolve_target",
    "restore",
    "target_for_tier",
    "verify_backup",
    "verify_objects",
]
