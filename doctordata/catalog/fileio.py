"""A pyiceberg FileIO that makes local files durable before the catalog pointer moves.

pyiceberg writes data files, manifests and metadata.json through ``new_output``; our
streams hash each data file (its checksum is recorded, catalog/checksums.py) and fsync
every local file and its directory before the catalog can point at it, so a power cut
after a commit can never leave the catalog pointing at a truncated file. Object stores
need no fsync: an upload is durable once it completes. S3 paths are read and written with
the endpoint and keys of the tier that owns their bucket.

When the fsyncs happen (issue 18: a 100-row append wrote four files and made eight
sequential fsyncs, most of its latency on a busy disk): a data file (.parquet) or an Avro
manifest / manifest list is only ever referenced through a metadata.json written after
it, and the catalog moves its pointer only after that metadata.json is closed. So their
fsyncs start in a background pool when they are closed (overlapping the writing of the
next file) and closing any metadata.json waits for every fsync pending in the process,
then fsyncs each directory that gained a file once (not once per file). Every file and
directory is durable before the catalog commit, as before; a failed fsync fails that
close (the commit never happens). :func:`flush_pending` does the same wait for a writer
that commits without writing a metadata.json.

New directories: a file written into a directory that did not exist yet (a first append
into data/day=2026-01-01/, a new table's metadata/) is only reachable after a power cut if
the new directory's own name is durable too, i.e. its parent was fsynced after the mkdir.
The directories a write creates are noted when its stream opens
(storage.local_copy.make_dirs) and the parent of each one, up to the first directory that
already existed, is fsynced at the next flush (registered at once: another thread's file
in the same new directory may reach its commit first). Another process's file in a
directory this process created is not covered until this process flushes.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from pyiceberg.io import OutputStream
from pyiceberg.io.pyarrow import PyArrowFile, PyArrowFileIO

from doctordata.errors import StorageError
from doctordata.storage.local_copy import fsync_path, make_dirs

# Files whose fsync may wait for the next metadata.json (see the module docstring).
DEFERRED_SUFFIXES = (".parquet", ".avro")
METADATA_SUFFIX = ".metadata.json"
# fsyncs at once: a commit's files, its metadata.json and its directories (about 7).
POOL_SIZE = 8


class _PendingSyncs:
    """The fsyncs started but not yet waited for, process-wide: the metadata.json of a
    commit is written through another FileIO instance than its data files and manifests
    (pyiceberg's catalog builds one per commit), so the registry cannot live on one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # guards the registry
        self._flush = threading.Lock()  # one flush at a time: see flush()
        self._files: dict[str, Future[None]] = {}
        self._dirs: dict[str, int] = {}  # directory -> sequence number of its last new file
        self._seq = 0
        self._failed: dict[str, OSError] = {}  # failed fsyncs of files that may still exist
        self._pool: ThreadPoolExecutor | None = None

    def start(self, path: str, then: Callable[[], None] | None = None) -> None:
        """fsync ``path`` in the background, then call ``then``; its directory at the next
        flush."""
        with self._lock:
            self._files[path] = self._executor().submit(_fsync_existing, path, then)
            self._seq += 1
            self._dirs[os.path.dirname(path) or "."] = self._seq

    def add_dirs(self, dirs: tuple[str, ...]) -> None:
        """fsync ``dirs`` (directories that gained an entry) at the next flush."""
        with self._lock:
            self._seq += 1
            for d in dirs:
                self._dirs[d] = self._seq

    def flush(self, also: tuple[str, ...] = ()) -> None:
        """fsync ``also`` (and its directory), wait for every pending fsync, fsync each
        pending directory once; raise OSError if any of them failed.

        ``also`` (a metadata.json) and the directories are fsynced at the same time, on the
        pool: the catalog only needs all of them durable before it commits, not in any
        order, and on ext4 concurrent fsyncs share one journal commit, so the commit waits
        for about one fsync here instead of two in a row (issue 18, branch appends3).

        Flushes run one at a time and a future leaves the registry only once it is done,
        so a commit whose files another thread's flush took waits for that flush to end.
        A file whose fsync failed keeps failing every flush while it exists: its writer
        may be about to commit it, and which commit it belongs to is not known here (once
        deleted, nothing can reference it). Fail closed: a disk that lost a write is not
        one to go on committing to."""
        with self._flush:
            with self._lock:
                files = dict(self._files)
                seq = self._seq
                dirs = set(self._dirs) | {os.path.dirname(p) or "." for p in also}
            # Each directory already holds every entry it needs (the files are created),
            # so its fsync need not wait for the files' own.
            synced = [self._submit(fsync_path, p) for p in also]
            synced += [self._submit(_fsync_existing, d) for d in sorted(dirs)]
            errors: list[OSError] = []
            for path, future in files.items():
                failed = future.exception()
                if isinstance(failed, OSError):
                    self._failed[path] = failed
                elif failed is not None:
                    errors.append(OSError(f"writing {path} failed: {failed!r}"))
            for future in synced:
                failed = future.exception()
                if failed is not None:
                    errors.append(failed if isinstance(failed, OSError) else OSError(repr(failed)))
            with self._lock:
                for path in files:
                    self._files.pop(path, None)
                for d in dirs:  # a file created there since the snapshot: keep it pending
                    if self._dirs.get(d, seq + 1) <= seq:
                        del self._dirs[d]
            for path in list(self._failed):
                if os.path.exists(path):
                    errors.append(_failed_error(path, self._failed[path]))
                else:
                    del self._failed[path]
            if errors:
                raise errors[0]

    def _submit(self, fn: Any, path: str) -> Future[None]:
        with self._lock:
            return self._executor().submit(fn, path)

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:  # the caller holds self._lock
            self._pool = ThreadPoolExecutor(max_workers=POOL_SIZE, thread_name_prefix="dd-fsync")
        return self._pool


def _failed_error(path: str, exc: OSError) -> StorageError:
    return StorageError(
        exc.errno,
        f"fsync of {path} failed ({exc.strerror or exc}); nothing that could reference it is "
        "committed by this process until the file is gone (check the disk, delete the file "
        "or restart the process)",
    )


def _fsync_existing(path: str, then: Callable[[], None] | None = None) -> None:
    """fsync ``path``, then call ``then``; a file deleted meanwhile (its commit failed and
    cleaned up) needs neither: nothing can reference it."""
    try:
        fsync_path(path)
    except FileNotFoundError:
        return
    if then is not None:
        then()


_pending = _PendingSyncs()


def _reset_after_fork() -> None:
    # A forked child has none of the parent's pool threads (a submit would wait forever)
    # and commits none of the parent's files.
    global _pending
    _pending = _PendingSyncs()


os.register_at_fork(after_in_child=_reset_after_fork)


def flush_pending() -> None:
    """Make every local file written so far through a DurableFileIO durable (files and
    directories); OSError if an fsync failed. Closing a metadata.json does this."""
    _pending.flush()


class _SyncingStream:
    """Forwards to pyarrow's stream; hashes what passes through, fsyncs a local file and
    its directory on close, then records a data file's checksum (catalog/checksums.py)."""

    def __init__(
        self,
        stream: Any,
        path: str | None,
        location: str,
        uri: str | None,
        new_dirs: tuple[str, ...] = (),
        on_close: Callable[[int], None] | None = None,
    ) -> None:
        self._stream = stream
        self._on_close = on_close  # told the file's size when it is closed
        self._path = path  # None: an object store, durable once the upload completes
        # Parents of the directories created for this file: fsynced with its directory.
        self._new_dirs = new_dirs
        self._location = location
        self._uri = uri
        self._digest = hashlib.sha256() if uri is not None else None
        self._size = 0

    def write(self, data: bytes) -> int:
        if self._digest is not None:
            self._digest.update(data)
            self._size += len(data)
        return int(self._stream.write(data))

    def tell(self) -> int:
        return int(self._stream.tell())

    def flush(self) -> None:
        self._stream.flush()

    @property
    def closed(self) -> bool:
        return bool(self._stream.closed)

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        if self._stream.closed:
            return
        size = int(self._stream.tell())
        self._stream.close()
        if self._on_close is not None:
            self._on_close(size)
        record = None if self._digest is None else self._record
        if self._path is None:
            pass
        elif self._path.endswith(DEFERRED_SUFFIXES):
            # The checksum's own catalog transaction overlaps the next file's writing too;
            # it is still recorded before the commit (the flush waits for it).
            _pending.start(self._path, then=record)
            return
        elif self._path.endswith(METADATA_SUFFIX):
            _pending.flush(also=(self._path,))
        else:
            fsync_path(self._path)
            for d in (os.path.dirname(self._path) or ".", *self._new_dirs):
                fsync_path(d)
        if record is not None:
            record()

    def _record(self) -> None:
        from doctordata.catalog.checksums import record_written

        assert self._digest is not None
        record_written(self._uri, self._location, self._size, self._digest.hexdigest())

    def __enter__(self) -> _SyncingStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _DurableFile(PyArrowFile):
    checksum_uri: str | None = None  # the catalog that records checksums of data files
    # The size of what this object wrote, once closed: pyiceberg asks len() of every
    # file it wrote (a stat per data file and manifest) right after closing it.
    _written: int | None = None

    def __len__(self) -> int:
        if self._written is not None:
            return self._written
        return super().__len__()

    def _closed(self, size: int) -> None:
        self._written = size

    def create(self, overwrite: bool = False) -> OutputStream:
        local = self._path if self._path.startswith("/") else None
        # pyiceberg's local filesystem creates missing directories too; creating them here
        # first tells which ones are new (their parents need an fsync).
        new_dirs = tuple(make_dirs(os.path.dirname(local))) if local is not None else ()
        if new_dirs:
            # Registered now, not when this file closes: another thread's file in the same
            # new directory may be committed first, and its flush must cover them too.
            _pending.add_dirs(new_dirs)
        stream = super().create(overwrite=overwrite)
        uri = self.checksum_uri if self.location.endswith(".parquet") else None
        if local is None and uri is None:
            return stream
        self._written = None
        return _SyncingStream(stream, local, self.location, uri, new_dirs, self._closed)


class _TierAwareFile(PyArrowFile):
    """A file to read; a failed open on an offline tier raises TierOfflineError."""

    _io: DurableFileIO

    def open(self, seekable: bool = True) -> Any:
        try:
            return super().open(seekable=seekable)
        except OSError as exc:
            offline = self._io.offline_error(self.location)
            if offline is None:
                raise
            raise offline from exc

    def __len__(self) -> int:
        try:
            return super().__len__()
        except OSError as exc:
            offline = self._io.offline_error(self.location)
            if offline is None:
                raise
            raise offline from exc


# Catalog properties "doctordata.bucket.<bucket>.<s3 property>" override the s3.* defaults
# for paths in that bucket (see catalog.sql.catalog_properties).
BUCKET_PREFIX = "doctordata.bucket."
# The configured tiers (JSON) and the lake root: a failed read is checked against them.
TIERS_PROPERTY = "doctordata.tiers"
ROOT_PROPERTY = "doctordata.root"


class DurableFileIO(PyArrowFileIO):
    """pyarrow FileIO with durable local writes and per-bucket S3 endpoints/keys."""

    def _initialize_fs(self, scheme: str, netloc: str | None = None) -> Any:
        if scheme in {"s3", "s3a", "s3n"} and netloc:
            prefix = f"{BUCKET_PREFIX}{netloc}."
            own = {k[len(prefix) :]: v for k, v in self.properties.items() if k.startswith(prefix)}
            if own:
                # A plain pyarrow FileIO with this bucket's settings builds its filesystem.
                return PyArrowFileIO({**self.properties, **own})._initialize_fs(scheme, netloc)
        return super()._initialize_fs(scheme, netloc)

    def new_input(self, location: str) -> PyArrowFile:
        plain = super().new_input(location)
        if TIERS_PROPERTY not in self.properties:
            return plain
        checked = _TierAwareFile(
            location=location,
            path=plain._path,
            fs=plain._filesystem,
            buffer_size=plain._buffer_size,
        )
        checked._io = self
        return checked

    def offline_error(self, location: str) -> Exception | None:
        """The TierOfflineError for a failed read of ``location``, if its tier is offline."""
        import json
        from pathlib import Path

        from doctordata.storage.offline import diagnose
        from doctordata.storage.tier import Tier

        tiers = {t["name"]: Tier(**t) for t in json.loads(self.properties[TIERS_PROPERTY])}
        return diagnose(
            tiers, Path(self.properties[ROOT_PROPERTY]), location, f"reading {location}"
        )

    def new_output(self, location: str) -> PyArrowFile:
        plain = super().new_output(location)
        out = _DurableFile(
            location=location,
            path=plain._path,
            fs=plain._filesystem,
            buffer_size=plain._buffer_size,
        )
        out.checksum_uri = self.properties.get("uri")
        return out
