"""Fixtures for the HackerNews ingestion tests: a real HN-API server on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from doctordata.ingest.fetcher import RetryPolicy
from doctordata.ingest.hn_api import Faults, HNApiServer, start_server

# Fast retries: tests inject faults on purpose and must not sleep for seconds.
FAST_RETRY = RetryPolicy(attempts=8, backoff=0.005, max_backoff=0.05, read_timeout=10)


@pytest.fixture
def hn_server() -> Iterator[Callable[..., HNApiServer]]:
    """Factory: hn_server(items=..., seed=..., faults=...) -> a running server, stopped
    at teardown."""
    started: list[HNApiServer] = []

    def make(items: int = 400, seed: int = 7, faults: Faults | None = None) -> HNApiServer:
        server = start_server(items=items, seed=seed, faults=faults)
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


def load_items(lh: Any) -> list[dict[str, Any]]:
    """Every row of hackernews.items, sorted by id."""
    rows = lh.table("hackernews.items").scan().to_arrow().to_pylist()
    return sorted(rows, key=lambda r: r["id"])


def assert_exactly_once(lh: Any, expected_ids: list[int]) -> list[dict[str, Any]]:
    rows = load_items(lh)
    ids = [r["id"] for r in rows]
    duplicates = sorted({i for i in ids if ids.count(i) > 1}) if len(set(ids)) != len(ids) else []
    assert not duplicates, f"duplicated ids: {duplicates[:20]}"
    missing = sorted(set(expected_ids) - set(ids))
    extra = sorted(set(ids) - set(expected_ids))
    assert not missing, f"{len(missing)} ids lost, e.g. {missing[:20]}"
    assert not extra, f"unexpected ids {extra[:20]}"
    return rows


def commit_workers(parent: int | None = None, module: str = "commit_worker") -> list[Any]:
    """Live helper processes of ingestion runs (children of ``parent`` if given):
    ``module`` commit_worker or fetch_worker."""
    import psutil

    found = []
    for proc in psutil.process_iter(["cmdline", "ppid", "status"]):
        cmdline = proc.info["cmdline"] or []
        if f"doctordata.ingest.{module}" not in cmdline:
            continue
        if proc.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        if parent is None or proc.info["ppid"] == parent:
            found.append(proc)
    return found
