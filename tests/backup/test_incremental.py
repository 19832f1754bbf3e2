"""What an incremental backup takes from the previous one without reading it again, and
when it must read a file again anyway (backup_previous.py)."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from doctordata.backup import store as backup_store
from doctordata.backup.backup import load_manifest, resolve_target, verify_backup
from doctordata.backup.catalog_snapshot import snapshot_catalog, sqlite_path
from doctordata.backup.manifest import SOURCE_STAMPS
from doctordata.backup.previous import load_previous
from doctordata.backup.store import MANIFEST_NAME, ObjectIndex
from tests.backup.lakes import rows, sha256


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The source paths every backup reads (the real write_pending, recorded)."""
    seen: list[str] = []
    real = backup_store.BackupTarget.write_pending

    def spy(self: Any, src_fs: Any, src_path: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(src_path)
        return real(self, src_fs, src_path, *args, **kwargs)

    monkeypatch.setattr(backup_store.BackupTarget, "write_pending", spy)
    return seen


def _data_files(lake: Any, backup_id: str) -> list[Any]:
    return [
        f for f in load_manifest(resolve_target(lake, "nas"), backup_id).files if f.kind == "data"
    ]


def _lake_file(entry: Any) -> Path:
    return Path(entry.path.removeprefix("file://"))


def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _read_lake_files(reads: list[str]) -> set[str]:
    """The lake files among ``reads`` (not the catalog copy in the backup's temp dir)."""
    return {p for p in reads if not p.endswith("catalog.db")}


def test_an_incremental_reads_only_the_new_files(lake: Any, reads: list[str]) -> None:
    first = lake.backup("nas", progress=False)
    before = {f.path for f in load_manifest(resolve_target(lake, "nas"), first.id).files}
    lake.append("hn.items", rows(lake, "hn.items").slice(0, 5))
    reads.clear()
    second = lake.backup("nas", progress=False)
    after = {f.path for f in load_manifest(resolve_target(lake, "nas"), second.id).files}
    new = {p.removeprefix("file://") for p in after - before}
    assert new and _read_lake_files(reads) == new
    assert second.warnings == []


@pytest.mark.parametrize("keep_mtime", [False, True])
def test_a_file_changed_in_place_is_copied_again_and_reported(
    lake: Any, reads: list[str], keep_mtime: bool
) -> None:
    first = lake.backup("nas", progress=False)
    victim = _data_files(lake, first.id)[0]
    path = _lake_file(victim)
    old = path.stat()
    _flip_a_byte(path)  # same size: only the content changed
    if keep_mtime:  # a tool that puts the old time back: the change time still moves
        os.utime(path, ns=(old.st_atime_ns, old.st_mtime_ns))
    assert path.stat().st_size == old.st_size
    reads.clear()
    second = lake.backup("nas", progress=False)
    assert _read_lake_files(reads) == {str(path)}
    entry = next(f for f in _data_files(lake, second.id) if f.path == victim.path)
    assert entry.sha256 == sha256(path) != victim.sha256
    assert second.copied_files == 1
    assert any(victim.path in w and "changed" in w for w in second.warnings)
    # Each backup holds the bytes it saw: the first one still verifies with the old ones.
    assert verify_backup(lake, first.id, to="nas").ok
    assert verify_backup(lake, second.id, to="nas").ok


def test_a_touched_file_with_the_same_bytes_is_read_once_and_not_reported(
    lake: Any, reads: list[str]
) -> None:
    first = lake.backup("nas", progress=False)
    path = _lake_file(_data_files(lake, first.id)[0])
    os.utime(path)  # a new mtime, the same bytes
    reads.clear()
    second = lake.backup("nas", progress=False)
    assert _read_lake_files(reads) == {str(path)}
    assert second.copied_files == 0 and second.warnings == []
    reads.clear()
    lake.backup("nas", progress=False)  # the new stamp was recorded: not read again
    assert _read_lake_files(reads) == set()


def test_an_object_missing_from_the_store_is_copied_again(lake: Any, reads: list[str]) -> None:
    first = lake.backup("nas", progress=False)
    target = resolve_target(lake, "nas")
    victim = _data_files(lake, first.id)[0]
    Path(target.object_path(victim.sha256)).unlink()
    reads.clear()
    second = lake.backup("nas", progress=False)
    assert _read_lake_files(reads) == {str(_lake_file(victim))}
    assert second.copied_files == 1
    assert Path(target.object_path(victim.sha256)).is_file()
    assert verify_backup(lake, second.id, to="nas").ok


def test_a_manifest_without_stamps_makes_the_next_backup_read_local_files_once(
    lake: Any, reads: list[str]
) -> None:
    first = lake.backup("nas", progress=False)
    target = resolve_target(lake, "nas")
    path = Path(target.path(first.id, MANIFEST_NAME))
    data = json.loads(path.read_bytes())
    del data["walk_cache"][SOURCE_STAMPS]  # as a backup written before stamps existed
    path.write_text(json.dumps(data))
    reads.clear()
    second = lake.backup("nas", progress=False)
    assert _read_lake_files(reads) == {
        f.path.removeprefix("file://") for f in load_manifest(target, first.id).files
    }
    assert second.copied_files == 0 and second.warnings == []
    reads.clear()
    third = lake.backup("nas", progress=False)
    assert _read_lake_files(reads) == set() and third.copied_files == 0


def test_a_damaged_newest_manifest_falls_back_to_the_one_before(lake: Any) -> None:
    first = lake.backup("nas", progress=False)
    second = lake.backup("nas", progress=False)
    target = resolve_target(lake, "nas")
    path = Path(target.path(second.id, MANIFEST_NAME))
    data = json.loads(path.read_bytes())
    del data["files"][0]["sha256"]
    path.write_text(json.dumps(data))
    previous = load_previous(target)
    assert previous.id == first.id and previous.files and not previous.reusable
    previous.check(ObjectIndex(target))
    assert previous.reusable.keys() == previous.files.keys()


def test_entries_are_rewritten_when_the_table_was_renamed(lake: Any, reads: list[str]) -> None:
    lake.backup("nas", progress=False)
    lake.rename_table("hn.users", "hn.people")
    reads.clear()
    second = lake.backup("nas", progress=False)
    files = load_manifest(resolve_target(lake, "nas"), second.id).files
    tables = {f.table for f in files}
    assert "hn.people" in tables and "hn.users" not in tables
    # Renaming writes a new metadata.json at most; the data files are not read again.
    assert all(not p.endswith(".parquet") for p in _read_lake_files(reads))


def test_catalog_snapshot_is_a_plain_complete_sqlite_file(lake: Any, tmp_path: Path) -> None:
    work = tmp_path / "snapshot"
    work.mkdir()
    snap = snapshot_catalog(lake.settings, work)
    assert snap.sqlite_copy is not None
    header = snap.sqlite_copy.read_bytes()[:100]
    assert header[18:20] == b"\x01\x01"  # rollback journal: no -wal file needed to read it
    assert sorted(p.name for p in work.iterdir()) == ["catalog.db"]
    copy = sqlite3.connect(snap.sqlite_copy)
    source = sqlite3.connect(sqlite_path(lake.settings.catalog_uri))
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        query = "SELECT * FROM iceberg_tables ORDER BY table_namespace, table_name"
        assert copy.execute(query).fetchall() == source.execute(query).fetchall()
    finally:
        copy.close()
        source.close()
    assert {f"{t['namespace']}.{t['name']}" for t in snap.tables} == {"hn.items", "hn.users"}


def test_metadata_files_read_with_json_match_pyiceberg(lake: Any, tmp_path: Path) -> None:
    import gzip

    from doctordata.catalog.references import (
        MetadataFiles,
        read_metadata,
        read_metadata_files,
    )

    table = lake.table("hn.items")  # partitioned, appends and a delete: several snapshots
    io, location = table.io, table.metadata_location
    light = read_metadata_files(io, location)
    assert light == MetadataFiles.of(read_metadata(io, location))
    assert len(light.snapshots) >= 3 and light.metadata_log
    assert light.current_snapshot_id == table.metadata.current_snapshot_id
    # Compressed metadata goes through pyiceberg, with the same result.
    packed = tmp_path / "00009-x.gz.metadata.json"
    packed.write_bytes(gzip.compress(Path(location.removeprefix("file://")).read_bytes()))
    assert read_metadata_files(io, str(packed)) == light


def test_metadata_files_from_json_reads_every_reference_kind() -> None:
    from doctordata.catalog.references import MetadataFiles

    data = {
        "current-snapshot-id": -1,  # how writers spell "no current snapshot"
        "metadata-log": [{"metadata-file": "/m/0.metadata.json", "timestamp-ms": 1}],
        "statistics": [
            {"snapshot-id": 1, "statistics-path": "/s/1.stats", "file-size-in-bytes": 9}
        ],
        "partition-statistics": [{"snapshot-id": 1, "statistics-path": "/s/p.stats"}],
        "snapshots": [{"snapshot-id": 1, "manifest-list": "/m/snap-1.avro"}],
    }
    files = MetadataFiles.from_json(data)
    assert files.current_snapshot_id is None
    assert files.metadata_log == ["/m/0.metadata.json"]
    assert files.statistics == [("/s/1.stats", 9), ("/s/p.stats", None)]
    assert files.snapshots == [(1, "/m/snap-1.avro")]
    # A v1 snapshot listing its manifests inline has no manifest list: refused loudly.
    with pytest.raises(ValueError, match="manifest-list"):
        MetadataFiles.from_json({"snapshots": [{"snapshot-id": 1, "manifests": []}]})
    with pytest.raises(ValueError):
        MetadataFiles.from_json([])


def test_files_held_for_a_slow_check_are_reused_once_it_is_done(
    lake: Any, reads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from doctordata.backup.previous import PreviousBackup

    first = lake.backup("nas", progress=False)
    before = {f.path for f in load_manifest(resolve_target(lake, "nas"), first.id).files}
    lake.append("hn.items", rows(lake, "hn.items").slice(0, 5))
    real = PreviousBackup._check

    def slow(self: PreviousBackup, existing: dict[str, int]) -> None:
        time.sleep(0.5)  # the walk is over long before: every known file is held
        real(self, existing)

    monkeypatch.setattr(PreviousBackup, "_check", slow)
    reads.clear()
    second = lake.backup("nas", progress=False)
    files = load_manifest(resolve_target(lake, "nas"), second.id).files
    new = {f.path for f in files} - before
    assert new and _read_lake_files(reads) == {p.removeprefix("file://") for p in new}
    assert second.reused_files == len(before) and second.copied_files == len(new)
    assert verify_backup(lake, second.id, to="nas").ok


def test_a_failing_check_fails_the_backup_and_lists_nothing(
    lake: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from doctordata.backup.backup import list_backups
    from doctordata.backup.previous import PreviousBackup

    first = lake.backup("nas", progress=False)

    def broken(self: PreviousBackup, existing: dict[str, int]) -> None:
        raise PermissionError("the NAS refused a stat")

    monkeypatch.setattr(PreviousBackup, "_check", broken)
    with pytest.raises(PermissionError, match="refused a stat"):
        lake.backup("nas", progress=False)
    assert [b.id for b in list_backups(lake, "nas")] == [first.id]


def test_object_index_present_stats_only_what_it_does_not_know(tmp_path: Path) -> None:
    import hashlib

    from fsspec.implementations.local import LocalFileSystem

    from doctordata.backup.store import BackupTarget

    target = BackupTarget(fs=LocalFileSystem(), base=str(tmp_path), url=tmp_path.as_uri())
    target.ensure()
    stored = hashlib.sha256(b"stored").hexdigest()
    absent = hashlib.sha256(b"absent").hexdigest()
    Path(target.object_path(stored)).parent.mkdir(parents=True)
    Path(target.object_path(stored)).write_bytes(b"stored")
    index = ObjectIndex(target)
    assert index.present({stored, absent}) == {stored}
    assert dict(index) == {stored: 6}  # the size, as `in` records it
    Path(target.object_path(stored)).unlink()  # known now: not asked again
    assert index.present([stored]) == {stored} and absent not in index
