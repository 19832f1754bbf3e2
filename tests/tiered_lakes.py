"""Tiered lakehouses for the storage, lifecycle and catalog tests: SSD and NAS are two local
directories, S3 is the real SeaweedFS server from tests/services/s3.py. Each package's conftest
imports the `make_lake` fixture from here."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import doctordata as dd

OLD_DAYS = [datetime(2020, 1, d, 12, tzinfo=UTC) for d in (1, 2, 3)]


def recent_day() -> datetime:
    """Yesterday, noon UTC: always younger than any policy threshold in these tests."""
    now = datetime.now(UTC) - timedelta(days=1)
    return now.replace(hour=12, minute=0, second=0, microsecond=0)


def rows(start: int, n_per_day: int = 5, days: list[datetime] | None = None) -> pa.Table:
    """n rows per day for the old days and yesterday; ids start at ``start``."""
    days = days if days is not None else [*OLD_DAYS, recent_day()]
    ids, times, names = [], [], []
    for i, day in enumerate(days):
        for j in range(n_per_day):
            k = start + i * n_per_day + j
            ids.append(k)
            times.append(day + timedelta(minutes=j))
            names.append(f"item-{k}")
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "time": pa.array(times, pa.timestamp("us", tz="UTC")),
            "name": pa.array(names, pa.string()),
        }
    )


def write_config(
    root: Path, tiers: dict[str, dict[str, Any]], policies: list[dict[str, Any]]
) -> None:
    """A doctordata.toml in ``root`` (child processes in crash tests read it)."""
    lines = []
    for name, tier in tiers.items():
        lines.append(f"[tiers.{name}]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in tier.items()]
    for policy in policies:
        lines.append("[[policies]]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in policy.items()]
    root.mkdir(parents=True, exist_ok=True)
    (root / "doctordata.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


AGE_POLICY = [{"table": "*", "column": "time", "older_than": "90d", "to": "nas"}]


@pytest.fixture
def make_lake(tmp_path: Path) -> Iterator[Callable[..., dd.Lakehouse]]:
    """make_lake(policies=..., extra_tiers=...) -> a Lakehouse with ssd + nas tiers."""
    opened: list[dd.Lakehouse] = []

    def make(
        policies: list[dict[str, Any]] | None = None,
        extra_tiers: dict[str, dict[str, Any]] | None = None,
        name: str = "lake",
    ) -> dd.Lakehouse:
        root = tmp_path / name
        (tmp_path / f"{name}-nas").mkdir(exist_ok=True)
        tiers = {
            "ssd": {"url": str(root / "ssd")},
            "nas": {"url": str(tmp_path / f"{name}-nas")},
            **(extra_tiers or {}),
        }
        write_config(root, tiers, AGE_POLICY if policies is None else policies)
        lh = dd.connect(root)
        opened.append(lh)
        return lh

    yield make
    for lh in opened:
        lh.close()


def files_on(lh: dd.Lakehouse, table: str) -> dict[str, str]:
    """Live data file path -> tier name, from the current snapshot."""
    from doctordata.storage.locations import tier_of

    out = {}
    for task in lh.table(table).scan().plan_files():
        tier = tier_of(task.file.file_path, lh.tiers)
        out[task.file.file_path] = tier.name if tier else "?"
    return out


def local_path(location: str) -> Path:
    return Path(location.removeprefix("file://"))


def sorted_rows(lh: dd.Lakehouse, table: str) -> pa.Table:
    return lh.table(table).scan().to_arrow().sort_by("id")


def engine_rows(lh: dd.Lakehouse, table: str) -> list[tuple[Any, ...]]:
    """The same question through DuckDB (reads the planned file list on every tier)."""
    return list(lh.sql(f"SELECT id, time, name FROM {table} ORDER BY id").fetchall())


def engine_summary(lh: dd.Lakehouse, table: str, engine: str) -> tuple[int, int, str, str]:
    """count, sum(id), min/max(name) on one engine, as plain Python values."""
    query = f"SELECT count(*), sum(id), min(name), max(name) FROM {table}"
    (count, total, low, high), *_ = lh.sql(query, engine=engine).fetchall()
    return int(count), int(total), str(low), str(high)
