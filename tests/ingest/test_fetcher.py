"""Bounded-concurrency fetching with retries, over real HTTP on loopback."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from doctordata.errors import IngestError
from doctordata.ingest.fetcher import Fetcher, RetryPolicy
from doctordata.ingest.hn_api import Faults

from .conftest import FAST_RETRY

pytestmark = pytest.mark.ingest


def test_retries_5xx_429_and_truncated_bodies_until_complete(hn_server: Any) -> None:
    server = hn_server(items=300, faults=Faults(error_rate=0.15, truncate_rate=0.1, seed=3))
    with Fetcher(server.url, workers=6, retry=FAST_RETRY) as fetcher:
        got = list(fetcher.map_ordered(f"item/{i}.json" for i in range(1, 301)))
    assert [r.value for r in got] == [server.dataset.item(i) for i in range(1, 301)]
    assert fetcher.stats.retries >= sum(server.injected.values()) > 20
    kinds = set(fetcher.stats.failures)
    assert any(k.startswith("HTTP 5") for k in kinds) and "HTTP 429" in kinds
    assert {"truncated JSON", "ProtocolError"} <= kinds  # both ways a body gets cut short


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_server_down_gives_a_clear_error_after_retries() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v0/"
    policy = RetryPolicy(attempts=3, backoff=0.01)
    with Fetcher(url, workers=2, retry=policy) as fetcher, pytest.raises(IngestError) as err:
        fetcher.get("maxitem.json")
    message = str(err.value)
    assert f"GET {url}maxitem.json failed 3 times" in message and "--base-url" in message
    assert fetcher.stats.retries == 2


def test_wrong_path_is_not_retried(hn_server: Any) -> None:
    server = hn_server(items=10)
    wrong = server.url.replace("/v0/", "/")
    with Fetcher(wrong, retry=FAST_RETRY) as fetcher, pytest.raises(IngestError) as err:
        fetcher.get("maxitem.json")
    assert "HTTP 404" in str(err.value) and "including /v0/" in str(err.value)
    assert fetcher.stats.retries == 0


@pytest.mark.parametrize(("url", "workers"), [("ftp://x/v0/", 1), ("http://x/v0/", 0)])
def test_bad_arguments(url: str, workers: int) -> None:
    with pytest.raises(IngestError, match=r"base_url|workers"):
        Fetcher(url, workers=workers)


def test_stream_yields_in_order_and_stays_at_most_ahead_of_the_consumer(hn_server: Any) -> None:
    import time

    server = hn_server(items=400)
    with Fetcher(server.url, workers=4, retry=FAST_RETRY) as fetcher:
        stream = fetcher.stream((f"item/{i}.json" for i in range(1, 401)), ahead=50, chunk=20)
        first = [next(stream) for _ in range(10)]
        time.sleep(0.5)  # the producer runs ahead, then waits for the consumer
        served = server.requests["item"]
        # the chunk being consumed + 2 queued chunks (ahead) + one chunk being filled +
        # the requests in flight (4 per worker)
        assert 60 <= served <= 20 + 2 * 20 + 20 + 4 * 4, served
        rest = list(stream)
    got = first + rest
    assert [r.url.rsplit("/", 1)[1] for r in got] == [f"{i}.json" for i in range(1, 401)]
    assert [r.value for r in got] == [server.dataset.item(i) for i in range(1, 401)]


def test_stream_raises_the_error_after_every_response_before_it(hn_server: Any) -> None:
    server = hn_server(items=300, faults=Faults(down_after=120))
    policy = RetryPolicy(attempts=2, backoff=0.001)
    got = []
    with Fetcher(server.url, workers=1, retry=policy) as fetcher, pytest.raises(IngestError) as err:
        for resp in fetcher.stream((f"item/{i}.json" for i in range(1, 301)), ahead=30, chunk=7):
            got.append(resp)
    assert "failed 2 times" in str(err.value)
    # In order and without gaps up to the outage (one worker: request n is item n).
    assert [r.value for r in got] == [server.dataset.item(i) for i in range(1, len(got) + 1)]
    assert 100 <= len(got) <= 121


def test_closing_a_stream_stops_its_background_fetch(hn_server: Any) -> None:
    import time

    server = hn_server(items=2000)
    with Fetcher(server.url, workers=2, retry=FAST_RETRY) as fetcher:
        stream = fetcher.stream((f"item/{i}.json" for i in range(1, 2001)), ahead=40, chunk=10)
        next(stream)
        stream.close()
        time.sleep(0.3)  # a request in flight may still finish
        stopped_at = server.requests["item"]
        time.sleep(0.3)
        assert server.requests["item"] == stopped_at < 100
        with pytest.raises(IngestError, match="ahead = 0"):
            next(fetcher.stream(["maxitem.json"], ahead=0))


def test_closing_the_fetcher_under_a_waiting_stream_raises_a_clear_error(hn_server: Any) -> None:
    import threading

    server = hn_server(items=400, faults=Faults(slow_rate=1.0, slow_seconds=0.2))
    fetcher = Fetcher(server.url, workers=2, retry=FAST_RETRY)
    stream = fetcher.stream((f"item/{i}.json" for i in range(1, 401)), ahead=100)
    first = next(stream)
    assert first.value == server.dataset.item(1)
    closer = threading.Timer(0.1, fetcher.close)
    closer.start()
    with pytest.raises(IngestError, match="fetcher was closed"):
        list(stream)
    closer.join()
    import time

    stopped_at = server.requests["item"]
    time.sleep(0.5)  # nothing is fetched after the close (slow requests would still land)
    assert server.requests["item"] == stopped_at < 400
