"""Where backups live: ``<tier>/backups/`` with a content-addressed object store.

    <tier>/backups/objects/ab/abcdef...   every file ever backed up, named by its sha256
    <tier>/backups/tmp/<uuid>             objects being written (renamed when complete)
    <tier>/backups/<id>/started.json      written when a backup starts
    <tier>/backups/<id>/manifest.json     written last, atomically: the backup exists

A file already in the store is never copied again (incremental). An object appears under
its final name only once fully written (local: rename; S3: a single PUT), so a backup
killed midway leaves at most temp files and objects no manifest names.

Local targets store a file in two steps, so a backup can run them in separate thread
pools: :meth:`BackupTarget.write_pending` copies the file to a temp file and hashes the
copy (CPU and page cache; from a local source the kernel copies, see backup_local_copy),
and :meth:`BackupTarget.publish` fsyncs that file and renames it to its object name
(waiting on the disk). Many fsyncs in flight at once let the disk write one file while
the next is hashed. :meth:`BackupTarget.sync_dirs` then makes the new names durable,
once per directory (in parallel), before the manifest is written.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

from doctordata.storage.local_copy import fsync_path, make_dirs, make_dirs_durably

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

BACKUPS_DIR = "backups"
OBJECTS_DIR = "objects"
TMP_DIR = "tmp"
MANIFEST_NAME = "manifest.json"
STARTED_NAME = "started.json"
LOCK_NAME = ".lock"  # see BackupTarget.object_lock
_NO_LOCKS = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL}
CHUNK = 8 * 1024 * 1024  # S3 block size
# Reads go into one reused 1 MiB buffer: a fresh 8 MiB bytes object per read costs the
# kernel a page fault per 4 KiB of it, which made a local backup spend more CPU zeroing
# memory than hashing.
READ_SIZE = 1024 * 1024
DEFAULT_WORKERS = 4  # files copied/verified in parallel (I/O and hashing release the GIL)
SYNC_WORKERS = 16  # fsyncs in flight at once while backing up to a local disk

ProgressFn = Callable[[int], None]
LockState = Literal["held", "busy", "none"]  # see BackupTarget.object_lock


def _is_local(fs: AbstractFileSystem) -> bool:
    protocol = fs.protocol
    names = protocol if isinstance(protocol, tuple | list) else (protocol,)
    return "file" in names or "local" in names


def _open_read(fs: AbstractFileSystem, path: str) -> BinaryIO:
    if _is_local(fs):
        return open(path, "rb")  # the caller closes it
    # Object stores: forget cached listings, so a file rewritten by someone else is read
    # as it is now (s3fs would otherwise pin a stale ETag and fail, or read stale details).
    fs.invalidate_cache(path)
    f: BinaryIO = fs.open(path, "rb", block_size=CHUNK)
    return f


def chunks(src: BinaryIO) -> Iterator[memoryview]:
    """The bytes of ``src`` in READ_SIZE pieces, read into one reused buffer: each piece
    is only valid until the next one is asked for."""
    buffer = bytearray(READ_SIZE)
    view = memoryview(buffer)
    while n := src.readinto(buffer):  # type: ignore[attr-defined]
        yield view[:n]


def hash_stream(src: BinaryIO, on_bytes: ProgressFn | None = None) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    for chunk in chunks(src):
        digest.update(chunk)
        size += len(chunk)
        if on_bytes:
            on_bytes(len(chunk))
    return digest.hexdigest(), size


def hash_file(
    fs: AbstractFileSystem, path: str, on_bytes: ProgressFn | None = None
) -> tuple[str, int]:
    """(sha256 hex, size) of a file, read once in large chunks."""
    with _open_read(fs, path) as src:
        return hash_stream(src, on_bytes)


def _write_all(dst: BinaryIO, data: memoryview) -> None:
    """Unbuffered writes may be short; write until all of ``data`` is out."""
    while data:
        written = dst.write(data)
        if not written:
            raise OSError(f"could not write to {dst.name}")
        data = data[written:]


def _nothing() -> None:
    return None


def _unlink_quietly(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


class ObjectIndex(dict[str, int]):
    """sha256 -> size of the objects a target holds, for ``sha in index`` checks.

    S3: filled by one listing up front (a request per object would be slow). Local disk:
    filled lazily, one stat per object asked about, so an incremental backup never walks
    a store of millions of objects.
    """

    def __init__(self, target: BackupTarget) -> None:
        super().__init__()
        self._local = target.local
        self._objects = target.path(OBJECTS_DIR)  # object_path, inlined: asked per file
        if not self._local:
            self.update(target.list_objects())

    def present(self, shas: Iterable[str]) -> set[str]:
        """Those of ``shas`` the target holds: ``sha in self`` for each, as one loop."""
        known = super().__contains__  # (not inside the comprehension: its own scope)
        if not self._local:
            return {sha for sha in shas if known(sha)}
        found: set[str] = set()
        objects, stat = self._objects, os.stat
        for sha in shas:
            if known(sha):
                found.add(sha)
                continue
            try:
                self[sha] = stat(f"{objects}/{sha[:2]}/{sha}").st_size
            except FileNotFoundError:
                continue
            found.add(sha)
        return found

    def __contains__(self, sha: object) -> bool:
        if super().__contains__(sha):
            return True
        if not self._local or not isinstance(sha, str):
            return False
        try:
            self[sha] = os.stat(f"{self._objects}/{sha[:2]}/{sha}").st_size
        except FileNotFoundError:
            return False
        return True


@dataclass(frozen=True)
class PendingObject:
    """A file copied into the target's temp area and hashed, not yet durable or named."""

    tmp: str
    sha256: str
    size: int


@dataclass
class BackupTarget:
    """The ``backups`` directory of one tier (or of an explicit path/URL)."""

    fs: AbstractFileSystem
    base: str  # path as ``fs`` sees it
    url: str  # the same place as a URL, for messages and reports
    durable: bool = True  # fsync objects and manifests (local filesystems)

    @property
    def local(self) -> bool:
        return _is_local(self.fs)

    def path(self, *parts: str) -> str:
        return "/".join([self.base.rstrip("/"), *parts])

    def object_path(self, sha: str) -> str:
        return self.path(OBJECTS_DIR, sha[:2], sha)

    def backup_dir(self, backup_id: str) -> str:
        return self.path(backup_id)

    # -- listing -----------------------------------------------------------------------
    def list_objects(self) -> dict[str, int]:
        """sha256 -> size of every complete object."""
        root = self.path(OBJECTS_DIR)
        if not self.local:
            self.fs.invalidate_cache(root)
        if not self.fs.exists(root):
            return {}
        found = self.fs.find(root, detail=True)
        return {p.rsplit("/", 1)[-1]: int(info.get("size") or 0) for p, info in found.items()}

    def object_infos(self) -> dict[str, dict[str, Any]]:
        root = self.path(OBJECTS_DIR)
        if not self.local:
            self.fs.invalidate_cache(root)
        if not self.fs.exists(root):
            return {}
        found = self.fs.find(root, detail=True)
        return {p.rsplit("/", 1)[-1]: dict(info, name=p) for p, info in found.items()}

    def backup_ids(self) -> list[str]:
        if not self.local:  # s3fs caches listings: ask the store what it holds now
            self.fs.invalidate_cache(self.base)
        if not self.fs.exists(self.base):
            return []
        names = []
        for entry in self.fs.ls(self.base, detail=True):
            name = entry["name"].rstrip("/").rsplit("/", 1)[-1]
            if entry.get("type") == "directory" and name not in (OBJECTS_DIR, TMP_DIR):
                names.append(name)
        return sorted(names)

    def holds_files(self, backup_id: str) -> bool:
        """True if the folder of ``backup_id`` holds a file. SeaweedFS keeps the folder of
        a deleted prefix (an empty S3 "directory", listed like any other), and a backup
        killed right after creating its folder leaves it empty: neither is a backup."""
        folder = self.backup_dir(backup_id).rstrip("/")
        if not self.local:
            self.fs.invalidate_cache(folder)
        try:
            found = self.fs.find(folder, withdirs=False, detail=True)
        except FileNotFoundError:
            return False
        return any(
            info.get("type") == "file" and not name.endswith("/") and name.rstrip("/") != folder
            for name, info in found.items()
        )

    @contextlib.contextmanager
    def object_lock(self, *, exclusive: bool) -> Iterator[LockState]:
        """Local targets: every backup holds this lock shared for its whole run, prune
        exclusively while it lists the backups and deletes objects. Prune's "is a backup
        running?" (started.json) and its deletions are not one step: a backup starting
        in between could reuse an object (by sha256, or by location from the previous
        backup) that prune then deletes, and write a manifest naming it. With the lock a
        backup waits for such a prune (seconds), and prune deletes no object while a
        backup runs. Yields "held", or "busy" if ``exclusive`` and a backup holds it, or
        "none" where there are no locks (object stores, some network filesystems): then
        backup and prune keep apart by markers (fence.py)."""
        if not (self.local and os.path.isdir(self.base)):
            yield "none"
            return
        fd = os.open(self.path(LOCK_NAME), os.O_RDWR | os.O_CREAT, 0o644)
        state: LockState
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB if exclusive else fcntl.LOCK_SH)
                state = "held"
            except BlockingIOError:  # only without waiting: a backup is running
                state = "busy"
            except OSError as exc:
                if exc.errno not in _NO_LOCKS:
                    raise
                state = "none"
            yield state
        finally:
            os.close(fd)  # releases the lock

    # -- writing -----------------------------------------------------------------------
    def ensure(self) -> None:
        if self.local:
            # New folders' names are durable before anything is stored below them (a
            # backup directory created on a fresh disk must survive a power cut).
            for folder in (OBJECTS_DIR, TMP_DIR):
                if self.durable:
                    make_dirs_durably(self.path(folder))
                else:
                    make_dirs(self.path(folder))

    def store(
        self,
        src_fs: AbstractFileSystem,
        src_path: str,
        existing: dict[str, int],
        on_bytes: ProgressFn | None = None,
    ) -> tuple[str, int, bool]:
        """Copy one file into the store; (sha256, size, copied?). Reads the source once
        on local targets (hash while writing), twice on S3 (hash, then upload if new)."""
        if self.local:
            return self._store_local(src_fs, src_path, existing, on_bytes)
        sha, size = hash_file(src_fs, src_path, on_bytes)
        if sha in existing:
            return sha, size, False
        with _open_read(src_fs, src_path) as src, self.fs.open(self.object_path(sha), "wb") as dst:
            while chunk := src.read(CHUNK):
                dst.write(chunk)
        existing[sha] = size
        return sha, size, True

    def _store_local(
        self,
        src_fs: AbstractFileSystem,
        src_path: str,
        existing: dict[str, int],
        on_bytes: ProgressFn | None,
    ) -> tuple[str, int, bool]:
        pending = self.write_pending(src_fs, src_path, on_bytes)
        return pending.sha256, pending.size, self.publish(pending, existing)

    def write_pending(
        self, src_fs: AbstractFileSystem, src_path: str, on_bytes: ProgressFn | None = None
    ) -> PendingObject:
        """Local targets: copy ``src_path`` to a temp file and hash it. From a local
        source the kernel copies the file and sha256 reads the copy (backup_local_copy);
        from an object store each chunk is hashed as it is written (the source is read
        once). Nothing is fsynced yet: see :meth:`publish`."""
        tmp = self.path(TMP_DIR, uuid.uuid4().hex)
        if _is_local(src_fs):
            return self._write_pending_local(src_path, tmp, on_bytes)
        digest = hashlib.sha256()
        size = 0
        try:
            with _open_read(src_fs, src_path) as src, open(tmp, "wb", buffering=0) as dst:
                for chunk in chunks(src):
                    digest.update(chunk)
                    _write_all(dst, chunk)
                    size += len(chunk)
                    if on_bytes:
                        on_bytes(len(chunk))
        except BaseException:
            _unlink_quietly(tmp)
            raise
        return PendingObject(tmp, digest.hexdigest(), size)

    @staticmethod
    def _write_pending_local(src_path: str, tmp: str, on_bytes: ProgressFn | None) -> PendingObject:
        from doctordata.storage.local_copy import copy_and_hash

        try:
            sha, size = copy_and_hash(src_path, tmp, on_bytes)
        except BaseException:
            _unlink_quietly(tmp)
            raise
        return PendingObject(tmp, sha, size)

    def publish(self, pending: PendingObject, existing: dict[str, int]) -> bool:
        """fsync a pending object (durable targets) and rename it to its object name;
        False (temp file removed) if the store already holds that object."""
        try:
            if pending.sha256 in existing:
                os.unlink(pending.tmp)
                return False
            if self.durable:
                fd = os.open(pending.tmp, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            final = self.object_path(pending.sha256)
            os.makedirs(os.path.dirname(final), exist_ok=True)
            os.replace(pending.tmp, final)
        except BaseException:
            _unlink_quietly(pending.tmp)
            raise
        existing[pending.sha256] = pending.size
        return True

    def discard(self, pending: PendingObject) -> None:
        """Remove a pending object that will not be published."""
        _unlink_quietly(pending.tmp)

    def sync_dirs(self, shas: set[str], pool: Executor | None = None) -> Callable[[], None]:
        """Make the names of objects published by :meth:`publish` durable: fsync their
        directories (and the objects directory that holds new ones) once each, and the
        backups directory holding this backup's own directory. Returns a function that
        waits for them all and re-raises the first failure: call it before the manifest
        that names the objects appears. With ``pool`` the fsyncs run there, in parallel
        with whatever the caller does meanwhile (a full backup touches up to 257
        directories); without, they are done when this returns."""
        if not (self.local and self.durable):
            return _nothing
        folders = sorted({os.path.dirname(self.object_path(sha)) for sha in shas})
        if shas:
            folders.append(self.path(OBJECTS_DIR))
        folders.append(self.base)
        if pool is None:
            for folder in folders:
                fsync_path(folder)
            return _nothing
        futures = [pool.submit(fsync_path, folder) for folder in folders]

        def wait() -> None:
            for future in futures:
                future.result()

        return wait

    def put_bytes(self, sha: str, data: bytes, existing: dict[str, int]) -> bool:
        """Store small in-memory content (the catalog copy) under its hash."""
        if sha in existing:
            return False
        self.write_atomic(self.object_path(sha), data)
        if self.local and self.durable:
            fsync_path(self.path(OBJECTS_DIR))  # its objects/xx directory may be new
        existing[sha] = len(data)
        return True

    def write_atomic(
        self,
        path: str,
        data: bytes,
        *,
        sync: bool = True,
        before_rename: Callable[[], None] = _nothing,
    ) -> None:
        """Write ``path`` so readers see all of it or nothing (temp + rename; S3: one PUT).
        ``sync=False``: no fsync even on a durable target (a marker worth nothing after a
        crash, like ``started.json``). ``before_rename`` runs once the content is written
        and durable, just before it appears under ``path``; if it raises, nothing does."""
        sync = sync and self.durable
        if not self.local:
            before_rename()
            self.fs.pipe_file(path, data)
            return
        if sync:  # a new folder (a backup's own) is durable before its file is
            make_dirs_durably(os.path.dirname(path))
        else:
            make_dirs(os.path.dirname(path))
        tmp = f"{path}.{uuid.uuid4().hex}.tmp"
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
                if sync:
                    fh.flush()
                    os.fsync(fh.fileno())
            before_rename()
            os.replace(tmp, path)
            if sync:
                fsync_path(os.path.dirname(path))
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def write_json(
        self,
        path: str,
        value: Any,
        *,
        sync: bool = True,
        before_rename: Callable[[], None] = _nothing,
    ) -> None:
        # pydantic-core's encoder (pydantic is a dependency anyway): the same compact JSON
        # as json.dumps, a few times faster on a manifest of hundreds of files.
        from pydantic_core import to_json

        self.write_atomic(path, to_json(value), sync=sync, before_rename=before_rename)

    # -- reading -----------------------------------------------------------------------
    def read_json(self, path: str) -> Any:
        # One GET: a file opened for reading on S3 fails if it is replaced meanwhile (a
        # running backup's heartbeat rewrites its started.json).
        return json.loads(self.fs.cat_file(path))

    def open_object(self, sha: str) -> BinaryIO:
        return _open_read(self.fs, self.object_path(sha))

    def iter_object(self, sha: str) -> Iterator[bytes]:
        with self.open_object(sha) as fh:
            while chunk := fh.read(CHUNK):
                yield chunk

    # -- deleting ----------------------------------------------------------------------
    def remove(self, path: str, recursive: bool = False) -> None:
        if self.fs.exists(path):
            self.fs.rm(path, recursive=recursive)
        if recursive and not self.local:
            # SeaweedFS keeps the emptied folder; removing it once empty deletes it.
            self.fs.invalidate_cache(path)
            if self.fs.exists(path):
                self.fs.rm(path, recursive=True)
