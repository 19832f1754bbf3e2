"""``create_table(name, "<file>.parquet")``: the table and its first rows in ONE catalog
commit (catalog/first_write.py), written as an append of the same path writes them
(DuckDB's writer when the table fits it, pyarrow otherwise); read by every reader,
checksummed for ``verify --deep``, and nothing left behind when it fails."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import doctordata as dd
from doctordata.catalog import checksums, first_write
from doctordata.errors import AlreadyExistsError, DoctorDataError, SchemaMismatchError
from tests.catalog.test_duckdb_write_hash import ROWS, _every_reader_reads, _input


def _metadata_files(lh: dd.Lakehouse, name: str) -> list[str]:
    location = lh.table(name).metadata.location.removeprefix("file://")
    return sorted(n for n in os.listdir(f"{location}/metadata") if n.endswith(".metadata.json"))


def _parquet_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.parquet") if "src" not in p.parts)


def test_one_commit_every_reader_and_deep_verify(lh: dd.Lakehouse, tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    src = _input(tmp_path / "src" / "in.parquet")
    table = lh.create_table("d.one", src)
    # One commit: the first metadata.json already holds the snapshot with the rows.
    assert len(table.metadata.snapshots) == 1
    assert table.metadata.metadata_log == []
    assert len(_metadata_files(lh, "d.one")) == 1
    assert table.schema().as_arrow().names == pq.read_schema(src).names
    files = [t.file.file_path for t in lh.table("d.one").scan().plan_files()]
    assert len(files) == 1
    path = files[0].removeprefix("file://")
    assert pq.ParquetFile(path).metadata.created_by.startswith("DuckDB")
    store = checksums.store_for(table.io.properties.get("uri"))
    assert store is not None
    recorded = store.lookup(files)
    assert recorded[files[0]].sha256 == hashlib.sha256(Path(path).read_bytes()).hexdigest()
    assert recorded[files[0]].size == os.path.getsize(path)
    _every_reader_reads(lh, "d.one")
    assert lh.verify(deep=True).ok
    raw = bytearray(Path(path).read_bytes())
    raw[len(raw) // 2] ^= 0x01
    Path(path).write_bytes(bytes(raw))
    deep = lh.verify(deep=True)
    assert not deep.ok and [e.kind for e in deep.errors] == ["checksum-mismatch"]


def test_pyarrow_path_sorted_and_partitioned(lh: dd.Lakehouse, tmp_path: Path) -> None:
    """A table DuckDB's writer does not take (a bucket partition) is written by pyarrow,
    still in one commit, sorted, with every row."""
    src = tmp_path / "in.parquet"
    n = 5_000
    pq.write_table(
        pa.table({"id": pa.array(range(n), pa.int64()), "k": [i % 7 for i in range(n)]}), src
    )
    table = lh.create_table("d.part", src, partition_by=["bucket(4, k)"], sort_by=["id DESC"])
    assert len(table.metadata.snapshots) == 1 and table.metadata.metadata_log == []
    tasks = list(table.scan().plan_files())
    assert len(tasks) == 4
    for t in tasks:
        ids = pq.read_table(t.file.file_path.removeprefix("file://")).column("id").to_pylist()
        assert ids == sorted(ids, reverse=True)
    assert lh.sql("SELECT count(*), sum(id) FROM d.part").fetchall() == [(n, n * (n - 1) // 2)]
    assert lh.verify(deep=True).ok


def test_duckdb_partitioned_in_one_commit(lh: dd.Lakehouse, tmp_path: Path) -> None:
    """A partitioned table DuckDB's writer takes: a file per partition, one commit."""
    src = tmp_path / "in.parquet"
    n = 300_000
    pq.write_table(
        pa.table({"id": pa.array(range(n), pa.int64()), "k": [i % 5 for i in range(n)]}), src
    )
    table = lh.create_table("d.dp", src, partition_by=["k"])
    assert len(table.metadata.snapshots) == 1 and table.metadata.metadata_log == []
    tasks = list(table.scan().plan_files())
    assert sorted(t.file.partition[0] for t in tasks) == [0, 1, 2, 3, 4]
    for t in tasks:
        path = t.file.file_path.removeprefix("file://")
        assert pq.ParquetFile(path).metadata.created_by.startswith("DuckDB")
        assert set(pq.read_table(path).column("k").to_pylist()) == {t.file.partition[0]}
    want = [(n, n * (n - 1) // 2)]
    assert lh.sql("SELECT count(*), sum(id) FROM d.dp").fetchall() == want
    assert lh.sql("SELECT count(*), sum(id) FROM d.dp", engine="clickhouse").fetchall() == want
    assert lh.verify(deep=True).ok


def test_a_failed_write_leaves_no_table_namespace_or_file(lh: dd.Lakehouse, tmp_path: Path) -> None:
    src = _input(tmp_path / "in.parquet")
    meta = pq.ParquetFile(src).metadata
    start = meta.row_group(0).column(0).data_page_offset
    raw = bytearray(src.read_bytes())
    for i in range(start + 4, start + 4 + 64):  # inside the first data page, footer intact
        raw[i] ^= 0xFF
    src.write_bytes(bytes(raw))
    with pytest.raises(DoctorDataError):
        lh.create_table("fresh.t", src)
    assert lh.tables() == []
    assert "fresh" not in lh.namespaces()
    assert _parquet_under(lh.root) == []


def test_bad_paths_are_typed_errors(lh: dd.Lakehouse, tmp_path: Path) -> None:
    csv = tmp_path / "x.csv"
    csv.write_text("a\n1\n")
    with pytest.raises(SchemaMismatchError, match=r"x\.csv.*Parquet.*lh\.append"):
        lh.create_table("d.c", csv)
    with pytest.raises(SchemaMismatchError, match="no such file"):
        lh.create_table("d.c", tmp_path / "missing.parquet")
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"not parquet at all")
    with pytest.raises(SchemaMismatchError, match="not a readable Parquet file"):
        lh.create_table("d.c", str(junk))
    assert lh.tables() == []


def test_empty_file_creates_an_empty_table(lh: dd.Lakehouse, tmp_path: Path) -> None:
    src = tmp_path / "empty.parquet"
    pq.write_table(pa.table({"a": pa.array([], pa.int64())}), src)
    table = lh.create_table("d.e", src)
    assert table.current_snapshot() is None
    assert lh.sql("SELECT count(*) FROM d.e").fetchall() == [(0,)]


def test_exist_ok_appends_and_a_lost_race_deletes_its_files(
    lh: dd.Lakehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process creates the table while ours writes: our commit fails with
    'already exists', the files we wrote are deleted (no snapshot references them), and
    exist_ok=True appends the rows to the table that won."""
    src = _input(tmp_path / "src.parquet")
    real = first_write.write_first
    ours: list[str] = []

    def write_then_lose(txn: object, path: str, cast: object, conform: object) -> list[object]:
        written = real(txn, path, cast, conform)  # type: ignore[arg-type]
        ours.extend(f.file_path.removeprefix("file://") for f in written)
        with dd.connect(lh.root) as other:  # a real second catalog connection
            other.create_table("d.race", pq.read_schema(src))
        return written  # type: ignore[return-value]

    monkeypatch.setattr(first_write, "write_first", write_then_lose)
    with pytest.raises(AlreadyExistsError):
        lh.create_table("d.race", src)
    assert ours and not any(os.path.exists(p) for p in ours)
    monkeypatch.setattr(first_write, "write_first", real)
    lh.create_table("d.race", src, exist_ok=True)
    ids = lh.table("d.race").scan().to_arrow().column("id")
    assert (len(ids), pc.sum(ids).as_py()) == (ROWS, ROWS * (ROWS - 1) // 2)
