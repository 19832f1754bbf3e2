"""Large appends written by DuckDB's Parquet writer (catalog/duckdb_write.py): every reader
reads them, their statistics equal pyiceberg's own, pruning works, failures leave nothing."""

from __future__ import annotations

import datetime as dt
import decimal
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import doctordata as dd
from doctordata.catalog import duckdb_write
from doctordata.errors import SchemaMismatchError, StorageError

N = 3_000
T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def _data(n: int = N, start: int = 0) -> pa.Table:
    ids = range(start, start + n)
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "time": pa.array(
                [T0 + dt.timedelta(minutes=37 * i) for i in ids], pa.timestamp("us", tz="UTC")
            ),
            "local": pa.array(
                [dt.datetime(2026, 1, 1) + dt.timedelta(seconds=i) for i in ids],
                pa.timestamp("us"),
            ),
            "day": pa.array([dt.date(2026, 1, 1) + dt.timedelta(days=i % 40) for i in ids]),
            "amount": pa.array(
                [decimal.Decimal(i) / 100 if i % 7 else None for i in ids], pa.decimal128(12, 2)
            ),
            "big": pa.array([decimal.Decimal(i) * 10**20 for i in ids], pa.decimal128(30, 0)),
            "x": pa.array([i / 3 if i % 5 else None for i in ids], pa.float64()),
            "flag": pa.array([i % 2 == 0 for i in ids]),
            "name": pa.array([f"name-{i % 13}" if i % 11 else None for i in ids]),
            "tags": pa.array([[i, i + 1] if i % 3 else None for i in ids], pa.list_(pa.int64())),
            "point": pa.array(
                [{"a": i % 100, "b": str(i)} if i % 4 else None for i in ids],
                pa.struct([("a", pa.int32()), ("b", pa.string())]),
            ),
            "attrs": pa.array(
                [[("k", float(i)), ("j", None)] for i in ids],
                pa.map_(pa.string(), pa.float64()),
            ),
        }
    )


@pytest.fixture
def small_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(duckdb_write, "MIN_ROWS", 1_000)


def _files(lh: dd.Lakehouse, name: str) -> list[object]:
    return [t.file for t in lh.table(name).scan().plan_files()]


def _writers(lh: dd.Lakehouse, name: str) -> set[str]:
    return {
        pq.ParquetFile(f.file_path.removeprefix("file://")).metadata.created_by.split()[0]  # type: ignore[attr-defined]
        for f in _files(lh, name)
    }


def test_every_reader_reads_duckdb_written_files(lh: dd.Lakehouse, small_threshold: None) -> None:
    data = _data()
    lh.create_table("d.t", data.schema, partition_by=["day(time)"])
    lh.append("d.t", data)
    assert _writers(lh, "d.t") == {"DuckDB"}
    files = _files(lh, "d.t")
    assert len(files) == 78  # one per day: 3,000 rows 37 minutes apart span 78 UTC days
    # pyiceberg reads every value back (nested types and nulls included).
    got = lh.table("d.t").scan().to_arrow().sort_by("id")
    assert got.select(data.column_names).equals(data)
    # DuckDB through the router, and chDB, agree with pyarrow's own aggregates.
    want = (
        N,
        pc.sum(data["amount"]).as_py(),
        pc.sum(data["big"]).as_py(),
        pc.count(data["name"]).as_py(),
        pc.sum(pc.struct_field(data["point"], "a")).as_py(),
        pc.min(data["local"]).as_py(),
        pc.max(data["day"]).as_py(),
        pc.sum(data["flag"].cast(pa.int64())).as_py(),
    )
    sql = (
        "SELECT count(*), sum(amount), sum(big), count(name), sum(point.a), min(local), "
        "max(day), sum(CAST(flag AS BIGINT)) FROM d.t"
    )
    assert lh.sql(sql).fetchall() == [want]
    (ch,) = lh.sql(sql, engine="clickhouse").fetchall()
    # chDB returns a naive TIMESTAMP as UTC-aware, whoever wrote the file (not this writer's).
    assert (*ch[:5], ch[5].replace(tzinfo=None), *ch[6:]) == want
    nested = "SELECT sum(len(tags)), sum(attrs['k']) FROM d.t WHERE tags IS NOT NULL"
    want_nested = (
        pc.sum(pc.list_value_length(data["tags"])).as_py(),
        float(sum(i for i in range(N) if i % 3)),
    )
    assert lh.sql(nested).fetchall() == [want_nested]
    # Pruning by the written statistics and partitions: one day plans one file.
    r = lh.sql("SELECT count(*) FROM d.t WHERE time >= '2026-03-02' AND time < '2026-03-03'")
    assert r.fetchall() == [(sum(1 for i in range(N) if 1440 <= 37 * i < 2880),)]
    (scan,) = r.stats.scans
    assert scan.files_planned == 1 and scan.files_skipped == len(files) - 1
    r = lh.sql("SELECT count(*) FROM d.t WHERE id = 42", engine="clickhouse")
    assert r.fetchall() == [(1,)]
    assert r.stats.scans[0].files_planned == 1


def _sorted_within_each_file(lh: dd.Lakehouse, name: str, reverse: bool) -> bool:
    for f in _files(lh, name):
        ids = pq.read_table(f.file_path.removeprefix("file://"), columns=["id"])["id"]  # type: ignore[attr-defined]
        if ids.to_pylist() != sorted(ids.to_pylist(), reverse=reverse):
            return False
    return True


def test_sort_order_holds_within_each_file(lh: dd.Lakehouse, small_threshold: None) -> None:
    """Many row groups, written in parallel: the rows of each file stay in the sort order
    (DuckDB 1.5.5 loses it between row groups when splitting files by size, and within
    files of a PARTITION_BY: those tables are written by pyarrow)."""
    rng = np.random.default_rng(7)
    data = pa.table({"id": pa.array(rng.permutation(400_000)), "v": pa.array(rng.random(400_000))})
    props = {"write.parquet.row-group-limit": "20000"}
    lh.create_table("d.s", data.schema, sort_by=["id DESC"], properties=props)
    lh.append("d.s", data)
    assert _writers(lh, "d.s") == {"DuckDB"}
    assert _sorted_within_each_file(lh, "d.s", reverse=True)
    lh.create_table("d.ps", data.schema, partition_by=["truncate(100000, id)"], sort_by=["id"])
    lh.append("d.ps", data)
    assert "DuckDB" not in _writers(lh, "d.ps")
    assert _sorted_within_each_file(lh, "d.ps", reverse=False)
    assert lh.sql("SELECT count(*), sum(id) FROM d.ps").fetchall() == [
        (400_000, sum(range(400_000)))
    ]


def test_row_groups_out_of_the_sort_order_are_refused(lh: dd.Lakehouse, tmp_path: Path) -> None:
    lh.create_table("d.o", pa.schema([("id", pa.int64())]), sort_by=["id"])
    path = tmp_path / "out-of-order.parquet"
    with pq.ParquetWriter(path, pa.schema([("id", pa.int64())])) as w:
        w.write_table(pa.table({"id": pa.array([10, 11, 12], pa.int64())}))
        w.write_table(pa.table({"id": pa.array([1, 2, 3], pa.int64())}))
    with pytest.raises(StorageError, match="out of the sort order on 'id'"):
        duckdb_write._check_sorted(lh.table("d.o"), pq.ParquetFile(path), str(path))
    in_order = tmp_path / "in-order.parquet"
    with pq.ParquetWriter(in_order, pa.schema([("id", pa.int64())])) as w:
        w.write_table(pa.table({"id": pa.array([1, 2, 3], pa.int64())}))
        w.write_table(pa.table({"id": pa.array([3, 11, 12], pa.int64())}))
    duckdb_write._check_sorted(lh.table("d.o"), pq.ParquetFile(in_order), str(in_order))


def test_duckdb_written_files_are_checksummed_for_deep_verify(
    lh: dd.Lakehouse, small_threshold: None
) -> None:
    lh.create_table("d.v", _data().schema, partition_by=["day(time)"])
    lh.append("d.v", _data())
    assert _writers(lh, "d.v") == {"DuckDB"}
    deep = lh.verify(deep=True)
    assert deep.ok and deep.unchecked == 0, str(deep)
    assert deep.files_hashed >= len(_files(lh, "d.v"))
    victim = Path(_files(lh, "d.v")[0].file_path.removeprefix("file://"))  # type: ignore[attr-defined]
    raw = bytearray(victim.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # same size: only the checksum can tell
    victim.write_bytes(bytes(raw))
    deep = lh.verify(deep=True)
    assert not deep.ok and [e.kind for e in deep.errors] == ["checksum-mismatch"]


def test_statistics_and_partitions_equal_pyiceberg_writer(
    lh: dd.Lakehouse, small_threshold: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same rows written by DuckDB and by pyarrow give the same DataFile metadata."""
    data = _data()
    spec = ["month(local)", "truncate(100, id)", "name"]
    for name in ("d.duck", "d.arrow"):
        lh.create_table(name, data.schema, partition_by=spec)
    lh.append("d.duck", data)
    monkeypatch.setattr(duckdb_write, "ENABLED", False)
    lh.append("d.arrow", data)
    assert _writers(lh, "d.duck") == {"DuckDB"} and _writers(lh, "d.arrow") != {"DuckDB"}

    def described(name: str) -> dict[object, tuple[object, ...]]:
        out = {}
        for f in _files(lh, name):
            key = tuple(f.partition)  # type: ignore[attr-defined]
            out[key] = (
                f.record_count,  # type: ignore[attr-defined]
                f.value_counts,  # type: ignore[attr-defined]
                f.null_value_counts,  # type: ignore[attr-defined]
                f.lower_bounds,  # type: ignore[attr-defined]
                f.upper_bounds,  # type: ignore[attr-defined]
            )
        return out

    duck, arrow = described("d.duck"), described("d.arrow")
    assert len(duck) > 100
    assert duck == arrow


def test_too_many_partitions_for_duckdb_fall_back_to_pyarrow(
    lh: dd.Lakehouse, small_threshold: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A partitioned DuckDB write keeps one writer per partition in memory; past its
    memory limit the append is written by pyarrow instead, with nothing left behind."""
    # 1,000 partitions in 1 MB (thousands of partitions in the default 1 GB behave alike).
    monkeypatch.setattr(duckdb_write, "MEMORY_LIMIT", "1MB")
    data = _data()
    lh.create_table("d.m", data.schema, partition_by=["truncate(3, id)"])
    lh.append("d.m", data)
    assert "DuckDB" not in _writers(lh, "d.m")
    assert lh.sql("SELECT count(*), sum(id) FROM d.m").fetchall() == [(N, sum(range(N)))]
    data_dir = Path(lh.table("d.m").location().removeprefix("file://"), "data")
    assert not list(data_dir.glob("dd-*/**/*.parquet"))


def test_a_parquet_path_is_read_by_duckdb(
    lh: dd.Lakehouse, tmp_path: Path, small_threshold: None
) -> None:
    data = _data()
    narrow = data.set_column(0, "id", data["id"].cast(pa.int32()))  # widened on the way
    pq.write_table(narrow, tmp_path / "in.parquet", row_group_size=500)
    lh.create_table("d.p", data.schema, partition_by=["day(time)"])
    lh.append("d.p", tmp_path / "in.parquet")
    assert _writers(lh, "d.p") == {"DuckDB"}
    assert lh.table("d.p").scan().to_arrow().sort_by("id").select(data.column_names).equals(data)


def test_required_column_with_nulls_is_refused_and_leaves_no_files(
    lh: dd.Lakehouse, tmp_path: Path
) -> None:
    schema = pa.schema([pa.field("id", pa.int64(), nullable=False), ("v", pa.string())])
    lh.create_table("d.r", schema)
    bad = pa.table({"id": pa.array([1, None, 3] * 1000, pa.int64()), "v": ["a", "b", "c"] * 1000})
    pq.write_table(bad, tmp_path / "bad.parquet")
    with pytest.raises(SchemaMismatchError, match=r"'id' is required .* 1000 null"):
        lh.append("d.r", tmp_path / "bad.parquet")
    assert lh.table("d.r").current_snapshot() is None
    data_dir = Path(lh.table("d.r").location().removeprefix("file://"), "data")
    assert not list(data_dir.rglob("*.parquet"))


def test_a_concurrent_commit_is_retried(
    lh: dd.Lakehouse, small_threshold: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer commits between our write and our commit: ours retries on the new
    head and both appends are there."""
    lh.create_table("d.c", _data(10).schema)
    write_files = duckdb_write.write_files

    def and_a_rival(*args: object, **kwargs: object) -> object:
        written = write_files(*args, **kwargs)  # type: ignore[arg-type]
        with dd.connect(lh.root) as other:
            other.append("d.c", _data(10, start=100_000))
        return written

    monkeypatch.setattr(duckdb_write, "write_files", and_a_rival)
    lh.append("d.c", _data())
    assert lh.sql("SELECT count(*), count(DISTINCT id) FROM d.c").fetchall() == [(N + 10, N + 10)]
    assert len(lh.snapshots("d.c")) == 2


_CRASH = """
import os, signal, sys
import pyarrow.parquet as pq
import doctordata as dd
from doctordata.catalog import write

def crash(table, files):
    open(sys.argv[3], "w").write("\\n".join(f.file_path for f in files))
    os.kill(os.getpid(), signal.SIGKILL)

write.commit_written = crash
with dd.connect(sys.argv[1]) as lh:
    lh.append("d.k", sys.argv[2])
"""


def test_a_crash_before_the_commit_commits_nothing_and_cleanup_removes_the_files(
    lh: dd.Lakehouse, tmp_path: Path
) -> None:
    data = _data()
    lh.create_table("d.k", data.schema, partition_by=["day(time)"])
    lh.append("d.k", _data(10, start=50_000))
    pq.write_table(data, tmp_path / "in.parquet")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    listed = tmp_path / "written.txt"
    cmd = [sys.executable, "-c", _CRASH, str(lh.root), str(tmp_path / "in.parquet"), str(listed)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert done.returncode == -signal.SIGKILL, done.stderr
    orphans = [Path(p.removeprefix("file://")) for p in listed.read_text().split()]
    assert len(orphans) > 10 and all(p.exists() for p in orphans)
    lh.table("d.k").refresh()
    assert lh.sql("SELECT count(*) FROM d.k").fetchall() == [(10,)]
    lh.maintain("d.k", compact=False, orphan_older_than="0s")
    assert not any(p.exists() for p in orphans)
    assert lh.sql("SELECT count(*) FROM d.k").fetchall() == [(10,)]


def test_the_files_of_one_write_are_fsynced_in_parallel(
    lh: dd.Lakehouse, small_threshold: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A partitioned load writes one file per partition: their fsyncs overlap, not queue.
    The first data file's fsync waits until a second one's has started; a writer that
    fsyncs one file after another never starts the second (it waits out the timeout)."""
    import threading

    from doctordata.storage import local_copy

    real = local_copy.fsync_path
    started: list[str] = []
    second = threading.Event()
    overlapped: list[bool] = []
    lock = threading.Lock()

    def fsync_path(path: str) -> None:
        if path.endswith(".parquet"):
            with lock:
                started.append(path)
                first = len(started) == 1
                if len(started) == 2:
                    second.set()
            if first:
                overlapped.append(second.wait(timeout=20))
        real(path)

    monkeypatch.setattr(local_copy, "fsync_path", fsync_path)
    lh.create_table("d.s", _data().schema, partition_by=["day(time)"])
    lh.append("d.s", _data())
    assert _writers(lh, "d.s") == {"DuckDB"} and len(_files(lh, "d.s")) > 10
    assert overlapped == [True]
    assert lh.sql("SELECT count(*) FROM d.s").fetchall() == [(N,)]


def test_every_file_and_directory_is_fsynced_and_checksummed_before_the_commit(
    lh: dd.Lakehouse, small_threshold: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from doctordata.catalog import checksums, write
    from doctordata.storage import local_copy

    real_fsync, real_commit = local_copy.fsync_path, write.commit_written
    synced: set[str] = set()
    seen: dict[str, object] = {}

    def fsync_path(path: str) -> None:
        real_fsync(path)
        synced.add(path)

    def commit_written(table: object, files: list[object]) -> None:
        paths = [f.file_path.removeprefix("file://") for f in files]  # type: ignore[attr-defined]
        seen["paths"], seen["synced"] = paths, set(synced)
        store = checksums.store_for(table.io.properties.get("uri"))  # type: ignore[attr-defined]
        assert store is not None
        seen["recorded"] = store.lookup(f.file_path for f in files)  # type: ignore[attr-defined]
        real_commit(table, files)  # type: ignore[arg-type]

    monkeypatch.setattr(local_copy, "fsync_path", fsync_path)
    monkeypatch.setattr(write, "commit_written", commit_written)
    lh.create_table("d.f", _data().schema, partition_by=["day(time)"])
    lh.append("d.f", _data())
    paths = seen["paths"]
    assert isinstance(paths, list) and len(paths) > 10
    assert _writers(lh, "d.f") == {"DuckDB"}
    synced_then = seen["synced"]
    assert isinstance(synced_then, set)
    data_dir = lh.table("d.f").location().removeprefix("file://") + "/data"
    for p in paths:
        d = os.path.dirname(p)
        assert {p, d, data_dir} <= synced_then, p
        while d != data_dir:  # every directory between the file and the data folder
            assert d in synced_then, d
            d = os.path.dirname(d)
    recorded = seen["recorded"]
    assert isinstance(recorded, dict) and len(recorded) == len(paths)
    for rec in recorded.values():
        assert rec.size > 0 and len(rec.sha256) == 64
    assert lh.verify(deep=True).ok


def test_threads_writing_at_once_share_the_writer_database(
    lh: dd.Lakehouse, small_threshold: None
) -> None:
    """Writes share one DuckDB database per process, each on its own cursor: concurrent
    appends (each registers its input under the same view name) keep their own rows."""
    import concurrent.futures

    data = {f"d.t{i}": _data(2_000, start=i * 10_000) for i in range(4)}
    for name, rows in data.items():
        lh.create_table(name, rows.schema)
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        for done in [pool.submit(lh.append, name, rows) for name, rows in data.items()]:
            done.result()
    for name, rows in data.items():
        assert _writers(lh, name) == {"DuckDB"}
        got = lh.table(name).scan().to_arrow().sort_by("id")
        assert got.select(rows.column_names).equals(rows)


def test_nested_partition_directories_and_a_new_data_folder_are_durable(
    lh: dd.Lakehouse, small_threshold: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two partition fields nest two levels of new directories under the write's folder,
    itself new under data/, new under the table directory on the first write: each
    directory's parent is fsynced holding it before the commit."""
    from doctordata.catalog import write
    from doctordata.storage import local_copy

    real_fsync, real_commit = local_copy.fsync_path, write.commit_written
    listed: dict[str, set[str]] = {}
    seen: dict[str, Any] = {}

    def fsync_path(path: str) -> None:
        names = set(os.listdir(path)) if os.path.isdir(path) else None
        real_fsync(path)
        if names is not None:
            listed.setdefault(os.path.normpath(path), set()).update(names)

    def commit_written(table: object, files: list[object]) -> None:
        seen["paths"] = [f.file_path.removeprefix("file://") for f in files]  # type: ignore[attr-defined]
        seen["listed"] = {k: set(v) for k, v in listed.items()}
        real_commit(table, files)  # type: ignore[arg-type]

    monkeypatch.setattr(local_copy, "fsync_path", fsync_path)
    monkeypatch.setattr(write, "commit_written", commit_written)
    lh.create_table("d.n", _data().schema, partition_by=["day(time)", "flag"])
    table_dir = lh.table("d.n").location().removeprefix("file://")
    assert not os.path.exists(os.path.join(table_dir, "data"))
    lh.append("d.n", _data())
    assert _writers(lh, "d.n") == {"DuckDB"}
    paths, durable = seen["paths"], seen["listed"]
    assert len(paths) > 10
    for p in paths:
        child = os.path.dirname(p)
        while child != table_dir:
            parent = os.path.dirname(child)
            assert os.path.basename(child) in durable.get(parent, set()), (parent, child)
            child = parent
