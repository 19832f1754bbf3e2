"""A Lakehouse per catalog backend: every behaviour test runs on SQLite and on Postgres."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import doctordata as dd
from tests.tiered_lakes import make_lake

__all__ = ["make_lake"]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def catalog_uri(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "postgres":
        return str(request.getfixturevalue("postgres_catalog_url"))
    return f"sqlite:///{tmp_path / 'lake' / 'catalog.db'}"


@pytest.fixture
def clh(catalog_uri: str, tmp_path: Path) -> Iterator[dd.Lakehouse]:
    with dd.connect(tmp_path / "lake", catalog={"uri": catalog_uri}) as lakehouse:
        yield lakehouse
