"""DuckDB reads files by column name when the table never changed schema (plan.uniform).

Reading by name keeps DuckDB's Parquet statistics, so joins are ordered by real
cardinalities; tables with an evolved schema keep the field-id (schema=MAP) read.
"""

from __future__ import annotations

import re
from typing import Any

import pyarrow as pa
import pytest


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


def test_evolved_schema_falls_back_to_field_ids(lh: Any) -> None:
    _orders(lh)
    with lh.table("s.small").update_schema() as update:
        update.rename_column("id", "ident")
    lh.append("s.small", pa.table({"ident": pa.array([4], pa.int64())}))
    res = lh.sql("SELECT ident FROM s.small ORDER BY ident")
    assert [r[0] for r in res.fetchall()] == [1, 2, 3, 4]
    assert "schema = MAP" in res.stats.translated_sql
