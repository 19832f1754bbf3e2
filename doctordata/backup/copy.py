"""The copy pipeline of a backup: files are copied while the metadata walk goes on.

The walk (Avro decoding) is CPU work under the GIL; copying is I/O and hashing, which
release it. Feeding each file to a thread pool the moment the walk finds it overlaps the
two, so a backup costs about max(walk, copy) instead of their sum. On a local target a
second, wider pool fsyncs and names the copies (BackupTarget.publish): a copy thread
never waits for the disk, and many fsyncs in flight let the filesystem commit them
together, where one fsync after each file would make the disk wait for the CPU and the
CPU for the disk.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any

from doctordata.backup.manifest import BackupFile
from doctordata.backup.store import SYNC_WORKERS
from doctordata.errors import StorageError

if TYPE_CHECKING:
    from doctordata.backup.previous import PreviousBackup, Stamp
    from doctordata.backup.store import BackupTarget, ObjectIndex, PendingObject
    from doctordata.catalog.references import FileRef
    from doctordata.storage.tier import Tier


def missing_entry(path: str, kind: str, table: str, exc: BaseException | str) -> dict[str, str]:
    if isinstance(exc, str):
        reason = exc
    elif isinstance(exc, FileNotFoundError):
        reason = "missing"
    else:
        reason = f"{type(exc).__name__}: {exc}"
    return {"path": path, "kind": kind, "table": table, "reason": reason}


class Copier:
    """Receives FileRefs (``copier(ref)``) and stores each in the backup target once."""

    def __init__(
        self,
        tiers: Mapping[str, Tier],
        target: BackupTarget,
        previous: PreviousBackup,
        existing: ObjectIndex,
        advance: Callable[[int], None],
        workers: int,
        sync_pool: Executor | None = None,
        tiers_info: dict[str, Any] | None = None,
        hold_known: bool = False,
    ) -> None:
        """``sync_pool``: where local targets fsync and name objects (a pool of this
        Copier's own if None). ``tiers_info``: the tiers as the manifest records them;
        where they equal the previous backup's, its entries are repeated as they are.
        ``hold_known``: a file the previous backup holds waits for :meth:`flush` to
        check ``previous`` (new files are copied at once)."""
        from doctordata.catalog.locations import Locator

        self.tiers = tiers
        self.locate = Locator(tiers)
        self.target = target
        self.previous = previous
        self.existing = existing
        self.advance = advance
        self.files: list[BackupFile] = []
        # Entries repeated from the previous backup's manifest (JSON, as BackupFile fields)
        self.reused: list[dict[str, Any]] = []
        self.tiers_info = tiers_info
        self.stamps: dict[str, Stamp] = {}  # location -> its stamp when copied (local files)
        # Files stored again whose bytes differ from the previous backup's: (location, old sha)
        self.changed: list[tuple[str, str]] = []
        self.missing: list[dict[str, str]] = []
        self.copied_files = 0
        self.copied_bytes = 0
        self.published: set[str] = set()  # objects this backup added to the store
        self.catalog_object: tuple[str, int] | None = None  # (sha256, size), local targets
        self._seen: set[str] = set()
        self._hold = hold_known
        self._held: list[FileRef] = []
        self._lock = threading.Lock()
        self._workers = max(1, workers)
        self._in_flight = 0  # copies submitted and not finished
        self._pool = ThreadPoolExecutor(max_workers=self._workers)
        self._futures: list[Future[None]] = []
        self._sync_pool: Executor | None = None
        self._own_sync_pool: ThreadPoolExecutor | None = None
        self._sync_futures: list[tuple[Future[None], PendingObject]] = []
        if target.local:
            if sync_pool is None:
                sync_pool = self._own_sync_pool = ThreadPoolExecutor(max_workers=SYNC_WORKERS)
            self._sync_pool = sync_pool

    def __call__(self, ref: FileRef) -> None:
        if ref.path in self._seen:
            return
        self._seen.add(ref.path)
        if self._hold and ref.path in self.previous.files:
            self._held.append(ref)  # decided once the previous backup is checked
            return
        self._route(ref)

    def flush(self) -> None:
        """Check the previous backup (while the new files are copied), then reuse or copy
        every file held back for it. Call once the walk is done, before :meth:`finish`."""
        self.previous.check(self.existing)
        self._hold = False
        held, self._held = self._held, []
        for ref in held:
            self._route(ref)

    def _route(self, ref: FileRef) -> None:
        # Same location, recorded size and (local files) stamp as in the previous backup,
        # object still stored: the same bytes, no need to read them (backup_previous.py).
        known = self.previous.reusable.get(ref.path)
        if known and ref.size in (None, known[0]) and known[1] in self.existing:
            stamp = self.previous.stamps.get(ref.path)
            entry = None
            if self.tiers_info is not None:
                entry = self.previous.entry(ref.path, ref.kind, ref.table, self.tiers_info)
            with self._lock:
                if stamp is not None:
                    self.stamps[ref.path] = stamp
                if entry is not None:
                    self.reused.append(entry)
            if entry is None:
                self._add(ref, known[0], known[1])
            return
        with self._lock:
            self._in_flight += 1
            idle = self._in_flight <= self._workers
        self._futures.append(self._pool.submit(self._copy, ref))
        if idle and self.previous.files:
            # An incremental backup waits for its few new files: hand the waiting copy
            # thread the GIL now, so it starts its (GIL-free) copy at once instead of
            # after a switch interval (5 ms) of the walk. A first backup is throughput-
            # bound: its walk goes on, and the copies queue.
            time.sleep(0)

    def _add(self, ref: FileRef, size: int, sha: str) -> None:
        tier, rel = self.locate(ref.path)
        with self._lock:
            self.files.append(BackupFile(ref.path, ref.kind, ref.table, size, sha, tier, rel))

    def _copy(self, ref: FileRef) -> None:
        try:
            self._copy_one(ref)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _copy_one(self, ref: FileRef) -> None:
        from doctordata.backup.previous import source_stamp
        from doctordata.catalog.locations import fs_for

        fs, path = fs_for(self.tiers, ref.path)
        try:
            # Before reading: a write during the copy moves the stamp past this one, so
            # the next backup reads the file again.
            stamp = source_stamp(ref.path)
            if stamp is not None:
                with self._lock:
                    self.stamps[ref.path] = stamp
            if self._sync_pool is not None:
                pending = self.target.write_pending(fs, path, self.advance)
                future = self._sync_pool.submit(self._publish, ref, pending)
                self._sync_futures.append((future, pending))
                return
            sha, size, copied = self.target.store(fs, path, self.existing, self.advance)
        except FileNotFoundError as exc:
            if not ref.optional:  # an old metadata.json pyiceberg pruned is history only
                with self._lock:
                    self.missing.append(missing_entry(ref.path, ref.kind, ref.table, exc))
            return
        except OSError as exc:
            raise self._failed(ref, "copying", exc) from exc
        self._done(ref, size, sha, copied)

    def _failed(self, ref: FileRef, step: str, exc: OSError) -> StorageError:
        """The error a failed copy raises: which file, from which table, to where."""
        return StorageError(
            f"backup to {self.target.url} failed {step} {ref.path} ({ref.kind} of "
            f"{ref.table}): {exc}. Nothing was marked complete; fix the cause (disk "
            "full, permissions, a dying disk) and run the backup again."
        )

    def store_catalog(self, path: str) -> None:
        """Local targets: store the catalog copy through the same two pools, so its fsync
        overlaps the data copies (``catalog_object`` is set once :meth:`finish` returns).
        Other targets: nothing here; the caller stores it."""
        if self._sync_pool is not None:
            self._futures.append(self._pool.submit(self._store_catalog, path, self._sync_pool))

    def _store_catalog(self, path: str, sync_pool: Executor) -> None:
        from fsspec.implementations.local import LocalFileSystem

        pending = self.target.write_pending(LocalFileSystem(), path)
        future = sync_pool.submit(self._publish_catalog, pending)
        self._sync_futures.append((future, pending))

    def _publish_catalog(self, pending: PendingObject) -> None:
        if self.target.publish(pending, self.existing):
            with self._lock:
                self.published.add(pending.sha256)
        self.catalog_object = (pending.sha256, pending.size)

    def _publish(self, ref: FileRef, pending: PendingObject) -> None:
        try:
            copied = self.target.publish(pending, self.existing)
        except OSError as exc:
            raise self._failed(ref, "making durable", exc) from exc
        self._done(ref, pending.size, pending.sha256, copied)

    def _done(self, ref: FileRef, size: int, sha: str, copied: bool) -> None:
        self._add(ref, size, sha)
        before = self.previous.files.get(ref.path)
        if before is not None and before[1] != sha:
            with self._lock:
                self.changed.append((ref.path, before[1]))
        if copied:
            with self._lock:
                self.copied_files += 1
                self.copied_bytes += size
                self.published.add(sha)

    def finish(self) -> None:
        """Wait for every copy and fsync; re-raise the first real failure (disk full,
        auth, ...). The new objects' names are not durable yet: see
        :meth:`BackupTarget.sync_dirs` (over :attr:`published`)."""
        try:
            for future in self._futures:
                future.result()
            # Every copy is done, so no more publish tasks are coming.
            for sync_future, _ in self._sync_futures:
                sync_future.result()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)
            # No copy runs now, so no publish task is added any more. After a failure:
            # cancel those not started (the pool may be the caller's, still in use),
            # wait for the others, and remove the temp files never published.
            for sync_future, _ in self._sync_futures:
                sync_future.cancel()
            wait([f for f, _ in self._sync_futures])
            if self._own_sync_pool is not None:
                self._own_sync_pool.shutdown(wait=True)
            for sync_future, pending in self._sync_futures:
                if sync_future.cancelled():
                    self.target.discard(pending)
