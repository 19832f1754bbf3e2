"""The local copy path of a backup (kernel copy, then sha256 of the copy through a memory
map): every fallback on real files, and a copy that fails midway on a real write error."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from doctordata.backup.backup import list_backups, verify_backup
from doctordata.storage import local_copy as backup_local_copy
from doctordata.storage.local_copy import copy_and_hash, copy_file, sha256_file
from tests.backup.lakes import tiers_for
from tests.backup.test_failures import _child


def _progress() -> tuple[list[int], Any]:
    seen: list[int] = []
    return seen, seen.append


@pytest.mark.parametrize("size", [0, 1, 3 * 1024 * 1024 + 5])
def test_copy_file_copies_every_byte_and_the_hash_is_of_the_copy(
    tmp_path: Path, size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small windows: several copy_file_range calls and several hashed map slices per file.
    monkeypatch.setattr(backup_local_copy, "WINDOW", 1024 * 1024)
    data = os.urandom(size)
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.write_bytes(data)
    seen, advance = _progress()
    assert copy_file(str(src), str(dst), advance) == size
    assert dst.read_bytes() == data
    assert sum(seen) == size and (size < 2 * 1024 * 1024 or len(seen) > 1)
    assert sha256_file(str(dst)) == (hashlib.sha256(data).hexdigest(), size)
    seen.clear()
    again = tmp_path / "again"
    assert copy_and_hash(str(src), str(again), advance) == (hashlib.sha256(data).hexdigest(), size)
    assert again.read_bytes() == data and sum(seen) == size


def test_copy_across_filesystems_falls_back_to_sendfile(tmp_path: Path) -> None:
    """tmpfs -> this disk: copy_file_range refuses (EXDEV) and sendfile does the copy."""
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("needs /dev/shm on another filesystem than the temp directory")
    data = os.urandom(2 * 1024 * 1024 + 3)
    src = shm / f"doctordata-test-{os.getpid()}"
    src.write_bytes(data)
    try:
        with (
            open(src, "rb") as fsrc,
            open(tmp_path / "probe", "wb") as fdst,
            pytest.raises(OSError),  # the kernel cannot copy this pair
        ):
            os.copy_file_range(fsrc.fileno(), fdst.fileno(), 1)
        assert copy_file(str(src), str(tmp_path / "dst")) == len(data)
    finally:
        src.unlink()
    assert (tmp_path / "dst").read_bytes() == data


def test_a_source_neither_kernel_copy_handles_goes_through_a_read_write_loop(
    tmp_path: Path,
) -> None:
    """A pipe: copy_file_range and sendfile both refuse it (EINVAL)."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    data = os.urandom(3 * 1024 * 1024 + 11)

    def feed() -> None:
        with open(fifo, "wb") as fh:
            fh.write(data)

    writer = threading.Thread(target=feed)
    writer.start()
    seen, advance = _progress()
    copied = copy_file(str(fifo), str(tmp_path / "dst"), advance)
    writer.join()
    assert copied == len(data) == sum(seen)
    assert (tmp_path / "dst").read_bytes() == data


def test_sha256_read_loop_matches_the_mapped_hash(tmp_path: Path) -> None:
    """The hash for filesystems that cannot map files gives the same answer."""
    data = os.urandom(2 * 1024 * 1024 + 7)
    path = tmp_path / "f"
    path.write_bytes(data)
    with open(path, "rb", buffering=0) as fh:
        fh.seek(0, os.SEEK_END)  # as after copying into it: the loop reads from the start
        looped = backup_local_copy._sha256_read(fh.fileno(), hashlib.sha256())
    assert looped == sha256_file(str(path)) == (hashlib.sha256(data).hexdigest(), len(data))


def test_copy_of_a_missing_source_raises_and_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        copy_file(str(tmp_path / "gone"), str(tmp_path / "dst"))
    assert not (tmp_path / "dst").exists()


# A real write error midway: the child may not write files above 1 MiB (RLIMIT_FSIZE;
# writes past it fail with EFBIG), and the lake has a data file of several MiB.
LIMITED_BACKUP = """
    import json, resource, signal, sys
    import doctordata as dd

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of being killed
    with dd.connect(sys.argv[1], tiers=json.loads(sys.argv[2])) as lh:
        limit = 1024 * 1024
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        try:
            lh.backup("nas", progress=False)
        except Exception as exc:
            print(json.dumps({"type": type(exc).__name__, "message": str(exc)}))
        else:
            print(json.dumps({"type": None}))
"""


def test_a_copy_failing_midway_names_the_file_and_leaves_no_backup(tmp_path: Path) -> None:
    import pyarrow as pa

    import doctordata as dd

    tiers = tiers_for(tmp_path)
    with dd.connect(tmp_path / "lake", tiers=tiers) as lh:
        blobs = pa.table({"id": [1, 2, 3], "blob": [os.urandom(1024 * 1024) for _ in range(3)]})
        lh.create_table("hn.blobs", blobs)
        big = [p for p in Path(tiers["ssd"]["url"]).rglob("*.parquet")]
        assert len(big) == 1 and big[0].stat().st_size > 2 * 1024 * 1024

    proc = _child(LIMITED_BACKUP, str(tmp_path / "lake"), json.dumps(tiers))
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["type"] == "StorageError", result
    assert str(big[0]) in result["message"] and "File too large" in result["message"]

    backups = tmp_path / "nas" / "backups"
    with dd.connect(tmp_path / "lake", tiers=tiers) as lh:
        assert list_backups(lh, "nas") == []  # nothing listed as complete
        partial = list_backups(lh, "nas", include_incomplete=True)
        assert [b.complete for b in partial] == [False]
        assert list((backups / "tmp").iterdir()) == []  # the half-written copy is gone
        # The cause fixed (no limit here), the next backup completes and verifies.
        report = lh.backup("nas", progress=False)
        assert [b.id for b in list_backups(lh, "nas")] == [report.id]
        assert verify_backup(lh, report.id, to="nas").ok
