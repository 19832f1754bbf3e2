"""Engine fixtures: one conformance suite parametrised over engines and transports.

ENGINE_TARGETS names how a test reaches an engine:
  duckdb           embedded DuckDB
  chdb             embedded ClickHouse (chDB) through clickhouse-connect's chdb:// DSN
  clickhouse-http  the loopback ClickHouse-HTTP endpoint (chDB in a child process)
  clickhouse-server  a real server, only when DOCTORDATA_TEST_CLICKHOUSE_URL is set. The
                   router hands ClickHouse file() paths under pytest's temp directory, so
                   the server must run on this machine with user_files_path covering it
                   (e.g. <user_files_path>/</user_files_path>); S3 tiers need no such setup.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

ENGINE_TARGETS = ["duckdb", "chdb", "clickhouse-http"] + (
    ["clickhouse-server"] if os.environ.get("DOCTORDATA_TEST_CLICKHOUSE_URL") else []
)

# target -> engine name passed to lh.sql
ENGINE_OF = {
    "duckdb": "duckdb",
    "chdb": "clickhouse",
    "clickhouse-http": "clickhouse",
    "clickhouse-server": "clickhouse",
}


@pytest.fixture(scope="session")
def chdb_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One chDB path for every in-process test lakehouse (chDB allows one per process)."""
    return f"chdb://{tmp_path_factory.mktemp('chdb') / 'clickhouse'}"


def clickhouse_url_for(target: str, request: pytest.FixtureRequest) -> str | None:
    if target == "chdb":
        return str(request.getfixturevalue("chdb_url"))
    if target == "clickhouse-http":
        return str(request.getfixturevalue("clickhouse_http_url"))
    if target == "clickhouse-server":
        return str(request.getfixturevalue("clickhouse_server_url"))
    return None


@pytest.fixture
def connect(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """connect(target, root=None) -> an open Lakehouse whose ClickHouse is ``target``'s."""
    import doctordata as dd

    opened: list[Any] = []

    def _connect(target: str, root: Path | None = None, **overrides: Any) -> Any:
        url = clickhouse_url_for(target, request) or str(request.getfixturevalue("chdb_url"))
        lh = dd.connect(root or tmp_path / "lake", engines={"clickhouse": url}, **overrides)
        opened.append(lh)
        return lh

    yield _connect
    for lh in opened:
        lh.close()


@pytest.fixture(params=ENGINE_TARGETS)
def target(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def lh_target(target: str, connect: Callable[..., Any]) -> tuple[Any, str]:
    """(lakehouse, engine name) for the parametrised target."""
    return connect(target), ENGINE_OF[target]


# -- result comparison -------------------------------------------------------------
def normalise(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        return math.isclose(float(a), float(b), rel_tol=1e-6, abs_tol=1e-6)
    return bool(a == b)


def same_rows(got: list[tuple[Any, ...]], want: list[tuple[Any, ...]], ordered: bool) -> bool:
    """Row lists equal up to float tolerance (and order, unless ``ordered``)."""
    g = [tuple(normalise(v) for v in row) for row in got]
    w = [tuple(normalise(v) for v in row) for row in want]
    if len(g) != len(w):
        return False

    def key(row: tuple[Any, ...]) -> tuple[str, ...]:
        return tuple(f"{v:.4f}" if isinstance(v, float) else repr(v) for v in row)

    if not ordered:
        g, w = sorted(g, key=key), sorted(w, key=key)
    return all(
        len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
        for a, b in zip(g, w, strict=True)
    )
