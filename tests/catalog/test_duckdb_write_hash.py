"""Checksums of the DuckDB writer's unpartitioned files are computed while DuckDB writes
them (catalog/checksums.py GrowingFiles), not by reading each file back afterwards; they
are still recorded, equal the bytes on disk, and every file is fsync'd before the commit."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import doctordata as dd
from doctordata.catalog import checksums, duckdb_write
from doctordata.catalog.checksums import GrowingFiles
from doctordata.errors import StorageError

ROWS = 400_000


def _input(path: Path) -> Path:
    rng = np.random.default_rng(7)
    pq.write_table(
        pa.table(
            {
                "id": pa.array(np.arange(ROWS), pa.int64()),
                "x": pa.array(rng.random(ROWS)),
                "s": pa.array([f"comment {i} " * (i % 5) for i in range(ROWS)]),
            }
        ),
        path,
    )
    return path


def _sha(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.mark.parametrize(
    "properties",
    [
        pytest.param({}, id="one file"),
        pytest.param({"write.target-file-size-bytes": str(1 << 20)}, id="split by size"),
    ],
)
def test_unpartitioned_files_are_hashed_while_written_not_read_back(
    lh: dd.Lakehouse,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    properties: dict[str, str],
) -> None:
    from doctordata.catalog import write
    from doctordata.storage import local_copy

    def read_back(path: str) -> tuple[str, int]:
        raise AssertionError(f"{path} was read back after the write")

    real_fsync, real_commit = local_copy.fsync_path, write.commit_written
    synced: set[str] = set()
    seen: dict[str, object] = {}

    def fsync_path(path: str) -> None:
        real_fsync(path)
        synced.add(path)

    def commit_written(table: object, files: list[object]) -> None:
        store = checksums.store_for(table.io.properties.get("uri"))  # type: ignore[attr-defined]
        assert store is not None
        seen["synced"] = set(synced)
        seen["recorded"] = store.lookup(f.file_path for f in files)  # type: ignore[attr-defined]
        real_commit(table, files)  # type: ignore[arg-type]

    monkeypatch.setattr(duckdb_write, "_sha256", read_back)
    monkeypatch.setattr(local_copy, "fsync_path", fsync_path)
    monkeypatch.setattr(write, "commit_written", commit_written)
    src = _input(tmp_path / "in.parquet")
    lh.create_table("d.h", pq.read_schema(src), properties=properties)
    lh.append("d.h", src)
    files = [t.file.file_path for t in lh.table("d.h").scan().plan_files()]
    assert len(files) >= (3 if properties else 1)
    recorded = seen["recorded"]
    assert isinstance(recorded, dict) and set(recorded) == set(files)
    for loc in files:
        path = loc.removeprefix("file://")
        assert pq.ParquetFile(path).metadata.created_by.startswith("DuckDB")
        assert recorded[loc].sha256 == _sha(path)
        assert recorded[loc].size == os.path.getsize(path)
        assert path in seen["synced"]  # type: ignore[operator]
    _every_reader_reads(lh, "d.h")
    assert lh.verify(deep=True).ok
    victim = Path(files[0].removeprefix("file://"))
    raw = bytearray(victim.read_bytes())
    raw[len(raw) // 3] ^= 0x01
    victim.write_bytes(bytes(raw))
    deep = lh.verify(deep=True)
    assert not deep.ok and [e.kind for e in deep.errors] == ["checksum-mismatch"]


def _every_reader_reads(lh: dd.Lakehouse, name: str) -> None:
    """pyiceberg, DuckDB (the router and iceberg_scan) and chDB read every row."""
    import duckdb

    from doctordata.engines.extensions import load_extension

    want = (ROWS, ROWS * (ROWS - 1) // 2)
    table = lh.table(name)
    ids = table.scan().to_arrow().column("id")
    assert (len(ids), pc.sum(ids).as_py()) == want
    sql = f"SELECT count(*), sum(id) FROM {name}"
    assert lh.sql(sql).fetchall() == [want]
    assert lh.sql(sql, engine="clickhouse").fetchall() == [want]
    con = duckdb.connect()
    load_extension(con, "avro")  # iceberg needs it, and cannot download it offline
    load_extension(con, "iceberg")
    scan = "SELECT count(*), sum(id) FROM iceberg_scan(?)"
    assert con.execute(scan, [table.metadata_location]).fetchall() == [want]
    con.close()


def _wait_for(condition: object, what: str) -> None:
    done = threading.Event()
    for _ in range(2000):  # a bounded wait on a condition, not a timing assumption
        if condition():  # type: ignore[operator]
            return
        done.wait(0.005)
    raise AssertionError(f"timed out waiting for {what}")


def test_growing_files_hash_bytes_as_they_are_appended(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    first, second, late = os.urandom(3 << 20), os.urandom(1 << 20), os.urandom(12345)
    follower = GrowingFiles(str(tmp_path), sync_every=1 << 20).start()
    with open(a, "wb") as fa:
        fa.write(first)
        fa.flush()
        _wait_for(lambda: follower.bytes_hashed == len(first), "the first bytes")
        fa.write(second)  # appended after the follower read the first part
        (tmp_path / "sub" / "c.parquet").write_bytes(b"not followed")
        (tmp_path / "notes.txt").write_bytes(b"not parquet")
        b.write_bytes(late)  # a file that appears while following
    got = follower.finish()
    assert got == {
        str(a): (hashlib.sha256(first + second).hexdigest(), len(first) + len(second)),
        str(b): (hashlib.sha256(late).hexdigest(), len(late)),
    }


def test_growing_files_fail_typed_and_stop_cleanly(tmp_path: Path) -> None:
    target = tmp_path / "gone"
    target.mkdir()
    (target / "x.parquet").write_bytes(b"PAR1")
    follower = GrowingFiles(str(target)).start()
    _wait_for(lambda: follower.bytes_hashed == 4, "the file")
    (target / "x.parquet").unlink()
    target.rmdir()
    with pytest.raises(StorageError, match="gone"):
        follower.finish()
    stopped = GrowingFiles(str(tmp_path)).start()
    stopped.stop()  # the writer failed: nothing is returned, descriptors are closed
    assert stopped.bytes_hashed == 0
