"""Serving copies (publish), engine-native tables, engine 'auto' and delete files."""

from __future__ import annotations

import os
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from doctordata.errors import SnapshotNotFoundError, TableNotFoundError, UnsupportedSQLError

pytestmark = pytest.mark.clickhouse

CLICKHOUSE_TARGETS = ["chdb", "clickhouse-http"]


@pytest.mark.parametrize("target", CLICKHOUSE_TARGETS)
def test_publish_serves_only_while_fresh(connect: Any, target: str) -> None:
    lh = connect(target)
    lh.create_namespace("pub")
    lh.create_table("pub.t", pa.table({"a": pa.array([1, 2, 3], pa.int64()), "b": ["x", "y", "z"]}))
    report = lh.publish("pub.t")
    assert (report.rows, report.engine) == (3, "clickhouse")
    res = lh.sql("SELECT sum(a) FROM pub.t", engine="clickhouse")
    assert res.fetchall() == [(6,)]
    assert res.stats.scans[0].source == "serving-copy"
    assert "file(" not in res.stats.translated_sql
    # A new snapshot makes the copy stale: the router reads the files again.
    lh.append("pub.t", pa.table({"a": pa.array([4], pa.int64()), "b": ["w"]}))
    stale = lh.sql("SELECT sum(a) FROM pub.t", engine="clickhouse")
    assert stale.fetchall() == [(10,)]
    assert stale.stats.scans[0].source == "files"
    # Refreshing swaps the copy in place.
    assert lh.publish("pub.t").rows == 4
    assert lh.sql("SELECT sum(a) FROM pub.t", engine="clickhouse").stats.scans[0].source == (
        "serving-copy"
    )
    # Time travel never uses the copy.
    first = lh.snapshots("pub.t")[0]["snapshot_id"]
    old = lh.sql("SELECT sum(a) FROM pub.t", engine="clickhouse", as_of=first)
    assert old.fetchall() == [(6,)]
    assert old.stats.scans[0].source == "files"


def test_publish_failures(connect: Any) -> None:
    lh = connect("chdb")
    lh.create_namespace("pub")
    lh.create_table("pub.empty", pa.schema([("a", pa.int64())]))
    with pytest.raises(SnapshotNotFoundError, match="append before publishing"):
        lh.publish("pub.empty")
    lh.create_table("pub.t", pa.table({"a": [1]}))
    with pytest.raises(UnsupportedSQLError, match="engine='clickhouse'"):
        lh.publish("pub.t", engine="duckdb")
    with pytest.raises(TableNotFoundError):
        lh.publish("pub.nope")


@pytest.mark.parametrize("target", CLICKHOUSE_TARGETS)
def test_native_tables_and_auto_engine(connect: Any, target: str) -> None:
    lh = connect(target, engines__default="auto")
    lh.create_namespace("ev")
    lh.create_table("ev.t", pa.table({"k": ["a", "b"], "v": pa.array([1, 2], pa.int64())}))
    ch = lh.engine("clickhouse")
    ch.command("CREATE DATABASE IF NOT EXISTS serve")
    ch.command("DROP TABLE IF EXISTS serve.labels")
    ch.command("CREATE TABLE serve.labels (k String, label String) ENGINE = MergeTree ORDER BY k")
    ch.command("INSERT INTO serve.labels VALUES ('a', 'Alpha'), ('b', 'Beta')")
    # Iceberg-only query: auto picks DuckDB.
    assert lh.sql("SELECT count(*) FROM ev.t").stats.engine == "duckdb"
    # A native ClickHouse table in the query: auto picks ClickHouse, joined with Iceberg.
    res = lh.sql("SELECT l.label, t.v FROM ev.t t JOIN serve.labels l ON l.k = t.k ORDER BY t.v")
    assert res.stats.engine == "clickhouse"
    assert res.fetchall() == [("Alpha", 1), ("Beta", 2)]
    with pytest.raises(TableNotFoundError, match=r"serve\.labels"):
        lh.sql("SELECT * FROM serve.labels", engine="duckdb")
    ch.command("DROP TABLE serve.labels")


@pytest.mark.parametrize("engine", ["duckdb", "clickhouse"])
def test_position_delete_files_are_applied(connect: Any, engine: str) -> None:
    """A position-delete file (as another engine would write one) is applied, not ignored."""
    from pyiceberg.manifest import DataFile, DataFileContent, FileFormat
    from pyiceberg.typedef import Record

    lh = connect("chdb")
    lh.create_namespace("ev")
    lh.create_table("ev.d", pa.table({"a": pa.array(range(5), pa.int64())}))
    data_path = lh.table("ev.d").inspect.files().column("file_path")[0].as_py()
    delete_path = lh.hot_tier.root + "/pos-deletes.parquet"
    schema = pa.schema(
        [
            pa.field("file_path", pa.string(), False, {b"PARQUET:field_id": b"2147483546"}),
            pa.field("pos", pa.int64(), False, {b"PARQUET:field_id": b"2147483545"}),
        ]
    )
    pq.write_table(
        pa.table({"file_path": [data_path] * 2, "pos": [1, 3]}, schema=schema), delete_path
    )
    delete_file = DataFile.from_args(
        content=DataFileContent.POSITION_DELETES,
        file_path="file://" + delete_path,
        file_format=FileFormat.PARQUET,
        partition=Record(),
        record_count=2,
        file_size_in_bytes=os.path.getsize(delete_path),
    )
    table = lh.table("ev.d")
    with table.transaction() as tx, tx.update_snapshot().fast_append() as app:
        app.append_data_file(delete_file)
    res = lh.sql("SELECT a FROM ev.d ORDER BY a", engine=engine)
    assert res.fetchall() == [(0,), (2,), (4,)]
    assert res.stats.scans[0].delete_files == 1
    assert res.stats.scans[0].source == "pyiceberg"
    assert not list((lh.root / ".tmp").iterdir())  # materialised scans are cleaned up
    # Its rows live in a per-query scratch file, so the plan is never reused.
    again = lh.sql("SELECT a FROM ev.d ORDER BY a", engine=engine)
    assert not again.stats.plan_cached and again.fetchall() == [(0,), (2,), (4,)]
