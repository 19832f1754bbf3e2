"""Shared fixtures. Services (Postgres, S3, ClickHouse HTTP) live in tests/services/."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = [
    "tests.services.postgres",
    "tests.services.s3",
    "tests.services.clickhouse_http",
]


@pytest.fixture(autouse=True)
def _isolate_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep the user's own doctordata config and working directory out of every test."""
    for name in list(os.environ):
        if name.startswith("DOCTORDATA__") or name == "DOCTORDATA_ROOT":
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def lh(tmp_path: Path) -> Iterator[object]:
    """A fresh embedded lakehouse (SQLite catalog, one local tier) in a temp dir."""
    import doctordata as dd

    with dd.connect(tmp_path / "lake") as lakehouse:
        lakehouse.create_catalog()  # as `doctordata init` leaves it (connect creates nothing)
        yield lakehouse


@pytest.fixture
def synced(monkeypatch: pytest.MonkeyPatch) -> Iterator[set[str]]:
    """Every path fsynced meanwhile, by name (a spy: the real fsync still runs). Durability
    tests assert that each file and each folder on the way to it is in here."""
    seen: set[str] = set()
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        seen.add(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    yield seen


@pytest.fixture(scope="session")
def child_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for test child processes (they import ``tests.*`` helpers too).

    If bytecode writing is off (as on our dev boxes), cache it in a private prefix so only
    the first child pays for compiling pyiceberg, pyarrow's wrappers and dlt.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    if env.pop("PYTHONDONTWRITEBYTECODE", None):
        env["PYTHONPYCACHEPREFIX"] = str(tmp_path_factory.mktemp("pycache"))
    return env
