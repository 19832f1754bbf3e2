"""S3 tiers on two different servers: each bucket is read through its own tier's endpoint,
by pyiceberg (scans, maintenance, backup) as well as by both engines and the mover."""

from __future__ import annotations

from typing import Any

import pytest

from doctordata.errors import ConfigError
from tests.tiered_lakes import engine_rows, engine_summary, files_on, rows, sorted_rows

pytestmark = pytest.mark.s3


def _tier(server: Any, bucket: str) -> dict[str, Any]:
    return {"url": f"s3://{bucket}/lake", "endpoint": server.endpoint, "region": server.region}


def test_tiers_on_two_s3_servers(make_lake, s3_env, s3_server_b) -> None:  # type: ignore[no-untyped-def]
    bucket_a, bucket_b = s3_env.create_bucket(), s3_server_b.create_bucket()
    lh = make_lake(extra_tiers={"s3": _tier(s3_env, bucket_a), "s3b": _tier(s3_server_b, bucket_b)})
    lh.create_table("hn.items", rows(0), partition_by=["day(time)"])
    expected, sql = sorted_rows(lh, "hn.items"), engine_rows(lh, "hn.items")
    summary = engine_summary(lh, "hn.items", "duckdb")

    assert len(lh.tier("hn.items", to="s3", where="time < '2020-01-03'").moved) == 2
    assert len(lh.tier("hn.items", to="s3b", where="time < '2020-01-02'").moved) == 1
    where = files_on(lh, "hn.items")
    on_b = [p for p, tier in where.items() if tier == "s3b"]
    assert len(on_b) == 1 and sorted(where.values()).count("s3") == 1
    fs_a, fs_b = s3_env.filesystem(), s3_server_b.filesystem()
    assert all(fs_b.exists(p) for p in on_b)
    assert bucket_b not in {b.rstrip("/") for b in fs_a.ls("")}  # B's bucket is only on B

    # pyiceberg reads every bucket through its own server (this failed with one endpoint).
    assert sorted_rows(lh, "hn.items").equals(expected)
    assert engine_rows(lh, "hn.items") == sql
    assert engine_summary(lh, "hn.items", "clickhouse") == summary


def test_one_bucket_on_two_endpoints_is_refused(make_lake, s3_env, s3_server_b) -> None:  # type: ignore[no-untyped-def]
    bucket = s3_env.create_bucket()
    lh = make_lake(extra_tiers={"s3": _tier(s3_env, bucket), "s3b": _tier(s3_server_b, bucket)})
    with pytest.raises(ConfigError, match=rf"'s3' and 's3b' both use bucket '{bucket}'"):
        lh.tables()
