"""Prune backups: keep the newest N / younger than a duration, then delete every stored
object no kept backup needs. Objects of a backup still running are never deleted: on a
local target the backups directory's lock keeps prune and backup apart, on S3 (no locks)
prune's marker does (fence.py)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from doctordata.backup.fence import PruneMarker, prune_markers
from doctordata.backup.heartbeat import last_alive
from doctordata.backup.store import (
    MANIFEST_NAME,
    STARTED_NAME,
    TMP_DIR,
    BackupTarget,
    LockState,
)
from doctordata.backup.targets import (
    BackupInfo,
    is_lakes,
    list_target_backups,
    load_manifest,
    resolve_target,
)
from doctordata.config import parse_duration
from doctordata.errors import BackupError
from doctordata.storage.offline import current_lake_id

if TYPE_CHECKING:
    from doctordata.workspace import Workspace


SHA256 = re.compile(r"^[0-9a-f]{64}\Z")  # \Z: "$" matches before "\n"
TMP_NAME = re.compile(r"^[0-9a-f]{32}\Z")


@dataclass
class PruneReport:
    kept: list[str]
    deleted: list[str]
    deleted_objects: int
    deleted_bytes: int
    dry_run: bool
    running: list[str] = field(default_factory=list)  # backups in progress: GC deferred
    # Complete backups of other lakes on the same target: kept, not judged (all_lakes=False)
    other_lakes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        from doctordata.config import human_bytes

        verb = "would delete" if self.dry_run else "deleted"
        others = (
            f"; {len(self.other_lakes)} backups are not this lake's, kept "
            f"({', '.join(self.other_lakes)}; --all-lakes prunes every lake's)"
            if self.other_lakes
            else ""
        )
        return (
            f"kept {len(self.kept)} backups; {verb} {len(self.deleted)} backups "
            f"({', '.join(self.deleted) or 'none'}) and {self.deleted_objects} objects "
            f"({human_bytes(self.deleted_bytes)})"
            + (
                f"; backup {', '.join(self.running)} is running, so stored files are kept "
                "until the next prune"
                if self.running
                else ""
            )
            + others
        )


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
    lh: Workspace,
    to: str = "nas",
    *,
    keep_last: int | None = None,
    older_than: str | None = None,
    dry_run: bool = False,
    incomplete_grace: str = "24h",
    endpoint: str | None = None,
    all_lakes: bool = False,
) -> PruneReport:
    """Delete old backups, then every stored object no kept backup needs.

    A backup is deleted if it is not among the newest ``keep_last`` of its lake AND (if
    given) older than ``older_than`` ("30d"). Only this lake's backups are judged: a
    target may hold another lake's (a relocated copy's), which are kept unless
    ``all_lakes`` (then each lake keeps its own newest ``keep_last``). A backup made
    before lake ids were recorded is this lake's only if it was made from this root (see
    targets.is_lakes). The newest complete backup of each lake is always kept. Partial
    backups are deleted once they show no sign of life (start or heartbeat, see
    heartbeat.py) for ``incomplete_grace``; until then they count as running, and while
    one runs no stored object and no temporary file is deleted (it may be using them).
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
    with target.object_lock(exclusive=True) as lock:
        if lock != "none" or dry_run:
            return _prune(lh, target, keep_last, max_age, grace, dry_run, all_lakes, lock)
        # No locks (S3): the marker goes up before the listing (fence.py).
        with PruneMarker(target) as marker:
            return _prune(lh, target, keep_last, max_age, grace, dry_run, all_lakes, lock, marker)


def _prune(
    lh: Workspace,
    target: BackupTarget,
    keep_last: int | None,
    max_age: float | None,
    grace: float,
    dry_run: bool,
    all_lakes: bool,
    lock: LockState,
    marker: PruneMarker | None = None,
) -> PruneReport:
    """:func:`prune` under the target's object lock (``lock``: "busy" if a backup holds
    it) or, without locks, its ``marker`` (checked before each deletion)."""
    now = dt.datetime.now(dt.UTC)
    backups = list_target_backups(target, include_incomplete=True)
    complete = [b for b in backups if b.complete]
    lake, root = current_lake_id(lh.root), str(lh.root)
    others = [b.id for b in complete if not all_lakes and not is_lakes(b, lake, root)]
    keep_ids = set(others) | _newest_per_lake(
        [b for b in complete if b.id not in others], keep_last
    )
    delete: list[str] = []
    running: list[str] = []
    for b in backups:
        if b.complete:
            old_enough = max_age is None or _age_seconds(b.created_at, now) >= max_age
            if b.id not in keep_ids and old_enough:
                delete.append(b.id)
            continue
        alive = _last_alive(target, b.id)
        if now.timestamp() - alive > grace:
            delete.append(b.id)
        else:
            running.append(b.id)
    if lock == "busy" and not running:  # it holds the lock, its started.json is not there yet
        running.append("(one starting on this machine)")
    kept = [b.id for b in complete if b.id not in delete]
    needed: set[str] = set()
    for backup_id in kept:
        needed |= load_manifest(target, backup_id).objects()
    # A running backup reuses objects of earlier backups (by location) without a manifest
    # saying so yet: while one runs, no object is deleted at all; the next prune does it.
    doomed = (
        {}
        if running
        else {
            sha: info
            for sha, info in target.object_infos().items()
            if SHA256.match(sha) and sha not in needed
        }
    )
    if not dry_run:
        for backup_id in delete:
            # Manifest first: from then on the backup is partial, never half-restorable.
            target.remove(target.path(backup_id, MANIFEST_NAME))
            target.remove(target.backup_dir(backup_id), recursive=True)
        for info in doomed.values():
            if marker is not None:
                marker.check_lease()
            target.remove(info["name"])
        if not running:
            _clean_tmp(target, now.timestamp() - grace)
        if marker is not None:  # dead prunes' markers: backups ignore them already
            for path in prune_markers(target)[1]:
                target.remove(path)
    return PruneReport(
        kept=kept,
        deleted=delete,
        deleted_objects=len(doomed),
        deleted_bytes=sum(int(i.get("size") or 0) for i in doomed.values()),
        dry_run=dry_run,
        running=running,
        other_lakes=others,
    )


def _newest_per_lake(backups: list[BackupInfo], keep_last: int | None) -> set[str]:
    """The ids of each lake's newest ``keep_last`` backups (at least its newest one)."""
    by_lake: dict[str | None, list[str]] = {}
    for b in backups:  # oldest first
        by_lake.setdefault(b.lake_id or f"root:{b.root}", []).append(b.id)
    return {i for ids in by_lake.values() for i in ids[-(keep_last or 1) :]}


def _last_alive(target: BackupTarget, backup_id: str) -> float:
    path = target.path(backup_id, STARTED_NAME)
    try:
        return last_alive(target.read_json(path))
    except (OSError, ValueError, KeyError):
        # No readable marker: judge by the id's own timestamp.
        stamp = dt.datetime.strptime(backup_id.split("-")[0], "%Y%m%dT%H%M%S.%fZ")
        return stamp.replace(tzinfo=dt.UTC).timestamp()


def _clean_tmp(target: BackupTarget, before: float) -> None:
    tmp = target.path(TMP_DIR)
    if not target.fs.exists(tmp):
        return
    for path, info in target.fs.find(tmp, detail=True).items():
        if TMP_NAME.match(path.rsplit("/", 1)[-1]) and _mtime(info) < before:
            target.remove(path)
