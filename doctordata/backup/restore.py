"""Restore a backup into a working lakehouse: a new root, or in place after a disaster.

Iceberg metadata holds absolute locations, so restoring below a new root rewrites them:
data files are copied byte for byte to the same path relative to their (new) tier root;
manifests and manifest lists are re-encoded with only their path fields changed
(avro_paths.py), manifest lists also get the manifests' new lengths; metadata.json files get
every location string rewritten. Position-delete files (from merge-on-read writers) name
data files by absolute path inside their rows: each is rewritten with those paths mapped,
and its manifest entry gets the new size and path bounds (delete_files.py). Then a fresh
catalog registers each table at its rewritten metadata.json. Every object is checksummed while it is read: a damaged backup
is refused, naming the file, and whatever the restore had written is removed again.

While it runs, the root holds a mark (catalog_guard.RESTORE_MARK) that makes every
other opening of the lakehouse refuse it; the mark goes only once every table is
registered, so a killed restore is never mistaken for a healthy lakehouse. The restored
data files' checksums (verified while writing them) are recorded in the new catalog
(catalog/checksums.py), so ``verify --deep`` checks a restored lake like the original.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from doctordata.backup.quarantine import Quarantined, quarantine_unreferenced
from doctordata.backup.targets import BackupInfo, open_backup
from doctordata.catalog.locations import EXTERNAL, LocationMapper, fs_for
from doctordata.catalog.references import KIND_ORDER
from doctordata.errors import BackupError, IntegrityError
from doctordata.storage.local_copy import fsync_path, make_dirs, make_dirs_durably
from doctordata.storage.transfer import crash_point

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

    from doctordata.backup.delete_files import RewrittenDelete
    from doctordata.backup.manifest import BackupFile, BackupManifest
    from doctordata.backup.store import BackupTarget
    from doctordata.storage.tier import Tier

ORIGINAL = "original"  # tiers=ORIGINAL: put every file back where it was (in-place restore)
ORIGIN = ".doctordata/restored-from"  # the lake id of the backup last restored into a root


@dataclass
class RestoreReport:
    id: str
    root: str
    tables: list[str]
    files: int
    bytes: int
    seconds: float
    tiers: dict[str, str] = field(default_factory=dict)
    # Files of the lake restored over that the restored catalog does not reference,
    # moved out of the tables' directories (quarantine.py): count, bytes, folders.
    quarantined: int = 0
    quarantined_bytes: int = 0
    quarantine: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def throughput(self) -> float:
        return self.bytes / self.seconds if self.seconds > 0 else 0.0

    def __str__(self) -> str:
        from doctordata.config import human_bytes

        lines = [
            f"restored backup {self.id} into {self.root}",
            f"  {len(self.tables)} tables, {self.files} files, {human_bytes(self.bytes)} "
            f"in {self.seconds:.1f} s ({human_bytes(self.throughput)}/s)",
        ]
        lines += [f"  tier {name}: {url}" for name, url in self.tiers.items()]
        if self.quarantined:
            lines.append(
                f"  moved {self.quarantined} files ({human_bytes(self.quarantined_bytes)}) "
                "that were in the tables' directories but are not in this backup to "
                f"{', '.join(self.quarantine)}: maintain never deletes there. Check them, "
                "then delete that folder by hand."
            )
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def backup_location(backup: Any) -> str | BackupInfo:
    """The path/URL of ``backup``: a BackupReport, a BackupInfo, or the path/URL itself."""
    if isinstance(backup, (str, BackupInfo)):
        return backup
    if isinstance(backup, os.PathLike):
        return os.fspath(backup)
    url = getattr(backup, "url", None)
    if isinstance(url, str) and isinstance(getattr(backup, "id", None), str):
        return url  # a BackupReport from lh.backup()
    raise BackupError(
        f"backup={backup!r} is not a backup: pass the BackupReport lh.backup() returned, "
        "its id (with source=<lakehouse root>), or the backup's directory path or URL"
    )


def restore(
    backup: str | BackupInfo | Any,
    root: str | os.PathLike[str],
    *,
    force: bool = False,
    replace_lake: bool = False,
    tiers: Mapping[str, str] | str | None = None,
    endpoint: str | None = None,
    catalog_uri: str | None = None,
    progress: bool | None = None,
    workers: int = 4,
) -> RestoreReport:
    """Rebuild a working lakehouse at ``root`` from ``backup`` (its directory path or URL).

    By default every tier comes back below ``root``: the hot tier at ``root/warehouse``,
    the others at ``root/tiers/<name>``. ``tiers={"nas": "file:///mnt/nas2/lake"}`` puts a
    tier elsewhere; ``tiers="original"`` puts every file back at its original location.
    A ``doctordata.toml`` describing the restored lakehouse is written to ``root``.
    Refuses a non-empty ``root`` unless ``force=True``, and a root holding another lake
    (another lake id than the backup's) unless also ``replace_lake=True``. Over a lake,
    the files in the restored tables' directories that the backup does not reference
    (written after it, or another lake's) are moved to ``<tier root>/quarantine/
    restore-<backup id>/`` rather than left for ``maintain`` to delete; the report says
    how many and where.

    Example::

        dd.restore("/mnt/nas/lake/backups/20261127T031500Z-1a2b3c", "/srv/lake")
    """
    started = time.monotonic()
    target, manifest = open_backup(backup_location(backup), endpoint=endpoint)
    root_path = Path(root).expanduser().resolve()
    _check_root(root_path, force)
    _check_lake(root_path, manifest, replace_lake)
    old_tiers = _source_tiers(manifest)
    new_urls = _new_tier_urls(manifest, root_path, tiers)
    mapper = LocationMapper(old_tiers, new_urls)
    s3 = _dest_s3(manifest, new_urls, endpoint)
    new_tiers = _dest_tiers(new_urls, s3)
    _check_objects(target, manifest)
    identity = all(mapper(t.url + "/x") == t.url + "/x" for t in old_tiers.values())
    writer = _Writer(target, mapper, new_tiers, identity)
    was_empty = not root_path.exists() or not any(root_path.iterdir())
    # Over a lake (or onto tiers elsewhere), unreferenced files are moved aside.
    sweep = not was_empty or bool(tiers)
    mark = _mark_in_progress(root_path, manifest)
    registering = False  # from then on the root's config and catalog are being changed
    from doctordata.progress import byte_progress

    try:
        with byte_progress("restore", manifest.total_bytes, progress) as advance:
            writer.advance = advance
            by_kind: dict[int, list[BackupFile]] = {}
            for f in manifest.files:
                by_kind.setdefault(KIND_ORDER.get(f.kind, 0), []).append(f)
            for order in sorted(by_kind):
                with ThreadPoolExecutor(max_workers=workers) as pool:
                    list(pool.map(writer.write, by_kind[order]))
        writer.sync()  # every restored file durable before the catalog names it
        registering = True
        _write_config(root_path, manifest, new_urls, catalog_uri, s3)
        if tiers == ORIGINAL:
            _adopt_lake_id(root_path, manifest)
        _record_origin(root_path, manifest)
        tables, moved = _register(root_path, manifest, mapper, force, writer.deletes, sweep)
        _clear_mark(mark)
    except BaseException:
        writer.undo()
        if not registering:  # the catalog was not touched: the root is as it was
            _clear_mark(mark)
        if was_empty and root_path.exists():
            # Nothing was there before: leave nothing behind (config, catalog, dirs).
            shutil.rmtree(root_path, ignore_errors=True)
            root_path.mkdir(parents=True, exist_ok=True)
        raise
    return RestoreReport(
        id=manifest.id,
        root=str(root_path),
        tables=tables,
        files=len(manifest.files),
        bytes=manifest.total_bytes,
        seconds=time.monotonic() - started,
        tiers={name: url for name, url in new_urls.items() if name != EXTERNAL},
        quarantined=moved.files,
        quarantined_bytes=moved.bytes,
        quarantine=moved.folders,
        warnings=[
            f"the metadata of table {name!r} cannot be read ({why}): files the backup "
            "does not reference were not moved aside (maintain deletes nothing while it "
            "stays unreadable); repair or drop it, then restore again with --force"
            for name, why in moved.unreadable.items()
        ],
    )


def _mark_in_progress(root: Path, manifest: BackupManifest) -> Path:
    """Write (durably) the mark that says a restore into ``root`` is under way."""
    import datetime as dt

    from doctordata.catalog.catalog_guard import RESTORE_MARK
    from doctordata.storage.local_copy import fsync_path

    make_dirs_durably(str(root))  # a new root's name lasts as long as what goes in it
    mark = root / RESTORE_MARK
    started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    mark.write_text(f"backup {manifest.id}, started {started}, pid {os.getpid()}\n")
    fsync_path(str(mark))
    fsync_path(str(root))
    return mark


def _clear_mark(mark: Path) -> None:
    from doctordata.storage.local_copy import fsync_path

    mark.unlink(missing_ok=True)
    fsync_path(str(mark.parent))


def _check_root(root: Path, force: bool) -> None:
    if root.exists() and not root.is_dir():
        raise BackupError(f"restore target {root} is a file, not a directory; choose a directory")
    entries = sorted(p.name for p in root.iterdir()) if root.is_dir() else []
    if entries and not force:
        shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
        raise BackupError(
            f"restore target {root} is not empty ({len(entries)} entries: {shown}); restore "
            "into a new directory, or pass force=True (CLI: --force) to restore over it"
        )


def _check_lake(root: Path, manifest: BackupManifest, replace_lake: bool) -> None:
    """Refuse to restore over another lake (``root`` has a lake id, not the backup's)
    unless ``replace_lake``. A root left by a killed restore is not refused (run again)."""
    from doctordata.catalog.catalog_guard import RESTORE_MARK
    from doctordata.storage.offline import current_lake_id

    here = current_lake_id(root)
    backed_up = manifest.source.get("lake_id")
    if here is None or backed_up in (here, _restored_from(root)) or replace_lake:
        return
    if (root / RESTORE_MARK).exists():
        return
    raise BackupError(
        f"restore target {root} holds another lake (lake id {here}) than the one backup "
        f"{manifest.id} was made from ({backed_up or 'unknown: an older backup'}): its "
        "tables would be replaced. Restore into a new directory, or, to replace it, pass "
        "replace_lake=True (CLI: --replace-lake); files the backup does not reference are "
        "then moved to a quarantine folder, not deleted."
    )


def _restored_from(root: Path) -> str | None:
    """The id of the lake whose backup was last restored into ``root`` (a new lake, but
    that lake's copy: restoring its backups over it again is not replacing another lake)."""
    try:
        return (root / ORIGIN).read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def _record_origin(root: Path, manifest: BackupManifest) -> None:
    from doctordata.storage.local_copy import write_durably

    backed_up = manifest.source.get("lake_id")
    if isinstance(backed_up, str) and backed_up:
        write_durably(str(root / ORIGIN), (backed_up + "\n").encode())


def _source_tiers(manifest: BackupManifest) -> dict[str, Tier]:
    from doctordata.storage.tier import Tier

    return {
        name: Tier(
            name=name, url=cfg["url"], endpoint=cfg.get("endpoint"), region=cfg.get("region")
        )
        for name, cfg in manifest.source["tiers"].items()
    }


def _new_tier_urls(
    manifest: BackupManifest, root: Path, tiers: Mapping[str, str] | str | None
) -> dict[str, str]:
    source = manifest.source["tiers"]
    if tiers == ORIGINAL:
        return {name: cfg["url"] for name, cfg in source.items()}
    if isinstance(tiers, str):
        raise BackupError(f"tiers = {tiers!r}: use a mapping of tier name to URL, or 'original'")
    chosen = dict(tiers or {})
    unknown = sorted(set(chosen) - set(source))
    if unknown:
        raise BackupError(
            f"tiers: {', '.join(unknown)} not in the backup; its tiers are {', '.join(source)}"
        )
    hot = manifest.source["hot_tier"]
    urls: dict[str, str] = {}
    for name in source:
        default = root / ("warehouse" if name == hot else f"tiers/{name}")
        value = chosen.get(name, default.as_uri())
        urls[name] = value if "://" in value else Path(value).expanduser().resolve().as_uri()
    urls[EXTERNAL] = (root / "external").as_uri()
    return urls


def _dest_s3(
    manifest: BackupManifest, urls: Mapping[str, str], endpoint: str | None
) -> dict[str, dict[str, str | None]]:
    """Endpoint and region of each restored tier that is on S3 (the others have none).

    A tier restored at its original URL keeps the endpoint it had. A tier moved to a new
    S3 URL (``--tier ssd=s3://...``, often a tier that was local in the source) takes the
    command's ``endpoint`` (CLI --endpoint), else the one it had: without it the restored
    config would point the tier at AWS, not the S3 server the files were written to."""
    source = manifest.source["tiers"]
    out: dict[str, dict[str, str | None]] = {}
    for name, url in urls.items():
        if not url.startswith("s3"):
            continue
        cfg = source.get(name, {})
        same = url.rstrip("/") == str(cfg.get("url", "")).rstrip("/")
        chosen = cfg.get("endpoint") if same else endpoint or cfg.get("endpoint")
        out[name] = {"endpoint": chosen, "region": cfg.get("region")}
    return out


def _dest_tiers(
    urls: Mapping[str, str], s3: Mapping[str, Mapping[str, str | None]]
) -> dict[str, Tier]:
    from doctordata.storage.tier import Tier

    out: dict[str, Tier] = {}
    for name, url in urls.items():
        cfg = s3.get(name, {})
        out[name or "external"] = Tier(
            name=name or "external",
            url=url,
            endpoint=cfg.get("endpoint"),
            region=cfg.get("region"),
        )
    return out


def _check_objects(target: BackupTarget, manifest: BackupManifest) -> None:
    from doctordata.backup.store import ObjectIndex

    present = ObjectIndex(target)
    for f in manifest.files:
        if f.sha256 not in present:
            raise IntegrityError(
                f"backup {manifest.id} is damaged: {f.path} (object "
                f"{target.object_path(f.sha256)}) is missing from the backup store; nothing "
                "was restored. Run "
                "`doctordata backup verify` and restore an older backup."
            )


class _Writer:
    """Writes restored files, verifying each object, and can undo everything it wrote."""

    def __init__(
        self, target: BackupTarget, mapper: LocationMapper, tiers: dict[str, Tier], identity: bool
    ) -> None:
        self.target = target
        self.mapper = mapper
        self.tiers = tiers
        # Every tier restored at its original URL: every file goes back byte for byte.
        self.identity = identity
        self.lengths: dict[str, int] = {}  # new manifest location -> new size
        # Position-delete files rewritten for the new place (new location -> new entry),
        # and the delete files copied as they are (new location -> table): equality
        # deletes, and files not recognised as Parquet position deletes.
        self.deletes: dict[str, RewrittenDelete] = {}
        self.kept_deletes: dict[str, str] = {}
        self.created: list[tuple[AbstractFileSystem, str]] = []
        self.advance: Callable[[int], None] = lambda n: None
        # Local directories that got a new entry: fsynced once, by sync(), so the new
        # names survive a crash (the files' bytes are fsynced as each is written).
        self.dirs: set[str] = set()
        self._lock = threading.Lock()

    def _dest(self, location: str) -> tuple[AbstractFileSystem, str]:
        return fs_for(self.tiers, location)

    def write(self, f: BackupFile) -> None:
        new_location = self.mapper(f.path)
        fs, path = self._dest(new_location)
        if f.kind in ("data", "statistics") or self.identity:
            self._copy_verified(f, fs, path)
            return
        data = self._read_verified(f)
        if f.kind == "delete":
            data = self._delete_file(f, new_location, data)
        elif f.kind == "manifest":
            from doctordata.backup.avro_paths import rewrite_avro

            data = rewrite_avro(
                data, self.mapper, deletes=self.deletes, unknown_delete=self._unknown_delete
            )
            self.lengths[new_location] = len(data)
        elif f.kind == "manifest-list":
            from doctordata.backup.avro_paths import rewrite_avro

            data = rewrite_avro(data, self.mapper, manifest_lengths=self.lengths)
        elif f.kind == "metadata":
            data = rewrite_metadata(data, f.path, self.mapper)
        self._put(fs, path, data)

    def _delete_file(self, f: BackupFile, new_location: str, data: bytes) -> bytes:
        """A position-delete file with its data-file paths mapped (delete_files.py); any
        other delete file as it is (an equality delete names no location)."""
        from doctordata.backup.delete_files import is_parquet, rewrite_position_deletes

        rewritten = None
        if is_parquet(data):
            rewritten = rewrite_position_deletes(data, self.mapper, table=f.table, location=f.path)
        if rewritten is None:
            self.kept_deletes[new_location] = f.table
            return data
        data, self.deletes[new_location] = rewritten
        return data

    def _unknown_delete(self, location: str, file_format: str) -> None:
        """A live position-delete entry whose file was not rewritten: refused if it was
        restored as it was (not a Parquet position-delete file); a file not in the backup
        was reported missing by the backup itself."""
        from doctordata.backup.delete_files import not_rewritable

        table = self.kept_deletes.get(location)
        if table is not None:
            raise not_rewritable(table, location, file_format)

    def _fail(self, f: BackupFile, problem: str) -> IntegrityError:
        return IntegrityError(
            f"backup file {f.path} is damaged ({problem}; object "
            f"{self.target.object_path(f.sha256)}): restore refused and undone. Run "
            "`doctordata backup verify` and restore an older backup."
        )

    def _read_verified(self, f: BackupFile) -> bytes:
        data = b"".join(self.target.iter_object(f.sha256))
        self.advance(len(data))
        if hashlib.sha256(data).hexdigest() != f.sha256:
            raise self._fail(f, "checksum mismatch")
        return data

    def _copy_verified(self, f: BackupFile, fs: AbstractFileSystem, path: str) -> None:
        """Stream the object to a temporary name beside ``path``, then rename it once its
        checksum matched: a restore over a lake (in place, or --force) replaces a file
        only with verified bytes, never with a damaged object's."""
        digest = hashlib.sha256()
        self._track(fs, path)
        local = self._makedirs(fs, path)
        tmp = f"{path}.{uuid.uuid4().hex}.restoring"
        try:
            with open(tmp, "wb") if local else fs.open(tmp, "wb") as out:
                for chunk in self.target.iter_object(f.sha256):
                    digest.update(chunk)
                    out.write(chunk)
                    self.advance(len(chunk))
                if local:
                    out.flush()
                    os.fsync(out.fileno())
            if digest.hexdigest() != f.sha256:
                raise self._fail(f, "checksum mismatch")
            if local:
                os.replace(tmp, path)
            else:
                fs.mv(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                fs.rm(tmp)
            raise
        crash_point("restore-file-written")  # crash tests: killed while writing files

    def _put(self, fs: AbstractFileSystem, path: str, data: bytes) -> None:
        self._track(fs, path)
        if self._makedirs(fs, path):
            _write_durably(path, data)
        else:
            fs.pipe_file(path, data)  # S3: an object exists once its PUT has succeeded
        crash_point("restore-file-written")

    def _makedirs(self, fs: AbstractFileSystem, path: str) -> bool:
        """Create ``path``'s directory; True if it is local (then it and every directory
        created for it are remembered for :meth:`sync`)."""
        parent = path.rsplit("/", 1)[0]
        if not _is_local(fs):
            fs.makedirs(parent, exist_ok=True)
            return False
        new = make_dirs(parent)  # the parents of the directories it created
        with self._lock:
            self.dirs.update([parent, *new])
        return True

    def sync(self) -> None:
        """fsync every local directory that got a new entry (deepest first)."""
        for path in sorted(self.dirs, key=len, reverse=True):
            fsync_path(path)

    def _track(self, fs: AbstractFileSystem, path: str) -> None:
        if not fs.exists(path):
            self.created.append((fs, path))

    def undo(self) -> None:
        for fs, path in reversed(self.created):
            if fs.exists(path):
                fs.rm(path)


def _is_local(fs: AbstractFileSystem) -> bool:
    protocol = fs.protocol
    return "file" in (protocol if isinstance(protocol, (tuple, list)) else (protocol,))


def rewrite_metadata(data: bytes, location: str, mapper: LocationMapper) -> bytes:
    compressed = location.endswith(".gz.metadata.json") or data[:2] == b"\x1f\x8b"
    text = gzip.decompress(data) if compressed else data
    doc = mapper.rewrite_json(json.loads(text))
    out = json.dumps(doc, separators=(",", ":")).encode()
    return gzip.compress(out) if compressed else out


def _toml_value(value: Any) -> str:
    # JSON string escapes are valid TOML basic-string escapes.
    return json.dumps(value) if isinstance(value, str) else str(value)


def _write_config(
    root: Path,
    manifest: BackupManifest,
    urls: Mapping[str, str],
    catalog_uri: str | None,
    s3: Mapping[str, Mapping[str, str | None]],
) -> None:
    source = manifest.source
    lines = [
        f"# Restored by doctordata from backup {manifest.id} (taken {manifest.created_at}).",
        "[catalog]",
        f"name = {_toml_value(source['catalog_name'])}",
    ]
    if catalog_uri:
        lines.append(f"uri = {_toml_value(catalog_uri)}")
    for name in source["tiers"]:
        lines += ["", f"[tiers.{name}]", f"url = {_toml_value(urls[name])}"]
        for key, value in s3.get(name, {}).items():
            if value:
                lines.append(f"{key} = {_toml_value(value)}")
    for policy in source.get("policies", []):
        lines += ["", "[[policies]]"]
        lines += [f"{k} = {_toml_value(v)}" for k, v in policy.items()]
    root.mkdir(parents=True, exist_ok=True)
    _write_durably(str(root / "doctordata.toml"), ("\n".join(lines) + "\n").encode())
    fsync_path(str(root))


def _write_durably(path: str, data: bytes) -> None:
    with open(path, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


def _adopt_lake_id(root: Path, manifest: BackupManifest) -> None:
    """An in-place restore brings back the lake that was backed up: it takes that lake's
    id, so its prune and `restore latest` keep seeing its earlier backups as its own. A
    restore to a new root is a new lake (a fresh id on first use), as a copy is."""
    from doctordata.storage.offline import adopt_lake_id

    backed_up = manifest.source.get("lake_id")
    if isinstance(backed_up, str) and backed_up:
        adopt_lake_id(root, backed_up)


def _register(
    root: Path,
    manifest: BackupManifest,
    mapper: LocationMapper,
    force: bool,
    rewritten: Mapping[str, RewrittenDelete],
    sweep: bool,
) -> tuple[list[str], Quarantined]:
    from doctordata.catalog.sql import close_catalog, open_catalog, prepare_root
    from doctordata.config import load_settings
    from doctordata.storage.tier import tiers_from_settings

    registered: list[str] = []
    from doctordata.storage.offline import mark_hot_tier

    settings = load_settings(root)
    prepare_root(settings)
    tiers = tiers_from_settings(settings)
    mark_hot_tier(tiers[settings.hot_tier], settings.root)
    # guard=False: the root is marked as being restored, which every other open refuses.
    catalog = open_catalog(settings, tiers, guard=False)
    try:
        _register_into(catalog, manifest, mapper, force, registered)
        _record_checksums(settings.catalog_uri, manifest, mapper, rewritten)
        moved = Quarantined()
        if sweep:  # before the mark goes: nobody runs maintain meanwhile
            moved = quarantine_unreferenced(catalog, tiers, registered, manifest.id)
    finally:
        close_catalog(catalog)
    return registered, moved


def _record_checksums(
    uri: str,
    manifest: BackupManifest,
    mapper: LocationMapper,
    rewritten: Mapping[str, RewrittenDelete],
) -> None:
    """Each restored data file, under its new location, with the sha256 verified while it
    was written (data files are restored byte for byte; a position-delete file rewritten
    for the new place, with the sha256 of the bytes written)."""
    from doctordata.catalog.checksums import store_for

    store = store_for(uri)
    if store is not None:
        rows = []
        for f in manifest.files:
            if f.kind in ("data", "delete") and f.path.endswith(".parquet"):
                new = mapper(f.path)
                done = rewritten.get(new)
                rows.append((new, done.size, done.sha256) if done else (new, f.size, f.sha256))
        store.record(rows)


def _register_into(
    catalog: Any, manifest: BackupManifest, mapper: LocationMapper, force: bool, out: list[str]
) -> None:
    from pyiceberg.exceptions import NamespaceAlreadyExistsError, TableAlreadyExistsError

    for ns, props in manifest.catalog.get("namespaces", {}).items():
        props = {k: str(mapper.rewrite_json(v)) for k, v in props.items()}
        with contextlib.suppress(NamespaceAlreadyExistsError):
            catalog.create_namespace(ns, props)
    for row in manifest.catalog.get("tables", []):
        ident = (*row["namespace"].split("."), row["name"])
        location = mapper(row["metadata_location"])
        try:
            catalog.register_table(ident, location)
        except TableAlreadyExistsError:
            if not force:
                raise
            catalog.drop_table(ident)
            catalog.register_table(ident, location)
        catalog.load_table(ident)  # reads the restored metadata.json: fail now, not later
        out.append(".".join(ident))
        crash_point("restore-registered")  # crash tests: a restore killed half-way
