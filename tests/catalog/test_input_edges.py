"""Edge values of user data: NaN upsert keys (DuckDB's MERGE semantics), uint64 into long."""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

import doctordata as dd
from doctordata.catalog import tables
from doctordata.errors import SchemaMismatchError, TableNotFoundError

NAN = float("nan")


def _rows(table: pa.Table) -> list[tuple]:
    """Sortable rows; NaN spelled out so it compares equal to itself."""
    rows = [
        tuple("NaN" if isinstance(v, float) and math.isnan(v) else v for v in row.values())
        for row in table.to_pylist()
    ]
    return sorted(rows, key=repr)


def _duckdb_merge(initial: pa.Table, batch: pa.Table, on: list[str]) -> pa.Table:
    con = duckdb.connect()
    con.register("initial_rows", initial)
    con.register("batch_rows", batch)
    con.execute("CREATE TABLE t AS SELECT * FROM initial_rows")
    cond = " AND ".join(f"t.{k} = s.{k}" for k in on)
    con.execute(
        f"MERGE INTO t USING batch_rows s ON {cond} "
        "WHEN MATCHED THEN UPDATE SET v = s.v WHEN NOT MATCHED THEN INSERT BY NAME"
    )
    return con.execute("SELECT * FROM t").arrow().read_all()


@pytest.mark.parametrize(
    ("initial", "batch", "on"),
    [
        (
            pa.table({"k": [1.0, NAN, 2.0], "v": ["a", "b", "c"]}),
            pa.table({"k": [NAN, 3.0, 2.0], "v": ["B", "D", "C"]}),
            ["k"],
        ),
        (
            pa.table({"k": [NAN, 2.0], "v": ["only", "c"]}),
            pa.table({"k": [NAN], "v": ["again"]}),
            ["k"],
        ),
        (
            pa.table({"k": [1.0, 2.0], "v": ["a", "c"]}),
            pa.table({"k": [NAN], "v": ["new"]}),
            ["k"],
        ),
        (
            pa.table({"k": [NAN, NAN, 1.0], "s": ["x", "y", "x"], "v": ["a", "b", "c"]}),
            pa.table({"k": [NAN, 1.0, NAN], "s": ["y", "y", "z"], "v": ["B", "N", "Z"]}),
            ["k", "s"],
        ),
    ],
    ids=["nan-and-others", "nan-only", "nan-new", "two-keys"],
)
def test_upsert_on_nan_keys_matches_duckdb_merge(
    lh: dd.Lakehouse, initial: pa.Table, batch: pa.Table, on: list[str]
) -> None:
    lh.create_table("f.t", initial)
    lh.upsert("f.t", batch, on=on)
    assert _rows(lh.read("f.t")) == _rows(_duckdb_merge(initial, batch, on))


def test_stale_upserts_of_a_new_nan_key_do_not_duplicate(lh: dd.Lakehouse) -> None:
    lh.create_table("f.t", pa.table({"k": [1.0], "v": ["a"]}))
    first, second = lh.table("f.t"), lh.table("f.t")  # both read before either commits
    tables.upsert(first, pa.table({"k": [NAN], "v": ["x"]}), on=["k"])
    tables.upsert(second, pa.table({"k": [NAN], "v": ["y"]}), on=["k"])
    assert _rows(lh.read("f.t")) == [("NaN", "y"), (1.0, "a")]


def test_upsert_with_two_nan_keys_in_the_batch_is_a_duplicate(lh: dd.Lakehouse) -> None:
    lh.create_table("f.t", pa.table({"k": [1.0], "v": ["a"]}))
    with pytest.raises(SchemaMismatchError, match="duplicate values"):
        lh.upsert("f.t", pa.table({"k": [NAN, NAN], "v": ["x", "y"]}), on=["k"])
    assert lh.read("f.t").num_rows == 1


def test_uint64_that_fits_is_stored_as_long(lh: dd.Lakehouse) -> None:
    lh.create_table("u.t", pa.table({"id": pa.array([1], pa.int64())}))
    lh.append("u.t", pa.table({"id": pa.array([2, 2**63 - 1], pa.uint64())}))
    assert sorted(lh.read("u.t").column("id").to_pylist()) == [1, 2, 2**63 - 1]


def test_uint64_above_long_is_refused_naming_the_column(lh: dd.Lakehouse) -> None:
    lh.create_table("u.t", pa.table({"id": pa.array([1], pa.int64())}))
    big = pa.table({"id": pa.array([3, 2**64 - 1], pa.uint64())})
    for write in (
        lambda: lh.append("u.t", big),
        lambda: lh.upsert("u.t", big, on=["id"]),
        lambda: lh.overwrite("u.t", big),
    ):
        with pytest.raises(SchemaMismatchError, match=r"column 'id'.*18446744073709551615"):
            write()
    assert lh.read("u.t").column("id").to_pylist() == [1]


def test_create_table_from_too_large_uint64_leaves_no_table(
    lh: dd.Lakehouse, tmp_path: Path
) -> None:
    with pytest.raises(SchemaMismatchError, match=r"column 'n'.*decimal128"):
        lh.create_table("u.t2", pa.table({"n": pa.array([2**63], pa.uint64())}))
    with pytest.raises(TableNotFoundError):
        lh.table("u.t2")
