"""catalog/reader/ (sqlite3 + json + a small Avro reader) agrees with pyiceberg.

pyiceberg is the reference: for every table shape the suite knows (partition evolution,
copy-on-write deletes, position-delete files, renamed columns and tables, nested and
documented types, branches, tags, rollback, tiered files, an empty table), the fast reader
returns exactly what the pyiceberg path returns for `tables`, `describe`, `snapshots` and
`tiers`."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pyarrow as pa
import pytest

import doctordata as dd
from doctordata.catalog.reader import CatalogReader, Unsupported, open_reader
from doctordata.commands.basic import describe_table
from doctordata.config import load_settings
from doctordata.errors import EmptyCatalogError
from doctordata.lifecycle.status import tier_status
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


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fast") / "lake"
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


@pytest.fixture
def lh(lake: Path) -> dd.Lakehouse:
    with dd.connect(lake) as lakehouse:
        yield lakehouse


@pytest.fixture
def reader(lh: dd.Lakehouse) -> CatalogReader:
    found = open_reader(lh.settings, lh.tiers)
    assert found is not None
    with found:
        yield found


def test_tables_and_namespaces_agree(lh: dd.Lakehouse, reader: CatalogReader) -> None:
    assert reader.namespaces() == lh.namespaces()
    assert reader.tables() == lh.tables()
    assert "raw.nested" in reader.tables() and "raw.nested_old" not in reader.tables()
    assert reader.tables("raw") == lh.tables("raw")
    assert reader.tables("empty_ns") == lh.tables("empty_ns") == []
    with pytest.raises(Unsupported):
        reader.tables("nope")  # the pyiceberg path names it and suggests one


def test_describe_snapshots_and_files_agree_on_every_shape(
    lh: dd.Lakehouse, reader: CatalogReader
) -> None:
    names = lh.tables()
    assert len(names) == 6
    for name in names:
        meta = reader.metadata(name)
        assert meta.describe() == describe_table(lh, name), name
        assert meta.snapshots() == lh.snapshots(name), name
    history = reader.metadata("raw.history").snapshots()
    assert {r for s in history for r in s["refs"]} == {"main", "v1", "experiment"}
    assert [c["name"] for c in reader.metadata("raw.history").describe()["schema"]][2] == "kind"
    nested = {c["name"]: c["type"] for c in reader.metadata("raw.nested").describe()["schema"]}
    assert "(a struct, documented)" not in nested["s"]  # the doc is on the field, not in it
    assert nested["m"].startswith("map<") and nested["d"] == "decimal(10, 2)"


def test_tier_status_agrees(lh: dd.Lakehouse, reader: CatalogReader) -> None:
    tables = {name: reader.metadata(name) for name in reader.tables()}
    fast = tier_status(lh, names=list(tables), entries=lambda n: list(tables[n].file_entries()))
    slow = lh.tier_status()
    assert [vars(r) for r in fast.rows] == [vars(r) for r in slow.rows]
    assert fast.state == slow.state
    tiers_used = {r.tier for r in fast.rows if r.table == "raw.tiered"}
    assert tiers_used == {"ssd", "nas"}
    mor = [r for r in fast.rows if r.table == "raw.mor"]
    assert sum(r.live_files for r in mor) == 2  # the data file and its delete file


def test_reads_the_last_commit_while_a_writer_holds_the_database(
    lh: dd.Lakehouse, reader: CatalogReader
) -> None:
    """WAL: a write transaction in progress neither blocks the reader nor shows through."""
    before = reader.location("raw.evolved")
    assert before == lh.table("raw.evolved").metadata_location
    writer = sqlite3.connect(reader.path, timeout=30)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute(
            "UPDATE iceberg_tables SET metadata_location = 'uncommitted' WHERE table_name = ?",
            ("evolved",),
        )
        assert reader.location("raw.evolved") == before
    finally:
        writer.rollback()
        writer.close()
    assert reader.location("raw.evolved") == before
    assert reader.location("raw.missing") is None
    with pytest.raises(Unsupported):
        reader.metadata("raw.missing")


def test_other_catalogs_take_the_pyiceberg_path(tmp_path: Path) -> None:
    pg = load_settings(tmp_path / "pg", catalog={"uri": "postgresql+psycopg2://u@127.0.0.1:1/db"})
    assert open_reader(pg, {}) is None  # no connection attempted: nothing listens there
    fresh = load_settings(tmp_path / "fresh")
    assert open_reader(fresh, {}) is None  # no catalog.db yet: pyiceberg creates it


def test_a_damaged_catalog_is_refused_as_on_the_pyiceberg_path(lake: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(lake, copy, symlinks=True)
    # The nas tier sits outside the root; the ssd tier alone holds table metadata.
    settings = load_settings(copy, tiers={"ssd": {"url": f"file://{copy}/ssd"}})
    (copy / "catalog.db").write_bytes(b"")
    from doctordata.storage.tier import tiers_from_settings

    with pytest.raises(EmptyCatalogError, match="restore"):
        open_reader(settings, tiers_from_settings(settings))
