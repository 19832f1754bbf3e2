"""Manifest merging on append (catalog/speedups/manifest_merge.py): after 1,000 small
appends every reader sees the same rows, time travel to an early snapshot works, and a
merge never rewrites a full manifest again (it used to rewrite the whole history every
99 appends). Takes ~1 minute on 2 busy cores (1,000 commits)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

import doctordata as dd
from doctordata.catalog.speedups.manifest_merge import FULL_ENTRIES, entries

APPENDS = 1000
ROWS = 5


def _batch(i: int) -> pa.Table:
    day = dt.datetime(2025, 1, 1) + dt.timedelta(days=i % 40)
    return pa.table(
        {
            "time": pa.array(
                [day + dt.timedelta(seconds=k) for k in range(ROWS)], pa.timestamp("us")
            ),
            "id": pa.array(range(i * ROWS, (i + 1) * ROWS), pa.int64()),
        }
    )


@pytest.mark.slow
def test_a_thousand_appends_read_the_same_everywhere_and_keep_full_manifests(
    lh: dd.Lakehouse,
) -> None:
    lh.create_table("m.t", _batch(0).schema, partition_by=["day(time)"])
    early = None
    for i in range(APPENDS):
        table = lh.append("m.t", _batch(i))
        if i == 4:
            early = table.current_snapshot().snapshot_id
    table = lh.table("m.t")
    snapshot = table.current_snapshot()
    manifests = snapshot.manifests(table.io)
    counts = [entries(m) for m in manifests]
    assert sum(counts) == APPENDS  # one data file per append, none deleted
    # No merge rewrote more than a non-full manifest plus min-count-to-merge (100) others...
    assert max(counts) < FULL_ENTRIES + 100
    # ...and full manifests written by earlier snapshots are referenced as they were.
    kept = [m for m in manifests if entries(m) >= FULL_ENTRIES]
    assert len(kept) >= 2
    assert all(m.added_snapshot_id != snapshot.snapshot_id for m in kept[:-1])

    n = APPENDS * ROWS
    want = (n, n * (n - 1) // 2)
    ids = table.scan().to_arrow().column("id").to_pylist()
    assert sorted(ids) == list(range(n))
    assert lh.sql("SELECT count(*), sum(id) FROM m.t").fetchall() == [want]
    assert lh.sql("SELECT count(*), sum(id) FROM m.t", engine="clickhouse").fetchall() == [want]
    import duckdb

    from doctordata.engines.extensions import load_extension

    con = duckdb.connect()
    load_extension(con, "avro")  # iceberg needs it, and cannot download it offline
    load_extension(con, "iceberg")
    got = con.execute(
        "SELECT count(*), sum(id) FROM iceberg_scan(?)", [table.metadata_location]
    ).fetchall()
    assert got == [want]

    # Time travel to the fifth append: its five batches, on every reader.
    m = 5 * ROWS
    early_want = [(m, m * (m - 1) // 2)]
    assert table.scan(snapshot_id=early).to_arrow().num_rows == m
    q = f"SELECT count(*), sum(id) FROM m.t FOR VERSION AS OF {early}"
    assert lh.sql(q).fetchall() == early_want
    assert lh.sql(q, engine="clickhouse").fetchall() == early_want
