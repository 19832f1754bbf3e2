"""The manifest lists this process wrote are kept (catalog/speedups/manifest_list_cache.py):
the next append does not read back the list the previous one wrote, and what is kept is
exactly what reading the file gives."""

from __future__ import annotations

from typing import Any

import pytest

import doctordata as dd
from doctordata.catalog import fileio
from tests.catalog.data import items


def test_the_next_append_does_not_read_the_manifest_list_just_written(
    lh: dd.Lakehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    lh.create_table("raw.t", items(range(0)).schema, partition_by=["day(time)"])
    lh.append("raw.t", items(range(0, 10)))
    opened: list[str] = []
    real = fileio.DurableFileIO.new_input

    def new_input(self: Any, location: str) -> Any:
        opened.append(location)
        return real(self, location)

    monkeypatch.setattr(fileio.DurableFileIO, "new_input", new_input)
    for start in (10, 20, 30):
        previous = lh.table("raw.t").current_snapshot()
        assert previous is not None
        opened.clear()
        lh.append("raw.t", items(range(start, start + 10)))
        assert previous.manifest_list not in opened
    table = lh.table("raw.t")
    assert sorted(table.scan().to_arrow().column("id").to_pylist()) == list(range(40))
    assert lh.sql("SELECT count(*) FROM raw.t").fetchall() == [(40,)]


def test_what_is_kept_equals_what_reading_the_file_gives(lh: dd.Lakehouse) -> None:
    from pyiceberg.manifest import read_manifest_list

    from doctordata.catalog.speedups import manifest_list_cache

    lh.create_table("raw.t", items(range(0)).schema, partition_by=["day(time)"])
    for start in range(0, 50, 10):
        lh.append("raw.t", items(range(start, start + 10)))
        table = lh.table("raw.t")
        snapshot = table.current_snapshot()
        assert snapshot is not None
        kept = manifest_list_cache.cached(snapshot.manifest_list)
        assert kept is not None, "an append by this process keeps its manifest list"
        read = list(read_manifest_list(table.io.new_input(snapshot.manifest_list)))
        assert len(kept) == len(read) == len(snapshot.manifests(table.io))
        for mine, theirs in zip(kept, read, strict=True):
            # every field (ManifestFile's own == compares the path only)
            assert mine._data == theirs._data
    # Time travel reads older lists (kept or not) the same way.
    first = table.snapshots()[0].snapshot_id
    assert table.scan(snapshot_id=first).to_arrow().num_rows == 10


def test_kept_manifest_entries_equal_what_reading_the_file_gives(
    lh: dd.Lakehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Including the merge: after 120 appends (one merge at ~100 manifests, which reads no
    manifest file back) every manifest of the table gives the same entries from memory as
    from its file."""
    from pyiceberg.manifest import ManifestFile

    from doctordata.catalog.speedups import manifest_list_cache

    lh.create_table("raw.t", items(range(0)).schema, partition_by=["day(time)"])
    opened: list[str] = []
    real = fileio.DurableFileIO.new_input

    def new_input(self: Any, location: str) -> Any:
        opened.append(location)
        return real(self, location)

    for start in range(0, 1200, 10):
        if start == 800:
            monkeypatch.setattr(fileio.DurableFileIO, "new_input", new_input)
        lh.append("raw.t", items(range(start, start + 10)))
    monkeypatch.undo()
    assert [p for p in opened if p.endswith(".avro")] == []
    table = lh.table("raw.t")
    manifests = table.current_snapshot().manifests(table.io)  # type: ignore[union-attr]
    assert any(m.existing_files_count for m in manifests), "a merge happened"
    kept = 0
    for m in manifests:
        if manifest_list_cache.cached_entries(m.manifest_path) is None:
            continue
        kept += 1
        for discard in (True, False):
            mine = m.fetch_manifest_entry(table.io, discard_deleted=discard)
            saved = manifest_list_cache._entries.pop(m.manifest_path)
            try:
                theirs = ManifestFile.fetch_manifest_entry(m, table.io, discard_deleted=discard)
            finally:
                manifest_list_cache._entries[m.manifest_path] = saved
            assert len(mine) == len(theirs)
            for a, b in zip(mine, theirs, strict=True):
                assert a == b  # status, snapshot id, sequence numbers (a DataFile: its path)
                # every field of the DataFile (its own == compares the path only)
                assert a.data_file._data == b.data_file._data
                assert a.data_file.spec_id == b.data_file.spec_id
    assert kept
    assert sorted(table.scan().to_arrow().column("id").to_pylist()) == list(range(1200))
    assert lh.sql("SELECT count(*) FROM raw.t").fetchall() == [(1200,)]
