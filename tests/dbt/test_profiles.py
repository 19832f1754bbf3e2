"""Generated profiles, the runner's argument checks and the plugin's catalog writes
(no dbt invocation: these run in seconds)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from doctordata.errors import ConfigError
from doctordata.transform import profiles
from doctordata.transform.runner import run_dbt


def test_clickhouse_profile_parses_url_and_keeps_password_off_disk(tmp_path: Path) -> None:
    output, password = profiles.clickhouse_output(
        "http://alice:s3cret@ch.example:18123/ignored", namespace="marts", threads=2
    )
    path = profiles.write_profiles(tmp_path, "clickhouse", output)
    text = path.read_text()
    assert password == "s3cret"
    assert "s3cret" not in text
    target = json.loads(text)["doctordata"]["outputs"]["clickhouse"]
    assert (target["host"], target["port"], target["user"]) == ("ch.example", 18123, "alice")
    assert profiles.CLICKHOUSE_PASSWORD_ENV in target["password"]
    assert target["schema"] == "marts"
    assert target["custom_settings"]["join_use_nulls"] == 1


def test_clickhouse_profile_refuses_embedded_chdb() -> None:
    with pytest.raises(ConfigError, match=r"chdb://.*http://user@host:8123"):
        profiles.clickhouse_output("chdb:///tmp/x", namespace="marts", threads=1)


def test_unknown_target_is_refused(lh) -> None:
    with pytest.raises(ConfigError, match="'spark' is not supported"):
        run_dbt(lh, ["build"], target="spark")


def test_missing_project_is_refused(lh, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no dbt_project\.yml; pass --project-dir"):
        run_dbt(lh, ["build"], project_dir=tmp_path)


def test_empty_command_is_refused(lh) -> None:
    with pytest.raises(ConfigError, match="no dbt command"):
        run_dbt(lh, [])


def test_duckdb_profile_names_plugin_and_session(lh, tmp_path: Path) -> None:
    output = profiles.duckdb_output(lh, session_id="abc", namespace="marts", threads=2)
    profiles.write_profiles(tmp_path, "duckdb", output)
    target = json.loads((tmp_path / "profiles.yml").read_text())["doctordata"]["outputs"]
    plugin = target["duckdb"]["plugins"][0]
    assert plugin["module"] == "doctordata.transform.plugin"
    assert plugin["config"] == {"session": "abc", "root": str(lh.root), "namespace": "marts"}
    assert target["duckdb"]["settings"] == {"TimeZone": "UTC"}


def test_plugin_without_session_or_root_explains_the_fix() -> None:
    from doctordata.transform.plugin import Plugin

    with pytest.raises(ConfigError, match="generate the profile with `doctordata dbt`"):
        Plugin("doctordata", {"session": "nope"})


def _days(values: list[int]) -> pa.Table:
    return pa.table({"day": pa.array(values, pa.int64()), "n": pa.array(values, pa.int64())})


def test_write_table_upserts_incremental_models_without_duplicates(lh) -> None:
    from doctordata.transform.plugin import write_table

    assert write_table(lh, "marts.m", _days([1, 2]), incremental=True, unique_key="day") == (
        "created"
    )
    mode = write_table(lh, "marts.m", _days([2, 3]), incremental=True, unique_key="day")
    assert mode == "upserted"
    assert write_table(lh, "marts.m", _days([2, 3]), incremental=True, unique_key="day")
    days = sorted(lh.read("marts.m").column("day").to_pylist())
    assert days == [1, 2, 3]


def test_write_table_replaces_a_table_whose_columns_changed(lh) -> None:
    from doctordata.transform.plugin import write_table

    write_table(lh, "marts.t", _days([1, 2]), incremental=False, unique_key=None)
    assert write_table(lh, "marts.t", _days([5]), incremental=False, unique_key=None) == (
        "overwritten"
    )
    assert lh.read("marts.t").column("day").to_pylist() == [5]
    changed = pa.table({"other": pa.array(["x"])})
    assert write_table(lh, "marts.t", changed, incremental=False, unique_key=None) == "created"
    assert lh.read("marts.t").column_names == ["other"]
