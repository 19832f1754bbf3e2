"""Where backups are and how to find them: targets (a tier, path or URL), listing, and
loading a backup's manifest (complete ones only: a partial backup is never restorable)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from doctordata.backup.manifest import BackupManifest
from doctordata.backup.store import (
    BACKUPS_DIR,
    MANIFEST_NAME,
    BackupTarget,
    ObjectIndex,
)
from doctordata.errors import (
    BackupError,
    BackupNotFoundError,
    ConfigError,
    TierUnavailableError,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from doctordata.storage.tier import Tier
    from doctordata.workspace import Workspace


BACKUP_ID = re.compile(r"^\d{8}T\d{6}\.\d{6}Z-[0-9a-f]{6}\Z")  # \Z: "$" matches before "\n"


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
    # The lake that made it (storage/offline.py lake_id) and its root then; None for a
    # backup written before lake ids were recorded (see :func:`is_lakes`).
    lake_id: str | None = None
    root: str | None = None


def is_lakes(info: BackupInfo, lake: str | None, root: str | None) -> bool:
    """True if ``info`` is a backup of the lake with id ``lake`` at ``root``.

    A backup without a lake id (older doctordata) counts as this lake's only if it was made
    from this very root: a copy of the lake (new root, new id) never claims it."""
    if info.lake_id is not None:
        return info.lake_id == lake
    return root is not None and info.root == root


# -- targets ------------------------------------------------------------------------------
def resolve_target(
    lh: Workspace,
    to: str,
    *,
    endpoint: str | None = None,
    durable: bool = True,
    create: bool | None = None,
) -> BackupTarget:
    """The backups directory on tier ``to`` (a configured tier name, path or URL).

    LocationError if that directory lies where maintenance could delete it (see
    :func:`check_outside_tables`). ``create``: None to read backups there, False to write
    one into an existing directory, True to create the directory if needed (see
    :func:`check_target`)."""
    tier = _tier_for(lh, to, endpoint)
    check_outside_tables(lh, tier)
    check_target(lh, tier, create)
    return target_for_tier(tier, durable=durable)


def check_outside_tables(lh: Workspace, tier: Tier) -> None:
    """Refuse a backups directory inside a tier's tree or inside any table's directory.

    Maintenance deletes unreferenced files below table directories, and new tables get
    directories below the tier roots, so a backup there could be deleted. Allowed: a
    configured tier's own ``<root>/backups`` (no table can own it: table directories are
    ``<root>/<namespace>/<table>``), or any directory outside every tier root.
    """
    from doctordata.catalog.locations import table_dirs
    from doctordata.errors import LocationError
    from doctordata.storage.locations import Canonicalizer, is_within, join, tier_root, unsplit

    canon = Canonicalizer()
    base = canon.parts(join(tier.url, BACKUPS_DIR))
    shown = unsplit(*base)
    owner = table_dirs(lh.catalog, lh.tiers, canon).owner(base)
    if owner is not None:
        raise LocationError(
            f"backup target {tier.url}: its backups directory {shown} lies inside the "
            f"directory of table {owner!r}, where `doctordata maintain` deletes files no "
            "snapshot references. Back up to a configured tier (e.g. --to nas) or to a "
            "directory outside every tier root."
        )
    for other in lh.tiers.values():
        if base == canon.parts(join(other.url, BACKUPS_DIR)):
            return
    for other in lh.tiers.values():
        if is_within(base, tier_root(other, canon)):
            raise LocationError(
                f"backup target {tier.url}: its backups directory {shown} lies inside tier "
                f"{other.name!r} ({other.url}), where table directories live and "
                f"maintenance deletes unreferenced files. Use --to {other.name} (backups go "
                f"to {join(other.url, BACKUPS_DIR)}) or a directory outside every tier root."
            )


def check_target(lh: Workspace, tier: Tier, create: bool | None) -> None:
    """Refuse an offline target (TierOfflineError: marked before, marker gone, e.g. an
    unmounted NAS). A backup (``create`` not None) also needs the directory to exist, or
    ``create=True``: a mistyped path or an unmounted disk must not receive a full backup
    on the local disk. The target is then marked so a later unmount is recognised."""
    import os

    from doctordata.storage.offline import TierGuard, mark, offline_error

    seen = TierGuard({tier.name: tier}, lh.root).probe(tier.name)
    if seen.state == "offline":
        raise offline_error(tier, seen.detail, "the backup")
    if create is None:
        return
    if tier.is_local and not os.path.isdir(tier.root):
        if not create:
            raise TierUnavailableError(
                f"backup target {tier.root} does not exist: is the disk/NAS mounted, is the "
                "path spelled right? To create it, pass --create (create=True in lh.backup)"
            )
        from doctordata.storage.local_copy import make_dirs_durably

        make_dirs_durably(tier.root)  # backups will live below it: its name must last
    try:
        mark(tier, lh.root)
    except OSError as exc:
        raise TierUnavailableError(
            f"cannot write to the backup target {tier.url}: {exc}; check its permissions / "
            "that it is mounted read-write"
        ) from None


def _tier_for(lh: Workspace, to: str, endpoint: str | None) -> Tier:
    if to in lh.tiers:
        return lh.tiers[to]
    if "/" in to or "://" in to:
        return adhoc_tier(to, endpoint, configured=lh.tiers)
    raise ConfigError(
        f"backup target {to!r}: no tier of that name; configured tiers: "
        f'{", ".join(lh.tiers)}. Add [tiers.{to}] url = "file:///mnt/nas/lake" to '
        "doctordata.toml, or pass a directory path or s3:// URL instead."
    )


def adhoc_tier(
    location: str, endpoint: str | None = None, *, configured: Mapping[str, Tier] | None = None
) -> Tier:
    """A Tier for a path or URL that is not in the config (one-off targets, restore).

    An s3:// URL in the bucket of a ``configured`` S3 tier takes that tier's endpoint,
    region and options (an explicit ``endpoint`` still wins): a backup made to
    ``s3://lake/offsite`` next to ``[tiers.s3] url = "s3://lake/data"`` is found on the
    same server by every later command, with or without --endpoint."""
    from urllib.parse import urlsplit

    from doctordata.storage.tier import Tier

    scheme = urlsplit(location).scheme
    if scheme in ("", "file"):
        raw = urlsplit(location).path if scheme else location
        url = Path(raw).expanduser().resolve().as_uri()
    elif scheme in ("s3", "s3a"):
        like = s3_tier_for(location, configured or {})
        if like is not None:
            return replace(
                like, name="backup", url=location.rstrip("/"), endpoint=endpoint or like.endpoint
            )
        url = location
    else:
        raise ConfigError(
            f"backup location {location!r}: unsupported scheme {scheme!r}; use a directory "
            "path, file:///path or s3://bucket/prefix"
        )
    return Tier(name="backup", url=url.rstrip("/"), endpoint=endpoint)


def s3_tier_for(location: str, configured: Mapping[str, Tier]) -> Tier | None:
    """The first configured S3 tier in the same bucket as the s3:// URL ``location``."""
    from urllib.parse import urlsplit

    bucket = urlsplit(location).netloc
    for tier in configured.values():
        if not tier.is_local and urlsplit(tier.url).netloc == bucket:
            return tier
    return None


def target_for_tier(tier: Tier, *, durable: bool = True) -> BackupTarget:
    return BackupTarget(
        fs=tier.fs,
        base=f"{tier.root.rstrip('/')}/{BACKUPS_DIR}",
        url=tier.join(BACKUPS_DIR),
        durable=durable,
    )


def prepare_target(target: BackupTarget) -> None:
    """Create the target's directories (TierUnavailableError if it cannot)."""
    try:
        target.ensure()
    except OSError as exc:
        raise unusable(target, exc) from exc


def open_store(target: BackupTarget) -> ObjectIndex:
    """The objects the target holds (sha256 -> size; S3: listed now, once)."""
    try:
        return ObjectIndex(target)
    except OSError as exc:
        raise unusable(target, exc) from exc


def unusable(target: BackupTarget, exc: OSError) -> TierUnavailableError:
    """The error for a backup target that cannot be written or listed."""
    return TierUnavailableError(
        f"cannot use the backup target {target.url}: {exc}. Check that the NAS is "
        "mounted / the bucket exists and the credentials are set, then retry."
    )


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
                    data.source.get("lake_id"),
                    data.source.get("root"),
                )
            )
        elif include_incomplete and target.holds_files(backup_id):
            out.append(BackupInfo(backup_id, url, False, None))
    return out


def list_backups(
    lh: Workspace,
    to: str = "nas",
    *,
    include_incomplete: bool = False,
    endpoint: str | None = None,
) -> list[BackupInfo]:
    """Backups on ``to``, oldest first. Partial backups (killed midway) only on request."""
    return list_target_backups(resolve_target(lh, to, endpoint=endpoint), include_incomplete)


def load_manifest(target: BackupTarget, backup_id: str) -> BackupManifest:
    """The complete manifest of ``backup_id``; BackupError if partial, damaged or absent."""
    data = load_manifest_data(target, backup_id)
    return BackupManifest.from_dict(data, target.path(backup_id, MANIFEST_NAME))


def load_manifest_data(target: BackupTarget, backup_id: str) -> dict[str, Any]:
    """:func:`load_manifest`'s checks, returning the parsed JSON itself (for a reader that
    needs a few fields of every file and not a BackupFile per file)."""
    path = target.path(backup_id, MANIFEST_NAME)
    if not target.fs.exists(path) and not target.holds_files(backup_id):
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
        data: dict[str, Any] = target.read_json(path)
    except ValueError as exc:
        raise BackupError(f"{path}: the backup manifest is damaged ({exc})") from None
    BackupManifest.check_format(data, path)
    if not data.get("complete"):
        raise BackupError(f"backup {backup_id!r} in {target.url} is marked incomplete")
    return data


def open_backup(
    backup: str | BackupInfo | None,
    *,
    lh: Workspace | None = None,
    to: str = "nas",
    endpoint: str | None = None,
    lake_id: str | None = None,
) -> tuple[BackupTarget, BackupManifest]:
    """Find a backup by id (on ``lh``'s tier ``to``), by path/URL, or the latest (None) of
    ``lh``'s lake (or of the lake ``lake_id``)."""
    if isinstance(backup, BackupInfo):
        backup = backup.url
    if backup is not None and ("/" in backup or "://" in backup):
        location = backup.rstrip("/")
        if location.endswith("/" + MANIFEST_NAME):
            location = location[: -len(MANIFEST_NAME) - 1]
        parent, _, backup_id = location.rpartition("/")
        tier = adhoc_tier(parent, endpoint, configured=lh.tiers if lh is not None else None)
        target = BackupTarget(fs=tier.fs, base=tier.root, url=tier.url)
        return target, load_manifest(target, backup_id)
    if lh is None:
        raise BackupError(
            f"backup {backup!r}: give the backup's directory path or URL "
            "(e.g. /mnt/nas/lake/backups/<id>), or open the lakehouse to look it up by id"
        )
    target = resolve_target(lh, to, endpoint=endpoint)
    if backup is None or backup == "latest":
        from doctordata.storage.offline import current_lake_id

        lake = lake_id or current_lake_id(lh.root)
        backup = latest_backup(target, lake, None if lake_id else str(lh.root), f"--from {to}")
    return target, load_manifest(target, backup)


def latest_backup(target: BackupTarget, lake: str | None, root: str | None, where: str) -> str:
    """The id of the newest complete backup on ``target`` of the lake ``lake`` (at
    ``root``). Without a lake (none known), the newest one if every backup there is of one
    lake. Refuses (naming the lakes and their newest ids) rather than restore another
    lake's backup as "latest": two lakes (a lake and its relocated copy) may share a target."""
    complete = list_target_backups(target)
    if not complete:
        raise BackupNotFoundError(
            f"no complete backup in {target.url}; make one with `doctordata backup` "
            f"(or check {where})"
        )
    if lake is not None or root is not None:
        mine = [b for b in complete if is_lakes(b, lake, root)]
        if mine:
            return mine[-1].id
        problem = f"none of the backups in {target.url} is of this lake ({lake or root})"
    else:
        lakes = {b.lake_id or b.root for b in complete}
        if len(lakes) <= 1:
            return complete[-1].id
        problem = f"the backups in {target.url} are of {len(lakes)} different lakes"
    newest: dict[str, str] = {}
    for b in complete:
        newest[b.lake_id or f"(no id, root {b.root})"] = b.id
    shown = "; ".join(f"lake {k}: latest {v}" for k, v in newest.items())
    raise BackupNotFoundError(
        f"the latest backup: {problem}. Backups there: {shown}. Name the backup id to "
        "use, or (restore) choose the lake with --lake-id ID (`doctordata backup list` shows "
        "each backup's lake)"
    )
