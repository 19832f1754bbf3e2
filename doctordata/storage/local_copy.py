"""Copy a local file with the kernel (backups, and the tier mover), then hash the copy.

A backup copies hundreds of files on a few threads while the main thread walks Avro
metadata in pure Python, holding the GIL. A copy loop of 1 MiB reads, hashes and writes
needs the GIL back three times per MiB, and each time may wait for the walk to give it
up (the 5 ms switch interval): on two cores the copies and the walk slowed each other
down several fold. Here the kernel copies the file (``copy_file_range``, else
``sendfile``, else a read/write loop) and sha256 reads the copy through one memory map,
so a file costs a handful of calls that each release the GIL for their whole length, and
no byte passes through Python buffers.

The checksum is computed from the copy, not the source: an object's name is the sha256
of exactly the bytes the store holds.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import mmap
import os
from collections.abc import Callable

# One kernel call copies (and one hash call reads) at most this much: progress is
# reported at this grain, and a huge file never needs one huge mapping at once.
WINDOW = 64 * 1024 * 1024
READ_SIZE = 1024 * 1024  # fallbacks only
# The kernel cannot do this copy (other filesystem, old kernel, special file): use the
# next method. Only when nothing was copied yet; a later error is a real I/O error.
_UNSUPPORTED = {errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL, errno.ETXTBSY}


def fsync_path(path: str) -> None:
    """fsync a local file or directory by path."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_dirs(directory: str) -> list[str]:
    """Create ``directory`` and its missing ancestors; the directories whose entries this
    changed, deepest first: the parent of each directory created (none if ``directory``
    existed). A new directory's name is durable only once its parent is fsynced, so every
    writer of files a commit references fsyncs these (:func:`fsync_path`) before the
    commit, besides each file and the directory holding it."""
    missing: list[str] = []
    here = os.path.normpath(directory)
    while not os.path.isdir(here):
        missing.append(here)
        parent = os.path.dirname(here)
        if parent == here:
            break
        here = parent
    if not missing:
        return []
    os.makedirs(directory, exist_ok=True)
    return [os.path.dirname(d) for d in missing]


def make_dirs_durably(directory: str) -> None:
    """:func:`make_dirs`, then fsync the directories it changed (deepest first): for a
    writer that fsyncs its file and the directory holding it, and relies on it at once."""
    for parent in make_dirs(directory):
        fsync_path(parent)


def write_durably(path: str, data: bytes, *, exclusive: bool = False) -> bool:
    """Write ``path`` so that after a power cut it holds either all of ``data`` or what
    it held before: missing folders are created durably, the bytes go to a temporary
    file that is fsynced, then renamed to ``path``, and the folder is fsynced.

    ``exclusive``: only if ``path`` does not exist yet (the temporary file is linked, not
    renamed, so of two racing writers exactly one wins and nobody ever sees a partial
    file); False if it existed. Returns True once written."""
    folder = os.path.dirname(path) or "."
    make_dirs_durably(folder)
    tmp = f"{path}.tmp-{os.getpid()}-{os.urandom(4).hex()}"
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if exclusive:
            try:
                os.link(tmp, path)
            except FileExistsError:
                return False
        else:
            os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    fsync_path(folder)
    return True


ProgressFn = Callable[[int], None]


def copy_and_hash(src: str, dst: str, on_bytes: ProgressFn | None = None) -> tuple[str, int]:
    """Copy ``src`` to a new file ``dst`` (not fsynced), then hash ``dst`` through the
    same descriptor: (sha256 hex, size) of exactly the bytes written."""
    with open(src, "rb", buffering=0) as fsrc, open(dst, "w+b", buffering=0) as fdst:
        copied = copy_fd(fsrc.fileno(), fdst.fileno(), on_bytes)
        sha, size = _sha256_fd(fdst.fileno())
    if size != copied:  # nobody else writes a new temp file: the filesystem lied
        raise OSError(f"{dst}: {copied} bytes copied from {src}, but {size} bytes on disk")
    return sha, size


def copy_file(src: str, dst: str, on_bytes: ProgressFn | None = None) -> int:
    """Copy ``src`` to a new file ``dst`` (not fsynced); the number of bytes copied.
    Copies until end of file, whatever size the file had when opened."""
    with open(src, "rb", buffering=0) as fsrc, open(dst, "wb", buffering=0) as fdst:
        return copy_fd(fsrc.fileno(), fdst.fileno(), on_bytes)


def copy_fd(infd: int, outfd: int, on_bytes: ProgressFn | None) -> int:
    """Copy from ``infd``'s position to its end into ``outfd``; the number of bytes. The
    kernel copies (copy_file_range, else sendfile); a read/write loop where it cannot.
    ``on_bytes`` gets each piece's size as it is done."""
    for method in (_copy_file_range, _sendfile):
        copied = method(infd, outfd, on_bytes)
        if copied is not None:
            return copied
    return _read_write(infd, outfd, on_bytes)


def _copy_file_range(infd: int, outfd: int, on_bytes: ProgressFn | None) -> int | None:
    total = 0
    while True:
        try:
            n = os.copy_file_range(infd, outfd, WINDOW)
        except OSError as exc:
            if total == 0 and exc.errno in _UNSUPPORTED:
                return None
            raise
        if n == 0:
            # Kernels 5.3-5.18 answer 0 at once for files whose size they do not know
            # (procfs, sysfs): let a method that reads until end of file decide.
            return total or None
        total += n
        if on_bytes:
            on_bytes(n)


def _sendfile(infd: int, outfd: int, on_bytes: ProgressFn | None) -> int | None:
    total = 0
    while True:
        try:
            n = os.sendfile(outfd, infd, None, WINDOW)
        except OSError as exc:
            if total == 0 and exc.errno in _UNSUPPORTED:
                return None
            raise
        if n == 0:
            return total or None  # an empty file costs the read loop one more call
        total += n
        if on_bytes:
            on_bytes(n)


def _read_write(infd: int, outfd: int, on_bytes: ProgressFn | None) -> int:
    total = 0
    buffer = bytearray(READ_SIZE)
    view = memoryview(buffer)
    while n := os.readv(infd, [buffer]):
        chunk = view[:n]
        while chunk:  # writes to an unbuffered fd may be short
            written = os.write(outfd, chunk)
            chunk = chunk[written:]
        total += n
        if on_bytes:
            on_bytes(n)
    return total


def sha256_file(path: str) -> tuple[str, int]:
    """(sha256 hex, size) of a local file, read through a memory map (a read loop where
    the filesystem cannot map files)."""
    with open(path, "rb", buffering=0) as fh:
        return _sha256_fd(fh.fileno())


def _sha256_fd(fd: int) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = os.fstat(fd).st_size
    if size == 0:
        return digest.hexdigest(), 0
    try:
        mapped = mmap.mmap(fd, size, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return _sha256_read(fd, digest)
    with mapped, memoryview(mapped) as view:
        for start in range(0, size, WINDOW):
            digest.update(view[start : start + WINDOW])
    return digest.hexdigest(), size


def _sha256_read(fd: int, digest: hashlib._Hash) -> tuple[str, int]:
    size = 0
    buffer = bytearray(READ_SIZE)
    view = memoryview(buffer)
    while n := os.preadv(fd, [buffer], size):  # from the start, wherever fd points
        digest.update(view[:n])
        size += n
    return digest.hexdigest(), size
