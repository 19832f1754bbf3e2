"""The Parquet layout of written files: row-group size, codec and statistics, per table."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import doctordata as dd
from doctordata.catalog import duckdb_write
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


@pytest.fixture
def small_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    """Arrow appends of 1,000 rows or more take DuckDB's writer."""
    monkeypatch.setattr(duckdb_write, "MIN_ROWS", 1_000)


def _row_groups(meta: pq.FileMetaData) -> list[int]:
    return [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]


def test_new_tables_write_duckdb_sized_snappy_row_groups_with_statistics(
    lh: dd.Lakehouse,
) -> None:
    lh.create_table("w.t", _data(300_000), sort_by=["id"])
    assert {k: lh.table("w.t").properties[k] for k in PARQUET_DEFAULTS} == PARQUET_DEFAULTS
    assert "write.parquet.compression-level" not in lh.table("w.t").properties
    (meta,) = _metadata(lh, "w.t")
    assert meta.created_by.startswith("parquet-cpp-arrow")  # create_table's data: pyarrow
    assert _row_groups(meta) == [122_880, 122_880, 300_000 - 2 * 122_880]
    for g in range(meta.num_row_groups):
        for c in range(meta.num_columns):
            chunk = meta.row_group(g).column(c)
            assert chunk.compression == "SNAPPY"
            assert chunk.statistics is not None and chunk.statistics.has_min_max
    # Streamed loads (pyarrow) and large appends (DuckDB) use the same writer settings.
    lh.create_table("w.s", _data(1).schema)
    lh.append(
        "w.s", pa.RecordBatchReader.from_batches(_data(1).schema, _data(200_000).to_batches())
    )
    lh.create_table("w.d", _data(1).schema)
    lh.append("w.d", _data(duckdb_write.MIN_ROWS))
    for name, writer in (("w.s", "parquet-cpp-arrow"), ("w.d", "DuckDB")):
        (meta,) = _metadata(lh, name)
        assert meta.created_by.startswith(writer)
        assert _row_groups(meta)[0] == 122_880
        assert meta.row_group(0).column(0).compression == "SNAPPY"


def _chunk_bytes(lh: dd.Lakehouse, name: str) -> list[int]:
    (meta,) = _metadata(lh, name)
    return [
        meta.row_group(g).column(c).total_compressed_size
        for g in range(meta.num_row_groups)
        for c in range(meta.num_columns)
    ]


def test_zstd_without_a_level_is_level_1_in_both_writers(
    lh: dd.Lakehouse, small_threshold: None
) -> None:
    """pyarrow's default zstd level is 1 and DuckDB's 3: a table that names only the codec
    gets level 1 from DuckDB's writer too (it got level 3)."""
    data = _data(20_000)
    for name, level in (("w.default", None), ("w.one", "1"), ("w.three", "3")):
        props = {"write.parquet.compression-codec": "zstd"}
        if level:
            props["write.parquet.compression-level"] = level
        lh.create_table(name, data.schema, properties=props, sort_by=["id"])
        lh.append(name, data)  # sorted: one file, the same bytes every time
        (meta,) = _metadata(lh, name)
        assert meta.created_by.startswith("DuckDB")
        assert meta.row_group(0).column(1).compression == "ZSTD"
    assert _chunk_bytes(lh, "w.three") != _chunk_bytes(lh, "w.one")  # levels are visible
    assert _chunk_bytes(lh, "w.default") == _chunk_bytes(lh, "w.one")


@pytest.mark.parametrize(
    ("codec", "written"),
    [("snappy", "SNAPPY"), ("zstd", "ZSTD"), ("lz4_raw", "LZ4"), ("uncompressed", "UNCOMPRESSED")],
)
def test_every_reader_reads_every_codec_from_both_writers(
    lh: dd.Lakehouse, small_threshold: None, codec: str, written: str
) -> None:
    data = _data(5_000)
    lh.create_table("w.c", data.schema, properties={"write.parquet.compression-codec": codec})
    lh.append("w.c", data)  # DuckDB's writer
    lh.append("w.c", data.slice(0, 10))  # pyarrow's (below MIN_ROWS)
    metas = _metadata(lh, "w.c")
    assert sorted(m.created_by.split()[0] for m in metas) == ["DuckDB", "parquet-cpp-arrow"]
    assert {m.row_group(0).column(1).compression for m in metas} == {written}
    want = [(5_010, sum(range(5_000)) + sum(range(10)), 1_000)]
    sql = "SELECT count(*), sum(id), count(DISTINCT name) FROM w.c"
    assert lh.sql(sql).fetchall() == want
    assert lh.sql(sql, engine="clickhouse").fetchall() == want
    got = lh.table("w.c").scan().to_arrow()
    assert got.num_rows == 5_010 and pc.sum(got["id"]).as_py() == want[0][1]


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
