"""lh.sql(..., stream=True): batches, readers, Parquet and CSV without holding every row."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from doctordata.errors import InvalidArgumentError

pytestmark = pytest.mark.clickhouse

DATA = pa.table({"id": pa.array(range(1000), pa.int64()), "name": [f"n{i}" for i in range(1000)]})
QUERY = "SELECT id, name FROM db.t WHERE id % 3 = 0 ORDER BY id"


def test_stream_outputs_match_the_materialised_result(
    lh_target: tuple[Any, str], tmp_path: Path
) -> None:
    lh, engine = lh_target
    lh.create_table("db.t", DATA)
    want = lh.sql(QUERY, engine=engine).arrow()
    batches = list(lh.sql(QUERY, engine=engine, stream=True).record_batches())
    assert pa.Table.from_batches(batches).equals(want)
    reader = lh.sql(QUERY, engine=engine, stream=True).to_reader()
    assert isinstance(reader, pa.RecordBatchReader) and reader.read_all().equals(want)
    res = lh.sql(QUERY, engine=engine, stream=True)
    assert res.to_parquet(tmp_path / "out.parquet") == want.num_rows == 334
    assert pq.read_table(tmp_path / "out.parquet").equals(want)
    assert res.stats.rows == 334
    assert lh.sql(QUERY, engine=engine, stream=True).write_csv(tmp_path / "out.csv") == 334
    with open(tmp_path / "out.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["id", "name"] and rows[1] == ["0", "n0"] and len(rows) == 335
    assert lh.sql(QUERY, engine=engine, stream=True).fetchall() == lh.sql(QUERY).fetchall()


def test_a_stream_is_read_once(lh: Any) -> None:
    lh.create_table("db.t", DATA)
    res = lh.sql(QUERY, stream=True)
    assert sum(b.num_rows for b in res.record_batches()) == 334
    with pytest.raises(InvalidArgumentError, match="already read"):
        res.record_batches()
    kept = lh.sql(QUERY)  # a materialised result can be read as often as wanted
    assert kept.to_reader().read_all().equals(kept.to_reader().read_all())
    assert not list(lh.sql("SELECT id FROM db.t WHERE id < 0", stream=True).record_batches())


SCRIPT = """
import sys
import pyarrow as pa
import doctordata as dd

def peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM"):
            return int(line.split()[1]) * 1024

lh = dd.connect(sys.argv[1])
lh.create_table("db.seed", pa.table({"i": pa.array(range(2000), pa.int64())}))
q = ("SELECT a.i * 2000 + b.i AS n, repeat('x', 200) || CAST(a.i AS VARCHAR) AS pad "
     "FROM db.seed a CROSS JOIN db.seed b")
lh.sql("SELECT count(*) FROM db.seed").fetchall()
before = peak()
rows = lh.sql(q, stream=True).to_parquet(sys.argv[1] + "/out.parquet", compression="zstd")
print(rows, peak() - before)
"""


def test_streaming_a_large_result_keeps_memory_bounded(tmp_path: Path, child_env: dict) -> None:
    """4M rows of ~210 bytes (~850 MB as Arrow) to Parquet; the peak rises far less.

    Measured: +141 MB streamed vs +892 MB for the same query materialised. Takes ~15 s.
    """
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "lake")],
        env=child_env,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    rows, rise = map(int, out.stdout.split())
    assert rows == 4_000_000
    result_bytes = rows * (8 + 200)
    assert rise < result_bytes / 3, f"peak RSS rose {rise / 1e6:.0f} MB"
    assert pq.ParquetFile(tmp_path / "lake" / "out.parquet").metadata.num_rows == rows
