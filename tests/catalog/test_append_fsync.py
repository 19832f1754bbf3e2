"""The fsyncs of a small append (issue 18): every file and directory a commit references is
durable before the catalog points at it, each directory is fsynced once per commit, and a
failed fsync fails the commit and keeps failing commits while the file exists."""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path
from typing import Any

import pytest

import doctordata as dd
from doctordata.catalog import fileio
from doctordata.errors import StorageError
from tests.catalog.data import items


def _local(location: str) -> str:
    return location.removeprefix("file://")


def _commit_files(table: Any) -> set[str]:
    """The files the current snapshot added: metadata.json, manifest list, its new
    manifests and their data files."""
    snapshot = table.current_snapshot()
    files = {_local(table.metadata_location), _local(snapshot.manifest_list)}
    for manifest in snapshot.manifests(table.io):
        if manifest.added_snapshot_id != snapshot.snapshot_id:
            continue
        files.add(_local(manifest.manifest_path))
        for entry in manifest.fetch_manifest_entry(table.io):
            if entry.snapshot_id == snapshot.snapshot_id:
                files.add(_local(entry.data_file.file_path))
    return files


@pytest.fixture
def spied(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Every fsync (path, in order) and the fsyncs done when the catalog row was updated."""
    from sqlalchemy.orm import Session

    state: dict[str, Any] = {"synced": [], "at_update": [], "lock": threading.Lock()}
    real_fsync = fileio.fsync_path

    def fsync_path(path: str) -> None:
        real_fsync(path)
        with state["lock"]:
            state["synced"].append(os.path.normpath(path))

    real_execute = Session.execute

    def execute(self: Session, statement: Any, *args: Any, **kwargs: Any) -> Any:
        table = getattr(statement, "table", None)
        if getattr(statement, "is_update", False) and getattr(table, "name", "") == (
            "iceberg_tables"
        ):
            with state["lock"]:
                state["at_update"].append(list(state["synced"]))
        return real_execute(self, statement, *args, **kwargs)

    monkeypatch.setattr(fileio, "fsync_path", fsync_path)
    monkeypatch.setattr(Session, "execute", execute)
    return state


def test_every_file_and_directory_is_fsynced_before_the_catalog_points_at_it(
    lh: dd.Lakehouse, spied: dict[str, Any]
) -> None:
    lh.create_table("raw.t", items(range(0)).schema, partition_by=["day(time)"])
    for start in (0, 10, 20):
        spied["synced"].clear()
        spied["at_update"].clear()
        table = lh.append("raw.t", items(range(start, start + 10)))
        files = _commit_files(lh.table("raw.t"))
        assert any(f.endswith(".parquet") for f in files)
        assert len(spied["at_update"]) == 1  # one catalog commit
        durable = set(spied["at_update"][0])
        needed = files | {os.path.dirname(f) for f in files}
        assert needed - durable == set()
        assert table.scan().to_arrow().num_rows == start + 10


def test_each_directory_is_fsynced_once_per_append(lh: dd.Lakehouse, spied: dict[str, Any]) -> None:
    """Manifest, manifest list and metadata.json share the metadata/ directory: one fsync
    of it covers all three (it was fsynced after each of them)."""
    lh.create_table("raw.t", items(range(0)).schema, partition_by=["day(time)"])
    lh.append("raw.t", items(range(0, 10)))
    spied["synced"].clear()
    lh.append("raw.t", items(range(10, 20)))
    dirs = [p for p in spied["synced"] if os.path.isdir(p)]
    assert dirs, "directories must be fsynced"
    assert sorted(dirs) == sorted(set(dirs))
    files = [p for p in spied["synced"] if not os.path.isdir(p)]
    assert sorted(files) == sorted(_commit_files(lh.table("raw.t")))


def test_a_failed_fsync_fails_the_append_and_blocks_commits_while_the_file_exists(
    lh: dd.Lakehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    lh.create_table("raw.t", items(range(0)).schema)
    lh.append("raw.t", items(range(0, 10)))
    before = lh.table("raw.t").current_snapshot()
    real_fsync = fileio.fsync_path
    failed: list[str] = []

    def fsync_path(path: str) -> None:
        if path.endswith(".parquet") and not failed:
            failed.append(path)
            raise OSError(errno.EIO, "Input/output error", path)
        real_fsync(path)

    monkeypatch.setattr(fileio, "fsync_path", fsync_path)
    with pytest.raises(StorageError, match=r"fsync of .*\.parquet failed \(Input/output"):
        lh.append("raw.t", items(range(10, 20)))
    assert failed and Path(failed[0]).exists()
    after = lh.table("raw.t")
    assert after.current_snapshot().snapshot_id == before.snapshot_id  # no trace
    assert sorted(after.scan().to_arrow().column("id").to_pylist()) == list(range(10))
    # The file whose data may be lost still exists: no commit may go on (fail closed).
    with pytest.raises(StorageError, match=r"fsync of .*\.parquet failed.*delete the file"):
        lh.append("raw.t", items(range(20, 30)))
    assert lh.table("raw.t").current_snapshot().snapshot_id == before.snapshot_id
    Path(failed[0]).unlink()
    lh.append("raw.t", items(range(20, 30)))
    ids = lh.table("raw.t").scan().to_arrow().column("id").to_pylist()
    assert sorted(ids) == [*range(10), *range(20, 30)]


def test_flush_pending_makes_files_written_without_a_metadata_json_durable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    real_fsync = fileio.fsync_path

    def fsync_path(path: str) -> None:
        real_fsync(path)
        synced.append(os.path.normpath(path))

    monkeypatch.setattr(fileio, "fsync_path", fsync_path)
    io = fileio.DurableFileIO()
    target = tmp_path / "d" / "x.parquet"
    target.parent.mkdir()
    with io.new_output(str(target)).create() as out:
        out.write(b"data")
    fileio.flush_pending()
    assert str(target) in synced and str(target.parent) in synced
    synced.clear()
    fileio.flush_pending()  # nothing pending any more
    assert synced == []
