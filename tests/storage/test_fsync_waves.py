"""FsyncWaves: threads arriving during a wave of fsyncs fsync together in the next one;
each thread's own file is durable (its own fsync returned) before it goes on, and a
failing fsync fails only its own thread."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from doctordata.storage.fsync_waves import FsyncWaves


def _open_files(tmp_path: Path, n: int) -> list[int]:
    fds = []
    for i in range(n):
        fd = os.open(tmp_path / f"f{i}", os.O_WRONLY | os.O_CREAT)
        os.write(fd, b"data %d" % i)
        fds.append(fd)
    return fds


def test_threads_arriving_during_a_wave_share_the_next(tmp_path: Path) -> None:
    fds = _open_files(tmp_path, 9)
    release = threading.Event()
    in_fsync = threading.Event()
    synced: list[int] = []
    wave_of: dict[int, int | None] = {}
    lock = threading.Lock()

    def real_fsync(fd: int) -> None:  # the real fsync, held open for the first wave
        wave_of[fd] = waves._running
        if fd == fds[0]:
            in_fsync.set()
            release.wait(10)
        os.fsync(fd)
        with lock:
            synced.append(fd)

    waves = FsyncWaves(real_fsync)
    with ThreadPoolExecutor(max_workers=9) as pool:
        first = pool.submit(waves.fsync, fds[0])
        assert in_fsync.wait(10)
        rest = [pool.submit(waves.fsync, fd) for fd in fds[1:]]
        while True:  # all eight are queued behind the first wave
            with waves._cv:
                if waves._queued == 8:
                    break
        assert synced == []
        release.set()
        first.result(10)
        for job in rest:
            job.result(10)
    assert sorted(synced) == sorted(fds)
    assert waves.waves == 2
    assert {wave_of[fd] for fd in fds[1:]} == {wave_of[fds[0]] + 1}  # type: ignore[operator]
    for fd in fds:
        os.close(fd)


def test_a_failing_fsync_fails_its_thread_only(tmp_path: Path) -> None:
    good = _open_files(tmp_path, 4)
    bad = os.open(tmp_path, os.O_RDONLY)
    os.close(bad)  # a closed descriptor: the real fsync raises EBADF
    waves = FsyncWaves()
    with ThreadPoolExecutor(max_workers=5) as pool:
        jobs = [pool.submit(waves.fsync, fd) for fd in [*good[:2], bad, *good[2:]]]
        results = []
        for job in jobs:
            try:
                job.result(10)
                results.append("ok")
            except OSError as exc:
                results.append(type(exc).__name__)
    assert results == ["ok", "ok", "OSError", "ok", "ok"]
    waves.fsync(good[0])  # the gate is still open after the failure
    for fd in good:
        os.close(fd)


def test_single_thread_is_a_plain_fsync(tmp_path: Path) -> None:
    (fd,) = _open_files(tmp_path, 1)
    waves = FsyncWaves()
    for _ in range(3):
        waves.fsync(fd)
    assert waves.waves == 3
    os.close(fd)
    with pytest.raises(OSError):
        waves.fsync(fd)
