"""catalog/reader/ (sqlite3 + json + a small Avro reader) agrees with pyiceberg.

pyiceberg is the reference: for every table shape the suite knows (partition evolution,
copy-on-write deletes, position-delete files, renamed columns and tables, nested and
documented types, branches, tags, rollback, tiered files, an empty table), the fast reader
returns exactly what the pyiceberg path returns for `tables`, `describe`, `snapshots` and
`tiers`."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import doctordata as dd
from doctordata.catalog.reader import CatalogReader, Unsupported, open_reader
from doctordata.commands.basic import describe_table
from doctordata.config import load_settings
from doctordata.errors import EmptyCatalogError
from doctordata.lifecycle.status import tier_status
from tests.catalog.shapes import build_shapes


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_shapes(tmp_path_factory.mktemp("fast") / "lake")


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
