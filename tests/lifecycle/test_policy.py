"""Policy matching, file ages and pre-flight checks (fast, local)."""

from __future__ import annotations

import pyarrow as pa
import pytest

import doctordata as dd
from doctordata.config import PolicyConfig
from doctordata.errors import ConfigError, TierUnavailableError
from doctordata.lifecycle.policy import column_age_key, policies_for
from doctordata.storage.checks import check_tier
from doctordata.storage.tier import Tier
from tests.tiered_lakes import OLD_DAYS, rows


def test_first_matching_glob_picks_the_group() -> None:
    policies = [
        PolicyConfig(table="hn.*", column="time", older_than="90d", to="nas"),
        PolicyConfig(table="*", older_than="30d", to="nas"),
        PolicyConfig(table="hn.*", column="time", older_than="2y", to="s3"),
    ]
    group = policies_for("hn.items", policies)
    assert [p.older_than for p in group] == ["90d", "2y"]
    assert [p.older_than for p in policies_for("raw.logs", policies)] == ["30d"]
    assert policies_for("x.y", policies[:1]) == []


def test_partition_range_is_used_when_files_have_no_stats(make_lake) -> None:  # type: ignore[no-untyped-def]
    lh = make_lake()
    props = {"write.metadata.metrics.default": "none"}
    table = lh.create_table(
        "hn.items", rows(0, 2, OLD_DAYS[:1]), partition_by=["month(time)"], properties=props
    )
    (task,) = list(lh.table("hn.items").scan().plan_files())
    assert not task.file.upper_bounds
    # January 2020 ends at 2020-02-01T00:00:00Z
    assert column_age_key(lh.table("hn.items"), task.file, "time") == 1580515200.0
    assert column_age_key(table, task.file, "no_such_column") is None
    plan = lh.tier(dry_run=True)
    assert len(plan.planned) == 1


def test_integer_columns_are_unix_seconds(make_lake) -> None:  # type: ignore[no-untyped-def]
    lh = make_lake(policies=[{"table": "*", "column": "ts", "older_than": "1d", "to": "nas"}])
    data = pa.table({"id": [1, 2], "ts": pa.array([1_000_000, 1_000_100], pa.int64())})
    lh.create_table("raw.events", data)
    (task,) = list(lh.table("raw.events").scan().plan_files())
    assert column_age_key(lh.table("raw.events"), task.file, "ts") == 1_000_100.0
    assert len(lh.tier(dry_run=True).planned) == 1


def test_keep_below_percent_and_bad_values(make_lake, tmp_path) -> None:  # type: ignore[no-untyped-def]
    lh = make_lake(policies=[{"table": "*", "keep_below": "0%", "to": "nas"}])
    lh.create_table("hn.items", rows(0), partition_by=["day(time)"])
    assert len(lh.tier(dry_run=True).planned) == 4  # a 0% target: everything must go
    with pytest.raises(ConfigError, match="keep_below"):
        dd.connect(tmp_path / "bad", policies=[{"keep_below": "lots", "to": "ssd"}])


def test_min_free_refuses_before_moving(make_lake, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "tiny").mkdir()
    lh = make_lake(extra_tiers={"tiny": {"url": str(tmp_path / "tiny"), "min_free": "1000TB"}})
    lh.create_table("hn.items", rows(0), partition_by=["day(time)"])
    with pytest.raises(TierUnavailableError, match=r"'tiny'.*'min_free'.*min_free"):
        lh.tier("hn.items", to="tiny")
    assert not list((tmp_path / "tiny").rglob("*.parquet"))


def test_check_tier_on_a_path_that_is_a_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "f").write_text("x")
    with pytest.raises(TierUnavailableError, match=r"'exists'.*mkdir -p"):
        check_tier(Tier("nas", (tmp_path / "f").as_uri()))
