"""Both engines read Iceberg tables whose files live on an S3 tier (SeaweedFS on loopback)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

pytestmark = [pytest.mark.clickhouse, pytest.mark.s3]


@pytest.mark.parametrize("engine", ["duckdb", "clickhouse"])
def test_query_s3_tier(connect: Any, s3_env: Any, s3_bucket: str, engine: str) -> None:
    tiers = {"s3": {"url": f"s3://{s3_bucket}/lake", "endpoint": s3_env.endpoint}}
    lh = connect("chdb", tiers=tiers)
    lh.create_namespace("ev")
    data = pa.table({"id": pa.array(range(10), pa.int64()), "k": [str(i % 3) for i in range(10)]})
    lh.create_table("ev.t", data, partition_by=["k"])
    path = lh.table("ev.t").inspect.files().column("file_path")[0].as_py()
    assert path.startswith(f"s3://{s3_bucket}/lake/")
    res = lh.sql("SELECT k, count(*) FROM ev.t WHERE k = '1' GROUP BY k", engine=engine)
    assert res.fetchall() == [("1", 3)]
    assert res.stats.files_planned == 1 and res.stats.files_skipped == 2
    assert s3_env.secret_key not in res.stats.translated_sql
