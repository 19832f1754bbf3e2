"""Iceberg sort orders: every write (append, overwrite, create, compaction) sorts each file."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import doctordata as dd
from doctordata.errors import DoctorDataError, SchemaMismatchError


def _rows(n: int, seed: int) -> pa.Table:
    rnd = random.Random(seed)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    ids = [rnd.randrange(1_000_000) for _ in range(n)]
    ids[rnd.randrange(n)] = None  # type: ignore[call-overload]
    return pa.table(
        {
            "time": pa.array(
                [start + dt.timedelta(hours=rnd.randrange(72)) for _ in range(n)],
                pa.timestamp("us", tz="UTC"),
            ),
            "id": pa.array(ids, pa.int64()),
            "v": pa.array([rnd.random() for _ in range(n)], pa.float64()),
        }
    )


def _files(lh: dd.Lakehouse, name: str) -> list[pa.Table]:
    return [
        pq.read_table(t.file.file_path.removeprefix("file://"))
        for t in lh.table(name).scan().plan_files()
    ]


def _is_sorted(data: pa.Table, keys: list[tuple[str, str, str]]) -> bool:
    order = pc.sort_indices(data, sort_keys=keys)
    return bool(order.equals(pa.array(range(data.num_rows), order.type)))


def test_create_with_sort_by_sorts_every_file_of_every_partition(lh: dd.Lakehouse) -> None:
    lh.create_table("s.t", _rows(500, 1), partition_by=["day(time)"], sort_by=["time", "id"])
    lh.append("s.t", _rows(700, 2))
    files = _files(lh, "s.t")
    assert len(files) == 6  # 3 days x 2 writes
    keys = [("time", "ascending", "at_end"), ("id", "ascending", "at_end")]
    assert all(_is_sorted(f, keys) for f in files)
    assert sum(f.num_rows for f in files) == 1200
    # Readers see every row, whatever order the files are in.
    assert lh.sql("SELECT count(*), sum(v) FROM s.t").fetchall()[0][0] == 1200


def test_set_sort_order_desc_nulls_first_applies_to_later_writes(lh: dd.Lakehouse) -> None:
    lh.create_table("s.t", _rows(300, 3))
    lh.set_sort_order("s.t", ["id DESC NULLS FIRST"])
    from doctordata.catalog.sort_order import describe

    assert describe(lh.table("s.t")) == ["id DESC NULLS FIRST"]
    lh.append("s.t", _rows(400, 4))
    lh.overwrite("s.t", _rows(200, 5), where="time < '2026-01-02'")
    newest = lh.table("s.t").current_snapshot()
    assert newest is not None
    written = [
        pq.read_table(t.file.file_path.removeprefix("file://"))
        for t in lh.table("s.t").scan().plan_files()
        if t.file.record_count in (400, 200)
    ]
    assert written
    for f in written:
        assert f.column("id")[0].as_py() is None  # the null first
        assert _is_sorted(f, [("id", "descending", "at_start")])
    lh.set_sort_order("s.t", None)
    assert lh.table("s.t").sort_order().is_unsorted


def test_compaction_writes_files_in_the_sort_order(lh: dd.Lakehouse) -> None:
    lh.create_table("s.t", pa.schema([("time", pa.timestamp("us", tz="UTC")), ("id", pa.int64())]))
    for seed in range(8):  # eight small unsorted files
        lh.append("s.t", _rows(100, seed).select(["time", "id"]))
    lh.set_sort_order("s.t", ["id"])
    report = lh.maintain("s.t", expire_older_than="0s", orphan_older_than="1d")
    assert report is not None
    files = _files(lh, "s.t")
    assert len(files) == 1
    assert files[0].num_rows == 800
    assert _is_sorted(files[0], [("id", "ascending", "at_end")])


def test_sorted_files_let_duckdb_skip_row_groups(lh: dd.Lakehouse) -> None:
    ids = list(range(200_000))
    random.Random(7).shuffle(ids)
    data = pa.table({"id": pa.array(ids, pa.int64()), "x": pa.array(ids, pa.int64())})
    props = {"write.parquet.row-group-limit": "10000"}
    lh.create_table("s.sorted", data, sort_by=["id"], properties=props)
    lh.create_table("s.unsorted", data, properties=props)
    (f,) = [t.file for t in lh.table("s.sorted").scan().plan_files()]
    meta = pq.ParquetFile(f.file_path.removeprefix("file://")).metadata
    assert meta.num_row_groups == 20
    ranges = [meta.row_group(i).column(0).statistics for i in range(meta.num_row_groups)]
    assert all(a.max < b.min for a, b in itertools.pairwise(ranges))
    q = "SELECT x FROM s.{} WHERE id = 123456"
    assert lh.sql(q.format("sorted")).fetchall() == lh.sql(q.format("unsorted")).fetchall()


@pytest.mark.parametrize(
    ("sort_by", "needle"),
    [
        (["nope"], "'nope' is not a column"),
        (["id sideways"], "is not of the form"),
        (["id", "id DESC"], "names column 'id' twice"),
        (["tags"], "only primitive columns"),
    ],
)
def test_bad_sort_terms_are_refused_before_anything_is_created(
    lh: dd.Lakehouse, sort_by: list[str], needle: str
) -> None:
    schema = pa.schema([("id", pa.int64()), ("tags", pa.list_(pa.string()))])
    with pytest.raises(SchemaMismatchError, match=needle):
        lh.create_table("s.bad", schema, sort_by=sort_by)
    assert "s.bad" not in lh.tables()
    lh.create_table("s.ok", schema)
    with pytest.raises(DoctorDataError, match=needle):
        lh.set_sort_order("s.ok", sort_by)
    assert lh.table("s.ok").sort_order().is_unsorted


def test_sort_order_survives_reopen(tmp_path: Path) -> None:
    with dd.connect(tmp_path / "lake") as lh:
        lh.create_table("s.t", pa.schema([("id", pa.int64())]), sort_by=["id DESC"])
    with dd.connect(tmp_path / "lake") as lh:
        lh.append("s.t", pa.table({"id": pa.array([3, 1, 2], pa.int64())}))
        assert [f.column("id").to_pylist() for f in _files(lh, "s.t")] == [[3, 2, 1]]
