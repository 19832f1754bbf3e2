"""Checksums of the data files doctordata writes, checked by ``verify(deep=True)``.

Iceberg records a data file's size but no checksum, so a flipped byte inside a Parquet
file goes unnoticed until an engine returns a wrong answer. Every data file doctordata
writes goes through ``DurableFileIO`` (appends, overwrites, upserts, deletes, compaction,
ingest and dbt commits), which hashes the bytes as they stream out and records
``(location, size, sha256)`` here; the mover records a moved file's copy under its new
location (the copy is verified equal to the source), and a restore records each restored
file with the sha256 the backup verified while writing it.

Where: a table ``doctordata_checksums`` in the catalog database itself (SQLite or
Postgres), next to pyiceberg's ``iceberg_tables``. It needs no new service or file
layout, it is read with the same connection settings, and a backup's copy of a SQLite
catalog carries it. A sidecar file per table would have to be written atomically next to
every commit by every process; a snapshot-summary property would grow with every file.
A REST catalog has no database of ours: nothing is recorded and every file is
"unchecked".

Durability: a row is written without a disk flush of its own (SQLite
``synchronous=NORMAL``, Postgres ``synchronous_commit=off``). The catalog commit that
makes the file visible comes later, in the same database's write-ahead log, and flushes
the log up to itself, so a row is durable before its file is referenced. A crash in
between loses at most the row of a file no snapshot references (an orphan).

sha256 costs 0.6 ms per MB on this machine (x86 with SHA extensions, ~1.7 GB/s), against
tens of ms per MB to encode and compress Parquet: hashing while writing is cheap.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

log = logging.getLogger(__name__)

TABLE = "doctordata_checksums"
CHUNK = 1 << 20
_BATCH = 500  # locations per SELECT ... IN (...)


@dataclass(frozen=True)
class Recorded:
    size: int
    sha256: str


def location_key(location: str) -> str:
    """One spelling per file: the canonical form of storage/locations.py (``file:///a/b`` ==
    ``/a/b`` == ``file:/a//b``; ``s3a://`` == ``s3://``; symlinks resolved)."""
    from doctordata.storage.locations import canonical

    return canonical(location)


def is_data_file(location: str) -> bool:
    """Data and delete files (Parquet); manifests and metadata.json are checked otherwise."""
    return location.endswith(".parquet")


def hash_file(fs: AbstractFileSystem, path: str) -> tuple[str, int]:
    """(sha256 hex, size) of a file read through ``fs``."""
    digest = hashlib.sha256()
    size = 0
    with fs.open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


class GrowingFiles:
    """sha256 of the ``.parquet`` files a writer is still appending to in one directory,
    computed while it writes (a background thread), so a large write does not read its
    files back after it finished.

    Sound only for a writer that appends and never rewrites an earlier byte: DuckDB
    1.5.5's Parquet writer opens each file with O_TRUNC and only ever calls write() (strace:
    no pwrite, no seek but to ask the position), and a byte below the file's size is
    final. The caller still compares each size with the footer's. The thread also
    fdatasyncs each file every ``sync_every`` bytes, so the fsync after the write (which
    stays: the durability point) finds little left to flush.

    ``start()``, let the writer run, then ``finish()`` (after the writer closed every
    file): the rest of each file is read and ``{path: (sha256 hex, size)}`` returned.
    ``stop()`` on failure. Files in subdirectories are not followed (a partitioned
    write's hundreds of files would each hold a descriptor): hash them afterwards.
    """

    def __init__(self, directory: str, *, sync_every: int = 32 << 20, poll: float = 0.02):
        self.directory = directory
        self.sync_every = sync_every
        self.poll = poll
        # path: (descriptor, sha256 so far, [bytes read, bytes read since the last fdatasync])
        self._files: dict[str, tuple[int, Any, list[int]]] = {}
        self._done = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="dd-hash-growing", daemon=True)

    def start(self) -> GrowingFiles:
        self._thread.start()
        return self

    @property
    def bytes_hashed(self) -> int:
        """Bytes hashed so far, over every file (progress)."""
        return sum(state[0] for _fd, _digest, state in list(self._files.values()))

    def finish(self) -> dict[str, tuple[str, int]]:
        self._done.set()
        self._thread.join()
        try:
            if self._error is not None:
                from doctordata.errors import StorageError

                raise StorageError(
                    f"hashing the files written under {self.directory} failed "
                    f"({self._error!r}); nothing was committed"
                ) from self._error
            return {p: (d.hexdigest(), st[0]) for p, (_fd, d, st) in self._files.items()}
        finally:
            self._close()

    def stop(self) -> None:
        self._done.set()
        self._thread.join()
        self._close()

    def _close(self) -> None:
        for fd, _digest, _state in self._files.values():
            os.close(fd)
        self._files.clear()

    def _run(self) -> None:
        buf = bytearray(CHUNK)
        try:
            while True:
                last = self._done.is_set()  # set before this pass: it reads every byte
                if not self._pass(buf) and not last:
                    self._done.wait(self.poll)
                if last:
                    return
        except BaseException as exc:
            self._error = exc

    def _pass(self, buf: bytearray) -> bool:
        view, moved = memoryview(buf), False
        with os.scandir(self.directory) as entries:
            for e in entries:
                if e.name.endswith(".parquet") and e.path not in self._files and e.is_file():
                    self._files[e.path] = (os.open(e.path, os.O_RDONLY), hashlib.sha256(), [0, 0])
        for fd, digest, state in self._files.values():
            while n := os.readv(fd, [buf]):
                digest.update(view[:n])
                state[0] += n
                state[1] += n
                moved = True
            if state[1] >= self.sync_every:
                os.fdatasync(fd)
                state[1] = 0
        return moved


class ChecksumStore:
    """The checksum table of one catalog database."""

    def __init__(self, uri: str) -> None:
        from sqlalchemy import BigInteger, Column, MetaData, String, Table, create_engine, event

        self.uri = uri
        self.sqlite = uri.startswith("sqlite")
        if self.sqlite:
            from sqlalchemy.pool import NullPool

            # No pooled connection kept open on the catalog file between writes: a file
            # handle held for the process's lifetime would outlive a restore or a move
            # of the catalog, and opening SQLite costs microseconds.
            self.engine = create_engine(uri, poolclass=NullPool)
        else:
            self.engine = create_engine(uri, pool_pre_ping=True)
        if self.sqlite:

            @event.listens_for(self.engine, "connect")
            def _pragmas(dbapi_conn: Any, _record: Any) -> None:
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA busy_timeout = 60000")
                cur.execute("PRAGMA journal_mode = WAL")
                cur.execute("PRAGMA synchronous = NORMAL")  # see the module docstring
                cur.close()

        self.table = Table(
            TABLE,
            MetaData(),
            Column("location", String(2048), primary_key=True),
            Column("size", BigInteger, nullable=False),
            Column("sha256", String(64), nullable=False),
        )
        self._ready = False

    def _ensure_table(self) -> None:
        if self._ready:
            return
        from sqlalchemy.exc import DatabaseError

        try:
            self.table.create(self.engine, checkfirst=True)
        except DatabaseError as exc:  # another process created it between check and create
            if "already exists" not in str(exc) and "duplicate" not in str(exc).lower():
                raise
        self._ready = True

    def _insert(self) -> Any:
        from sqlalchemy.dialects import postgresql, sqlite

        stmt: Any = (sqlite.insert if self.sqlite else postgresql.insert)(self.table)
        return stmt.on_conflict_do_update(
            index_elements=["location"],
            set_={"size": stmt.excluded.size, "sha256": stmt.excluded.sha256},
        )

    def record(self, rows: Iterable[tuple[str, int, str]]) -> None:
        """Record (location, size, sha256) rows; a location recorded again is replaced."""
        values = [{"location": location_key(loc), "size": n, "sha256": h} for loc, n, h in rows]
        if not values:
            return
        from sqlalchemy.exc import DBAPIError

        self._ensure_table()
        try:
            self._upsert(values)
        except DBAPIError as exc:
            text = str(exc.orig).lower()
            if "no such table" not in text and "does not exist" not in text:
                raise
            # The catalog database was replaced under us (a restore over a lost catalog).
            self._ready = False
            self._ensure_table()
            self._upsert(values)

    def _upsert(self, values: list[dict[str, Any]]) -> None:
        from sqlalchemy import text

        with self.engine.begin() as conn:
            if not self.sqlite:
                conn.execute(text("SET LOCAL synchronous_commit = off"))
            conn.execute(self._insert(), values)

    def lookup(self, locations: Iterable[str]) -> dict[str, Recorded]:
        """location (as given) -> what was recorded for it; unrecorded ones are absent."""
        from sqlalchemy import inspect, select

        by_key: dict[str, list[str]] = {}
        for loc in locations:
            by_key.setdefault(location_key(loc), []).append(loc)
        if not by_key or not inspect(self.engine).has_table(TABLE):
            return {}
        out: dict[str, Recorded] = {}
        keys = list(by_key)
        t = self.table
        with self.engine.connect() as conn:
            for i in range(0, len(keys), _BATCH):
                query = select(t.c.location, t.c.size, t.c.sha256).where(
                    t.c.location.in_(keys[i : i + _BATCH])
                )
                for row in conn.execute(query):
                    key, size, sha = cast(Any, row)
                    for loc in by_key[str(key)]:
                        out[loc] = Recorded(int(size), str(sha))
        return out

    def carry(self, moves: Mapping[str, str]) -> int:
        """Record each new location (a verified copy) with its old location's checksum."""
        known = self.lookup(moves)
        self.record((moves[old], r.size, r.sha256) for old, r in known.items())
        return len(known)

    def forget(self, locations: Iterable[str]) -> None:
        """Drop the rows of deleted files (maintenance), so the table does not only grow."""
        from sqlalchemy import inspect

        keys = sorted({location_key(loc) for loc in locations})
        if not keys or not inspect(self.engine).has_table(TABLE):
            return
        with self.engine.begin() as conn:
            for i in range(0, len(keys), _BATCH):
                conn.execute(
                    self.table.delete().where(self.table.c.location.in_(keys[i : i + _BATCH]))
                )

    def close(self) -> None:
        self.engine.dispose()


_stores: dict[tuple[str, int], ChecksumStore | None] = {}
_lock = threading.Lock()


def store_for(uri: str | None) -> ChecksumStore | None:
    """The store of catalog ``uri`` (one per process), or None for a catalog without one
    of our databases (REST)."""
    if not uri or not uri.startswith(("sqlite", "postgresql")):
        return None
    key = (uri, os.getpid())  # a forked child must not share its parent's connections
    with _lock:
        if key not in _stores:
            _stores[key] = ChecksumStore(uri)
        return _stores[key]


def record_written(uri: str | None, location: str, size: int, sha256: str) -> None:
    """Called by DurableFileIO when a data file it wrote is closed. A failure to record
    leaves the file "unchecked" (logged), never fails the write itself."""
    record_all_written(uri, [(location, size, sha256)])


def record_all_written(uri: str | None, rows: Iterable[tuple[str, int, str]]) -> None:
    """:func:`record_written` for many files ``(location, size, sha256)`` in one
    transaction (a partitioned load writes one file per partition)."""
    store = store_for(uri)
    kept = [r for r in rows if is_data_file(r[0])]
    if store is None or not kept:
        return
    from sqlalchemy.exc import SQLAlchemyError

    try:
        store.record(kept)
    except SQLAlchemyError as exc:
        log.warning(
            "could not record the checksums of %d file(s), %s first (%s): they stay unchecked",
            len(kept),
            kept[0][0],
            exc,
        )


def carry_recorded(uri: str | None, moves: Mapping[str, str]) -> None:
    """Give each verified copy (new location) its source's recorded checksum. A failure
    leaves the copies "unchecked" (logged), never fails the move."""
    store = store_for(uri)
    if store is None or not moves:
        return
    from sqlalchemy.exc import SQLAlchemyError

    try:
        store.carry(moves)
    except SQLAlchemyError as exc:
        log.warning("could not carry %d checksums to moved copies (%s)", len(moves), exc)
