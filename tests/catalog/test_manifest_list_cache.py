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
            assert mine == theirs
            assert mine.partitions == theirs.partitions
    # Time travel reads older lists (kept or not) the same way.
    first = table.snapshots()[0].snapshot_id
    assert table.scan(snapshot_id=first).to_arrow().num_rows == 10
