"""Bounded-concurrency JSON fetching with retries and backoff.

One :class:`Fetcher` per ingestion run: a thread pool of ``workers`` threads sharing one
urllib3 connection pool (keep-alive), retrying 429, 5xx, timeouts, dropped connections and
truncated JSON with exponential backoff plus jitter. Anything else (401/403/404, a body that
is valid JSON but not what we asked for) is not retried: it will not get better.
"""

from __future__ import annotations

import json
import queue
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from doctordata.errors import IngestError, MissingDependencyError

T = TypeVar("T")
R = TypeVar("R")

# Statuses worth another try: rate limiting and server-side trouble.
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass
class RetryPolicy:
    """How hard to try one URL before giving up."""

    # Total attempts per URL (1 = no retry).
    attempts: int = 8
    # First backoff in seconds; doubles per attempt, capped at ``max_backoff``.
    backoff: float = 0.1
    max_backoff: float = 5.0
    # Per-request timeouts in seconds.
    connect_timeout: float = 5.0
    read_timeout: float = 30.0


@dataclass
class FetchStats:
    requests: int = 0
    retries: int = 0
    bytes: int = 0
    seconds: float = 0.0
    failures: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, *, retried: int, size: int, seconds: float, failures: list[str]) -> None:
        with self._lock:
            self.requests += 1 + retried
            self.retries += retried
            self.bytes += size
            self.seconds += seconds
            for reason in failures:
                self.failures[reason] = self.failures.get(reason, 0) + 1

    def add_totals(self, other: Any) -> None:
        """Add another fetcher's totals (e.g. a fetch process's :class:`FetchTotals`)."""
        with self._lock:
            self.requests += other.requests
            self.retries += other.retries
            self.seconds += other.seconds
            for reason, n in other.failures.items():
                self.failures[reason] = self.failures.get(reason, 0) + n


@dataclass
class Response:
    """A fetched JSON document: its parsed value and the raw text (kept for rejections)."""

    url: str
    value: Any
    raw: str


class _Retryable(Exception):
    pass


class Fetcher:
    """GET JSON documents below ``base_url`` with ``workers`` concurrent requests.

    Example::

        with Fetcher("http://127.0.0.1:8765/v0/", workers=8) as f:
            f.get("maxitem.json").value
            for resp in f.map_ordered([f"item/{i}.json" for i in range(1, 100)]): ...
    """

    def __init__(
        self, base_url: str, *, workers: int = 8, retry: RetryPolicy | None = None
    ) -> None:
        try:
            import urllib3
        except ImportError as exc:  # pragma: no cover - urllib3 comes with the ingest extra
            raise MissingDependencyError("urllib3", "ingest", "HackerNews ingestion") from exc
        if workers < 1:
            raise IngestError(f"workers = {workers}: use at least 1 concurrent request")
        if not base_url.startswith(("http://", "https://")):
            raise IngestError(
                f"base_url = {base_url!r} is not an http(s) URL; pass the API root, e.g. "
                "https://hacker-news.firebaseio.com/v0/"
            )
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.workers = workers
        self.retry = retry or RetryPolicy()
        self.stats = FetchStats()
        self._urllib3 = urllib3
        self._pool = urllib3.PoolManager(
            num_pools=4,
            maxsize=workers,
            block=True,
            retries=False,  # our own loop retries, with backoff that knows about JSON
            timeout=urllib3.Timeout(
                connect=self.retry.connect_timeout, read=self.retry.read_timeout
            ),
        )
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hn-fetch")
        # Runs stream() producers, which wait on the worker pool (so not inside it).
        self._background = ThreadPoolExecutor(max_workers=2, thread_name_prefix="hn-stream")
        self._stop = threading.Event()
        self._closed = False

    # -- single documents ---------------------------------------------------------------
    def get(self, path: str) -> Response:
        """Fetch and parse one JSON document, retrying transient failures."""
        url = self.base_url + path
        policy = self.retry
        failures: list[str] = []
        started = time.perf_counter()
        for attempt in range(policy.attempts):
            if self._stop.is_set():
                raise IngestError(f"GET {url} abandoned: the fetcher was closed")
            try:
                raw, value = self._once(url)
                self.stats.add(
                    retried=attempt,
                    size=len(raw),
                    seconds=time.perf_counter() - started,
                    failures=failures,
                )
                return Response(url, value, raw)
            except _Retryable as exc:
                failures.append(str(exc).split(":", 1)[0])
                if attempt + 1 < policy.attempts:
                    time.sleep(self._delay(attempt, exc))
                last = exc
        self.stats.add(
            retried=policy.attempts - 1,
            size=0,
            seconds=time.perf_counter() - started,
            failures=failures,
        )
        raise IngestError(
            f"GET {url} failed {policy.attempts} times (last: {last}). Check that the API "
            "is reachable and --base-url is its root including /v0/, or retry later."
        )

    def _once(self, url: str) -> tuple[str, Any]:
        urllib3 = self._urllib3
        try:
            resp = self._pool.request("GET", url, preload_content=True, redirect=True)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            # Timeouts, refused/reset connections and bodies cut short (IncompleteRead).
            raise _Retryable(f"{type(exc).__name__}: {exc}") from exc
        body = resp.data or b""
        if resp.status in RETRY_STATUSES:
            err = _Retryable(f"HTTP {resp.status}: {body[:200]!r}")
            err.retry_after = resp.headers.get("Retry-After")  # type: ignore[attr-defined]
            raise err
        if resp.status != 200:
            raise IngestError(
                f"GET {url} answered HTTP {resp.status}: {body[:200]!r}. Check --base-url "
                "(the API root including /v0/, e.g. https://hacker-news.firebaseio.com/v0/)."
            )
        try:
            raw = body.decode("utf-8")
            value = json.loads(raw)
        except (UnicodeDecodeError, ValueError) as exc:
            # A 200 with broken JSON is a body cut short by a proxy or a dropped connection.
            raise _Retryable(f"truncated JSON: {exc}") from exc
        return raw, value

    def _delay(self, attempt: int, exc: _Retryable) -> float:
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            try:
                return min(float(retry_after), self.retry.max_backoff)
            except ValueError:
                pass
        base = min(self.retry.backoff * 2**attempt, self.retry.max_backoff)
        return base * (0.5 + random.random() / 2)

    # -- many documents -----------------------------------------------------------------
    def map_ordered(self, items: Iterable[T], fetch: Callable[[T], R] | None = None) -> Iterator[R]:
        """Apply ``fetch`` (default: :meth:`get` on a path) to ``items`` concurrently and
        yield results in input order. At most ``4 * workers`` requests are in flight, so
        memory stays bounded however many items there are."""
        func: Callable[[Any], Any] = fetch or self.get
        window: deque[Future[Any]] = deque()
        limit = 4 * self.workers
        try:
            for item in items:
                if self._stop.is_set():
                    return
                window.append(self._executor.submit(func, item))
                if len(window) >= limit:
                    yield window.popleft().result()
            while window:
                yield window.popleft().result()
        finally:
            for pending in window:
                pending.cancel()

    def stream(
        self, paths: Iterable[str], *, ahead: int, chunk: int = 256
    ) -> Generator[Response, None, None]:
        """Responses for ``paths`` in order, fetched by a background thread that keeps
        about ``ahead`` responses ready for the consumer (whole chunks of ``chunk``, plus
        the chunk being filled and the requests in flight).

        Fetching goes on while the consumer does something else (e.g. commits what it has
        consumed so far) and memory stays bounded. The first error that stops fetching is
        raised to the consumer after every response before it. Closing the iterator (or the
        fetcher) stops the background fetch.
        """
        if ahead < 1 or chunk < 1:
            raise IngestError(f"ahead = {ahead}, chunk = {chunk}: both must be at least 1")
        # Whole chunks through the queue: one hand-over per chunk, not per response.
        chunk = min(chunk, ahead)
        buffer: queue.Queue[list[Response] | BaseException | None] = queue.Queue(
            maxsize=max(1, ahead // chunk)
        )
        gone = threading.Event()  # the consumer stopped listening

        def put(entry: list[Response] | BaseException | None) -> bool:
            while not (gone.is_set() or self._stop.is_set()):
                try:
                    buffer.put(entry, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        def produce() -> None:
            try:
                batch: list[Response] = []
                for resp in self.map_ordered(paths, self.get):
                    batch.append(resp)
                    if len(batch) >= chunk:
                        if not put(batch):
                            return
                        batch = []
                if self._stop.is_set():
                    raise IngestError("fetching stopped: the fetcher was closed")
                if batch and not put(batch):
                    return
                put(None)
            except BaseException as exc:  # handed to the consumer, which raises it
                put(exc)

        producer = self._background.submit(produce)
        try:
            while True:
                try:
                    entry = buffer.get(timeout=0.1)
                except queue.Empty:
                    if producer.done() and buffer.empty():
                        raise IngestError("fetching stopped: the fetcher was closed") from None
                    continue
                if entry is None:
                    return
                if isinstance(entry, BaseException):
                    raise entry
                yield from entry
        finally:
            gone.set()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._stop.set()  # a stream still fetching stops at its next request
            self._background.shutdown(wait=True, cancel_futures=True)
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._pool.clear()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
