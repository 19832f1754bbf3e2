"""Every table shape the fast reader must agree with pyiceberg on, in one small lake.

Shared by tests/catalog/test_fast_reader.py (read-only commands) and
tests/engines/test_fast_planning.py (query planning)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa

import doctordata as dd
from tests.catalog.data import items
from tests.lifecycle.deletes import add_position_deletes


def _nested() -> pa.Table:
    struct = pa.struct([pa.field("x", pa.int64()), pa.field("y", pa.string())])
    return pa.table(
        {
            "id": pa.array([1, 2], pa.int64()),
            "s": pa.array([{"x": 1, "y": "a"}, None], struct),
            "l": pa.array([[1.5], []], pa.list_(pa.float64())),
            "m": pa.array([[("k", 1)], None], pa.map_(pa.string(), pa.int32())),
            "d": pa.array([1, 2], pa.decimal128(10, 2)),
            "b": pa.array([b"x", None], pa.binary()),
            "t": pa.array([dt.datetime(2026, 1, 1), None], pa.timestamp("us", tz="UTC")),
            "day": pa.array([dt.date(2026, 1, 1), None], pa.date32()),
        }
    )


def build_shapes(root: Path) -> Path:
    """A lake at ``root`` (a second tier beside it, ``nas``) holding every table shape."""
    nas = root.parent / "nas"
    nas.mkdir()
    root.mkdir()
    (root / "doctordata.toml").write_text(
        f'[tiers.ssd]\nurl = "file://{root}/ssd"\n[tiers.nas]\nurl = "file://{nas}"\n'
    )
    with dd.connect(root) as lh:
        lh.create_namespace("raw")
        lh.create_namespace("empty_ns")
        # Partition evolution: day -> month, with files written under both specs.
        lh.create_table("raw.evolved", items(range(0, 8)), partition_by=["day(time)"])
        lh.evolve_partitions("raw.evolved", add=["month(time)"], remove=["day(time)"])
        lh.append("raw.evolved", items(range(8, 16)))
        # Copy-on-write delete, a renamed column, tags, a branch, a rollback.
        lh.create_table("raw.history", items(range(0, 6)), partition_by=["day(time)"])
        lh.tag("raw.history", "v1")
        lh.append("raw.history", items(range(6, 12)))
        lh.delete("raw.history", "id IN (0, 4, 8)")
        with lh.table("raw.history").update_schema() as update:
            update.rename_column("type", "kind")
        lh.branch("raw.history", "experiment", as_of="v1")
        lh.append(
            "raw.history", items(range(12, 14)).rename_columns(["id", "time", "kind", "score"])
        )
        lh.rollback("raw.history", "v1")
        # A position-delete file, as a merge-on-read writer leaves one.
        lh.create_table("raw.mor", items(range(0, 5)))
        target = next(iter(lh.table("raw.mor").scan().plan_files())).file
        add_position_deletes(lh.table("raw.mor"), target, [1, 3])
        # Nested, decimal, binary, timestamptz and documented columns; a renamed table.
        lh.create_table("raw.nested_old", _nested())
        with lh.table("raw.nested_old").update_schema() as update:
            update.update_column("s", doc="a struct, documented")
        lh.rename_table("raw.nested_old", "raw.nested")
        lh.create_table("raw.empty", items([]).schema)
        # Files on two tiers, and an old copy that only an earlier snapshot references.
        lh.create_table("raw.tiered", items(range(0, 12)), partition_by=["day(time)"])
        lh.tier("raw.tiered", to="nas", where="time < '2026-01-02'")
    return root
