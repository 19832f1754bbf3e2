"""The fsyncs of a small append (issue 18): every file and directory a commit references is
durable before the catalog points at it, each directory is fsynced once per commit, and a
failed fsync fails the commit and keeps failing commits while the file exists."""

from __future__ import annotations

import contextlib
import errno
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import doctordata as dd
from doctordata.catalog import fileio
from doctordata.errors import StorageError
from tests.catalog.catalog_update import on_catalog_update
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
def spied(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Every fsync (path, in order) and the fsyncs done when the catalog row was updated."""
    state: dict[str, Any] = {"synced": [], "at_update": [], "lock": threading.Lock()}
    real_fsync = fileio.fsync_path

    def fsync_path(path: str) -> None:
        real_fsync(path)
        with state["lock"]:
            state["synced"].append(os.path.normpath(path))

    def at_update() -> None:
        with state["lock"]:
            state["at_update"].append(list(state["synced"]))

    monkeypatch.setattr(fileio, "fsync_path", fsync_path)
    with on_catalog_update(at_update):
        yield state


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


def _listing_spy(monkeypatch: pytest.MonkeyPatch, *modules: Any) -> dict[str, set[str]]:
    """Record, for each fsynced directory, the names it held when the fsync ran (the real
    fsync still runs): a new directory's name is durable once its parent is fsynced after
    the mkdir."""
    listed: dict[str, set[str]] = {}
    real_fsync = modules[0].fsync_path

    def fsync_path(path: str) -> None:
        names = set(os.listdir(path)) if os.path.isdir(path) else None
        real_fsync(path)
        if names is not None:
            listed.setdefault(os.path.normpath(path), set()).update(names)

    for module in modules:
        monkeypatch.setattr(module, "fsync_path", fsync_path)
    return listed


def _assert_new_dirs_durable(listed: dict[str, set[str]], path: str, existed: str) -> None:
    """Every directory between ``path`` and ``existed`` (the deepest one that existed
    before the write) was fsynced holding the name of the next one down."""
    child = os.path.normpath(path)
    while child != existed:
        parent = os.path.dirname(child)
        assert os.path.basename(child) in listed.get(parent, set()), (parent, child)
        child = parent


def test_a_first_append_into_a_new_partition_fsyncs_the_parents_of_new_directories(
    lh: dd.Lakehouse, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """data/day=2026-01-01/x.parquet: fsyncing the file and day=2026-01-01/ is not enough,
    data/ gained the entry day=2026-01-01 (and the table directory gained data/ on the
    first append): both are fsynced after the mkdir and before the catalog row changes."""
    lh.create_table("raw.t", items(range(0)).schema, partition_by=["day(time)"])
    table_dir = _local(lh.table("raw.t").location())
    assert not os.path.exists(os.path.join(table_dir, "data"))
    listed = _listing_spy(monkeypatch, fileio)
    at_update: list[dict[str, set[str]]] = []
    stack = contextlib.ExitStack()
    stack.enter_context(
        on_catalog_update(lambda: at_update.append({k: set(v) for k, v in listed.items()}))
    )
    request.addfinalizer(stack.close)
    lh.append("raw.t", items(range(0, 10)))
    assert at_update, "the append updated the catalog row"
    data = [f for f in _commit_files(lh.table("raw.t")) if f.endswith(".parquet")]
    assert data
    for path in data:
        assert os.path.dirname(os.path.dirname(path)) == os.path.join(table_dir, "data")
        _assert_new_dirs_durable(at_update[-1], os.path.dirname(path), table_dir)
    # A later append into a new day: data/ existed, but gains the new day's directory.
    listed.clear()
    at_update.clear()
    before = {os.path.dirname(f) for f in data}
    lh.append("raw.t", items(range(10_000, 10_010)))
    new_days = {
        os.path.dirname(f)
        for f in _commit_files(lh.table("raw.t"))
        if f.endswith(".parquet") and os.path.dirname(f) not in before
    }
    assert new_days, "the second append wrote into a new partition"
    for day in new_days:
        _assert_new_dirs_durable(at_update[-1], day, os.path.join(table_dir, "data"))


def test_a_new_tables_directories_are_durable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writing into a tree that does not exist yet (a new table's metadata/): the parent of
    every directory created is fsynced holding it, up to the first that existed."""
    listed = _listing_spy(monkeypatch, fileio)
    io = fileio.DurableFileIO()
    target = tmp_path / "ns" / "t" / "metadata" / "00000-x.metadata.json"
    with io.new_output(str(target)).create() as out:
        out.write(b"{}")
    _assert_new_dirs_durable(listed, str(target.parent), str(tmp_path))
    avro = tmp_path / "ns" / "t2" / "metadata" / "snap-1.avro"  # deferred to the flush
    with io.new_output(str(avro)).create() as out:
        out.write(b"avro")
    fileio.flush_pending()
    _assert_new_dirs_durable(listed, str(avro.parent), str(tmp_path / "ns"))
