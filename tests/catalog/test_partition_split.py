"""The one-pass partition split yields what pyiceberg's per-partition filtering yields."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.transforms import BucketTransform, DayTransform, IdentityTransform

import doctordata as dd
from doctordata.catalog.speedups import partition_split

UTC = dt.UTC


def _schema(table: pa.Table) -> Schema:
    from pyiceberg.io.pyarrow import _pyarrow_to_schema_without_ids
    from pyiceberg.schema import assign_fresh_schema_ids

    return assign_fresh_schema_ids(_pyarrow_to_schema_without_ids(table.schema))


def _data() -> pa.Table:
    """500 rows in two record batches (a chunked table, as appends often get)."""
    whole = _rows()
    return pa.concat_tables([whole.slice(0, 200), whole.slice(200)])


def _rows() -> pa.Table:
    base = dt.datetime(2026, 1, 1, tzinfo=UTC)
    n = 500
    return pa.table(
        {
            "id": pa.array(range(n), pa.int64()),
            "time": pa.array(
                [None if i % 37 == 0 else base + dt.timedelta(hours=7 * i) for i in range(n)],
                pa.timestamp("us", tz="UTC"),
            ),
            "kind": pa.array(
                [None if i % 11 == 0 else ("story", "comment", "job")[i % 3] for i in range(n)]
            ),
            "score": pa.array([i % 5 for i in range(n)], pa.int32()),
        }
    )


def _spec(schema: Schema, *fields: tuple[str, Any]) -> PartitionSpec:
    return PartitionSpec(
        *(
            PartitionField(schema.find_field(col).field_id, 1000 + i, transform, f"p{i}")
            for i, (col, transform) in enumerate(fields)
        )
    )


def _as_dict(parts: Any) -> dict[tuple[Any, ...], list[dict[str, Any]]]:
    out = {}
    for part in parts:
        key = tuple(v.value for v in part.partition_key.field_values)
        assert key not in out, f"partition {key} yielded twice"
        out[key] = part.arrow_table_partition.to_pylist()
    return out


@pytest.mark.parametrize(
    "fields",
    [
        [("time", DayTransform())],
        [("kind", IdentityTransform())],
        [("kind", IdentityTransform()), ("time", DayTransform())],
        [("score", IdentityTransform()), ("id", BucketTransform(4))],
    ],
    ids=["day", "identity-with-nulls", "two-fields", "int-and-bucket"],
)
def test_same_partitions_and_rows_as_pyiceberg(fields: list[tuple[str, Any]]) -> None:
    table = _data()
    schema = _schema(table)
    spec = _spec(schema, *fields)
    ours = _as_dict(partition_split.split_partitions(spec, schema, table))
    theirs = _as_dict(partition_split.original()(spec=spec, schema=schema, arrow_table=table))
    assert ours == theirs  # same keys, same rows in the same order
    assert sum(len(rows) for rows in ours.values()) == table.num_rows
    assert len(ours) > 3


@pytest.mark.parametrize(
    "fields",
    [
        [("time", DayTransform())],
        [("kind", IdentityTransform())],
        [("kind", IdentityTransform()), ("time", DayTransform())],
        [("score", IdentityTransform()), ("id", BucketTransform(4))],
    ],
    ids=["day", "identity", "two-fields", "int-and-bucket"],
)
@pytest.mark.parametrize("rows", ["one-key", "all-null-key", "two-keys-last-row"])
def test_one_partition_is_handed_out_whole_like_pyiceberg(
    fields: list[tuple[str, Any]], rows: str
) -> None:
    """The one-partition shortcut: same key and rows as pyiceberg; a table whose last row
    differs (or a null among values) still splits."""
    base = dt.datetime(2026, 1, 1, tzinfo=UTC)
    n = 30
    time = [base + dt.timedelta(minutes=i) for i in range(n)]
    kind: list[str | None] = ["story"] * n
    score = [4] * n
    ids = [7] * n  # one bucket
    if rows == "all-null-key":
        kind = [None] * n
        time = [None] * n  # type: ignore[list-item]
    elif rows == "two-keys-last-row":
        time[-1] = base + dt.timedelta(days=3)
        kind[-1] = None
        score[-1] = 5
        ids[-1] = 1
    whole = pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "time": pa.array(time, pa.timestamp("us", tz="UTC")),
            "kind": pa.array(kind, pa.string()),
            "score": pa.array(score, pa.int32()),
        }
    )
    table = pa.concat_tables([whole.slice(0, 10), whole.slice(10)])
    schema = _schema(_rows())
    spec = _spec(schema, *fields)
    ours = _as_dict(partition_split.split_partitions(spec, schema, table))
    theirs = _as_dict(partition_split.original()(spec=spec, schema=schema, arrow_table=table))
    assert ours == theirs
    assert len(ours) == (2 if rows == "two-keys-last-row" else 1)


def test_empty_table_has_no_partitions() -> None:
    table = _data().slice(0, 0)
    schema = _schema(table)
    assert (
        list(
            partition_split.split_partitions(_spec(schema, ("time", DayTransform())), schema, table)
        )
        == []
    )


def test_nan_partition_values_keep_their_rows() -> None:
    # An equality filter never matches NaN, so pyiceberg's split drops these rows.
    table = pa.table({"x": pa.array([1.5, math.nan, 1.5, math.nan], pa.float64())})
    schema = _schema(table)
    parts = list(
        partition_split.split_partitions(_spec(schema, ("x", IdentityTransform())), schema, table)
    )
    assert sum(p.arrow_table_partition.num_rows for p in parts) == 4


def test_appends_use_it_and_read_back(tmp_path: Path) -> None:
    with dd.connect(tmp_path / "lake") as lh:
        assert partition_split.install()
        import pyiceberg.io.pyarrow as arrow_io

        assert arrow_io._determine_partitions is partition_split.split_partitions
        lh.create_namespace("p")
        lh.create_table("p.t", _data(), partition_by=["day(time)", "kind"])
        back = lh.table("p.t").scan().to_arrow().sort_by("id")
        assert back.equals(_data().cast(back.schema))
        files = lh.table("p.t").inspect.files()
        # One file per distinct (day, kind), nulls included.
        keys = {(r["time_day"], r["kind"]) for r in files.column("partition").to_pylist()}
        assert len(keys) == files.num_rows
