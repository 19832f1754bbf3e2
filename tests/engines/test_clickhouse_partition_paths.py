"""ClickHouse reads a column's values from the data files, never from the file's path.

pyiceberg writes an identity-partitioned table's files under ``data/<column>=<value>/``;
ClickHouse's ``use_hive_partitioning`` (on by default) then replaces the column with the
text in the path: a NULL became the string 'null', a value pyiceberg escaped in the path
became its escaped form, and a number the digits of the path. DuckDB reads the files with
hive_partitioning = false; every value below must be DuckDB's on chDB and on the HTTP path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

pytestmark = pytest.mark.clickhouse

DATA = pa.table(
    {
        "id": pa.array(range(8), pa.int64()),
        "type": pa.array([None, None, "story", "a b/c", "x%y", "story", None, "é=1"], pa.string()),
        "n": pa.array([1, None, 2, 2, None, 3, 1, 3], pa.int32()),
    }
)

QUERIES = [
    "SELECT count(type) AS c, count(n) AS cn, count(*) AS a FROM db.t",
    "SELECT id, type, n FROM db.t ORDER BY id",
    "SELECT type, count(*) AS c FROM db.t GROUP BY type ORDER BY type NULLS FIRST",
    "SELECT id FROM db.t WHERE type IS NULL ORDER BY id",
    "SELECT id FROM db.t WHERE type = 'a b/c' OR type = 'é=1' ORDER BY id",
]


@pytest.fixture(params=["chdb", "clickhouse-http"])
def ch(request: pytest.FixtureRequest, connect: Any) -> Any:
    lh = connect(request.param)
    lh.create_table("db.t", DATA, partition_by=["type", "n"])
    return lh


@pytest.mark.parametrize("query", QUERIES)
def test_identity_partition_values_come_from_the_files(ch: Any, query: str) -> None:
    want = ch.sql(query, engine="duckdb").fetchall()
    assert ch.sql(query, engine="clickhouse").fetchall() == want


def test_the_partition_folders_look_like_hive_paths(ch: Any) -> None:
    """The premise of this file: the files sit under key=value folders."""
    folders = {p.name for p in Path(ch.root).rglob("*=*") if p.is_dir()}
    assert "type=null" in folders and "n=null" in folders
