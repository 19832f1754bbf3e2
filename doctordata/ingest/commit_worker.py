"""An ingestion run's Iceberg commits, done by a helper process (see :mod:`.child`).

Committing a segment (reading dlt's Parquet file, casting it to the table's schema,
splitting it by day, writing Parquet and manifests, the catalog commit) in the run's own
process takes CPU time from the fetch. :class:`CommitProcess` does those commits in a
helper process instead, on another core, while the next segment is fetched. Requests are
answered one at a time, in order, so commits keep dlt's order and a resume point is only
recorded after every commit before it. The helper opens its own catalog connection from
the run's settings; credentials come from the environment it inherits, as in the run.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import os
import shutil
import subprocess
import sys
import threading
import time
import traceback
from collections import deque
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from doctordata.errors import IngestError
from doctordata.ingest.child import RERUN, child_connection, ended, exit_now, peak_rss_mib, spawn
from doctordata.ingest.destination import CatalogWriter, LoadStats, check_table_name

if TYPE_CHECKING:
    from collections.abc import Callable
    from multiprocessing.connection import Connection

    from doctordata.config import Settings

# How long close() waits for the child to finish its current commit and exit.
CLOSE_TIMEOUT = 120.0
# Attempts per request in the child (commit conflicts, I/O errors).
RETRIES = 4
_COUNTERS = ("items_new", "items_updated", "rejected", "list_rows", "commits")


class CommitProcess:
    """Commits files for the ``hackernews`` tables in a child process (a CatalogWriter there).

    Asynchronous: :meth:`write_file` hard-links dlt's Parquet file into a spool folder,
    queues it and returns, so dlt's load step ends at once and the next segment is
    extracted while the child commits this one. :meth:`advance` queues the resume-point
    update behind the segment's writes, so it happens only after all of them committed;
    it then waits until at most one more segment is queued (the child is never more than
    a segment behind). The child stops at the first write that fails (after retries for
    commit conflicts and I/O errors) and never records a later resume point; the error is
    raised here at the next call. Counts reach ``stats`` (and ``on_commit``) as the child
    reports each commit; :meth:`flush` waits for all of them.

    Example::

        with CommitProcess(lh.settings, spool, stats) as writer:
            pipeline = dlt.pipeline(..., destination=lakehouse_destination(writer))
            ...
            writer.advance("hackernews.items", 10_001)
            writer.flush()
    """

    def __init__(
        self,
        settings: Settings,
        spool: Path,
        stats: LoadStats | None = None,
        *,
        on_commit: Callable[[str, int], None] | None = None,
        keep_fds: tuple[int, ...] = (),
        window: int = 1,
    ) -> None:
        self.stats = stats or LoadStats()
        self.on_commit = on_commit
        self.peak_rss_mib = 0.0
        self.spool = spool
        self.window = window
        self._failure: str | None = None
        self._lock = threading.Lock()
        self._queued = 0  # requests sent and not answered
        self._segments: deque[int] = deque()  # request numbers of queued advances
        self._sent = 0
        self._answered = 0
        self._files = itertools.count()
        # Files a killed run left here were never committed: their ids are fetched again.
        shutil.rmtree(spool, ignore_errors=True)
        spool.mkdir(parents=True)
        self._proc, self._conn = spawn(
            "doctordata.ingest.commit_worker", str(settings.root), keep_fds
        )
        self._conn.send(("open", settings))

    @property
    def pid(self) -> int:
        return self._proc.pid

    def write_file(self, table_name: str, path: str) -> None:
        """Queue the Parquet file ``path`` (written by dlt) for table ``table_name``."""
        check_table_name(table_name)
        spooled = self.spool / f"{next(self._files):06d}-{table_name}.parquet"
        try:
            os.link(path, spooled)  # dlt moves or deletes its file once this job returns
        except OSError:
            shutil.copyfile(path, spooled)
        with self._lock:
            self._send(("write", table_name, str(spooled)), f"committing {table_name}")

    def advance(self, table: str, to: int) -> None:
        """Queue "every id below ``to`` is committed" behind the writes queued so far."""
        with self._lock:
            self._send(("advance", table, to), f"recording {table}'s resume point {to}")
            self._segments.append(self._sent)
            while len(self._segments) > self.window:
                self._receive(block=True)

    def flush(self) -> None:
        """Wait until the child committed everything queued; raise its error if one failed."""
        with self._lock:
            while self._answered < self._sent:
                self._receive(block=True)
            self._raise_failure()

    def close(self) -> None:
        """Let the child finish and exit (killing it if it does not within CLOSE_TIMEOUT)."""
        with contextlib.suppress(IngestError):
            self.flush()
            with self._lock:
                self._send(("close",), "closing")
                self._receive(block=True)
        # After a failure or an interrupted wait: the child finds the socket closed when
        # it next answers, and exits.
        self._conn.close()
        try:
            self._proc.wait(timeout=CLOSE_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        shutil.rmtree(self.spool, ignore_errors=True)

    def __enter__(self) -> CommitProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- protocol ----------------------------------------------------------------------------
    def _send(self, request: tuple[Any, ...], doing: str) -> None:
        self._raise_failure()
        while self._conn.poll():  # take in what is already answered, without waiting
            self._receive(block=False)
        try:
            self._conn.send(request)
        except OSError as exc:
            self._ended(doing, exc)
        self._sent += 1

    def _receive(self, *, block: bool) -> None:
        self._raise_failure()
        try:
            kind, *payload = self._conn.recv()
        except (EOFError, OSError) as exc:
            self._ended("committing", exc)
        self._answered += 1
        while self._segments and self._segments[0] <= self._answered:
            self._segments.popleft()
        if kind == "error":
            table, type_name, message, trace = payload
            self._failure = (
                f"committing {table} failed in the commit process: {type_name}: {message}. "
                f"{RERUN}\n{trace}"
            )
            self._raise_failure()
        if kind == "closed":
            self.peak_rss_mib = float(payload[0])
        elif kind == "committed":
            delta, notes = payload
            with self.stats.lock:
                for name in (*_COUNTERS, "commit_seconds"):
                    setattr(self.stats, name, getattr(self.stats, name) + delta[name])
                self.stats.new_columns.extend(delta["new_columns"])
            if self.on_commit is not None:
                for table, rows in notes:
                    self.on_commit(table, rows)

    def _ended(self, doing: str, exc: BaseException) -> NoReturn:
        self._failure = ended("commit process", self._proc, f"while {doing}", exc)
        raise IngestError(self._failure) from exc

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise IngestError(self._failure)


def _numbers(stats: LoadStats) -> dict[str, Any]:
    """The counters of ``stats`` now (lists copied: they grow in place)."""
    return {
        f.name: copy.copy(getattr(stats, f.name))
        for f in fields(stats)
        if f.name != "lock" and not f.name.startswith("_")
    }


def serve(conn: Connection) -> None:
    """The child's loop: open the lakehouse, then answer requests in order until close or
    the first failure."""

    from doctordata.ingest import state
    from doctordata.lakehouse import Lakehouse

    kind, settings = conn.recv()
    if kind != "open":
        raise IngestError(f"commit process: expected 'open' first, got {kind!r}")
    notes: list[tuple[str, int]] = []
    stats = LoadStats()
    with Lakehouse(settings) as lh:
        writer = CatalogWriter(lh, stats, on_commit=lambda table, rows: notes.append((table, rows)))
        while True:
            try:
                request = conn.recv()
            except EOFError:
                return  # the parent is gone
            if request[0] == "close":
                rss = peak_rss_mib()
                conn.send(("closed", round(rss, 1)))
                return
            what, table, arg = request
            before = _numbers(stats)
            notes.clear()
            try:
                if what == "write":
                    _with_retries(writer.write_file, table, arg)
                    os.unlink(arg)
                else:
                    _with_retries(state.advance, lh, table, arg)
            except Exception as exc:  # reported to the parent; nothing after it runs
                conn.send(("error", table, type(exc).__name__, str(exc), traceback.format_exc()))
                return
            after = _numbers(stats)
            delta: dict[str, Any] = {
                name: after[name] - before[name] for name in (*_COUNTERS, "commit_seconds")
            }
            delta["new_columns"] = after["new_columns"][len(before["new_columns"]) :]
            conn.send(("committed", delta, list(notes)))


def _with_retries(call: Callable[..., object], *args: Any) -> None:
    """Retry what may pass next time (a commit that lost a race, an I/O error), as dlt
    retries a failed load job; anything else fails at once."""
    from pyiceberg.exceptions import CommitFailedException

    from doctordata.errors import CommitConflictError

    for attempt in range(RETRIES):
        try:
            call(*args)
            return
        except (CommitFailedException, CommitConflictError, OSError):
            if attempt == RETRIES - 1:
                raise
            time.sleep(0.2 * 2**attempt)


def main(argv: list[str]) -> None:
    conn = child_connection(argv)
    try:
        serve(conn)
    finally:
        conn.close()


if __name__ == "__main__":
    main(sys.argv[1:])
    exit_now()
