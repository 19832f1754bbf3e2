"""Copy one file between tiers: temporary name, fsync + verify size and content, rename.

To or from S3 the copy is hashed (CRC-32) as it streams out of the source, then read back
from the destination and hashed again. Between local tiers the kernel copies the bytes
(copy_file_range, as cp does) and the copy is then compared with the source byte for
byte, which is both faster and stricter than comparing checksums. A local copy goes
through two steps, which the mover runs on different threads (lifecycle/copy_pipeline.py):

1. :func:`stage_local_copy`: kernel copy to the temporary name; start the disk writing it
   (storage/writeback.py, no waiting); compare it with the source while the disk works.
   The comparison reads the page cache, the same bytes the fsync writes to disk.
2. :func:`finish_copy`: fsync the copy (it waits until the data is on disk) and only if
   that succeeds rename it to its final name.

So a copy is renamed only when its size and content matched AND its fsync succeeded; a
mismatch or a failed fsync discards it. A crash at any point leaves the source untouched
and at most a temporary or uncommitted copy, which the mover's journal lets the next run
remove.

Test hooks (environment, used by the crash and corruption tests; inert otherwise):
``DOCTORDATA_TEST_KILL_AT=<step>[:<n>]`` SIGKILLs this process at the n-th time it
reaches ``step`` (copy, verify, rename, commit, committed, delete);
``DOCTORDATA_TEST_CORRUPT=<substring>`` flips one byte of any temporary copy whose
path contains the substring, on disk, before it is verified.
"""

from __future__ import annotations

import os
import signal
import threading
import zlib
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from doctordata.errors import ChecksumMismatchError
from doctordata.storage.local_copy import fsync_path

if TYPE_CHECKING:
    from doctordata.storage.tier import Tier

CHUNK = 8 * 1024 * 1024
COMPARE_SIZE = 1024 * 1024
TMP_SUFFIX = ".dd-tmp"
KILL_ENV = "DOCTORDATA_TEST_KILL_AT"
CORRUPT_ENV = "DOCTORDATA_TEST_CORRUPT"

_hook_lock = threading.Lock()
_hook_counts: dict[str, int] = {}


def crash_point(step: str) -> None:
    """SIGKILL ourselves here if the crash test asked for it (real kill, no cleanup runs)."""
    spec = os.environ.get(KILL_ENV)
    if not spec:
        return
    name, _, nth = spec.partition(":")
    if name != step:
        return
    with _hook_lock:
        _hook_counts[step] = _hook_counts.get(step, 0) + 1
        hit = _hook_counts[step] == int(nth or 1)
    if hit:
        os.kill(os.getpid(), signal.SIGKILL)


def tmp_name(dst_path: str) -> str:
    """The temporary name a copy to ``dst_path`` is written under (deterministic, so a
    later run can find it)."""
    head, _, base = dst_path.rpartition("/")
    return f"{head}/.{base}{TMP_SUFFIX}"


@dataclass(frozen=True)
class Copied:
    size: int
    crc32: int | None  # None: verified by byte comparison (local to local)


def _corrupt_if_asked(tier: Tier, tmp: str) -> None:
    needle = os.environ.get(CORRUPT_ENV)
    if not needle or needle not in tmp:
        return
    fs_path = tier.fs_path(tmp)
    if tier.is_local:
        with open(fs_path, "r+b") as fh:
            first = fh.read(1)
            fh.seek(0)
            fh.write(bytes([first[0] ^ 0xFF]) if first else b"x")
            fh.flush()
            os.fsync(fh.fileno())
    else:
        data = bytearray(tier.fs.cat_file(fs_path))
        data[0] ^= 0xFF
        tier.fs.pipe_file(fs_path, bytes(data))


def _stream(
    src: Tier,
    src_path: str,
    dst: Tier,
    tmp: str,
    progress: Callable[[int], None],
    sync_file: Callable[[int], None],
) -> Copied:
    crc, size = 0, 0
    src_fs_path, tmp_fs_path = src.fs_path(src_path), dst.fs_path(tmp)
    if dst.is_local:
        os.makedirs(os.path.dirname(tmp_fs_path), exist_ok=True)
    with src.fs.open(src_fs_path, "rb") as reader, dst.fs.open(tmp_fs_path, "wb") as writer:
        while chunk := reader.read(CHUNK):
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)
            writer.write(chunk)
            progress(len(chunk))
            crash_point("copy")
        if dst.is_local:
            writer.flush()
            sync_file(writer.fileno())
    return Copied(size, crc)


def _same_bytes(a: str, b: str) -> bool:
    """Byte-for-byte comparison of two local files (stronger than comparing checksums)."""
    # 1 MiB reads: fresh 8 MiB buffers cost more in page faults than the comparison.
    with open(a, "rb", buffering=0) as fa, open(b, "rb", buffering=0) as fb:
        while chunk := fa.read(COMPARE_SIZE):
            if chunk != fb.read(COMPARE_SIZE):
                return False
        return fb.read(1) == b""


def _checksum(tier: Tier, path: str) -> Copied:
    crc, size = 0, 0
    with tier.fs.open(tier.fs_path(path), "rb") as reader:
        while chunk := reader.read(CHUNK):
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)
    return Copied(size, crc)


def remove_quietly(tier: Tier, path: str) -> bool:
    """Delete a file if it exists; True if something was deleted."""
    try:
        tier.fs.rm_file(tier.fs_path(path))
        return True
    except FileNotFoundError:
        return False


def sync_dirs(tier: Tier, locations: list[str], pool: Executor | None = None) -> None:
    """fsync the directories holding ``locations`` and their parents up to the tier root,
    once each, so the names (and directories the copy created) survive a power cut. The
    files' data was fsynced when they were copied; object stores are durable on upload.

    With ``pool`` the directories are fsynced concurrently: one filesystem journal commit
    serves all of them instead of each waiting for the disk in turn."""
    if not tier.is_local:
        return
    root = os.path.normpath(tier.root)
    folders: set[str] = set()
    for location in locations:
        folder = os.path.dirname(os.path.normpath(tier.fs_path(location)))
        while folder not in folders:
            folders.add(folder)
            if folder == root or len(folder) <= len(root) or os.path.dirname(folder) == folder:
                break
            folder = os.path.dirname(folder)
    # Deepest first: the first fsync commits the filesystem journal with every rename and
    # mkdir in it, so the rest are cheap.
    ordered = sorted(folders, key=len, reverse=True)
    if pool is None or len(ordered) < 2:
        for folder in ordered:
            fsync_path(folder)
    else:
        list(pool.map(fsync_path, ordered))


def _rename(src: Tier, src_path: str, dst: Tier, tmp: str, final: str, sync_dir: bool) -> None:
    if dst.is_local:
        final_fs = dst.fs_path(final)
        os.replace(dst.fs_path(tmp), final_fs)
        if sync_dir:
            fsync_path(os.path.dirname(final_fs))
        if src.is_local:
            # Keep the modification time: file-age policies must see the data's age, not
            # the day it moved.
            st = os.stat(src.fs_path(src_path))
            os.utime(final_fs, ns=(st.st_atime_ns, st.st_mtime_ns))
    else:
        dst.fs.mv(dst.fs_path(tmp), dst.fs_path(final))


def copy_verified(
    src: Tier,
    src_path: str,
    dst: Tier,
    dst_path: str,
    *,
    expected_size: int,
    progress: Callable[[int], None] = lambda n: None,
    fsync: bool = True,
    sync_file: Callable[[int], None] | None = None,
) -> Copied:
    """Copy ``src_path`` to ``dst_path`` safely; raise ChecksumMismatchError (copy removed)
    if the copy does not match the source or the catalog's recorded size.

    The copy's data is always verified and fsynced before it is renamed (between local
    tiers: :func:`stage_local_copy` then :func:`finish_copy`). ``fsync=False`` leaves the
    directory entry to the caller: :func:`sync_dirs` over a batch before the commit that
    references the copies (one fsync per directory instead of one per file).
    ``sync_file`` fsyncs the copy's descriptor: the mover passes
    :meth:`~doctordata.storage.fsync_waves.FsyncWaves.fsync` to batch its threads' fsyncs."""
    sync_file = sync_file or os.fsync
    if src.is_local and dst.is_local:
        staged = stage_local_copy(
            src, src_path, dst, dst_path, expected_size=expected_size, progress=progress
        )
        return finish_copy(staged, sync_file=sync_file, sync_dir=fsync)
    tmp = tmp_name(dst_path)
    crash_point("copy")
    copied = _stream(src, src_path, dst, tmp, progress, sync_file)
    _corrupt_if_asked(dst, tmp)
    crash_point("verify")
    if copied.size != expected_size:
        remove_quietly(dst, tmp)
        raise ChecksumMismatchError(
            f"{src_path} is {copied.size} bytes but the catalog records {expected_size}; "
            "the source file changed or is damaged (run `doctordata verify`)"
        )
    back = _checksum(dst, tmp)
    if back != copied:
        remove_quietly(dst, tmp)
        raise ChecksumMismatchError(
            f"the copy of {src_path} on tier {dst.name!r} does not match the source "
            f"(crc32 {back.crc32:08x} != {copied.crc32:08x}, {back.size} vs {copied.size} "
            "bytes); the copy was discarded and the file stays where it is"
        )
    crash_point("rename")
    _rename(src, src_path, dst, tmp, dst_path, fsync)
    return copied


def _mismatch(src_path: str, dst: Tier, how: str) -> ChecksumMismatchError:
    return ChecksumMismatchError(
        f"the copy of {src_path} on tier {dst.name!r} does not match the source ({how}); "
        "the copy was discarded and the file stays where it is"
    )


@dataclass
class StagedCopy:
    """A local copy written under its temporary name and verified against the source; its
    data is on the way to disk. :func:`finish_copy` makes it durable and renames it (or
    discards it). Holds the copy's open descriptor: an fsync error is reported through the
    descriptor the data was written with, and the kernel keeps it until then."""

    src: Tier
    src_path: str
    dst: Tier
    tmp: str
    final: str
    fd: int
    size: int


def stage_local_copy(
    src: Tier,
    src_path: str,
    dst: Tier,
    dst_path: str,
    *,
    expected_size: int,
    progress: Callable[[int], None] = lambda n: None,
) -> StagedCopy:
    """Local to local, step 1: kernel copy to the temporary name, start its write-back, then
    compare it with the source byte for byte while the disk writes it. Raises
    ChecksumMismatchError (copy removed) if size or content differ; OSError (copy removed)
    if the copy fails."""
    from doctordata.storage.local_copy import copy_fd
    from doctordata.storage.writeback import start_writeback

    def advanced(n: int) -> None:
        progress(n)
        crash_point("copy")

    tmp = tmp_name(dst_path)
    src_fs, tmp_fs = src.fs_path(src_path), dst.fs_path(tmp)
    crash_point("copy")
    os.makedirs(os.path.dirname(tmp_fs), exist_ok=True)
    fd = os.open(tmp_fs, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        with open(src_fs, "rb", buffering=0) as reader:
            size = copy_fd(reader.fileno(), fd, advanced)
        start_writeback(fd)
        _corrupt_if_asked(dst, tmp)
        crash_point("verify")
        if size != expected_size or os.fstat(fd).st_size != expected_size:
            raise _mismatch(
                src_path, dst, f"{size} bytes copied, the catalog records {expected_size}"
            )
        if not _same_bytes(src_fs, tmp_fs):
            raise _mismatch(src_path, dst, "byte comparison failed")
    except BaseException:
        os.close(fd)
        remove_quietly(dst, tmp)
        raise
    return StagedCopy(src, src_path, dst, tmp, dst_path, fd, size)


def finish_copy(
    staged: StagedCopy,
    *,
    sync_file: Callable[[int], None] | None = None,
    sync_dir: bool = True,
) -> Copied:
    """Local to local, step 2: fsync the verified copy, then rename it to its final name
    (and fsync its directory if ``sync_dir``). If the fsync fails the copy is removed and
    the error raised: the source stays the only copy."""
    try:
        (sync_file or os.fsync)(staged.fd)
    except BaseException:
        remove_quietly(staged.dst, staged.tmp)
        raise
    finally:
        os.close(staged.fd)
    crash_point("rename")
    _rename(staged.src, staged.src_path, staged.dst, staged.tmp, staged.final, sync_dir)
    return Copied(staged.size, None)
