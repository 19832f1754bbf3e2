"""Issue #20 item 9: tags, branch appends, describe's spec, timestamps, required columns, sizes."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from doctordata.commands.basic import describe_table
from doctordata.config import parse_size
from doctordata.errors import (
    AlreadyExistsError,
    ConfigError,
    SchemaMismatchError,
    SnapshotNotFoundError,
)


def _ids(lh: Any, name: str, as_of: Any = None) -> list[int]:
    return [r[0] for r in lh.sql(f"SELECT id FROM {name} ORDER BY id", as_of=as_of).fetchall()]


def test_retagging_refuses_unless_forced(lh: Any) -> None:
    lh.create_table("db.t", pa.table({"id": [1]}))
    lh.tag("db.t", "v1")
    lh.tag("db.t", "v1")  # the same snapshot again: nothing moves, no error
    lh.append("db.t", pa.table({"id": [2]}))
    with pytest.raises(AlreadyExistsError, match="force=True"):
        lh.tag("db.t", "v1")
    assert _ids(lh, "db.t", as_of="v1") == [1]
    with pytest.raises(AlreadyExistsError, match="is a branch"):
        lh.tag("db.t", "main", force=True)
    lh.tag("db.t", "v1", force=True)
    assert _ids(lh, "db.t", as_of="v1") == [1, 2]


def test_append_to_a_branch(lh: Any) -> None:
    lh.create_table("db.t", pa.table({"id": [1]}))
    lh.branch("db.t", "exp")
    lh.append("db.t", pa.table({"id": [2, 3]}), branch="exp")
    assert _ids(lh, "db.t") == [1]
    assert _ids(lh, "db.t", as_of="exp") == [1, 2, 3]
    lh.append("db.t", pa.table({"id": [4]}))
    assert _ids(lh, "db.t") == [1, 4]
    assert _ids(lh, "db.t", as_of="exp") == [1, 2, 3]
    with pytest.raises(SnapshotNotFoundError, match=r"lh.branch\('db.t', 'nope'\)"):
        lh.append("db.t", pa.table({"id": [5]}), branch="nope")
    lh.tag("db.t", "v1")
    with pytest.raises(SnapshotNotFoundError, match="is a tag"):
        lh.append("db.t", pa.table({"id": [5]}), branch="v1")
    assert _ids(lh, "db.t") == [1, 4]


def test_describe_names_spec_columns(lh: Any) -> None:
    data = pa.table(
        {
            "id": pa.array([1], pa.int64()),
            "time": pa.array([pd.Timestamp("2026-01-01")], pa.timestamp("us")),
            "kind": ["a"],
            "src": ["b"],
        }
    )
    specs = ["month(time)", "bucket(16, id)", "truncate(4, kind)", "src"]
    lh.create_table("db.t", data, partition_by=specs)
    assert describe_table(lh, "db.t")["partition_spec"] == specs


def _stamped(lh: Any) -> None:
    lh.create_table(
        "db.ts",
        pa.table(
            {
                "id": pa.array([1], pa.int64()),
                "naive": pa.array([pd.Timestamp("2026-01-01 12:00")], pa.timestamp("us")),
                "utc": pa.array(
                    [pd.Timestamp("2026-01-01 12:00", tz="UTC")], pa.timestamp("us", "UTC")
                ),
            }
        ),
    )


def test_pandas_timestamps_convert_to_the_column_type(lh: Any) -> None:
    _stamped(lh)
    df = pd.DataFrame(
        {
            "id": [2],
            "naive": pd.to_datetime(["2026-01-02 08:00"]).astype("datetime64[ns]"),
            "utc": pd.to_datetime(["2026-01-02 09:00"]).tz_localize("Europe/Berlin"),
        }
    )
    lh.append("db.ts", df)
    got = lh.sql("SELECT id, naive, epoch(utc) FROM db.ts ORDER BY id").fetchall()
    assert got[1][1] == pd.Timestamp("2026-01-02 08:00").to_pydatetime()
    assert got[1][2] == pd.Timestamp("2026-01-02 08:00", tz="UTC").timestamp()


def test_timestamps_that_cannot_convert_name_the_column(lh: Any) -> None:
    _stamped(lh)
    naive_into_tz = pd.DataFrame(
        {"id": [2], "naive": [pd.Timestamp("2026-01-02")], "utc": [pd.Timestamp("2026-01-02")]}
    )
    with pytest.raises(SchemaMismatchError, match=r"'utc' is TIMESTAMPTZ.*tz_localize"):
        lh.append("db.ts", naive_into_tz)
    aware_into_naive = pd.DataFrame(
        {
            "id": [2],
            "naive": [pd.Timestamp("2026-01-02", tz="UTC")],
            "utc": [pd.Timestamp("2026-01-02", tz="UTC")],
        }
    )
    with pytest.raises(SchemaMismatchError, match=r"'naive' is TIMESTAMP \(without"):
        lh.append("db.ts", aware_into_naive)
    nanos = pd.DataFrame(
        {
            "id": [2],
            "naive": [pd.Timestamp("2026-01-02 00:00:00.000000001")],
            "utc": [pd.Timestamp("2026-01-02", tz="UTC")],
        }
    )
    with pytest.raises(SchemaMismatchError, match=r"column .naive. .*would lose data"):
        lh.append("db.ts", nanos)
    assert lh.sql("SELECT count(*) FROM db.ts").fetchall() == [(1,)]


def test_computed_column_appends_to_a_required_column(lh: Any) -> None:
    schema = pa.schema([pa.field("id", pa.int64(), nullable=False), pa.field("v", pa.float64())])
    lh.create_table("db.r", pa.table({"id": [1, 2], "v": [1.0, 2.0]}, schema=schema))
    data = lh.table("db.r").scan().to_arrow()
    shifted = data.set_column(0, "id", pc.add(data["id"], 10))  # a nullable field now
    assert shifted.schema.field("id").nullable
    lh.append("db.r", shifted)
    assert _ids(lh, "db.r") == [1, 2, 11, 12]
    holed = pa.table({"id": pa.array([None, 5], pa.int64()), "v": [0.0, 0.0]})
    with pytest.raises(SchemaMismatchError, match=r"column 'id' is required.*1 null"):
        lh.append("db.r", holed)
    assert _ids(lh, "db.r") == [1, 2, 11, 12]


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("500GB", 500 * 10**9),
        ("500 gb", 500 * 10**9),
        ("2TB", 2 * 10**12),
        ("10MB", 10 * 10**6),
        ("20GiB", 20 * 2**30),
        ("1.5TiB", int(1.5 * 2**40)),
        ("512MiB", 512 * 2**20),
        ("4096", 4096),
        (4096, 4096),
    ],
)
def test_sizes_are_si_or_binary_as_written(text: Any, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("bad", ["GB", "-1GB", "5 GiBB", "1e3GB", True])
def test_bad_sizes_are_config_errors(bad: Any) -> None:
    with pytest.raises(ConfigError, match="500GB"):
        parse_size(bad)
