"""The mover's copy pipeline on two real local tiers: every copy verified and fsynced
before its rename, failures (fsync error, corrupt copy, wrong size) discard only that
copy, and the number of verified copies waiting for their fsync stays bounded."""

from __future__ import annotations

import dataclasses
import errno
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from doctordata.lifecycle import copy_pipeline
from doctordata.lifecycle.copy_pipeline import CopyPipeline
from doctordata.lifecycle.policy import Move
from doctordata.storage import writeback
from doctordata.storage.tier import Tier
from doctordata.storage.transfer import CORRUPT_ENV, TMP_SUFFIX, copy_verified, tmp_name


@pytest.fixture
def tiers(tmp_path: Path) -> dict[str, Tier]:
    (tmp_path / "ssd").mkdir()
    (tmp_path / "nas").mkdir()
    return {
        "ssd": Tier(name="ssd", url=(tmp_path / "ssd").as_uri()),
        "nas": Tier(name="nas", url=(tmp_path / "nas").as_uri()),
    }


def _moves(tiers: dict[str, Tier], count: int, size: int = 64 * 1024) -> dict[str, bytes]:
    """``count`` source files on the SSD, one partition directory each: location -> bytes."""
    sources = {}
    for i in range(count):
        path = Path(tiers["ssd"].root) / "t" / "data" / f"day={i}" / f"f{i:02}.parquet"
        path.parent.mkdir(parents=True)
        data = os.urandom(size + i)
        path.write_bytes(data)
        sources[f"file://{path}"] = data
    return sources


def _move(tiers: dict[str, Tier], src: str, size: int) -> Move:
    dst = tiers["nas"].join(tiers["ssd"].relative(src))
    return Move("t", None, "ssd", "nas", src, dst, size, "test")  # type: ignore[arg-type]


def _run(tiers: dict[str, Tier], moves: list[Move], workers: int = 4) -> dict[str, str | None]:
    with CopyPipeline(tiers, lambda n: None, workers) as pipeline:
        for move in moves:
            pipeline.submit(move)
        return {m.src_path: why for m, why in pipeline.results()}


def _fd_path(fd: int) -> str:
    return os.readlink(f"/proc/self/fd/{fd}")


def _files(root: str) -> list[Path]:
    return [p for p in Path(root).rglob("*") if p.is_file()]


@pytest.fixture
def fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int, bool]]:
    """Every real fsync of a file: (path, size, final name already present)."""
    seen: list[tuple[str, int, bool]] = []
    real = os.fsync

    def spy(fd: int) -> None:
        path = _fd_path(fd)
        if path.endswith(TMP_SUFFIX):
            final = Path(path).with_name(Path(path).name[1 : -len(TMP_SUFFIX)])
            seen.append((path, os.fstat(fd).st_size, final.exists()))
        real(fd)

    monkeypatch.setattr(os, "fsync", spy)
    return seen


def test_every_copy_is_verified_fsynced_then_renamed(
    tiers: dict[str, Tier], fsyncs: list[tuple[str, int, bool]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(copy_pipeline, "BATCH_FILES", 4)  # several batches
    sources = _moves(tiers, 11)
    moves = [_move(tiers, src, len(data)) for src, data in sources.items()]
    assert _run(tiers, moves) == dict.fromkeys(sources)
    for move in moves:
        assert Path(tiers["nas"].fs_path(move.dst_path)).read_bytes() == sources[move.src_path]
    assert sorted(size for _, size, _ in fsyncs) == sorted(len(d) for d in sources.values())
    assert len({path for path, _, _ in fsyncs}) == 11  # each copy once
    assert not any(final_exists for _, _, final_exists in fsyncs), "renamed before its fsync"
    assert not [p for p in _files(tiers["nas"].root) if p.name.endswith(TMP_SUFFIX)]


def test_failed_fsync_discards_that_copy_only(
    tiers: dict[str, Tier], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk refuses one copy's fsync (EIO) after it was verified: that copy is removed,
    its source is untouched, the result says why; the other files complete."""
    sources = _moves(tiers, 6)
    real = os.fsync

    def failing(fd: int) -> None:
        if "f03" in _fd_path(fd):
            raise OSError(errno.EIO, "Input/output error")
        real(fd)

    monkeypatch.setattr(os, "fsync", failing)
    results = _run(tiers, [_move(tiers, src, len(data)) for src, data in sources.items()])
    bad = next(src for src in sources if "f03" in src)
    assert results.pop(bad) == (
        "fsync or rename of the verified copy failed (OSError: [Errno 5] Input/output error);"
        " the copy was discarded and the file stays where it is"
    )
    assert set(results.values()) == {None}
    assert Path(tiers["ssd"].fs_path(bad)).read_bytes() == sources[bad]
    left = _files(tiers["nas"].root)
    assert len(left) == 5 and not [p for p in left if "f03" in p.name]


@pytest.mark.parametrize("which", ["first", "last"])
def test_corrupt_copy_is_discarded_and_the_last_batch_still_runs(
    tiers: dict[str, Tier], monkeypatch: pytest.MonkeyPatch, which: str
) -> None:
    """A copy that fails its byte comparison never reaches the sync workers; when it is
    the last copy to finish, the batch before it must still be fsynced and renamed."""
    monkeypatch.setattr(copy_pipeline, "BATCH_FILES", 100)  # one batch: flushed at the end
    sources = _moves(tiers, 5)
    bad = list(sources)[0 if which == "first" else -1]
    monkeypatch.setenv(CORRUPT_ENV, Path(bad).name)
    results = _run(tiers, [_move(tiers, src, len(data)) for src, data in sources.items()], 1)
    assert "byte comparison failed" in str(results.pop(bad))
    assert set(results.values()) == {None}
    assert Path(tiers["ssd"].fs_path(bad)).read_bytes() == sources[bad]
    assert sorted(p.name for p in _files(tiers["nas"].root)) == sorted(
        Path(s).name for s in results
    )


def test_size_differing_from_the_catalog_fails_that_file(tiers: dict[str, Tier]) -> None:
    sources = _moves(tiers, 3)
    moves = [_move(tiers, src, len(data)) for src, data in sources.items()]
    moves[1] = dataclasses.replace(moves[1], size=moves[1].size + 1)
    results = _run(tiers, moves)
    assert f"the catalog records {moves[1].size}" in str(results[moves[1].src_path])
    assert [why for src, why in results.items() if src != moves[1].src_path] == [None, None]
    assert len(_files(tiers["nas"].root)) == 2


@pytest.mark.timeout(60)
def test_verified_copies_waiting_for_fsync_are_bounded(
    tiers: dict[str, Tier], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With room for 3 open copies and batches of 8, the pipeline neither opens more nor
    deadlocks (a batch never waits for copies that wait for its slots)."""
    monkeypatch.setattr(copy_pipeline, "MAX_OPEN", 3)
    monkeypatch.setattr(copy_pipeline, "BATCH_FILES", 8)
    lock = threading.Lock()
    waiting = [0, 0]  # now, most ever
    stage, finish = copy_pipeline.stage_local_copy, copy_pipeline.finish_copy

    def counted_stage(*args: Any, **kwargs: Any) -> Any:
        staged = stage(*args, **kwargs)
        with lock:
            waiting[0] += 1
            waiting[1] = max(waiting)
        return staged

    def counted_finish(*args: Any, **kwargs: Any) -> Any:
        with lock:
            waiting[0] -= 1
        return finish(*args, **kwargs)

    monkeypatch.setattr(copy_pipeline, "stage_local_copy", counted_stage)
    monkeypatch.setattr(copy_pipeline, "finish_copy", counted_finish)
    sources = _moves(tiers, 20, size=4096)
    results = _run(tiers, [_move(tiers, s, len(d)) for s, d in sources.items()], workers=6)
    assert set(results.values()) == {None}
    assert waiting[1] <= 3
    assert len(_files(tiers["nas"].root)) == 20


def test_copy_without_early_writeback_is_still_fsynced(
    tiers: dict[str, Tier], fsyncs: list[tuple[str, int, bool]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the kernel cannot start the write-back early (not Linux), the fsync writes the
    data: same copy, same order."""
    asked: list[int] = []
    monkeypatch.setattr(writeback, "start_writeback", lambda fd: asked.append(fd) or False)
    (src, data), *_ = _moves(tiers, 1).items()
    dst = tiers["nas"].join("t", "data", "f.parquet")
    copy_verified(tiers["ssd"], src, tiers["nas"], dst, expected_size=len(data))
    assert len(asked) == 1
    assert [(size, final) for _, size, final in fsyncs] == [(len(data), False)]
    assert Path(tiers["nas"].fs_path(dst)).read_bytes() == data
    assert not Path(tiers["nas"].fs_path(tmp_name(dst))).exists()


@pytest.mark.skipif(os.uname().sysname != "Linux", reason="sync_file_range is Linux")
def test_start_writeback_reaches_the_kernel(tmp_path: Path) -> None:
    fd = os.open(tmp_path / "f", os.O_WRONLY | os.O_CREAT)
    os.write(fd, os.urandom(1 << 20))
    assert writeback.start_writeback(fd) is True
    os.close(fd)
    assert writeback.start_writeback(fd) is False  # EBADF: refused, nothing raised


def test_mover_reports_a_failed_fsync_and_commits_the_rest(
    make_lake: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through lh.tier(): the files whose copy could not be fsynced stay on the SSD and
    are listed as failed; the others move in the one commit; nothing stray on the NAS;
    the next run moves the rest."""
    from tests.tiered_lakes import files_on, local_path, rows, sorted_rows

    lh = make_lake()
    lh.create_table("hn.items", rows(0), partition_by=["day(time)"])
    lh.append("hn.items", rows(1000))
    expected = sorted_rows(lh, "hn.items")
    real = os.fsync

    def failing(fd: int) -> None:
        path = _fd_path(fd)
        if "time_day=2020-01-02" in path and path.endswith(TMP_SUFFIX):
            raise OSError(errno.EIO, "Input/output error")
        real(fd)

    monkeypatch.setattr(os, "fsync", failing)
    report = lh.tier(progress=False)
    assert len(report.moved) == 4 and len(report.failed) == 2
    assert all("2020-01-02" in p and "Input/output error" in why for p, why in report.failed)
    where = files_on(lh, "hn.items")
    assert sorted(t for p, t in where.items() if "2020-01-02" in p) == ["ssd", "ssd"]
    nas = Path(lh.tiers["nas"].root)
    assert not [p for p in nas.rglob("*") if p.is_file() and "2020-01-02" in str(p)]
    assert sorted_rows(lh, "hn.items").equals(expected)
    # The swap staged before the fsyncs failed (it named the failed copies) was deleted.
    from doctordata.catalog.references import table_references

    refs = table_references(lh.table("hn.items"))
    metadata = Path(lh.table("hn.items").metadata_location.removeprefix("file://")).parent
    avro = {p.as_posix() for p in metadata.glob("*.avro")}
    assert avro == {local_path(p).as_posix() for p in refs.manifests | refs.manifest_lists}
    monkeypatch.setattr(os, "fsync", real)
    assert len(lh.tier(progress=False).moved) == 2
    assert sorted_rows(lh, "hn.items").equals(expected)
