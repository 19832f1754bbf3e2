"""Restoring a table with position-delete files below another root keeps its deleted rows
deleted: each delete file names data files by absolute path, so restore rewrites it
(backup/delete_files.py). Real files, DuckDB through lh.sql, pyiceberg's own scan."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import doctordata as dd
from doctordata.errors import LocationError
from tests.lifecycle.deletes import add_position_deletes

QUERY = "SELECT id FROM hn.items ORDER BY id"


def _local(location: str) -> str:
    return location.removeprefix("file://")


def _delete_some(lh: Any) -> set[int]:
    """Position deletes on two data files of hn.items (one entry with file_path bounds,
    as Java writers record them, one without); the ids they delete."""
    table = lh.table("hn.items")
    files = sorted((t.file for t in table.scan().plan_files()), key=lambda f: f.file_path)
    deleted: set[int] = set()
    for target, bounds in ((files[0], True), (files[1], False)):
        ids = pq.read_table(_local(target.file_path), columns=["id"])["id"].to_pylist()
        add_position_deletes(lh.table("hn.items"), target, [0, 2], bounds=bounds)
        deleted |= {ids[0], ids[2]}
    return deleted


def _ids(lh: Any) -> tuple[list[int], list[int]]:
    """hn.items' ids as DuckDB (lh.sql) and pyiceberg's scan read them."""
    via_sql = [r[0] for r in lh.sql(QUERY).fetchall()]
    via_scan = sorted(lh.table("hn.items").scan().to_arrow()["id"].to_pylist())
    return via_sql, via_scan


def _delete_file_paths(lh: Any) -> set[str]:
    """Every data-file path the current snapshot's delete files name."""
    names: set[str] = set()
    for task in lh.table("hn.items").scan().plan_files():
        for d in task.delete_files:
            names |= set(pq.read_table(_local(d.file_path))["file_path"].to_pylist())
    return names


@pytest.mark.parametrize("gone", [True, False], ids=["original-lost", "original-kept"])
def test_restore_elsewhere_keeps_deleted_rows_deleted(
    lake: Any, tmp_path: Path, gone: bool
) -> None:
    deleted = _delete_some(lake)
    via_sql, via_scan = _ids(lake)
    assert via_sql == via_scan and not deleted & set(via_sql) and len(via_sql) == 320 - 4
    report = lake.backup("nas", progress=False)
    lake.close()
    if gone:
        shutil.rmtree(tmp_path / "lake")

    restored = tmp_path / "restored"
    dd.restore(report.url, restored)
    with dd.connect(restored) as lh:
        assert _ids(lh) == (via_sql, via_scan)
        new_root = (restored / "warehouse").as_uri()
        named = _delete_file_paths(lh)
        assert len(named) == 2 and all(n.startswith(new_root) for n in named), named
        data = {t.file.file_path for t in lh.table("hn.items").scan().plan_files()}
        assert named <= data
        # The rewritten files' sizes and checksums are recorded: a deep verify passes.
        checked = lh.verify(deep=True, orphan_min_age="0s", small_files=False)
        assert checked.ok, checked
        # and the restored lake goes on working
        lh.append("hn.items", pa.table({"id": [1000], "kind": ["job"], "score": [1.0]}))
        assert _ids(lh)[0] == [*via_sql, 1000]


def test_a_delete_file_naming_no_location_is_refused_and_nothing_restored(
    lake: Any, tmp_path: Path
) -> None:
    target = next(iter(lake.table("hn.items").scan().plan_files())).file
    bad = add_position_deletes(lake.table("hn.items"), target, [0], named="relative/x.parquet")
    report = lake.backup("nas", progress=False)
    restored = tmp_path / "restored"
    with pytest.raises(LocationError) as err:
        dd.restore(report.url, restored)
    message = str(err.value)
    assert "hn.items" in message and bad in message and "'relative/x.parquet'" in message
    assert "Fix:" in message and "rewrite_data_files" in message and "--in-place" in message
    assert not any(restored.iterdir())  # undone


def test_a_position_delete_file_it_cannot_rewrite_is_refused(lake: Any, tmp_path: Path) -> None:
    # Parquet without the reserved field ids and with other column names: not recognised
    # as a position-delete file, so it is not rewritten, and the manifest says it is one.
    odd = pa.schema([pa.field("path", pa.string(), False), pa.field("row", pa.int64(), False)])
    target = next(iter(lake.table("hn.items").scan().plan_files())).file
    bad = add_position_deletes(lake.table("hn.items"), target, [0], schema=odd)
    report = lake.backup("nas", progress=False)
    restored = tmp_path / "restored"
    with pytest.raises(LocationError) as err:
        dd.restore(report.url, restored)
    message = str(err.value)
    new_bad = bad.replace((tmp_path / "lake" / "warehouse").as_uri(), "")
    assert "hn.items" in message and new_bad in message and "PARQUET" in message
    assert not any(restored.iterdir())


def test_restore_to_the_original_place_copies_delete_files_as_they_are(
    lake: Any, tmp_path: Path
) -> None:
    _delete_some(lake)
    before = _ids(lake)
    hashes = {p: p.read_bytes() for p in (tmp_path / "lake").rglob("*deletes*.parquet")}
    report = lake.backup("nas", progress=False)
    lake.close()
    shutil.rmtree(tmp_path / "lake")
    dd.restore(report.url, tmp_path / "lake", tiers="original")
    with dd.connect(tmp_path / "lake") as lh:
        assert _ids(lh) == before
    assert {p: p.read_bytes() for p in hashes} == hashes


def test_equality_delete_files_are_restored_as_they_are(lake: Any, tmp_path: Path) -> None:
    """An equality-delete file holds column values, not locations: restored byte for
    byte, its manifest entry unchanged but for its own (mapped) path."""
    from tests.lifecycle.deletes import add_equality_deletes

    target = next(iter(lake.table("hn.items").scan().plan_files())).file
    path = add_equality_deletes(lake.table("hn.items"), target, "id", [11, 12])
    original = Path(_local(path)).read_bytes()
    report = lake.backup("nas", progress=False)
    restored = tmp_path / "restored"
    dd.restore(report.url, restored)
    moved = path.replace((tmp_path / "lake").as_uri(), restored.as_uri())
    assert Path(_local(moved)).read_bytes() == original
    with dd.connect(restored) as lh:
        table = lh.table("hn.items")
        snapshot = table.current_snapshot()
        assert snapshot is not None
        entries = [
            e.data_file
            for m in snapshot.manifests(table.io)
            for e in m.fetch_manifest_entry(table.io)
            if e.data_file.file_path == moved
        ]
    assert len(entries) == 1
    assert entries[0].content == 2 and entries[0].file_size_in_bytes == len(original)
    assert entries[0].equality_ids == [table.schema().find_field("id").field_id]
