"""An ingestion run's item fetch, done by a helper process (see :mod:`.child`).

Fetching an item costs the run's process far more CPU than anything else it does: the
HTTP request and response, JSON parsing, the item contract, building Arrow tables. In a
helper process that work runs on another core than dlt's extract and normalize (and the
commit process's commits). :class:`FetchProcess` fetches ids ``start..end`` in order with
its own :class:`~doctordata.ingest.fetcher.Fetcher` (same workers and retries), checks
them against the contract, and sends :class:`~doctordata.ingest.checked.CheckedBatch` es
segment by segment; the run hands each segment's batches to dlt. It fetches up to a
segment ahead of what the run took, like the in-process stream. It writes nothing: a
killed run loses no data, its resume point only moves after commits.
"""

from __future__ import annotations

import contextlib
import dataclasses
import queue
import subprocess
import sys
import threading
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

from doctordata.errors import IngestError
from doctordata.ingest.child import child_connection, ended, exit_now, peak_rss_mib, spawn

if TYPE_CHECKING:
    from doctordata.ingest.checked import CheckedBatch
    from doctordata.ingest.fetcher import FetchStats, RetryPolicy

# How long close() waits for the child to exit before killing it.
CLOSE_TIMEOUT = 10.0


@dataclass
class FetchSpec:
    """What the fetch process fetches and how."""

    base_url: str
    workers: int
    retry: RetryPolicy | None
    segments: list[tuple[int, int]]  # consecutive id ranges, in order
    extra_fields: dict[str, str]  # the contract's fields from earlier runs
    fetched_at: Any
    batch: int
    ahead: int


@dataclass
class FetchTotals:
    """The fetch process's request counts (so far)."""

    requests: int = 0
    retries: int = 0
    seconds: float = 0.0
    peak_rss_mib: float = 0.0
    failures: dict[str, int] = field(default_factory=dict)


class FetchProcess:
    """Fetches and checks items in a child process; :meth:`segment` yields its batches.

    Example::

        with FetchProcess(spec, label=str(lh.root)) as fetch:
            for low, high in spec.segments:
                for batch in fetch.segment(low, high): ...
    """

    def __init__(self, spec: FetchSpec, *, label: str, keep_fds: tuple[int, ...] = ()) -> None:
        self.spec = spec
        self.totals = FetchTotals()
        self._next = 0
        self._failure: str | None = None
        self._proc, self._conn = spawn("doctordata.ingest.fetch_worker", label, keep_fds)
        self._conn.send(("open", spec))

    @property
    def pid(self) -> int:
        return self._proc.pid

    def segment(self, low: int, high: int) -> Iterator[CheckedBatch]:
        """The checked batches of ids ``low..high``, the next segment of the spec."""
        if self._failure is not None:
            raise IngestError(self._failure)
        if self._next >= len(self.spec.segments) or self.spec.segments[self._next] != (low, high):
            raise IngestError(f"fetch process: segment {low}..{high} asked out of order")
        self._next += 1
        while True:
            try:
                kind, payload = self._conn.recv()
            except (EOFError, OSError) as exc:
                self._ended(exc)
            if kind == "batch":
                yield payload
            elif kind == "end":
                self.totals = FetchTotals(**payload)
                return
            else:  # "error": the fetch failed (e.g. the API stayed down after retries)
                type_name, message = payload
                self._failure = (
                    message
                    if type_name == "IngestError"
                    else (f"the fetch process failed: {type_name}: {message}")
                )
                raise IngestError(self._failure)

    def close(self) -> None:
        """Stop the child (it may still be fetching ahead) and wait for it."""
        self._conn.close()  # its next send fails, and it exits
        try:
            self._proc.wait(timeout=CLOSE_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()

    def __enter__(self) -> FetchProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ended(self, exc: BaseException) -> NoReturn:
        self._failure = ended("fetch process", self._proc, "unexpectedly", exc)
        raise IngestError(self._failure) from exc


class FetchGroup:
    """Several fetch processes sharing a run's segments: each segment is cut into one
    contiguous part per process, and :meth:`segment` yields the parts' batches in id order.

    While the run consumes the first part of a segment, the other processes fetch the
    later parts (and every process its part of the next segment), so fetching uses as
    many cores as there are processes. The run's ``workers`` concurrent requests are
    shared among them.
    """

    def __init__(
        self, spec: FetchSpec, processes: int, *, label: str, keep_fds: tuple[int, ...] = ()
    ) -> None:
        processes = max(1, min(processes, spec.workers))
        self.parts = {seg: _cut(seg, processes) for seg in spec.segments}
        self.members: list[FetchProcess] = []
        try:
            for k in range(processes):
                workers = spec.workers // processes + (k < spec.workers % processes)
                own = dataclasses.replace(
                    spec,
                    workers=workers,
                    segments=[self.parts[seg][k] for seg in spec.segments],
                    ahead=max(1, spec.ahead // processes),
                )
                self.members.append(FetchProcess(own, label=label, keep_fds=keep_fds))
        except BaseException:
            self.close()
            raise

    def segment(self, low: int, high: int) -> Iterator[CheckedBatch]:
        parts = self.parts.get((low, high))
        if parts is None:
            raise IngestError(f"fetch processes: {low}..{high} is not a segment of this run")
        for member, (part_low, part_high) in zip(self.members, parts, strict=True):
            yield from member.segment(part_low, part_high)

    @property
    def peak_rss_mib(self) -> float:
        """The fetch processes' peaks, summed (as of the last segment each finished)."""
        return sum(member.totals.peak_rss_mib for member in self.members)

    def add_stats_to(self, stats: FetchStats) -> None:
        """Add every fetch process's request counts to ``stats`` (the run's fetcher's)."""
        for member in self.members:
            stats.add_totals(member.totals)

    def close(self) -> None:
        for member in self.members:
            member.close()

    def __enter__(self) -> FetchGroup:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _cut(segment: tuple[int, int], parts: int) -> list[tuple[int, int]]:
    """``segment`` (low, high) as ``parts`` consecutive ranges (empty ones: high < low)."""
    low, high = segment
    count = max(0, high - low + 1)
    out = []
    for k in range(parts):
        start = low + count * k // parts
        end = low + count * (k + 1) // parts - 1
        out.append((start, end))
    return out


# -- the child --------------------------------------------------------------------------------
def serve(conn: Any, sender: _Sender) -> None:
    """Fetch every segment of the spec in order and send its batches, then its totals."""
    import itertools

    from doctordata.ingest.checked import check_batches
    from doctordata.ingest.fetcher import Fetcher
    from doctordata.ingest.hn_schema import ItemContract

    kind, spec = conn.recv()
    if kind != "open":
        raise IngestError(f"fetch process: expected 'open' first, got {kind!r}")
    sender.limit(max(1, (spec.ahead - spec.batch) // spec.batch))
    contract = ItemContract(extra=dict(spec.extra_fields))
    paths = (f"item/{i}.json" for low, high in spec.segments for i in range(low, high + 1))
    with Fetcher(spec.base_url, workers=spec.workers, retry=spec.retry) as fetcher:
        # Few raw responses are kept: checked batches (Arrow, far smaller than parsed
        # JSON) wait in the sender's queue instead.
        stream = fetcher.stream(paths, ahead=min(spec.ahead, spec.batch))
        try:
            for low, high in spec.segments:
                ids = range(low, high + 1)
                responses = itertools.islice(stream, len(ids))
                for checked in check_batches(ids, responses, contract, spec.fetched_at, spec.batch):
                    sender.put(("batch", checked))
                stats = fetcher.stats
                # A dict: this module is __main__ here, its classes do not unpickle there.
                totals = {
                    "requests": stats.requests,
                    "retries": stats.retries,
                    "seconds": stats.seconds,
                    "peak_rss_mib": peak_rss_mib(),
                    "failures": dict(stats.failures),
                }
                sender.put(("end", totals))
        finally:
            stream.close()


class _Sender:
    """Sends messages to the run on a thread, in order, keeping at most ``limit`` waiting:
    fetching goes on while the run is busy with other parts. A send that fails (the run
    stopped listening) ends the next :meth:`put`."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.failed: BaseException | None = None
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=1)
        self.thread = threading.Thread(target=self._run, name="fetch-sender", daemon=True)
        self.thread.start()

    def limit(self, waiting: int) -> None:
        self.queue.maxsize = waiting  # before the first put: nothing waits yet

    def put(self, message: Any) -> None:
        while True:
            if self.failed is not None:
                raise BrokenPipeError(f"the run stopped listening: {self.failed}")
            try:
                self.queue.put(message, timeout=0.1)
                return
            except queue.Full:
                continue

    def close(self) -> None:
        """Send what is waiting, then stop."""
        with contextlib.suppress(BrokenPipeError):
            self.put(None)
        self.thread.join()

    def _run(self) -> None:
        while (message := self.queue.get()) is not None:
            try:
                self.conn.send(message)
            except OSError as exc:
                self.failed = exc
                return


def main(argv: list[str]) -> None:
    conn = child_connection(argv)
    sender = _Sender(conn)
    try:
        serve(conn, sender)
    except (BrokenPipeError, ConnectionResetError, EOFError):
        pass  # the run stopped listening (it finished early, failed or was killed)
    except Exception as exc:  # the run raises it as an IngestError
        detail = str(exc) if isinstance(exc, IngestError) else traceback.format_exc()
        with contextlib.suppress(BrokenPipeError):
            sender.put(("error", (type(exc).__name__, detail)))
    finally:
        sender.close()
        conn.close()


if __name__ == "__main__":
    main(sys.argv[1:])
    exit_now()
