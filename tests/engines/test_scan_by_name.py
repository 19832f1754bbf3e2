"""DuckDB reads files by column name when the table never changed schema (plan.uniform).

Reading by name keeps DuckDB's Parquet statistics, so joins are ordered by real
cardinalities; tables with an evolved schema keep the field-id (schema=MAP) read.
"""

from __future__ import annotations

import re
from typing import Any

import pyarrow as pa
import pytest
from pyiceberg.types import StringType


def _orders(lh: Any) -> None:
    lh.create_namespace("s")
    lh.create_table(
        "s.big",
        pa.table({"id": pa.array(range(5000), pa.int64()), "k": [str(i % 3) for i in range(5000)]}),
        partition_by=["k"],
    )
    lh.create_table("s.small", pa.table({"id": pa.array([1, 2, 3], pa.int64())}))


def test_uniform_table_is_read_by_name_with_estimates(lh: Any) -> None:
    _orders(lh)
    res = lh.sql("SELECT count(*) FROM s.big b JOIN s.small t ON b.id = t.id")
    assert res.fetchall() == [(3,)]
    assert "schema = MAP" not in res.stats.translated_sql
    plan = lh.sql("SELECT b.k FROM s.big b JOIN s.small t ON b.id = t.id", explain=True).plan
    # With schema=MAP DuckDB estimated every scan at ~0 rows; by name it knows the sizes.
    estimates = [int(n.replace(",", "")) for n in re.findall(r"~([\d,]+) rows", plan)]
    assert max(estimates) >= 4000, plan


@pytest.mark.parametrize("engine", ["duckdb", "clickhouse"])
def test_identity_partition_values_keep_their_type(lh: Any, engine: str) -> None:
    # Paths look like .../k=1/...: a Hive-style reader would turn k into an integer.
    _orders(lh)
    res = lh.sql("SELECT k, count(*) FROM s.big WHERE k = '1' GROUP BY k", engine=engine)
    assert res.fetchall() == [("1", 1667)]
    assert res.stats.files_planned == 1


@pytest.mark.parametrize("engine", ["duckdb", "clickhouse"])
def test_evolved_schema_is_read_per_layout(lh: Any, engine: str) -> None:
    _orders(lh)
    with lh.table("s.small").update_schema() as update:
        update.rename_column("id", "ident")
        update.add_column("note", StringType())
    lh.append(
        "s.small",
        pa.table({"ident": pa.array([4], pa.int64()), "note": pa.array(["new"], pa.string())}),
    )
    res = lh.sql("SELECT ident, note FROM s.small ORDER BY ident", engine=engine)
    assert res.fetchall() == [(1, None), (2, None), (3, None), (4, "new")]
    if engine == "duckdb":
        sql = res.stats.translated_sql
        assert "schema = MAP" not in sql and "UNION ALL" in sql


@pytest.mark.parametrize("engine", ["duckdb", "clickhouse"])
def test_renamed_nested_field_is_read_through_pyiceberg(lh: Any, engine: str) -> None:
    lh.create_namespace("n")
    rows = pa.table({"id": pa.array([1], pa.int64()), "p": [{"a": 1}]})
    lh.create_table("n.t", rows)
    with lh.table("n.t").update_schema() as update:
        update.rename_column("p.a", "b")
    lh.append("n.t", pa.table({"id": pa.array([2], pa.int64()), "p": [{"b": 2}]}))
    res = lh.sql("SELECT id, p.b AS b FROM n.t ORDER BY id", engine=engine)
    # Engines cast structs by field name and would fail (or read NULL) for old files.
    assert res.fetchall() == [(1, 1), (2, 2)]
    assert res.stats.scans[0].source == "pyiceberg"
