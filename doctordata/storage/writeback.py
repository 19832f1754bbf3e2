"""Start writing a file's dirty pages to disk now, without waiting for them.

Not a durability step: only fsync makes data durable, and the mover still fsyncs every
copy before it renames it. This moves the disk writes earlier. After a copy lands in the
page cache the kernel would start writing it only when an fsync asks (or ~30 s later);
started at once, the disk writes one copy while the CPU verifies it and copies the
next files, and the fsync later finds its data on disk and only waits for the journal
commit. On Linux this is ``sync_file_range(SYNC_FILE_RANGE_WRITE)``, which Python's os
module lacks, so it is called through libc; elsewhere it does nothing and the fsync
writes the data itself. A write error is not lost by starting early: it stays recorded
on the file and the fsync through the same descriptor reports it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

SYNC_FILE_RANGE_WRITE = 2  # linux/fs.h: start write-out of dirty pages, do not wait


@cache
def _sync_file_range() -> Callable[[int, int, int, int], int] | None:
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


def start_writeback(fd: int) -> bool:
    """Ask the kernel to start writing ``fd``'s dirty pages to disk, and return at once.

    True if the kernel took the request; False where it cannot (not Linux, bad
    descriptor): nothing is lost either way, the caller's fsync writes what is left."""
    fn = _sync_file_range()
    return fn is not None and fn(fd, 0, 0, SYNC_FILE_RANGE_WRITE) == 0
