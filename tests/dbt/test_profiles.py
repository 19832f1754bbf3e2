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

    with pytest.raises(ConfigError, match="root: <lakehouse root>"):
        Plugin("doctordata", {"session": "nope"})


def _days(values: list[int]) -> pa.Table:
    return pa.table({"day": pa.array(values, pa.int64()), "n": pa.array(values, pa.int64())})


def _stream(table: pa.Table):  # a factory of RecordBatchReaders, as the plugin passes
    return lambda: pa.RecordBatchReader.from_batches(
        table.schema, table.to_batches(max_chunksize=1)
    )


PROPS = {"doctordata.dbt.invocation-id": "inv-1"}


def test_upsert_replaces_only_the_given_keys(lh) -> None:
    from doctordata.transform import writes

    writes.replace(lh, "marts.m", _stream(_days([1, 2])), PROPS)
    assert writes.upsert(lh, "marts.m", _stream(_days([2, 3])), ["day"], PROPS) == 2
    assert sorted(lh.read("marts.m").column("day").to_pylist()) == [1, 2, 3]
    last = lh.snapshots("marts.m")[-1]["summary"]
    assert last["added-records"] == "2" and last["doctordata.dbt.invocation-id"] == "inv-1"


def test_upsert_refuses_duplicate_and_null_keys(lh) -> None:
    from doctordata.errors import SchemaMismatchError
    from doctordata.transform import writes

    writes.replace(lh, "marts.m", _stream(_days([1])), PROPS)
    with pytest.raises(SchemaMismatchError, match="same unique_key"):
        writes.upsert(lh, "marts.m", _stream(_days([2, 2])), ["day"], PROPS)
    nulls = pa.table({"day": pa.array([None], pa.int64()), "n": pa.array([1], pa.int64())})
    with pytest.raises(SchemaMismatchError, match="null in some new rows"):
        writes.upsert(lh, "marts.m", _stream(nulls), ["day"], PROPS)
    assert lh.read("marts.m").column("day").to_pylist() == [1]


def test_delete_insert_replaces_every_row_of_a_key(lh, monkeypatch: pytest.MonkeyPatch) -> None:
    """unique=False is dbt's delete+insert: several new rows may share a key (a day and
    its top stories), and every old row of that key goes. The rows are streamed in
    chunks (one file each) while only the key values are held."""
    from doctordata.transform import writes

    old = pa.table({"day": pa.array([1, 1, 2, 2], pa.int64()), "n": pa.array([1, 2, 3, 4])})
    writes.replace(lh, "marts.d", _stream(old), PROPS)
    monkeypatch.setattr(writes, "CHUNK_ROWS", 2)
    new = pa.table({"day": pa.array([2, 2, 2, 3], pa.int64()), "n": pa.array([5, 6, 7, 8])})
    assert writes.upsert(lh, "marts.d", _stream(new), ["day"], PROPS, unique=False) == 4
    rows = sorted(tuple(r.values()) for r in lh.read("marts.d").to_pylist())
    assert rows == [(1, 1), (1, 2), (2, 5), (2, 6), (2, 7), (3, 8)]


def test_rebuilt_keys_lose_their_rows_even_without_new_rows(lh) -> None:
    """The rebuild_keys strategy: every rebuilt key is deleted, held by the new rows or
    not (a day whose only story died has no new row); keys not rebuilt are untouched."""
    from doctordata.transform import writes

    writes.replace(lh, "marts.r", _stream(_days([1, 2, 3, 4])), PROPS)
    rebuilt = pa.table({"day": pa.array([2, 3, None, 9], pa.int64())})  # null: no row
    count = writes.upsert(
        lh, "marts.r", _stream(_days([3])), ["day"], PROPS, unique=False, rebuilt=_stream(rebuilt)
    )
    assert count == 1
    assert sorted(lh.read("marts.r").column("day").to_pylist()) == [1, 3, 4]
    # No new row at all: the rebuilt key still goes, in one commit with the lineage.
    empty = _days([]).slice(0, 0)
    gone = pa.table({"day": pa.array([4], pa.int64())})
    assert writes.upsert(lh, "marts.r", _stream(empty), ["day"], PROPS, rebuilt=_stream(gone)) == 0
    assert sorted(lh.read("marts.r").column("day").to_pylist()) == [1, 3]
    assert lh.snapshots("marts.r")[-1]["summary"]["doctordata.dbt.invocation-id"] == "inv-1"


def test_rebuilt_keys_on_two_columns(lh) -> None:
    from doctordata.transform import writes

    old = pa.table({"a": pa.array([1, 1, 2], pa.int64()), "b": pa.array(["x", "y", "x"])})
    writes.replace(lh, "marts.k", _stream(old), PROPS)
    # (1, "y") is rebuilt without a new row; (2, "y") does not exist; (1, "x") is kept.
    rebuilt = pa.table({"a": pa.array([1, 2], pa.int64()), "b": pa.array(["y", "y"])})
    new = pa.table({"a": pa.array([2], pa.int64()), "b": pa.array(["x"])})
    writes.upsert(lh, "marts.k", _stream(new), ["a", "b"], PROPS, rebuilt=_stream(rebuilt))
    rows = sorted(tuple(r.values()) for r in lh.read("marts.k").to_pylist())
    assert rows == [(1, "x"), (2, "x")]


def test_rebuilt_keys_must_name_the_key_columns(lh) -> None:
    from doctordata.errors import SchemaMismatchError
    from doctordata.transform import writes

    writes.replace(lh, "marts.r", _stream(_days([1, 2])), PROPS)
    wrong = pa.table({"other": pa.array([1], pa.int64())})
    with pytest.raises(SchemaMismatchError, match=r"'day' of model 'marts\.r'.*rebuilt_keys"):
        writes.upsert(lh, "marts.r", _stream(_days([2])), ["day"], PROPS, rebuilt=_stream(wrong))
    assert sorted(lh.read("marts.r").column("day").to_pylist()) == [1, 2]


def test_a_partitioned_mart_and_a_changed_layout(lh) -> None:
    from doctordata.transform import writes

    month = writes.Layout(("truncate(10, day)",))
    writes.replace(lh, "marts.p", _stream(_days([1, 2, 15])), PROPS, month)
    assert [f.name for f in lh.table("marts.p").spec().fields] == ["day_trunc_10"]
    assert len(lh.table("marts.p").inspect.files()) == 2  # one file per partition
    # An upsert into partition 10..19 leaves the file of 0..9 alone.
    first = set(lh.table("marts.p").inspect.files().column("file_path").to_pylist())
    writes.upsert(lh, "marts.p", _stream(_days([15, 16])), ["day"], PROPS, month)
    after = set(lh.table("marts.p").inspect.files().column("file_path").to_pylist())
    assert len(first & after) == 1
    assert sorted(lh.read("marts.p").column("day").to_pylist()) == [1, 2, 15, 16]
    # A full build with another layout recreates the mart (derived data).
    writes.replace(lh, "marts.p", _stream(_days([3])), PROPS, writes.Layout())
    assert not lh.table("marts.p").spec().fields
    assert lh.read("marts.p").column("day").to_pylist() == [3]


def test_replace_streams_chunks_into_one_commit(lh, monkeypatch: pytest.MonkeyPatch) -> None:
    from doctordata.transform import writes

    writes.replace(lh, "marts.t", _stream(_days([9])), PROPS)
    before = len(lh.snapshots("marts.t"))
    monkeypatch.setattr(writes, "CHUNK_ROWS", 2)
    assert writes.replace(lh, "marts.t", _stream(_days(list(range(5)))), PROPS) == 5
    assert sorted(lh.read("marts.t").column("day").to_pylist()) == [0, 1, 2, 3, 4]
    table = lh.table("marts.t")
    # 3 chunks -> 3 data files, committed together (one delete + three appends).
    assert len(table.inspect.files()) == 3
    assert len(lh.snapshots("marts.t")) == before + 4


def test_replace_recreates_a_table_whose_columns_changed(lh) -> None:
    from doctordata.errors import SchemaMismatchError
    from doctordata.transform import writes

    writes.replace(lh, "marts.t", _stream(_days([1, 2])), PROPS)
    changed = pa.table({"other": pa.array(["x"])})
    with pytest.raises(SchemaMismatchError, match="--full-refresh"):
        writes.append(lh, "marts.t", _stream(changed), PROPS)
    writes.replace(lh, "marts.t", _stream(changed), PROPS)
    assert lh.read("marts.t").column_names == ["other"]


def test_the_dbt_package_ships_in_the_wheel() -> None:
    """Every file of the dbt package is matched by pyproject's package-data, so the wheel
    carries it (a new macro file outside the globs would silently be left out)."""
    import fnmatch
    import tomllib

    from doctordata.transform.runner import PACKAGE_DIR

    root = PACKAGE_DIR.parents[1]  # the doctordata package
    pyproject = tomllib.loads((root.parent / "pyproject.toml").read_text())
    globs = pyproject["tool"]["setuptools"]["package-data"]["doctordata"]
    files = [p.relative_to(root).as_posix() for p in PACKAGE_DIR.rglob("*") if p.is_file()]
    files = [f for f in files if "__pycache__" not in f]
    assert "transform/dbt_package/dbt_project.yml" in files
    assert [f for f in files if not any(fnmatch.fnmatch(f, g) for g in globs)] == []


def test_package_path_is_printed_for_plain_dbt_users() -> None:
    import subprocess
    import sys

    from doctordata.transform.runner import PACKAGE_DIR

    out = subprocess.run(
        [sys.executable, "-m", "doctordata.transform", "package-path"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(out) == PACKAGE_DIR and (PACKAGE_DIR / "dbt_project.yml").is_file()


def test_view_models_read_the_source_view_and_tables_an_inline_plan(lh) -> None:
    from doctordata.transform.plugin import Plugin
    from doctordata.transform.session import close_session, open_session

    lh.create_table("hn.items", _days([1, 2]))
    session = open_session(lh, "marts")
    try:
        plugin = Plugin("doctordata", {"session": session.id})
        plugin._views.add("hn.items")
        assert plugin.source_sql("hn.items", None, False) == (
            '(SELECT * FROM "doctordata_sources"."hn.items")'
        )
        inline = plugin.source_sql("hn.items", "day > 1", True)
        assert "read_parquet" in inline and "doctordata_sources" not in inline
        assert session.scans[-1].snapshot_id == lh.table("hn.items").metadata.current_snapshot_id
    finally:
        close_session(session.id)


def test_uncommitted_marts_are_reported_loudly(lh, capsys: pytest.CaptureFixture[str]) -> None:
    from doctordata.transform.plugin import _warn_uncommitted
    from doctordata.transform.session import PendingWrite, Session

    session = Session(id="x", lh=lh, namespace="marts")
    _warn_uncommitted(session)
    assert capsys.readouterr().err == ""
    session.add_pending(PendingWrite("marts.m", '"main"."m"', "replace"))
    _warn_uncommitted(session)
    assert "NOT written to Iceberg (marts.m)" in capsys.readouterr().err


def test_a_bad_as_of_is_named_in_the_failure(lh) -> None:
    from doctordata.errors import SnapshotNotFoundError
    from doctordata.transform.runner import DbtRun, NodeResult
    from doctordata.transform.session import Session

    lh.create_table("hn.items", _days([1]))
    session = Session(id="x", lh=lh, namespace="marts", as_of="no-such-tag")
    with pytest.raises(SnapshotNotFoundError):
        session.pin("hn.items")
    assert "no-such-tag" in session.errors[0]
    failed = NodeResult("model.p.m", "model", "error", "Runtime Error in model m", 0.1)
    run = DbtRun(["build"], "duckdb", False, 1.0, [failed], source_errors=session.errors)
    assert "no-such-tag" in run.describe_failure()
    assert Session(id="y", lh=lh, namespace="marts").pin("hn.items") == (
        lh.table("hn.items").metadata.current_snapshot_id
    )
