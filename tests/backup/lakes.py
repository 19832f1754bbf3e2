"""Helpers for backup tests: a small two-table lakehouse and canonical row/file views."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

TABLES = ("hn.items", "hn.users")


def items(start: int, n: int) -> Any:
    import pyarrow as pa

    ids = list(range(start, start + n))
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "kind": pa.array([("story", "comment", "job")[i % 3] for i in ids]),
            "score": pa.array([float(i) / 7 for i in ids]),
        }
    )


def users(n: int) -> Any:
    import pyarrow as pa

    return pa.table({"name": [f"user{i}" for i in range(n)], "karma": list(range(n))})


def tiers_for(base: Path) -> dict[str, dict[str, str]]:
    (base / "nas").mkdir(parents=True, exist_ok=True)  # the NAS is mounted: backups need it
    return {"ssd": {"url": str(base / "lake" / "warehouse")}, "nas": {"url": str(base / "nas")}}


def build(lh: Any) -> None:
    """Two tables, one partitioned, several snapshots (appends and a delete)."""
    lh.create_table("hn.items", items(0, 300), partition_by=["kind"])
    lh.append("hn.items", items(300, 30))
    lh.delete("hn.items", "id < 10")
    lh.create_table("hn.users", users(20))


def rows(lh: Any, name: str, snapshot_id: int | None = None) -> Any:
    """All rows of a table (at a snapshot), in a canonical order."""
    table = lh.table(name)
    data = table.scan(snapshot_id=snapshot_id).to_arrow()
    key = "id" if "id" in data.column_names else "name"
    return data.sort_by(key)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def data_file_hashes(warehouse: Path) -> dict[str, str]:
    """Relative path -> sha256 of every Parquet data file below ``warehouse``."""
    return {str(p.relative_to(warehouse)): sha256(p) for p in warehouse.rglob("*.parquet")}
