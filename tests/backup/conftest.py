"""Fixtures for backup/restore/integrity tests: a small lakehouse with an SSD and a NAS tier."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.backup.lakes import build, tiers_for


@pytest.fixture
def lake(tmp_path: Path) -> Iterator[Any]:
    import doctordata as dd

    with dd.connect(tmp_path / "lake", tiers=tiers_for(tmp_path)) as lh:
        build(lh)
        yield lh
