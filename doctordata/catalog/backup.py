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
import re
import secrets
import socket
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from doctordata.catalog.backup_manifest import BackupManifest
from doctordata.catalog.backup_store import (
    BACKUPS_DIR,
    MANIFEST_NAME,
    OBJECTS_DIR,
    STARTED_NAME,
    TMP_DIR,
    BackupTarget,
    hash_file,
)
from doctordata.config import mask_url, parse_duration
from doctordata.errors import (
    BackupError,
    BackupNotFoundError,
    ConfigError,
    TierUnavailableError,
)

if TYPE_CHECKING:
    from pyiceberg.io import FileIO

    from doctordata.catalog.backup_copy import Copier
    from doctordata.catalog.catalog_snapshot import CatalogSnapshot
    from doctordata.catalog.file_refs import WalkCache
    from doctordata.catalog.restore import RestoreReport
    from doctordata.lakehouse import Lakehouse
    from doctordata.storage.tier import Tier

BACKUP_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{6}$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
TMP_NAME = re.compile(r"^[0-9a-f]{32}$")
MAX_ATTEMPTS = 3  # re-snapshot when a concurrent expiry deleted a file we were about to copy
DEFAULT_WORKERS = 4


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
    def reused_files(self) -> int:
        return self.files - self.copied_files

    @property
    def throughput(self) -> float:
        """Bytes copied per second."""
        return self.copied_bytes / self.seconds if self.seconds > 0 else 0.0

    def __str__(self) -> str:
        from doctordata.commands import human_bytes

        lines = [
            f"backup {self.id} -> {self.url}",
            f"  {self.tables} tables, {self.files} files, {human_bytes(self.bytes)}",
            f"  copied {self.copied_files} files ({human_bytes(self.copied_bytes)}), "
            f"reused {self.reused_files} from earlier backups",
            f"  {self.seconds:.1f} s, {human_bytes(self.throughput)}/s",
        ]
        lines += [f"  warning: {w}" for w in self.warnings]
        lines += [f"  missing in source: {m['path']} ({m['reason']})" for m in self.missing]
        return "\n".join(lines)


@dataclass(frozen=True)
class BackupInfo:
    id: str
    url: str
    complete: bool
    created_at: str | None
    tables: int = 0
    files: int = 0
    bytes: int = 0
    doctordata_version: str | None = None


@dataclass
class BackupVerifyReport:
    id: str
    url: str
    files: int
    bytes: int
    seconds: float
    # (file location in the source, object path, problem)
    bad: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.bad

    def __str__(self) -> str:
        from doctordata.commands import human_bytes

        head = "OK" if self.ok else f"{len(self.bad)} BAD FILES"
        lines = [
            f"backup {self.id} at {self.url}: {head}",
            f"  checked {self.files} files, {human_bytes(self.bytes)} in {self.seconds:.1f} s",
        ]
        lines += [f"  {path}: {problem} (object {obj})" for path, obj, problem in self.bad]
        return "\n".join(lines)


@dataclass
class PruneReport:
    kept: list[str]
    deleted: list[str]
    deleted_objects: int
    deleted_bytes: int
    dry_run: bool

    def __str__(self) -> str:
        from doctordata.commands import human_bytes

        verb = "would delete" if self.dry_run else "deleted"
        return (
            f"kept {len(self.kept)} backups; {verb} {len(self.deleted)} backups "
            f"({', '.join(self.deleted) or 'none'}) and {self.deleted_objects} objects "
            f"({human_bytes(self.deleted_bytes)})"
        )


# -- targets ------------------------------------------------------------------------------
def resolve_target(
    lh: Lakehouse, to: str, *, endpoint: str | None = None, durable: bool = True
) -> BackupTarget:
    """The backups directory on tier ``to`` (a configured tier name, path or URL)."""
    return target_for_tier(_tier_for(lh, to, endpoint), durable=durable)


def _tier_for(lh: Lakehouse, to: str, endpoint: str | None) -> Tier:
    if to in lh.tiers:
        return lh.tiers[to]
    if "/" in to or "://" in to:
        return adhoc_tier(to, endpoint)
    raise ConfigError(
        f"backup target {to!r}: no tier of that name; configured tiers: "
        f'{", ".join(lh.tiers)}. Add [tiers.{to}] url = "file:///mnt/nas/lake" to '
        "doctordata.toml, or pass a directory path or s3:// URL instead."
    )


def adhoc_tier(location: str, endpoint: str | None = None) -> Tier:
    """A Tier for a path or URL that is not in the config (one-off targets, restore)."""
    from urllib.parse import urlsplit

    from doctordata.storage.tier import Tier

    scheme = urlsplit(location).scheme
    if scheme in ("", "file"):
        raw = urlsplit(location).path if scheme else location
        url = Path(raw).expanduser().resolve().as_uri()
    elif scheme in ("s3", "s3a"):
        url = location
    else:
        raise ConfigError(
            f"backup location {location!r}: unsupported scheme {scheme!r}; use a directory "
            "path, file:///path or s3://bucket/prefix"
        )
    return Tier(name="backup", url=url.rstrip("/"), endpoint=endpoint)


def target_for_tier(tier: Tier, *, durable: bool = True) -> BackupTarget:
    return BackupTarget(
        fs=tier.fs,
        base=f"{tier.root.rstrip('/')}/{BACKUPS_DIR}",
        url=tier.join(BACKUPS_DIR),
        durable=durable,
    )


def _prepare(target: BackupTarget) -> dict[str, int]:
    try:
        target.ensure()
        return target.list_objects()
    except OSError as exc:
        raise TierUnavailableError(
            f"cannot use the backup target {target.url}: {exc}. Check that the NAS is "
            "mounted / the bucket exists and the credentials are set, then retry."
        ) from exc


# -- backup -------------------------------------------------------------------------------
def new_backup_id(now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def _utcnow() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _file_io(lh: Lakehouse) -> FileIO:
    from pyiceberg.io import load_file_io

    return load_file_io(dict(lh.catalog.properties))


def backup(
    lh: Lakehouse,
    to: str = "nas",
    *,
    progress: bool | None = None,
    workers: int = DEFAULT_WORKERS,
    endpoint: str | None = None,
    durable: bool = True,
) -> BackupReport:
    """Back up the catalog, every metadata file and every referenced data file to ``to``.

    Incremental: files already stored by an earlier backup on the same target are not
    copied again. Returns a :class:`BackupReport`; the backup is listed (and restorable)
    only once its manifest is written, as the very last step.

    Example::

        report = lh.backup("nas")
        print(report)            # files, bytes, throughput
    """
    from doctordata import __version__

    target = resolve_target(lh, to, endpoint=endpoint, durable=durable)
    existing = _prepare(target)
    backup_id = new_backup_id()
    started = time.monotonic()
    target.write_json(
        target.path(backup_id, STARTED_NAME),
        {
            "id": backup_id,
            "started_at": _utcnow(),
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "source_root": str(lh.root),
        },
    )
    index, known = _previous_index(target)
    io = _file_io(lh)
    with tempfile.TemporaryDirectory(prefix="doctordata-backup-") as tmp:
        for attempt in range(MAX_ATTEMPTS):
            created_at = _utcnow()
            snap = _snapshot(lh, Path(tmp))
            copier, missing, record = _walk_and_copy(
                lh, io, snap, target, index, known, existing, progress, workers
            )
            if not missing or attempt == MAX_ATTEMPTS - 1 or not _catalog_moved(lh, snap, tmp):
                break
        catalog = snap.to_dict()
        if snap.sqlite_copy is not None:
            data = snap.sqlite_copy.read_bytes()
            sha = hashlib.sha256(data).hexdigest()
            target.put_bytes(sha, data, existing)
            catalog.update(object=sha, size=len(data))
    files = copier.files
    copied_files, copied_bytes = copier.copied_files, copier.copied_bytes
    seconds = time.monotonic() - started
    manifest = BackupManifest(
        id=backup_id,
        created_at=created_at,
        doctordata_version=__version__,
        source=_source_info(lh),
        catalog=catalog,
        files=sorted(files, key=lambda f: f.path),
        missing=missing,
        completed_at=_utcnow(),
        complete=True,
        walk_cache=record.to_dict(),
        stats={
            "copied_files": copied_files,
            "copied_bytes": copied_bytes,
            "seconds": round(seconds, 3),
        },
    )
    target.write_json(target.path(backup_id, MANIFEST_NAME), manifest.to_dict())
    warnings = []
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
        bytes=manifest.total_bytes,
        copied_files=copied_files,
        copied_bytes=copied_bytes,
        seconds=seconds,
        missing=missing,
        warnings=warnings,
    )


def _snapshot(lh: Lakehouse, workdir: Path) -> CatalogSnapshot:
    from doctordata.catalog.catalog_snapshot import snapshot_catalog

    return snapshot_catalog(lh.settings, workdir)


def _catalog_moved(lh: Lakehouse, snap: CatalogSnapshot, tmp: str) -> bool:
    """True if a table's metadata pointer moved since ``snap`` (a concurrent commit)."""
    with tempfile.TemporaryDirectory(dir=tmp) as again:
        return _snapshot(lh, Path(again)).table_locations() != snap.table_locations()


def _walk_and_copy(
    lh: Lakehouse,
    io: FileIO,
    snap: CatalogSnapshot,
    target: BackupTarget,
    index: dict[str, tuple[int, str]],
    known: WalkCache,
    existing: dict[str, int],
    progress: bool | None,
    workers: int,
) -> tuple[Copier, list[dict[str, str]], WalkCache]:
    """Walk every table of ``snap`` and copy each file as soon as the walk finds it."""
    from doctordata.catalog.backup_copy import Copier, missing_entry
    from doctordata.catalog.file_refs import WalkCache, table_references
    from doctordata.catalog.progress import byte_progress

    record = WalkCache()
    missing: list[dict[str, str]] = []
    with byte_progress("backup", None, progress) as advance:
        copier = Copier(lh.tiers, target, index, existing, advance, workers)
        try:
            for table, location in snap.table_locations().items():
                try:
                    walked = table_references(
                        io, table, location, known=known, record=record, on_ref=copier
                    )
                except OSError as exc:
                    missing.append(missing_entry(location, "metadata", table, exc))
                    continue
                for path, kind, reason in walked.unreadable:
                    missing.append(missing_entry(path, kind, table, reason))
        finally:
            copier.finish()
    return copier, missing + copier.missing, record


def _previous_index(target: BackupTarget) -> tuple[dict[str, tuple[int, str]], WalkCache]:
    """From the newest complete backup on this target: location -> (size, sha256), and
    what its manifests contained."""
    from doctordata.catalog.file_refs import WalkCache

    for info in reversed(list_target_backups(target)):
        try:
            manifest = load_manifest(target, info.id)
        except BackupError:
            continue
        index = {f.path: (f.size, f.sha256) for f in manifest.files}
        return index, WalkCache.from_dict(manifest.walk_cache)
    return {}, WalkCache()


def _source_info(lh: Lakehouse) -> dict[str, Any]:
    return {
        "root": str(lh.root),
        "catalog_uri": mask_url(lh.settings.catalog_uri),
        "catalog_name": lh.settings.catalog.name,
        "hot_tier": lh.settings.hot_tier,
        "tiers": {
            name: {"url": t.url, "endpoint": t.endpoint, "region": t.region}
            for name, t in lh.tiers.items()
        },
        "policies": [p.model_dump(exclude_none=True) for p in lh.settings.policies],
    }


# -- listing and loading ------------------------------------------------------------------
def list_target_backups(target: BackupTarget, include_incomplete: bool = False) -> list[BackupInfo]:
    out: list[BackupInfo] = []
    for backup_id in target.backup_ids():
        if not BACKUP_ID.match(backup_id):
            continue  # not ours (e.g. a namespace called "backups" on the hot tier)
        manifest_path = target.path(backup_id, MANIFEST_NAME)
        url = f"{target.url}/{backup_id}"
        data = None
        if target.fs.exists(manifest_path):
            try:
                data = BackupManifest.from_dict(target.read_json(manifest_path), manifest_path)
            except (BackupError, ValueError):
                data = None
        if data is not None and data.complete:
            out.append(
                BackupInfo(
                    backup_id,
                    url,
                    True,
                    data.created_at,
                    len(data.tables),
                    len(data.files),
                    data.total_bytes,
                    data.doctordata_version,
                )
            )
        elif include_incomplete:
            out.append(BackupInfo(backup_id, url, False, None))
    return out


def list_backups(
    lh: Lakehouse,
    to: str = "nas",
    *,
    include_incomplete: bool = False,
    endpoint: str | None = None,
) -> list[BackupInfo]:
    """Backups on ``to``, oldest first. Partial backups (killed midway) only on request."""
    return list_target_backups(resolve_target(lh, to, endpoint=endpoint), include_incomplete)


def load_manifest(target: BackupTarget, backup_id: str) -> BackupManifest:
    """The complete manifest of ``backup_id``; BackupError if partial, damaged or absent."""
    path = target.path(backup_id, MANIFEST_NAME)
    if not target.fs.exists(target.backup_dir(backup_id)):
        known = [b.id for b in list_target_backups(target)]
        raise BackupNotFoundError(
            f"no backup {backup_id!r} in {target.url}; complete backups there: "
            f"{', '.join(known) or 'none'} (see `doctordata backup list`)"
        )
    if not target.fs.exists(path):
        raise BackupError(
            f"backup {backup_id!r} in {target.url} is incomplete (it was interrupted before "
            "its manifest was written) and cannot be restored; choose a complete one from "
            "`doctordata backup list`, and remove partial ones with `doctordata backup prune`"
        )
    try:
        manifest = BackupManifest.from_dict(target.read_json(path), path)
    except ValueError as exc:
        raise BackupError(f"{path}: the backup manifest is damaged ({exc})") from None
    if not manifest.complete:
        raise BackupError(f"backup {backup_id!r} in {target.url} is marked incomplete")
    return manifest


def open_backup(
    backup: str | BackupInfo | None,
    *,
    lh: Lakehouse | None = None,
    to: str = "nas",
    endpoint: str | None = None,
) -> tuple[BackupTarget, BackupManifest]:
    """Find a backup by id (on ``lh``'s tier ``to``), by path/URL, or the latest (None)."""
    if isinstance(backup, BackupInfo):
        backup = backup.url
    if backup is not None and ("/" in backup or "://" in backup):
        location = backup.rstrip("/")
        if location.endswith("/" + MANIFEST_NAME):
            location = location[: -len(MANIFEST_NAME) - 1]
        parent, _, backup_id = location.rpartition("/")
        tier = adhoc_tier(parent, endpoint)
        target = BackupTarget(fs=tier.fs, base=tier.root, url=tier.url)
        return target, load_manifest(target, backup_id)
    if lh is None:
        raise BackupError(
            f"backup {backup!r}: give the backup's directory path or URL "
            "(e.g. /mnt/nas/lake/backups/<id>), or open the lakehouse to look it up by id"
        )
    target = resolve_target(lh, to, endpoint=endpoint)
    if backup is None or backup == "latest":
        complete = list_target_backups(target)
        if not complete:
            raise BackupNotFoundError(
                f"no complete backup in {target.url}; make one with `doctordata backup --to {to}`"
            )
        backup = complete[-1].id
    return target, load_manifest(target, backup)


# -- verify -------------------------------------------------------------------------------
def verify_objects(
    target: BackupTarget,
    manifest: BackupManifest,
    *,
    progress: bool | None = None,
    workers: int = DEFAULT_WORKERS,
) -> BackupVerifyReport:
    """Re-read and checksum every object ``manifest`` needs."""
    from doctordata.catalog.progress import byte_progress

    started = time.monotonic()
    checks: dict[str, tuple[str, int]] = {}  # sha -> (a location it holds, size)
    for f in manifest.files:
        checks.setdefault(f.sha256, (f.path, f.size))
    if manifest.catalog.get("object"):
        checks.setdefault(
            manifest.catalog["object"],
            ("<catalog database copy>", int(manifest.catalog.get("size", 0))),
        )
    bad: list[tuple[str, str, str]] = []

    def check(item: tuple[str, tuple[str, int]]) -> None:
        sha, (path, size) = item
        obj = target.object_path(sha)
        try:
            got, got_size = hash_file(target.fs, obj, advance)
        except FileNotFoundError:
            bad.append((path, obj, "object missing from the backup store"))
            return
        if got_size != size:
            bad.append((path, obj, f"size {got_size} bytes, expected {size}"))
        elif got != sha:
            bad.append((path, obj, f"checksum mismatch (sha256 {got[:12]}…, expected {sha[:12]}…)"))

    total = sum(size for _, size in checks.values())
    with byte_progress("verify", total, progress) as advance, ThreadPoolExecutor(workers) as pool:
        list(pool.map(check, checks.items()))
    return BackupVerifyReport(
        id=manifest.id,
        url=f"{target.url}/{manifest.id}",
        files=len(checks),
        bytes=total,
        seconds=time.monotonic() - started,
        bad=sorted(bad),
    )


def verify_backup(
    lh: Lakehouse | None,
    backup: str | BackupInfo | None = None,
    *,
    to: str = "nas",
    progress: bool | None = None,
    endpoint: str | None = None,
) -> BackupVerifyReport:
    """Re-read and checksum every file of a backup (the latest one by default).

    Returns a report whose ``bad`` lists each damaged or missing file by its location.
    """
    target, manifest = open_backup(backup, lh=lh, to=to, endpoint=endpoint)
    return verify_objects(target, manifest, progress=progress)


# -- prune --------------------------------------------------------------------------------
def _age_seconds(created_at: str | None, now: dt.datetime) -> float:
    if not created_at:
        return float("inf")
    return (now - dt.datetime.fromisoformat(created_at)).total_seconds()


def _mtime(info: dict[str, Any]) -> float:
    value = info.get("mtime", info.get("LastModified", info.get("created")))
    if isinstance(value, dt.datetime):
        return value.timestamp()
    return float(value) if value is not None else 0.0


def prune(
    lh: Lakehouse,
    to: str = "nas",
    *,
    keep_last: int | None = None,
    older_than: str | None = None,
    dry_run: bool = False,
    incomplete_grace: str = "24h",
    endpoint: str | None = None,
) -> PruneReport:
    """Delete old backups, then every stored object no kept backup needs.

    A backup is deleted if it is not among the newest ``keep_last`` AND (if given) older
    than ``older_than`` ("30d"). The newest complete backup is always kept. Partial
    backups are deleted once older than ``incomplete_grace``; until then they count as
    running, and no object written since they started is deleted.
    """
    if keep_last is None and older_than is None:
        raise BackupError(
            "prune needs keep_last (e.g. 7) and/or older_than (e.g. '30d'): without a rule "
            "it would have nothing to decide with"
        )
    if keep_last is not None and keep_last < 1:
        raise BackupError(f"keep_last = {keep_last}: must be at least 1 (the newest backup stays)")
    max_age = parse_duration(older_than) if older_than else None
    grace = parse_duration(incomplete_grace)
    target = resolve_target(lh, to, endpoint=endpoint)
    now = dt.datetime.now(dt.UTC)
    backups = list_target_backups(target, include_incomplete=True)
    complete = [b for b in backups if b.complete]
    keep_ids = {b.id for b in complete[-keep_last:]} if keep_last else set()
    if complete:
        keep_ids.add(complete[-1].id)
    delete: list[str] = []
    running_since = float("inf")
    for b in backups:
        if b.complete:
            old_enough = max_age is None or _age_seconds(b.created_at, now) >= max_age
            if b.id not in keep_ids and old_enough:
                delete.append(b.id)
            continue
        started = _started_at(target, b.id)
        if now.timestamp() - started > grace:
            delete.append(b.id)
        else:
            running_since = min(running_since, started)
    kept = [b.id for b in complete if b.id not in delete]
    needed: set[str] = set()
    for backup_id in kept:
        needed |= load_manifest(target, backup_id).objects()
    doomed = {
        sha: info
        for sha, info in target.object_infos().items()
        if SHA256.match(sha) and sha not in needed and _mtime(info) < running_since - 60
    }
    if not dry_run:
        for backup_id in delete:
            # Manifest first: from then on the backup is partial, never half-restorable.
            target.remove(target.path(backup_id, MANIFEST_NAME))
            target.remove(target.backup_dir(backup_id), recursive=True)
        for info in doomed.values():
            target.remove(info["name"])
        _clean_tmp(target, now.timestamp() - grace)
    return PruneReport(
        kept=kept,
        deleted=delete,
        deleted_objects=len(doomed),
        deleted_bytes=sum(int(i.get("size") or 0) for i in doomed.values()),
        dry_run=dry_run,
    )


def _started_at(target: BackupTarget, backup_id: str) -> float:
    path = target.path(backup_id, STARTED_NAME)
    try:
        data = target.read_json(path)
        return dt.datetime.fromisoformat(data["started_at"]).timestamp()
    except (OSError, ValueError, KeyError):
        # No readable marker: judge by the id's own timestamp.
        stamp = dt.datetime.strptime(backup_id.split("-")[0], "%Y%m%dT%H%M%SZ")
        return stamp.replace(tzinfo=dt.UTC).timestamp()


def _clean_tmp(target: BackupTarget, before: float) -> None:
    tmp = target.path(TMP_DIR)
    if not target.fs.exists(tmp):
        return
    for path, info in target.fs.find(tmp, detail=True).items():
        if TMP_NAME.match(path.rsplit("/", 1)[-1]) and _mtime(info) < before:
            target.remove(path)


# -- restore ------------------------------------------------------------------------------
def restore(
    backup: str | BackupInfo,
    root: str | os.PathLike[str],
    *,
    force: bool = False,
    **options: Any,
) -> RestoreReport:
    """Rebuild a working lakehouse at ``root`` from ``backup`` (see catalog/restore.py)."""
    from doctordata.catalog.restore import restore as _restore

    return _restore(backup, root, force=force, **options)


__all__ = [
    "OBJECTS_DIR",
    "BackupInfo",
    "BackupNotFoundError",
    "BackupReport",
    "BackupVerifyReport",
    "PruneReport",
    "backup",
    "list_backups",
    "prune",
    "restore",
    "verify_backup",
]
