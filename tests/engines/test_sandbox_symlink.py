"""A path inside a tier that is a symlink to a file outside every tier is outside.

The sandbox compares canonical locations (storage/locations.py: symlinks resolved), so a
link planted in the warehouse cannot hand a query a file from elsewhere.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import doctordata as dd
from doctordata.errors import ReadOnlyViolationError


@pytest.mark.parametrize("engine", ["duckdb", "clickhouse"])
def test_symlink_in_a_tier_to_a_file_outside_is_refused(tmp_path: Path, engine: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.parquet"
    pq.write_table(pa.table({"s": ["outside-canary-7c1"]}), secret)
    # Each engine's own file reader, written in that engine's dialect.
    dialect, fn = ("duckdb", "read_parquet") if engine == "duckdb" else ("clickhouse", "file")
    with dd.connect(tmp_path / "lake", engines={"dialect": dialect}) as lh:
        lh.create_table("ns.t", pa.table({"s": ["inside"]}))
        warehouse = Path(lh.hot_tier.root)
        inside = warehouse / "plain.parquet"
        pq.write_table(pa.table({"s": ["inside-file"]}), inside)
        link = warehouse / "link.parquet"
        link.symlink_to(secret)
        # The same call on a real file inside the tier runs (so the refusal below is the
        # symlink's doing, not a blanket refusal of the function).
        ok = lh.sql(f"SELECT s FROM {fn}('{inside}')", engine=engine).fetchall()
        assert ok == [("inside-file",)]
        with pytest.raises(ReadOnlyViolationError):
            lh.sql(f"SELECT s FROM {fn}('{link}')", engine=engine).fetchall()
