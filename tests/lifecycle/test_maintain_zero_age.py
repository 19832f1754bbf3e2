"""maintain() with a ZERO orphan safety age on a lake that has been through everything
that once confused "is this file referenced?" (issue 13, done-when): compaction of
partitioned and unpartitioned tables, rename, a new table under the old name, drops with
and without purge, tiering to a second local tier, a tag on an old snapshot, add_files,
and backup targets inside the warehouse (refused). No referenced file may go: every table
(and the tagged snapshot) reads the same rows before and after, on DuckDB too, and
verify() finds every file. Runs on a SQLite and on a Postgres catalog.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import doctordata as dd
from doctordata.errors import LocationError
from tests.lifecycle.test_orphan_safety import backdate, referenced_files_exist
from tests.tiered_lakes import AGE_POLICY, rows, write_config


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def lake(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dd.Lakehouse]:
    root = tmp_path / "lake"
    (tmp_path / "nas").mkdir()
    write_config(
        root, {"ssd": {"url": str(root / "ssd")}, "nas": {"url": str(tmp_path / "nas")}}, AGE_POLICY
    )
    catalog = {}
    if request.param == "postgres":
        catalog = {"uri": str(request.getfixturevalue("postgres_catalog_url"))}
    with dd.connect(root, catalog=catalog) if catalog else dd.connect(root) as lh:
        yield lh


def _plain(n: int, start: int) -> pa.Table:
    return pa.table({"id": pa.array(range(start, start + n), pa.int64())})


def _contents(lh: dd.Lakehouse) -> dict[str, Any]:
    """Sorted rows of every table (pyiceberg and DuckDB) and of the tagged snapshot."""
    out: dict[str, Any] = {}
    for name in lh.tables():
        out[name] = sorted(map(repr, lh.read(name).to_pylist()))
        out[f"{name} (duckdb)"] = sorted(map(repr, lh.sql(f"SELECT * FROM {name}").fetchall()))
    out["tag v1"] = sorted(map(repr, lh.read("p.events", as_of="v1").to_pylist()))
    return out


def _build(lh: dd.Lakehouse, tmp_path: Path) -> None:
    # Partitioned by day, many small appends on old and recent days -> compaction, tiering.
    lh.create_table("p.events", rows(0, 2), partition_by=["day(time)"])
    for i in range(1, 8):
        lh.append("p.events", rows(i * 100, 2))
    lh.tag("p.events", "v1")  # an old snapshot that must stay readable
    lh.delete("p.events", "id < 300")
    # Unpartitioned, many small appends -> compaction writes '<table>/data/<file>'.
    lh.create_table("u.plain", _plain(1, 0))
    for i in range(1, 12):
        lh.append("u.plain", _plain(1, i))
    # add_files of a file below the hot tier (outside: refused).
    imports = Path(lh.hot_tier.root) / "imports"
    imports.mkdir()
    pq.write_table(_plain(5, 1000), imports / "batch.parquet")
    lh.add_files("u.plain", [str(imports / "batch.parquet")])
    pq.write_table(_plain(1, 5000), tmp_path / "outside.parquet")
    with pytest.raises(LocationError, match="outside every tier"):
        lh.add_files("u.plain", [str(tmp_path / "outside.parquet")])
    # Rename, then a new table under the old name.
    lh.create_table("r.orig", _plain(4, 0))
    lh.append("r.orig", _plain(4, 4))
    lh.rename_table("r.orig", "r.renamed")
    lh.create_table("r.orig", _plain(3, 100))
    lh.append("r.orig", _plain(3, 200))
    # Drops: purged, and not purged (its files stay), then the name reused.
    lh.create_table("d.purged", _plain(2, 0))
    lh.drop_table("d.purged", purge=True)
    lh.create_table("d.kept", _plain(2, 0))
    lh.drop_table("d.kept")
    lh.create_table("d.kept", _plain(2, 10))
    # Tiering: the old days of p.events go to the NAS tier.
    report = lh.tier()
    assert report.moved, "the policy must have moved the old partitions to the NAS"
    # Backups inside the warehouse are refused; a configured tier's backups dir is fine.
    table_dir = lh.table("u.plain").location().removeprefix("file://")
    for inside in (f"{table_dir}/bk", f"{lh.hot_tier.root}/p", lh.tiers["nas"].root + "/x"):
        with pytest.raises(LocationError):
            lh.backup(inside, progress=False)
    lh.backup("nas", progress=False)


def test_maintain_with_zero_safety_age_deletes_no_referenced_file(
    lake: dd.Lakehouse, tmp_path: Path
) -> None:
    lh = lake
    _build(lh, tmp_path)
    dropped_leftovers = [p for p in Path(lh.hot_tier.root, "d", "kept").rglob("*") if p.is_file()]
    assert dropped_leftovers, "the table dropped without purge left its files"
    orphan = Path(lh.table("r.orig").location().removeprefix("file://")) / "data" / "orph.parquet"
    orphan.write_bytes(b"a failed commit's leftover")
    before = _contents(lh)
    assert len(before["u.plain"]) == 17 and before["tag v1"] != before["p.events"]
    files_before = {n: len(list(lh.table(n).scan().plan_files())) for n in lh.tables()}

    backdate(lh.root)
    backdate(lh.tiers["nas"].root)
    first = lh.maintain(orphan_older_than="0s")
    second = lh.maintain(orphan_older_than="0s", expire_older_than="0s", retain_last=1)

    after = _contents(lh)
    assert after == before
    assert not referenced_files_exist(lh)
    verified = lh.verify()
    assert verified.ok, str(verified)
    # The run did real work: compaction, and a true orphan was deleted.
    compacted = {t.table for t in first.tables if t.compaction and t.compaction.written}
    assert {"p.events", "u.plain"} <= compacted, str(first)
    files_after = {n: len(list(lh.table(n).scan().plan_files())) for n in lh.tables()}
    assert files_after["u.plain"] < files_before["u.plain"]
    assert not orphan.exists()
    deleted = [p for r in (first, second) for t in r.tables for p in t.orphans.deleted]
    assert "file://" + os.path.realpath(orphan) in deleted
    # Files of the table dropped without purge belong to nobody we may clean up.
    assert all(p.exists() for p in dropped_leftovers)
    # The backup on the NAS tier is untouched and still complete.
    from doctordata.backup.targets import list_backups

    assert [b.complete for b in list_backups(lh, "nas")] == [True]
