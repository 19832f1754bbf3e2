"""The Parquet layout of written files: row-group size, codec and statistics, per table."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

import doctordata as dd
from doctordata.catalog.tables import PARQUET_DEFAULTS


def _data(n: int) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(range(n), pa.int64()),
            "name": pa.array([f"name-{i % 1000}" for i in range(n)]),
        }
    )


def _metadata(lh: dd.Lakehouse, name: str) -> list[pq.FileMetaData]:
    return [
        pq.ParquetFile(t.file.file_path.removeprefix("file://")).metadata
        for t in lh.table(name).scan().plan_files()
    ]


def test_new_tables_write_quarter_million_row_zstd_row_groups_with_statistics(
    lh: dd.Lakehouse,
) -> None:
    lh.create_table("w.t", _data(600_000), sort_by=["id"])
    assert {k: lh.table("w.t").properties[k] for k in PARQUET_DEFAULTS} == PARQUET_DEFAULTS
    (meta,) = _metadata(lh, "w.t")
    sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    assert sizes == [262_144, 262_144, 600_000 - 2 * 262_144]
    for g in range(meta.num_row_groups):
        for c in range(meta.num_columns):
            chunk = meta.row_group(g).column(c)
            assert chunk.compression == "ZSTD"
            assert chunk.statistics is not None and chunk.statistics.has_min_max
    # Streamed loads use the same writer settings.
    lh.create_table("w.s", _data(1).schema)
    lh.append(
        "w.s", pa.RecordBatchReader.from_batches(_data(1).schema, _data(300_000).to_batches())
    )
    (meta,) = _metadata(lh, "w.s")
    assert meta.row_group(0).num_rows == 262_144
    assert meta.row_group(0).column(0).compression == "ZSTD"


def test_a_table_can_choose_its_own_layout(lh: dd.Lakehouse) -> None:
    props = {
        "write.parquet.row-group-limit": "50000",
        "write.parquet.compression-codec": "snappy",
    }
    lh.create_table("w.t", _data(120_000), properties=props)
    (meta,) = _metadata(lh, "w.t")
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [
        50_000,
        50_000,
        20_000,
    ]
    assert meta.row_group(0).column(0).compression == "SNAPPY"
    got = lh.sql("SELECT count(*), sum(id) FROM w.t").fetchall()
    assert got == [(120_000, sum(range(120_000)))]
    ch = lh.sql("SELECT count(*), sum(id) FROM w.t", engine="clickhouse").fetchall()
    assert ch == got
