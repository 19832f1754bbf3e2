"""The S3 tier against a real S3 server (SeaweedFS on loopback)."""

from __future__ import annotations

from typing import Any

import pytest

from doctordata.errors import TierUnavailableError
from doctordata.storage.checks import check_tier
from doctordata.storage.tier import Tier
from tests.tiered_lakes import (
    engine_rows,
    engine_summary,
    files_on,
    local_path,
    rows,
    sorted_rows,
)

pytestmark = pytest.mark.s3


def _s3_tier(server: Any, bucket: str) -> dict[str, Any]:
    return {"url": f"s3://{bucket}/lake", "endpoint": server.endpoint, "region": server.region}


def test_ssd_to_nas_to_s3_and_back(make_lake, s3_env, s3_bucket) -> None:  # type: ignore[no-untyped-def]
    lh = make_lake(extra_tiers={"s3": _s3_tier(s3_env, s3_bucket)})
    lh.create_table("hn.items", rows(0), partition_by=["day(time)"])
    lh.append("hn.items", rows(1000))
    expected, sql = sorted_rows(lh, "hn.items"), engine_rows(lh, "hn.items")

    step1 = lh.tier()  # policy: older than 90 days -> nas
    assert len(step1.moved) == 6 and not step1.failed
    assert sorted_rows(lh, "hn.items").equals(expected)
    assert engine_rows(lh, "hn.items") == sql

    step2 = lh.tier("hn.items", to="s3", where="time < '2020-01-03'")
    assert len(step2.moved) == 4 and {m.source for m in step2.moved} == {"nas"}
    where = files_on(lh, "hn.items")
    assert sorted(where.values()).count("s3") == 4
    assert sorted(where.values()).count("nas") == 2
    fs = s3_env.filesystem()
    for path, tier in where.items():
        if tier == "s3":
            assert path.startswith(f"s3://{s3_bucket}/lake/")
            assert fs.size(path) == lh.tiers["s3"].fs.size(lh.tiers["s3"].fs_path(path))
        else:
            assert local_path(path).is_file()
    assert not [p for p in fs.find(f"{s3_bucket}/lake") if p.endswith(".dd-tmp")]
    assert sorted_rows(lh, "hn.items").equals(expected)
    assert engine_rows(lh, "hn.items") == sql

    status = lh.tier_status()
    assert status.usage("hn.items", "s3").live_files == 4
    assert status.free["s3"] is None and status.free["ssd"] > 0

    back = lh.tier("hn.items", to="ssd", where="time < '2020-01-02'", free_now=True)
    assert len(back.moved) == 2 and len(back.freed) == 2
    fs.invalidate_cache()
    for path in back.freed:
        assert not fs.exists(path)
    assert sorted_rows(lh, "hn.items").equals(expected)

    # orphan cleanup lists the table's prefix on S3 too
    stray = f"{s3_bucket}/lake/hn/items/data/time_day=2020-01-02/stray-from-a-killed-write.parquet"
    fs.pipe(stray, b"not referenced")
    young = lh.maintain("hn.items", compact=False, expire_older_than="1d")
    assert f"s3://{stray}" in young.tables[0].orphans.too_young
    report = lh.maintain("hn.items", compact=False, expire_older_than="1d", orphan_older_than="0s")
    assert f"s3://{stray}" in report.tables[0].orphans.deleted
    fs.invalidate_cache()
    assert not fs.exists(stray)
    assert sorted_rows(lh, "hn.items").equals(expected)


@pytest.mark.clickhouse
def test_clickhouse_reads_files_spread_over_ssd_nas_s3(make_lake, s3_env, s3_bucket) -> None:  # type: ignore[no-untyped-def]
    lh = make_lake(extra_tiers={"s3": _s3_tier(s3_env, s3_bucket)})
    lh.create_table("hn.items", rows(0), partition_by=["day(time)"])
    expected = engine_summary(lh, "hn.items", "duckdb")
    assert engine_summary(lh, "hn.items", "clickhouse") == expected
    lh.tier()
    lh.tier("hn.items", to="s3", where="time < '2020-01-02'")
    assert sorted(files_on(lh, "hn.items").values()) == ["nas", "nas", "s3", "ssd"]
    assert engine_summary(lh, "hn.items", "duckdb") == expected
    assert engine_summary(lh, "hn.items", "clickhouse") == expected


def test_policies_send_each_file_to_the_coldest_rule(make_lake, s3_env, s3_bucket) -> None:  # type: ignore[no-untyped-def]
    policies = [
        {"table": "hn.*", "column": "time", "older_than": "90d", "to": "nas"},
        {"table": "hn.*", "column": "time", "older_than": "2y", "to": "s3"},
        {"table": "*", "column": "time", "older_than": "1d", "to": "nas"},
    ]
    lh = make_lake(policies=policies, extra_tiers={"s3": _s3_tier(s3_env, s3_bucket)})
    lh.create_table("hn.items", rows(0), partition_by=["day(time)"])
    plan = lh.tier(dry_run=True).planned
    assert len(plan) == 3 and {m.dest for m in plan} == {"s3"}


def test_wrong_credentials_refuse_naming_tier_and_check(
    make_lake, s3_env, s3_bucket, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    lh = make_lake(extra_tiers={"s3": _s3_tier(s3_env, s3_bucket)})
    lh.create_table("hn.items", rows(0), partition_by=["day(time)"])
    before = files_on(lh, "hn.items")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    lh.tiers["s3"] = Tier(**{**_s3_tier(s3_env, s3_bucket), "name": "s3"})  # fresh fs
    with pytest.raises(TierUnavailableError) as err:
        lh.tier("hn.items", to="s3")
    text = str(err.value)
    assert "'s3'" in text and "'credentials'" in text and "AWS_SECRET_ACCESS_KEY" in text
    assert "not-the-secret" not in text and "missing" not in text and "exist" not in text
    assert files_on(lh, "hn.items") == before


def test_missing_bucket_and_unreachable_server(s3_env) -> None:  # type: ignore[no-untyped-def]
    missing = Tier("cold", "s3://no-such-bucket-here/x", endpoint=s3_env.endpoint)
    with pytest.raises(TierUnavailableError, match="'bucket'"):
        check_tier(missing)
    dead = Tier(
        "cold",
        "s3://b/x",
        endpoint="http://127.0.0.1:9",
        options={"config_kwargs": {"connect_timeout": 1, "retries": {"max_attempts": 1}}},
    )
    with pytest.raises(TierUnavailableError, match="'reachable'"):
        check_tier(dead)
