"""copy_verified between two local tiers: fsync, byte-for-byte verification, rename, and
the directory sync the mover runs once per batch before its commit."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from doctordata.catalog import fileio
from doctordata.errors import ChecksumMismatchError
from doctordata.storage import transfer
from doctordata.storage.tier import Tier
from doctordata.storage.transfer import CORRUPT_ENV, copy_verified, sync_dirs, tmp_name


@pytest.fixture
def tiers(tmp_path: Path) -> tuple[Tier, Tier]:
    (tmp_path / "ssd").mkdir()
    (tmp_path / "nas").mkdir()
    return (
        Tier(name="ssd", url=(tmp_path / "ssd").as_uri()),
        Tier(name="nas", url=(tmp_path / "nas").as_uri()),
    )


def _source(ssd: Tier, size: int) -> tuple[str, bytes]:
    path = Path(ssd.root) / "t" / "data" / "day=1" / "f.parquet"
    path.parent.mkdir(parents=True)
    data = os.urandom(size)
    path.write_bytes(data)
    stamp = 1_600_000_000
    os.utime(path, (stamp, stamp))
    return f"file://{path}", data  # as Iceberg spells it (no percent-encoding)


def test_copy_is_identical_fsynced_and_keeps_mtime(
    tiers: tuple[Tier, Tier], monkeypatch: pytest.MonkeyPatch
) -> None:
    ssd, nas = tiers
    src, data = _source(ssd, 3 * 1024 * 1024 + 17)
    dst = nas.join("t", "data", "day=1", "f.parquet")
    synced: list[int] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:  # the real fsync, counted
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(transfer.os, "fsync", spy)
    copied = copy_verified(ssd, src, nas, dst, expected_size=len(data), fsync=False)
    assert copied.size == len(data)
    out = Path(nas.fs_path(dst))
    assert out.read_bytes() == data
    assert out.stat().st_mtime == 1_600_000_000
    assert synced, "the copy's data must be fsynced before it is verified and renamed"
    assert not Path(nas.fs_path(tmp_name(dst))).exists()


def test_corrupted_copy_is_discarded_and_source_kept(
    tiers: tuple[Tier, Tier], monkeypatch: pytest.MonkeyPatch
) -> None:
    ssd, nas = tiers
    src, data = _source(ssd, 2 * 1024 * 1024)
    dst = nas.join("t", "data", "day=1", "f.parquet")
    monkeypatch.setenv(CORRUPT_ENV, "f.parquet")  # flips a byte of the copy on disk
    with pytest.raises(ChecksumMismatchError, match="byte comparison failed"):
        copy_verified(ssd, src, nas, dst, expected_size=len(data))
    assert Path(ssd.fs_path(src)).read_bytes() == data
    assert not [p for p in Path(nas.root).rglob("*") if p.is_file()]


def test_size_differing_from_catalog_is_refused(tiers: tuple[Tier, Tier]) -> None:
    ssd, nas = tiers
    src, data = _source(ssd, 1000)
    dst = nas.join("t", "data", "day=1", "f.parquet")
    with pytest.raises(ChecksumMismatchError, match="the catalog records 1001"):
        copy_verified(ssd, src, nas, dst, expected_size=1001)
    assert Path(ssd.fs_path(src)).read_bytes() == data
    assert not [p for p in Path(nas.root).rglob("*") if p.is_file()]


@pytest.mark.parametrize("parallel", [False, True])
def test_sync_dirs_covers_new_directories_up_to_the_root(
    tiers: tuple[Tier, Tier], monkeypatch: pytest.MonkeyPatch, parallel: bool
) -> None:
    _, nas = tiers
    locations = [nas.join("t", "data", f"day={d}", "f.parquet") for d in (1, 2)]
    for loc in locations:
        Path(nas.fs_path(loc)).parent.mkdir(parents=True, exist_ok=True)
        Path(nas.fs_path(loc)).write_bytes(b"x")
    synced: list[str] = []
    real = fileio.fsync_path

    def spy(path: str) -> None:  # the real directory fsync, recorded
        synced.append(os.path.relpath(path, nas.root))
        real(path)

    monkeypatch.setattr(transfer, "fsync_path", spy)
    if parallel:  # the mover's way: every directory fsynced by the copy pool at once
        with ThreadPoolExecutor(max_workers=4) as pool:
            sync_dirs(nas, locations, pool)
    else:
        sync_dirs(nas, locations)
    assert sorted(synced) == sorted(
        [
            ".",
            "t",
            os.path.join("t", "data"),
            *(os.path.join("t", "data", f"day={d}") for d in (1, 2)),
        ]
    )
    assert len(synced) == len(set(synced))  # each directory once


def test_sync_dirs_failure_in_the_pool_reaches_the_caller(tiers: tuple[Tier, Tier]) -> None:
    """A directory that cannot be fsynced (here: gone) fails the batch, so the mover never
    commits copies whose names may not be durable."""
    _, nas = tiers
    present = nas.join("t", "data", "day=1", "f.parquet")
    Path(nas.fs_path(present)).parent.mkdir(parents=True)
    missing = nas.join("t", "data", "day=2", "f.parquet")
    with ThreadPoolExecutor(max_workers=4) as pool, pytest.raises(FileNotFoundError):
        sync_dirs(nas, [present, missing], pool)


def test_sync_file_runs_on_the_temporary_copy_before_the_rename(
    tiers: tuple[Tier, Tier],
) -> None:
    """The mover passes FsyncWaves.fsync: it must see the temporary copy, complete, before
    the final name exists (fsync, verify, then rename)."""
    from doctordata.storage.fsync_waves import FsyncWaves

    ssd, nas = tiers
    src, data = _source(ssd, 1024 * 1024 + 3)
    dst = nas.join("t", "data", "day=1", "f.parquet")
    waves = FsyncWaves()
    seen: list[tuple[int, bool, bool]] = []

    def sync_file(fd: int) -> None:
        seen.append(
            (
                os.fstat(fd).st_size,
                Path(nas.fs_path(tmp_name(dst))).exists(),
                Path(nas.fs_path(dst)).exists(),
            )
        )
        waves.fsync(fd)

    copy_verified(ssd, src, nas, dst, expected_size=len(data), fsync=False, sync_file=sync_file)
    assert seen == [(len(data), True, False)]
    assert waves.waves == 1
    assert Path(nas.fs_path(dst)).read_bytes() == data
