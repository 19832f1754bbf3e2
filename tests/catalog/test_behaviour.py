"""Catalog behaviour, run on every backend (SQLite file and a real Postgres)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import doctordata as dd
from doctordata.errors import (
    AlreadyExistsError,
    NamespaceNotEmptyError,
    NamespaceNotFoundError,
    PartitionSpecError,
    SchemaMismatchError,
    SnapshotNotFoundError,
    TableNotFoundError,
    WhereClauseError,
)
from tests.catalog.data import items


def ids(lh: dd.Lakehouse, name: str, **kw: object) -> list[int]:
    return sorted(lh.read(name, **kw).column("id").to_pylist())  # type: ignore[arg-type]


def test_namespaces_create_list_drop(clh: dd.Lakehouse) -> None:
    clh.create_namespace("raw")
    clh.create_namespace("marts")
    assert clh.namespaces() == ["marts", "raw"]
    with pytest.raises(AlreadyExistsError):
        clh.create_namespace("raw", exist_ok=False)
    clh.create_table("raw.t", items(range(3)))
    with pytest.raises(NamespaceNotEmptyError, match=r"raw\.t"):
        clh.drop_namespace("raw")
    clh.drop_namespace("marts")
    assert clh.namespaces() == ["raw"]
    with pytest.raises(NamespaceNotFoundError, match="create it with"):
        clh.tables("nope")


@pytest.mark.parametrize("kind", ["arrow", "reader", "pandas", "polars", "schema"])
def test_create_from_every_input_kind(clh: dd.Lakehouse, kind: str) -> None:
    data = items(range(10))
    source: object = {
        "arrow": data,
        "reader": pa.RecordBatchReader.from_batches(data.schema, data.to_batches()),
        "pandas": data.to_pandas(),
        "polars": pl.from_arrow(data),
        "schema": data.schema,
    }[kind]
    clh.create_table("raw.items", source, partition_by=["day(time)"])
    expected = [] if kind == "schema" else list(range(10))
    assert ids(clh, "raw.items") == expected
    assert clh.tables() == ["raw.items"]
    assert [f.name for f in clh.table("raw.items").schema().fields] == data.column_names


@pytest.mark.parametrize(
    "spec, field",
    [
        ("type", "type"),
        ("identity(type)", "type"),
        ("year(time)", "time_year"),
        ("month(time)", "time_month"),
        ("day(time)", "time_day"),
        ("hour(time)", "time_hour"),
        ("bucket(4, id)", "id_bucket_4"),
        ("truncate(3, type)", "type_trunc_3"),
    ],
)
def test_partition_transforms(clh: dd.Lakehouse, spec: str, field: str) -> None:
    table = clh.create_table("raw.p", items(range(20)), partition_by=[spec])
    assert [f.name for f in table.spec().fields] == [field]
    assert ids(clh, "raw.p") == list(range(20))
    files = list(table.scan().plan_files())
    assert len(files) >= 1


def test_partition_pruning_plans_fewer_files(clh: dd.Lakehouse) -> None:
    table = clh.create_table("raw.p", items(range(40)), partition_by=["day(time)"])
    all_files = len(list(table.scan().plan_files()))
    from doctordata.catalog.filters import where_to_expression

    expr = where_to_expression("time < '2026-01-02'", table.schema())
    pruned = len(list(table.scan(row_filter=expr).plan_files()))
    assert all_files == 10 and pruned == 1


def test_exist_ok(clh: dd.Lakehouse) -> None:
    clh.create_table("raw.t", items(range(3)))
    with pytest.raises(AlreadyExistsError, match="exist_ok=True"):
        clh.create_table("raw.t", items(range(3)))
    clh.create_table("raw.t", items(range(3, 5)), exist_ok=True)
    assert ids(clh, "raw.t") == [0, 1, 2, 3, 4]


def test_append_overwrite_delete(clh: dd.Lakehouse) -> None:
    clh.create_table("raw.t", items(range(10)), partition_by=["day(time)"])
    clh.append("raw.t", items(range(10, 15)))
    assert ids(clh, "raw.t") == list(range(15))
    clh.overwrite("raw.t", items([100, 101]), where="id < 5")
    assert ids(clh, "raw.t") == [*range(5, 15), 100, 101]
    clh.delete("raw.t", "id >= 100 OR type = 'comment'")
    assert ids(clh, "raw.t") == [i for i in range(5, 15) if i % 3]
    clh.overwrite("raw.t", items([7]))
    assert ids(clh, "raw.t") == [7]


def test_upsert_counts_and_values(clh: dd.Lakehouse) -> None:
    clh.create_table("raw.t", items(range(5)), partition_by=["day(time)"])
    changed = items([3, 4, 5]).set_column(2, "type", pa.array(["x", "x", "x"]))
    result = clh.upsert("raw.t", changed, on=["id"])
    assert (result.rows_updated, result.rows_inserted) == (2, 1)
    rows = clh.read("raw.t").sort_by("id").to_pydict()
    assert rows["id"] == [0, 1, 2, 3, 4, 5]
    assert rows["type"][3:] == ["x", "x", "x"]
    # Re-running the same upsert changes nothing: no duplicates.
    clh.upsert("raw.t", changed, on=["id"])
    assert ids(clh, "raw.t") == [0, 1, 2, 3, 4, 5]


def test_upsert_after_rename(clh: dd.Lakehouse) -> None:
    clh.create_table("raw.t", items(range(3)))
    with clh.table("raw.t").update_schema() as update:
        update.rename_column("type", "kind")
    clh.upsert("raw.t", pa.table({"id": pa.array([1], pa.int64()), "kind": ["k"]}), on=["id"])
    rows = clh.read("raw.t").sort_by("id").to_pydict()
    assert rows["kind"] == ["comment", "k", "story"]


def test_upsert_bad_input(clh: dd.Lakehouse) -> None:
    clh.create_table("raw.t", items(range(3)))
    with pytest.raises(SchemaMismatchError, match="duplicate"):
        clh.upsert("raw.t", items([1, 1]), on=["id"])
    with pytest.raises(SchemaMismatchError, match="not a column"):
        clh.upsert("raw.t", items([1]), on=["idd"])
    assert ids(clh, "raw.t") == [0, 1, 2]


def test_add_files_and_refuse_duplicates(clh: dd.Lakehouse, tmp_path: Path) -> None:
    clh.create_table("raw.t", items(range(3)).schema)
    path = Path(clh.hot_tier.root) / "imports" / "extra.parquet"  # below a tier root
    path.parent.mkdir(parents=True)
    pq.write_table(items(range(50, 53)), path)
    clh.add_files("raw.t", [str(path)])
    assert ids(clh, "raw.t") == [50, 51, 52]
    with pytest.raises(AlreadyExistsError, match="already in table"):
        clh.add_files("raw.t", [str(path)])
    with pytest.raises(SchemaMismatchError, match="no such file"):
        clh.add_files("raw.t", [str(tmp_path / "missing.parquet")])
    assert ids(clh, "raw.t") == [50, 51, 52]


def test_drop_and_purge(clh: dd.Lakehouse) -> None:
    clh.create_table("raw.keep", items(range(3)))
    clh.create_table("raw.gone", items(range(3)))
    keep_files = [t.file.file_path for t in clh.table("raw.keep").scan().plan_files()]
    gone_files = [t.file.file_path for t in clh.table("raw.gone").scan().plan_files()]
    clh.drop_table("raw.keep")
    clh.drop_table("raw.gone", purge=True)
    assert clh.tables() == []
    assert all(os.path.exists(p.removeprefix("file://")) for p in keep_files)
    assert not any(os.path.exists(p.removeprefix("file://")) for p in gone_files)
    with pytest.raises(TableNotFoundError):
        clh.drop_table("raw.keep")


def test_rename(clh: dd.Lakehouse) -> None:
    clh.create_table("raw.a", items(range(3)))
    clh.rename_table("raw.a", "marts.b")
    assert clh.tables() == ["marts.b"]
    assert ids(clh, "marts.b") == [0, 1, 2]
    clh.create_table("raw.c", items(range(1)))
    with pytest.raises(AlreadyExistsError):
        clh.rename_table("raw.c", "marts.b")


def test_schema_evolution(clh: dd.Lakehouse) -> None:
    clh.create_table("raw.t", items(range(3)))
    table = clh.table("raw.t")
    with table.update_schema() as update:
        update.add_column("note", __import__("pyiceberg.types").types.StringType())
        update.rename_column("type", "kind")
        update.delete_column("time")
        update.update_column("score", __import__("pyiceberg.types").types.LongType())
    rows = clh.read("raw.t").sort_by("id")
    assert rows.column_names == ["id", "kind", "score", "note"]
    assert rows.column("kind").to_pylist() == ["comment", "story", "story"]
    assert rows.schema.field("score").type == pa.int64()
    assert rows.column("note").null_count == 3
    # evolve=True adds new columns from the data; without it the error names them.
    extra = pa.table({"id": pa.array([9], pa.int64()), "flag": [True]})
    with pytest.raises(SchemaMismatchError, match=r"flag.*evolve=True"):
        clh.append("raw.t", extra)
    clh.append("raw.t", extra, evolve=True)
    assert clh.read("raw.t", where="flag").column("id").to_pylist() == [9]


def test_partition_evolution(clh: dd.Lakehouse) -> None:
    clh.create_table("raw.t", items(range(8)), partition_by=["month(time)"])
    clh.evolve_partitions("raw.t", add=["day(time)"], remove=["month(time)"])
    clh.append("raw.t", items(range(8, 12)))
    table = clh.table("raw.t")
    assert [f.name for f in table.spec().fields] == ["time_day"]
    assert ids(clh, "raw.t") == list(range(12))
    assert ids(clh, "raw.t", where="time >= '2026-01-03'") == list(range(8, 12))
    with pytest.raises(PartitionSpecError, match="not a partition field"):
        clh.evolve_partitions("raw.t", remove=["year(time)"])


def test_snapshots_time_travel_tags_branches_rollback(clh: dd.Lakehouse) -> None:
    clh.create_table("raw.t", items(range(3)))
    first = clh.snapshots("raw.t")[-1]
    clh.tag("raw.t", "v1")
    clh.append("raw.t", items(range(3, 6)))
    clh.delete("raw.t", "id = 0")
    snaps = clh.snapshots("raw.t")
    # deleting some rows of a file rewrites it: an "overwrite" snapshot
    assert [s["operation"] for s in snaps] == ["append", "append", "overwrite"]
    assert snaps[0]["refs"] == ["v1"] and snaps[-1]["current"]
    assert ids(clh, "raw.t", as_of=first["snapshot_id"]) == [0, 1, 2]
    assert ids(clh, "raw.t", as_of="v1") == [0, 1, 2]
    assert ids(clh, "raw.t", as_of=snaps[1]["timestamp"]) == list(range(6))
    assert ids(clh, "raw.t") == list(range(1, 6))
    clh.branch("raw.t", "experiment", as_of="v1")
    assert "experiment" in clh.table("raw.t").metadata.refs
    clh.rollback("raw.t", "v1")
    assert ids(clh, "raw.t") == [0, 1, 2]
    with pytest.raises(SnapshotNotFoundError, match="no snapshot 123456789"):
        clh.read("raw.t", as_of=123456789012)
    with pytest.raises(SnapshotNotFoundError, match="history starts"):
        clh.read("raw.t", as_of=dt.datetime(2000, 1, 1))


def test_unknown_table_suggests(clh: dd.Lakehouse) -> None:
    clh.create_table("hackernews.items", items(range(1)))
    with pytest.raises(TableNotFoundError, match=r"Did you mean: hackernews\.items"):
        clh.table("hackernews.itemz")
    with pytest.raises(TableNotFoundError, match=r"hackernews\.items"):
        clh.append("hn.items", items(range(1)))


def test_incompatible_append_lists_columns_and_commits_nothing(clh: dd.Lakehouse) -> None:
    clh.create_table("raw.t", items(range(3)))
    before = len(clh.snapshots("raw.t"))
    bad = pa.table({"id": ["x"], "time": [1.5], "unknown": [1]})
    with pytest.raises(SchemaMismatchError) as err:
        clh.append("raw.t", bad)
    text = str(err.value)
    assert "id (data string, table long)" in text and "unknown" in text and "time" in text
    assert len(clh.snapshots("raw.t")) == before
    with pytest.raises(SchemaMismatchError, match="cannot write data of type"):
        clh.append("raw.t", [1, 2, 3])


@pytest.mark.parametrize(
    "spec, message",
    [
        ("day(nope)", "no column 'nope'"),
        ("day(type)", "cannot apply to column 'type'"),
        ("bucket(id)", "takes a positive number"),
        ("zorder(id)", "unknown transform"),
        ("day(time", "cannot be parsed"),
        ("", "empty"),
    ],
)
def test_bad_partition_spec(clh: dd.Lakehouse, spec: str, message: str) -> None:
    with pytest.raises(PartitionSpecError, match=message):
        clh.create_table("raw.t", items(range(3)), partition_by=[spec])
    assert clh.tables() == []


@pytest.mark.parametrize(
    "where, message",
    [
        ("id >", "not a valid SQL condition"),
        ("lower(type) = 'a'", "must compare one column"),
        ("nope = 1", "no column 'nope'"),
        ("id IN (SELECT 1)", "IN \\(subquery\\)"),
        ("type LIKE '%x'", "only LIKE 'prefix%'"),
        ("time < 'yesterday'", "not a valid timestamp"),
        ("1; DROP TABLE x", "single condition|not a valid"),
        ("", "empty"),
    ],
)
def test_bad_where(clh: dd.Lakehouse, where: str, message: str) -> None:
    clh.create_table("raw.t", items(range(3)))
    with pytest.raises(WhereClauseError, match=message):
        clh.delete("raw.t", where)
    assert ids(clh, "raw.t") == [0, 1, 2]


@pytest.mark.parametrize(
    "where, expected",
    [
        ("id BETWEEN 2 AND 4", [2, 3, 4]),
        ("id IN (1, 5) OR id IS NULL", [1, 5]),
        ("NOT (id IN (1, 2, 3, 4, 5, 6))", [0, 7]),
        ("type LIKE 'com%'", [0, 3, 6]),
        ("NOT type LIKE 'com%' AND id > 5", [7]),
        ("score IS NOT NULL AND 3 > id", [0, 1, 2]),
        ("time >= TIMESTAMP '2026-01-02 00:00:00'", [4, 5, 6, 7]),
        ("time < CAST('2026-01-01 12:00' AS TIMESTAMP)", [0, 1]),
    ],
)
def test_where_forms(clh: dd.Lakehouse, where: str, expected: list[int]) -> None:
    clh.create_table("raw.t", items(range(8)), partition_by=["day(time)"])
    assert ids(clh, "raw.t", where=where) == expected


def test_pandas_nanosecond_and_small_ints_are_normalised(clh: dd.Lakehouse) -> None:
    frame = pd.DataFrame(
        {
            "id": pd.Series([1, 2], dtype="uint8"),
            "time": pd.to_datetime(["2026-01-01", "2026-01-02"]),
        }
    )
    clh.create_table("raw.t", frame, partition_by=["day(time)"])
    out = clh.read("raw.t")
    assert out.schema.field("time").type == pa.timestamp("us")
    assert sorted(out.column("id").to_pylist()) == [1, 2]


def test_list_and_struct_columns_append_and_upsert(clh: dd.Lakehouse) -> None:
    data = pa.table(
        {
            "id": pa.array([1, 2], pa.int64()),
            "kids": pa.array([[10, 11], None], pa.list_(pa.int64())),
            "meta": pa.array([{"a": 1}, {"a": 2}], pa.struct([("a", pa.int32())])),
        }
    )
    clh.create_table("raw.nested", data)
    clh.append("raw.nested", data.slice(0, 1).set_column(0, "id", pa.array([3], pa.int64())))
    clh.upsert(
        "raw.nested",
        data.slice(1, 1).set_column(1, "kids", pa.array([[7]], pa.list_(pa.int64()))),
        on=["id"],
    )
    rows = clh.read("raw.nested").sort_by("id").to_pydict()
    assert rows["id"] == [1, 2, 3]
    assert rows["kids"] == [[10, 11], [7], [10, 11]]
