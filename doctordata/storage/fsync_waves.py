"""fsync in waves: many threads, one filesystem journal commit per wave.

On ext4 (and most journaling filesystems) every fsync commits the journal and flushes
the disk's write cache; a flush costs ~3 ms here even with nothing to write. Eight
threads that each fsync a file as soon as they get one arrive staggered, so the journal
commits (and the disk flushes) about once per file. With :class:`FsyncWaves` (the
mover's sync workers, lifecycle/copy_pipeline.py), a thread that arrives while a wave of
fsyncs is running waits for that wave to end, and then fsyncs together with every
other thread that arrived meanwhile: their fsyncs land in one journal commit. Each
thread still fsyncs its own file and gets its own error, and nothing returns before its
file is durable, so the guarantee is exactly a plain fsync's.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable


class FsyncWaves:
    """``waves.fsync(fd)``: fsync ``fd``, batched with the other threads' fsyncs."""

    def __init__(self, fsync: Callable[[int], None] = os.fsync) -> None:
        self._fsync = fsync
        self._cv = threading.Condition()
        self._running: int | None = None  # the wave fsyncing now
        self._next = 0  # the id the next wave will get
        self._active = 0  # threads of the running wave still in fsync
        self._queued = 0  # threads waiting for the next wave
        self.waves = 0  # waves run so far (for tests and reports)

    def fsync(self, fd: int) -> None:
        with self._cv:
            if self._running is None:
                self._start(1)
            else:
                wave = self._next
                self._queued += 1
                while self._running != wave:
                    self._cv.wait()
        try:
            self._fsync(fd)
        finally:
            with self._cv:
                self._active -= 1
                if self._active == 0:
                    self._running = None
                    if self._queued:
                        self._start(self._queued)
                        self._queued = 0
                    self._cv.notify_all()

    def _start(self, members: int) -> None:
        self._running = self._next
        self._next += 1
        self._active = members
        self.waves += 1
