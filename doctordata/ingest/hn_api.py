"""A local HackerNews API server on loopback, for tests, benchmarks and the offline demo.

It serves :class:`~doctordata.ingest.hn_data.HNDataset` with the paths and JSON of
https://hacker-news.firebaseio.com/v0/ (``maxitem.json``, ``item/<id>.json``,
``topstories.json`` & co, ``updates.json``, ``user/<id>.json``) and can inject faults
(5xx/429 answers, slow answers, truncated bodies) to exercise the client's retries.

Example::

    from doctordata.ingest import hackernews
    from doctordata.ingest.hn_api import start_server

    with start_server(items=2000, seed=7) as server:
        hackernews.run(lh, base_url=server.url)   # server.url ends with /v0/
        server.grow(new_items=100, changed=20)

From the shell: ``doctordata dev hn-api --port 8765 --items 5000 --seed 7``.
"""

from __future__ import annotations

import json
import random
import re
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from doctordata.ingest.hn_data import LIST_NAMES, Growth, HNDataset

API_PREFIX = "/v0/"
_ITEM = re.compile(r"^item/(\d+)\.json$")
_USER = re.compile(r"^user/([^/]+)\.json$")
# Statuses a flaky Firebase/CDN answers with; 429 carries Retry-After.
_ERROR_STATUSES = (500, 502, 503, 504, 429)


@dataclass
class Faults:
    """Fault injection; each rate is the probability for one response."""

    # Answer with a 5xx or 429 instead of the data.
    error_rate: float = 0.0
    # Sleep ``slow_seconds`` before answering.
    slow_rate: float = 0.0
    slow_seconds: float = 0.5
    # Send half of the body (either cut off mid-stream or with a short Content-Length).
    truncate_rate: float = 0.0
    # Seed of the fault dice (the order of requests still varies with concurrency).
    seed: int = 0
    # After this many requests, answer every request with 503 (an outage mid-run).
    down_after: int | None = None
    # Answer every request for an item with this id or above with 503: an outage at a
    # known place in the id range, whatever order concurrent fetchers ask in.
    down_from_item: int | None = None

    def __post_init__(self) -> None:
        for name in ("error_rate", "slow_rate", "truncate_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} = {value}: a rate must be between 0 and 1")
        if self.error_rate + self.truncate_rate > 1.0:
            raise ValueError("error_rate + truncate_rate must not exceed 1")


class HNApiServer:
    """A running server; a context manager that stops it on exit.

    Attributes: ``url`` (API root, ends with ``/v0/``), ``dataset``, ``faults`` (mutable),
    ``requests`` (Counter of served routes: "item", "maxitem", "updates", list names, ...).
    """

    def __init__(
        self,
        dataset: HNDataset,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: Faults | None = None,
    ) -> None:
        self.dataset = dataset
        self.faults = faults or Faults()
        self.requests: Counter[str] = Counter()
        self.injected: Counter[str] = Counter()
        self._dice = random.Random(self.faults.seed)
        self._lock = threading.Lock()
        self._httpd = _Server((host, port), _Handler)
        self._httpd.api = self
        bound_host, bound_port = self._httpd.server_address[:2]
        self.host = str(bound_host)
        self.port = int(bound_port)
        self.url = f"http://{self.host}:{self.port}{API_PREFIX}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name=f"hn-api:{self.port}", daemon=True
        )
        self._thread.start()

    def grow(self, new_items: int = 0, changed: int = 0) -> Growth:
        """Add items and change scores (see :meth:`HNDataset.grow`)."""
        return self.dataset.grow(new_items=new_items, changed=changed)

    def stop(self) -> None:
        """Stop serving and close the socket (idempotent)."""
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join(timeout=10)
        self._httpd.server_close()

    def __enter__(self) -> HNApiServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"HNApiServer(url={self.url!r}, maxitem={self.dataset.maxitem})"

    # -- called by the handler ----------------------------------------------------------
    def _roll(self, path: str) -> tuple[str | None, bool]:
        """Decide this response's fault: (kind or None, slow?)."""
        with self._lock:
            roll = self._dice.random()
            slow = self._dice.random() < self.faults.slow_rate
            kind = None
            down_after = self.faults.down_after
            outage = down_after is not None and sum(self.requests.values()) > down_after
            down_from = self.faults.down_from_item
            item = _ITEM.match(path[len(API_PREFIX) :]) if down_from is not None else None
            outage = outage or (item is not None and int(item.group(1)) >= (down_from or 0))
            if outage or roll < self.faults.error_rate:
                kind = "error"
            elif roll < self.faults.error_rate + self.faults.truncate_rate:
                kind = "truncate"
            if kind:
                self.injected[kind] += 1
            return kind, slow

    def _route(self, path: str) -> tuple[str, Any] | None:
        """(route name, JSON value) for a request path, or None for an unknown path."""
        if not path.startswith(API_PREFIX):
            return None
        rest = path[len(API_PREFIX) :]
        if rest == "maxitem.json":
            return "maxitem", self.dataset.maxitem
        if rest == "updates.json":
            return "updates", self.dataset.updates()
        match = _ITEM.match(rest)
        if match:
            return "item", self.dataset.item(int(match.group(1)))
        match = _USER.match(rest)
        if match:
            return "user", self.dataset.user(match.group(1))
        name = rest.removesuffix(".json")
        if name in LIST_NAMES and rest.endswith(".json"):
            return name, self.dataset.lists()[name]
        return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Many concurrent clients connect at once; the default backlog (5) drops connections.
    request_queue_size = 256
    api: HNApiServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Firebase does
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out as two writes; with Nagle on, the second waits for the
        # client's delayed ACK (~40 ms per request on Linux loopback).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests make thousands of requests

    def do_GET(self) -> None:
        api = self.server.api
        path = self.path.split("?", 1)[0]
        routed = api._route(path)
        if routed is None:
            self._send(404, b'{"error":"Permission denied"}')
            return
        route, value = routed
        with api._lock:
            api.requests[route] += 1
        kind, slow = api._roll(path)
        if slow:
            time.sleep(api.faults.slow_seconds)
        if kind == "error":
            down = api.faults.down_after is not None or api.faults.down_from_item is not None
            status = 503 if down else random.choice(_ERROR_STATUSES)
            self._send(status, b'{"error":"injected fault"}', retry_after=status == 429)
            return
        body = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
        if kind == "truncate":
            self._truncate(body)
            return
        self._send(200, body)

    def _send(self, status: int, body: bytes, *, retry_after: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        if retry_after:
            self.send_header("Retry-After", "0")
        self.end_headers()
        self.wfile.write(body)

    def _truncate(self, body: bytes) -> None:
        half = body[: max(1, len(body) // 2)]
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        if random.random() < 0.5:
            # Promise the whole body, send half, hang up: the client sees an incomplete read.
            self.send_header("Content-Length", str(len(body)))
            self.close_connection = True
        else:
            # A well-formed response whose JSON is cut off.
            self.send_header("Content-Length", str(len(half)))
        self.end_headers()
        self.wfile.write(half)
        self.wfile.flush()


def start_server(
    items: int = 1000,
    seed: int = 0,
    *,
    port: int = 0,
    host: str = "127.0.0.1",
    faults: Faults | None = None,
    dataset: HNDataset | None = None,
) -> HNApiServer:
    """Serve a generated HN dataset on ``host:port`` (0 = a free port) in a daemon thread.

    Returns the running :class:`HNApiServer` (use it as a context manager, or call
    ``.stop()``); ``server.url`` is the API root to pass as ``base_url``.
    """
    return HNApiServer(dataset or HNDataset(items, seed), host=host, port=port, faults=faults)
