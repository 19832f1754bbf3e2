"""The local object store's two steps (write + hash, then fsync + name), and a backup
whose publishing fails midway: no manifest, no temp file left behind."""

from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fsspec.implementations.local import LocalFileSystem

from doctordata.backup import store as backup_store
from doctordata.backup.backup import backup, list_backups, load_manifest, resolve_target
from doctordata.backup.store import BackupTarget
from doctordata.catalog.references import WalkCache


def _target(base: Path) -> BackupTarget:
    target = BackupTarget(fs=LocalFileSystem(), base=str(base), url=base.as_uri())
    target.ensure()
    return target


def test_pending_object_is_named_by_its_sha256_once_published(tmp_path: Path) -> None:
    src = tmp_path / "src.bin"
    data = os.urandom(3 * 1024 * 1024 + 5)  # several read buffers and a short last one
    src.write_bytes(data)
    target = _target(tmp_path / "backups")
    existing: dict[str, int] = {}
    pending = target.write_pending(LocalFileSystem(), str(src))
    assert pending.sha256 == hashlib.sha256(data).hexdigest() and pending.size == len(data)
    assert not Path(target.object_path(pending.sha256)).exists()  # not visible before publish
    assert target.publish(pending, existing)
    assert Path(target.object_path(pending.sha256)).read_bytes() == data
    assert existing == {pending.sha256: len(data)}
    again = target.write_pending(LocalFileSystem(), str(src))
    assert not target.publish(again, existing)  # already stored: the temp copy goes away
    assert list(Path(target.path("tmp")).iterdir()) == []


def test_sync_dirs_fsyncs_each_object_directory_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = _target(tmp_path / "backups")
    shas = {hashlib.sha256(bytes([i])).hexdigest() for i in range(20)}
    for sha in shas:
        Path(target.object_path(sha)).parent.mkdir(parents=True, exist_ok=True)
    synced: list[str] = []
    real = backup_store.fsync_path

    def spy(path: str) -> None:  # the real directory fsync, recorded
        synced.append(path)
        real(path)

    monkeypatch.setattr(backup_store, "fsync_path", spy)
    target.sync_dirs(shas)()
    expected = {os.path.dirname(target.object_path(s)) for s in shas}
    assert sorted(synced) == sorted([*expected, target.path("objects"), target.base])
    synced.clear()
    with ThreadPoolExecutor(max_workers=4) as pool:
        target.sync_dirs(shas, pool)()
    assert sorted(synced) == sorted([*expected, target.path("objects"), target.base])
    synced.clear()
    BackupTarget(target.fs, target.base, target.url, durable=False).sync_dirs(shas)()
    assert synced == []


def test_a_failure_while_publishing_leaves_no_backup_and_no_temp_files(
    lake: Any, tmp_path: Path
) -> None:
    dest = tmp_path / "usb"
    target = _target(dest / "backups")
    # A regular file where one object's directory must go: publishing that object fails
    # (a real OSError from the filesystem) while others are in flight.
    data_file = next(Path(lake.tiers["ssd"].root).rglob("*.parquet"))
    sha = hashlib.sha256(data_file.read_bytes()).hexdigest()
    Path(target.object_path(sha)).parent.write_text("in the way")
    with pytest.raises(OSError):
        backup(lake, str(dest), progress=False)
    assert list_backups(lake, str(dest)) == []
    assert list(Path(target.path("tmp")).iterdir()) == []


def test_walk_cache_stores_each_manifest_list_entry_once() -> None:
    shared = [[f"/w/t/metadata/m{i}.avro", 1000 + i] for i in range(50)]
    cache = WalkCache(
        manifest_lists={f"/w/t/metadata/snap-{n}.avro": shared[: n + 1] for n in range(50)},
        manifests={"/w/t/metadata/m0.avro": [["/w/t/data/f0.parquet", "data", 10]]},
    )
    stored = json.loads(json.dumps(cache.to_dict()))
    assert WalkCache.from_dict(stored) == cache
    assert len(stored["manifest_list_entries"]) == 50  # not 50 * 51 / 2
    old_style = {"manifest_lists": cache.manifest_lists, "manifests": cache.manifests}
    assert WalkCache.from_dict(old_style) == cache  # manifests written before the index
    assert WalkCache.from_dict(None) == WalkCache()


def test_a_backup_records_every_manifest_list_for_the_next_one(lake: Any, tmp_path: Path) -> None:
    report = backup(lake, str(tmp_path / "usb"), progress=False, create=True)
    target = resolve_target(lake, str(tmp_path / "usb"))
    manifest = load_manifest(target, report.id)
    cache = WalkCache.from_dict(manifest.walk_cache)
    lists = {f.path for f in manifest.files if f.kind == "manifest-list"}
    assert lists and set(cache.manifest_lists) == lists
    manifests = {f.path for f in manifest.files if f.kind == "manifest"}
    assert {p for listed in cache.manifest_lists.values() for p, _ in listed} == manifests


def test_no_manifest_appears_when_the_object_names_could_not_be_made_durable(
    tmp_path: Path,
) -> None:
    target = _target(tmp_path / "backups")
    lost = hashlib.sha256(b"never stored").hexdigest()  # its directory does not exist
    manifest = Path(target.path("b1", "manifest.json"))
    with ThreadPoolExecutor(max_workers=2) as pool:
        names_durable = target.sync_dirs({lost}, pool)
        with pytest.raises(FileNotFoundError):
            target.write_json(str(manifest), {"complete": True}, before_rename=names_durable)
    assert not manifest.exists()
    assert list(manifest.parent.iterdir()) == []  # nor its temp file
    target.write_json(str(manifest), {"complete": True}, before_rename=target.sync_dirs(set()))
    assert json.loads(manifest.read_text()) == {"complete": True}
