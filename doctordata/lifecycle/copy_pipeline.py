"""The mover's copy pipeline: copy + verify on one pool, fsync + rename in batches on another.

Between local tiers each file goes through the two steps of storage/transfer.py. The
copy workers copy a file, start the disk writing it and compare it with the source
(:func:`~doctordata.storage.transfer.stage_local_copy`), then hand the verified copy on
and copy the next file: they never wait for the disk. The sync workers fsync the
verified copies and rename each one whose fsync succeeded
(:func:`~doctordata.storage.transfer.finish_copy`). They take copies in batches (up to
``BATCH_FILES`` files or ``BATCH_BYTES`` bytes, or whatever is verified when no copy is
left running), so an fsync usually finds its data already written and the batch's
fsyncs share journal commits and disk-cache flushes (FsyncWaves). Fsyncing each copy
the moment it was written made its flush wait behind the next files' data, and a copy
worker waiting in fsync copied nothing meanwhile. Measured on this 2-core box (copies
alone, 252 MB in 64 directories, load 3-4, vs ``cp`` + ``sync`` in the same run):
fsync in the copy worker 0.95-1.05x; this pipeline 1.14-1.26x; the same pipeline
without the early write-back 0.73-0.82x.

At most ``MAX_OPEN`` verified copies wait for their fsync at any time (each holds its
descriptor open until then), so a move of thousands of files keeps few files open.
Moves to or from S3 run :func:`~doctordata.storage.transfer.copy_verified` on a copy
worker, as one step.

Every file ends in exactly one result: None (copied, verified, fsynced, renamed) or why
not (the copy was discarded and the file stays where it was).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING

from doctordata.errors import ChecksumMismatchError
from doctordata.storage.fsync_waves import FsyncWaves
from doctordata.storage.transfer import (
    StagedCopy,
    copy_verified,
    finish_copy,
    remove_quietly,
    stage_local_copy,
    tmp_name,
)

if TYPE_CHECKING:
    from types import TracebackType

    from doctordata.lifecycle.policy import Move
    from doctordata.storage.tier import Tier

BATCH_FILES = 32
BATCH_BYTES = 128 * 1024 * 1024
MAX_OPEN = 2 * BATCH_FILES


def _fsync(fd: int) -> None:
    os.fsync(fd)  # looked up at call time (the failure tests replace os.fsync)


class CopyPipeline:
    """``submit`` each move, then ``results()``; use as a context manager."""

    def __init__(
        self, tiers: dict[str, Tier], progress: Callable[[int], None], workers: int
    ) -> None:
        self._tiers = tiers
        self._progress = progress
        workers = max(1, workers)
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dd-copy")
        self._sync_pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dd-sync")
        self._waves = FsyncWaves(_fsync)
        self._batch_files = min(BATCH_FILES, MAX_OPEN)
        self._open = threading.BoundedSemaphore(MAX_OPEN)
        self._lock = threading.Lock()
        self._batch: list[tuple[StagedCopy, Future[str | None]]] = []
        self._batch_bytes = 0
        self._running = 0  # submitted local copies not yet verified (or failed)
        self._results: list[tuple[Move, Future[str | None]]] = []
        self._copying: list[Future[None]] = []  # the copy workers' tasks
        self.last_done = time.monotonic()  # when the last file finished (for bytes/s)

    def __enter__(self) -> CopyPipeline:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.pool.shutdown(wait=True)
        self._sync_pool.shutdown(wait=True)

    @property
    def waves(self) -> int:
        """fsync waves run so far (each shares one journal commit)."""
        return self._waves.waves

    def submit(self, move: Move) -> None:
        result: Future[str | None] = Future()
        self._results.append((move, result))
        src, dst = self._tiers[move.source], self._tiers[move.dest]
        if src.is_local and dst.is_local:
            with self._lock:
                self._running += 1
            self._copying.append(self.pool.submit(self._stage, move, src, dst, result))
        else:
            self._copying.append(self.pool.submit(self._copy_whole, move, src, dst, result))

    def wait_copied(self) -> list[Move]:
        """Wait until the copy workers are done (every copy verified or failed; fsyncs may
        still run) and return the moves that have not failed so far."""
        wait(self._copying)
        return [m for m, r in self._results if not (r.done() and r.result() is not None)]

    def results(self) -> list[tuple[Move, str | None]]:
        """Every submitted move with None (done) or why it failed, in submission order."""
        return [(move, result.result()) for move, result in self._results]

    # -- copy workers ---------------------------------------------------------------------

    def _stage(self, move: Move, src: Tier, dst: Tier, result: Future[str | None]) -> None:
        staged = None
        self._open.acquire()
        try:
            staged = stage_local_copy(
                src, move.src_path, dst, move.dst_path,
                expected_size=move.size, progress=self._progress,
            )  # fmt: skip
        except BaseException as exc:
            self._open.release()
            self._failed(result, exc, dst, move)
            if not isinstance(exc, Exception):
                raise
        finally:
            self._verified(staged, result)

    def _copy_whole(self, move: Move, src: Tier, dst: Tier, result: Future[str | None]) -> None:
        try:
            copy_verified(
                src, move.src_path, dst, move.dst_path,
                expected_size=move.size, progress=self._progress,
                fsync=False,  # directories once, before the commit (transfer.sync_dirs)
                sync_file=self._waves.fsync,
            )  # fmt: skip
            self._done(result, None)
        except BaseException as exc:
            self._failed(result, exc, dst, move)
            if not isinstance(exc, Exception):
                raise

    def _verified(self, staged: StagedCopy | None, result: Future[str | None]) -> None:
        """Add a verified copy (None: the copy failed) to the batch; hand the batch to the
        sync workers when it is full or no copy is left running."""
        with self._lock:
            self._running -= 1
            if staged is not None:
                self._batch.append((staged, result))
                self._batch_bytes += staged.size
            full = len(self._batch) >= self._batch_files or self._batch_bytes >= BATCH_BYTES
            if not (full or self._running == 0):
                return
            batch, self._batch, self._batch_bytes = self._batch, [], 0
        for item in batch:
            self._sync_pool.submit(self._finish, *item)

    # -- sync workers ---------------------------------------------------------------------

    def _finish(self, staged: StagedCopy, result: Future[str | None]) -> None:
        try:
            finish_copy(staged, sync_file=self._waves.fsync, sync_dir=False)
            self._done(result, None)
        except BaseException as exc:
            with contextlib.suppress(OSError):  # the fsync failed: already removed
                remove_quietly(staged.dst, staged.tmp)
            why = f"fsync or rename of the verified copy failed ({type(exc).__name__}: {exc})"
            self._done(result, f"{why}; the copy was discarded and the file stays where it is")
            if not isinstance(exc, Exception):
                raise
        finally:
            self._open.release()

    def _done(self, result: Future[str | None], why: str | None) -> None:
        self.last_done = time.monotonic()
        result.set_result(why)

    def _failed(
        self, result: Future[str | None], exc: BaseException, dst: Tier, move: Move
    ) -> None:
        """A copy failed: remove what it left and say why. Whatever happens, the file gets
        its result (``results()`` never waits forever)."""
        if isinstance(exc, ChecksumMismatchError):  # its copy is already removed
            self._done(result, str(exc))
            return
        try:
            remove_quietly(dst, tmp_name(move.dst_path))
        except BaseException as cleanup:
            self.last_done = time.monotonic()
            result.set_exception(cleanup)
            return
        self._done(result, f"copy failed ({type(exc).__name__}: {exc}); the file stays where it is")
