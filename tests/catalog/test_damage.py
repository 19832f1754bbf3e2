"""Damage is detected and reported per table, never a crash of the whole lakehouse.

- every data file doctordata writes (or moves, or restores) has a recorded checksum, and
  ``verify(deep=True)`` / ``doctordata verify --deep`` finds a flipped byte, a truncated
  or missing file, and calls a file with no recorded checksum "unchecked";
- one corrupt metadata.json is reported for its table while verify, maintain, backup
  and doctor go on with the others (and exit non-zero);
- a 0-byte / emptied catalog over a warehouse with tables, and a half-finished restore,
  are refused with EmptyCatalogError pointing to `doctordata restore`.

Real files, real SQLite and Postgres catalogs, real subprocesses for the killed restore.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import doctordata as dd
from doctordata.errors import CommitConflictError, EmptyCatalogError


def _tiers(base: Path) -> dict[str, dict[str, str]]:
    (base / "nas").mkdir(exist_ok=True)
    return {"ssd": {"url": str(base / "lake" / "warehouse")}, "nas": {"url": str(base / "nas")}}


def _rows(n: int, start: int = 0) -> pa.Table:
    ids = list(range(start, start + n))
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "kind": pa.array([("a", "b", "c")[i % 3] for i in ids]),
            "v": pa.array([float(i) for i in ids]),
        }
    )


@pytest.fixture
def dlh(catalog_uri: str, tmp_path: Path) -> Iterator[dd.Lakehouse]:
    """Two tables, an SSD and a NAS tier, on the parametrised catalog backend."""
    with dd.connect(tmp_path / "lake", catalog={"uri": catalog_uri}, tiers=_tiers(tmp_path)) as lh:
        lh.create_table("t.x", _rows(1000))
        lh.append("t.x", _rows(500, 1000))
        lh.create_table("t.y", _rows(50))
        yield lh


def _data_files(lh: dd.Lakehouse, name: str) -> list[str]:
    return sorted(t.file.file_path for t in lh.table(name).scan().plan_files())


def _local(location: str) -> Path:
    return Path(location.removeprefix("file://"))


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _cli(root: Path, *args: str) -> Any:
    from doctordata.cli import cli

    return CliRunner().invoke(cli, ["--root", str(root), *args])


# -- item 11: checksums and verify --deep -------------------------------------------------


def test_every_write_path_records_a_checksum_of_each_data_file(dlh: dd.Lakehouse) -> None:
    dlh.overwrite("t.x", _rows(10, 5000), where="id < 100")
    dlh.delete("t.x", "id BETWEEN 200 AND 210")
    dlh.upsert("t.x", _rows(20, 1490), on=["id"])
    for i in range(25):  # many small files: compaction rewrites them
        dlh.append("t.y", _rows(2, 100 + 2 * i))
    report = dlh.maintain(expire_older_than="0s", orphan_older_than="1d")
    assert report.ok
    assert any(t.compaction and t.compaction.rewritten for t in report.tables)
    # the files expiry deleted lost their rows too: every row names an existing file
    from doctordata.catalog.checksums import TABLE, store_for

    store = store_for(dlh.settings.catalog_uri)
    assert store is not None
    with store.engine.connect() as conn:
        recorded = [r[0] for r in conn.exec_driver_sql(f"SELECT location FROM {TABLE}")]
    assert recorded and all(_local(loc).exists() for loc in recorded)
    moved = dlh.tier("t.x", to="nas", progress=False)
    assert moved.moved and not moved.failed

    deep = dlh.verify(deep=True)
    assert deep.ok, str(deep)
    files = sum(len(_data_files(dlh, n)) for n in ("t.x", "t.y"))
    assert deep.unchecked == 0, str(deep)
    assert deep.files_hashed >= files > 0
    assert any(
        _local(p).is_relative_to(Path(dlh.tiers["nas"].root)) for p in _data_files(dlh, "t.x")
    )


def test_deep_verify_finds_a_flipped_byte_naming_table_file_and_tier(dlh: dd.Lakehouse) -> None:
    victim = _data_files(dlh, "t.x")[0]
    _flip(_local(victim))  # same size: the shallow check cannot see it

    assert dlh.verify().ok
    deep = dlh.verify(deep=True)
    assert not deep.ok
    assert deep.failed_tables == ["t.x"]
    [issue] = deep.errors
    assert issue.kind == "checksum-mismatch" and issue.paths == (victim,)
    assert "tier ssd" in issue.message and issue.table == "t.x"
    assert "restore" in issue.fix


def test_deep_verify_truncated_and_missing_files(dlh: dd.Lakehouse) -> None:
    first, second = _data_files(dlh, "t.x")[:2]
    path = _local(first)
    path.write_bytes(path.read_bytes()[:-10])
    _local(second).unlink()

    deep = dlh.verify(deep=True)
    kinds = {i.paths[0]: i.kind for i in deep.errors}
    assert kinds == {first: "size-mismatch", second: "missing-file"}
    assert deep.failed_tables == ["t.x"]


def test_a_file_without_a_recorded_checksum_is_unchecked_not_damaged(
    dlh: dd.Lakehouse, tmp_path: Path
) -> None:
    # A foreign writer's file, added with add_files below the table's own data directory.
    data_dir = _local(_data_files(dlh, "t.y")[0]).parent
    foreign = data_dir / "foreign.parquet"
    pq.write_table(_rows(5, 900), foreign)
    dlh.add_files("t.y", [str(foreign)])

    deep = dlh.verify(deep=True)
    assert deep.ok, str(deep)
    assert deep.unchecked == 1
    [warning] = [i for i in deep.warnings if i.kind == "unchecked"]
    assert warning.table == "t.y"
    assert [_local(p) for p in warning.paths] == [foreign]


def test_files_written_before_checksums_existed_are_unchecked(dlh: dd.Lakehouse) -> None:
    from doctordata.catalog.checksums import TABLE, store_for

    store = store_for(dlh.settings.catalog_uri)
    assert store is not None
    with store.engine.begin() as conn:
        conn.exec_driver_sql(f"DELETE FROM {TABLE}")
    _flip(_local(_data_files(dlh, "t.x")[0]))
    deep = dlh.verify(deep=True)
    assert deep.ok and deep.files_hashed == 0
    assert deep.unchecked == len(_data_files(dlh, "t.x")) + len(_data_files(dlh, "t.y"))


def test_cli_verify_deep_exit_code(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    with dd.connect(root) as lh:
        lh.create_table("t.x", _rows(300))
        victim = _data_files(lh, "t.x")[0]
    ok = _cli(root, "verify", "--deep")
    assert ok.exit_code == 0, ok.output
    assert "0 unchecked" in ok.output
    _flip(_local(victim))
    assert _cli(root, "verify").exit_code == 0
    bad = _cli(root, "verify", "--deep")
    assert bad.exit_code == 1
    assert "t.x" in bad.output and victim in bad.output and "tier ssd" in bad.output


def test_restore_carries_checksums_and_deep_verify_checks_the_restored_lake(
    dlh: dd.Lakehouse, tmp_path: Path
) -> None:
    backup = dlh.backup("nas", progress=False)
    root = tmp_path / "restored"
    dd.restore(backup.url, root, progress=False)
    with dd.connect(root) as restored:
        deep = restored.verify(deep=True)
        assert deep.ok and deep.unchecked == 0 and deep.files_hashed > 0, str(deep)
        victim = _data_files(restored, "t.y")[0]
        _flip(_local(victim))
        deep = restored.verify(deep=True)
        assert deep.failed_tables == ["t.y"] and deep.errors[0].paths == (victim,)


# -- item 12: one damaged table, the others go on --------------------------------------------


@pytest.fixture(params=["truncated-json", "not-iceberg"])
def corrupt(request: pytest.FixtureRequest, dlh: dd.Lakehouse) -> tuple[str, str]:
    """Damage t.x's current metadata.json; returns its location and how it was damaged."""
    location = dlh.table("t.x").metadata_location
    text = '{"format-vers' if request.param == "truncated-json" else '{"format-version": 2}'
    _local(location).write_text(text)
    return str(location), str(request.param)


def test_verify_reports_a_corrupt_metadata_file_per_table(
    dlh: dd.Lakehouse, corrupt: tuple[str, str]
) -> None:
    report = dlh.verify(deep=True)
    assert report.failed_tables == ["t.x"]
    assert report.tables == 2 and report.files_hashed == len(_data_files(dlh, "t.y"))
    [issue] = report.errors
    assert issue.kind == "broken-metadata" and corrupt[0] in issue.message
    assert "restore" in issue.fix


def test_maintain_goes_on_past_a_corrupt_table_and_names_it(
    dlh: dd.Lakehouse, corrupt: tuple[str, str]
) -> None:
    for i in range(25):
        dlh.append("t.y", _rows(2, 100 + 2 * i))
    report = dlh.maintain()
    assert [t.table for t in report.failed] == ["t.x"]
    error = report.failed[0].error
    assert "t.x" in str(error) and corrupt[0] in str(error) and "restore" in str(error)
    [y] = [t for t in report.tables if t.table == "t.y"]
    assert y.error is None and y.compaction is not None and y.compaction.rewritten
    assert "1 table(s) failed: t.x" in str(report)


def test_maintain_goes_on_past_a_commit_conflict(
    dlh: dd.Lakehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Fault injection: compaction of t.x loses its commit to another writer.
    from doctordata.lifecycle import compaction

    real = compaction.compact

    def compact(lh: Any, tbl: Any, **kw: Any) -> Any:
        if tbl.name() == ("t", "x"):
            raise CommitConflictError("commit of t.x conflicted 60 times")
        return real(lh, tbl, **kw)

    monkeypatch.setattr(compaction, "compact", compact)
    report = dlh.maintain()
    assert [t.table for t in report.failed] == ["t.x"]
    assert isinstance(report.failed[0].error, CommitConflictError)
    assert "rerun" in str(report.failed[0].error).lower()
    assert [t.table for t in report.tables if t.error is None] == ["t.y"]


def test_backup_goes_on_past_a_corrupt_table(
    dlh: dd.Lakehouse, corrupt: tuple[str, str], tmp_path: Path
) -> None:
    report = dlh.backup("nas", progress=False)
    if corrupt[1] == "truncated-json":
        assert report.failed_tables == ["t.x"]
        assert "t.x" in str(report)
    # Valid JSON that is not Iceberg metadata: copied as it is (the backup does not parse
    # every metadata.json with pyiceberg's model); verify reports it.
    from doctordata.backup.backup import load_manifest, resolve_target

    manifest = load_manifest(resolve_target(dlh, "nas"), report.id)
    assert {f.table for f in manifest.files if f.kind == "data"} == {"t.y"}


def test_cli_maintain_backup_doctor_name_the_corrupt_table(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    (tmp_path / "nas").mkdir()
    (root).mkdir()
    (root / "doctordata.toml").write_text(
        f'[tiers.ssd]\nurl = "{root / "warehouse"}"\n[tiers.nas]\nurl = "{tmp_path / "nas"}"\n'
    )
    with dd.connect(root) as lh:
        lh.create_table("t.x", _rows(10))
        lh.create_table("t.y", _rows(10))
        _local(lh.table("t.x").metadata_location).write_text("{")
    maintain = _cli(root, "maintain")
    assert maintain.exit_code == 1 and "t.x" in maintain.output, maintain.output
    backup = _cli(root, "backup", "--to", "nas", "--no-progress")
    assert backup.exit_code == 1 and "t.x" in backup.output, backup.output
    doctor = _cli(root, "doctor")
    assert doctor.exit_code == 1
    flat = " ".join(doctor.output.split())
    assert "failed: integrity t.x" in flat and "integrity t.y" not in flat


# -- item 13: an empty catalog over a warehouse with tables, a half-finished restore --------


def test_a_zero_byte_sqlite_catalog_is_refused_and_left_alone(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    with dd.connect(root) as lh:
        lh.create_table("t.x", _rows(10))
    db = root / "catalog.db"
    for leftover in (root / "catalog.db-wal", root / "catalog.db-shm"):
        leftover.unlink(missing_ok=True)
    db.write_bytes(b"")
    with dd.connect(root) as lh, pytest.raises(EmptyCatalogError) as err:
        lh.tables()
    assert "0 bytes" in str(err.value) and "doctordata restore" in str(err.value)
    assert "t/x" in str(err.value)
    assert db.stat().st_size == 0  # nothing was created over it
    doctor = _cli(root, "doctor")
    assert doctor.exit_code == 1 and "restore" in doctor.output
    assert _cli(root, "tables").exit_code != 0


def test_a_deleted_or_garbage_sqlite_catalog_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    with dd.connect(root) as lh:
        lh.create_table("t.x", _rows(10))
    db = root / "catalog.db"
    db.write_bytes(b"this is not a database" * 100)
    with dd.connect(root) as lh, pytest.raises(EmptyCatalogError, match="not an SQLite"):
        lh.tables()
    db.unlink()
    with dd.connect(root) as lh, pytest.raises(EmptyCatalogError, match="missing"):
        lh.tables()
    assert not db.exists()


def test_an_emptied_catalog_is_refused_on_postgres_too(
    postgres_catalog_url: str, tmp_path: Path, postgres_server: Any
) -> None:
    root = tmp_path / "lake"
    with dd.connect(root, catalog={"uri": postgres_catalog_url}) as lh:
        lh.create_table("t.x", _rows(10))
    fresh = postgres_server.create_database("emptied_catalog")
    try:
        with dd.connect(root, catalog={"uri": fresh}) as lh, pytest.raises(EmptyCatalogError):
            lh.tables()
    finally:
        postgres_server.drop_database("emptied_catalog")


def test_a_new_lakehouse_and_one_with_tables_open_normally(tmp_path: Path) -> None:
    with dd.connect(tmp_path / "new") as lh:
        assert lh.tables() == []
        lh.create_table("t.x", _rows(3))
    with dd.connect(tmp_path / "new") as lh:
        assert lh.tables() == ["t.x"]


def test_a_restore_killed_half_way_is_refused_until_it_is_rerun(
    dlh: dd.Lakehouse, tmp_path: Path, child_env: dict[str, str]
) -> None:
    backup = dlh.backup("nas", progress=False)
    root = tmp_path / "restored"
    env = {**child_env, "DOCTORDATA_TEST_KILL_AT": "restore-registered:1"}
    cmd = [sys.executable, "-m", "doctordata", "restore", backup.url, str(root), "--no-progress"]
    killed = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert killed.returncode == -9, killed.stderr
    # one table is registered, the other is not: this is not a lakehouse to trust
    with dd.connect(root) as lh, pytest.raises(EmptyCatalogError, match="did not finish"):
        lh.tables()
    assert _cli(root, "doctor").exit_code == 1

    env.pop("DOCTORDATA_TEST_KILL_AT")
    again = subprocess.run([*cmd, "--force"], env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    with dd.connect(root) as lh:
        assert lh.tables() == ["t.x", "t.y"]
        assert lh.verify(deep=True).ok


def test_restore_in_place_repairs_a_zero_byte_catalog(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    with dd.connect(root, tiers=_tiers(tmp_path)) as lh:
        lh.create_table("t.x", _rows(10))
        backup = lh.backup("nas", progress=False)
    (root / "catalog.db").write_bytes(b"")
    for leftover in (root / "catalog.db-wal", root / "catalog.db-shm"):
        leftover.unlink(missing_ok=True)
    dd.restore(backup.url, root, force=True, tiers="original", progress=False)
    with dd.connect(root) as lh:
        assert lh.read("t.x").num_rows == 10
        assert lh.verify(deep=True).ok


def test_sqlite_checksum_rows_live_in_the_catalog_database(tmp_path: Path) -> None:
    from doctordata.catalog.checksums import TABLE

    root = tmp_path / "lake"
    with dd.connect(root) as lh:
        lh.create_table("t.x", _rows(10))
        [path] = _data_files(lh, "t.x")
    rows = sqlite3.connect(root / "catalog.db").execute(f"SELECT * FROM {TABLE}").fetchall()
    assert [r[0] for r in rows] == [path]
    assert rows[0][1] == _local(path).stat().st_size


def test_backup_warns_when_a_data_file_differs_from_its_recorded_checksum(
    dlh: dd.Lakehouse,
) -> None:
    victim = _data_files(dlh, "t.y")[0]
    _flip(_local(victim))
    report = dlh.backup("nas", progress=False)
    [warning] = [w for w in report.warnings if "recorded" in w]
    assert victim in warning and "t.y" in warning and "damaged" in warning


@pytest.mark.s3
def test_deep_verify_on_an_s3_hot_tier(tmp_path: Path, s3_env: Any, s3_bucket: str) -> None:
    s3 = {"url": f"s3://{s3_bucket}/lake", "endpoint": s3_env.endpoint, "region": s3_env.region}
    with dd.connect(tmp_path / "lake", tiers={"s3": s3}) as lh:
        lh.create_table("t.x", _rows(300))
        lh.append("t.x", _rows(300, 300))
        files = _data_files(lh, "t.x")
        assert all(f.startswith(f"s3://{s3_bucket}/") for f in files)
        deep = lh.verify(deep=True)
        assert deep.ok and deep.unchecked == 0 and deep.files_hashed == len(files), str(deep)

        fs = s3_env.filesystem()
        data = bytearray(fs.cat(files[0]))
        data[len(data) // 2] ^= 0x01
        fs.pipe(files[0], bytes(data))
        deep = lh.verify(deep=True)
        [issue] = deep.errors
        assert issue.kind == "checksum-mismatch" and issue.paths == (files[0],), str(deep)
        assert "tier s3" in issue.message


def test_a_restore_refused_before_touching_the_catalog_leaves_the_root_usable(
    dlh: dd.Lakehouse,
) -> None:
    from doctordata.backup.backup import load_manifest, resolve_target
    from doctordata.errors import IntegrityError

    report = dlh.backup("nas", progress=False)
    target = resolve_target(dlh, "nas")
    victim = next(f for f in load_manifest(target, report.id).files if f.kind == "data")
    _flip(Path(target.object_path(victim.sha256)))
    with pytest.raises(IntegrityError, match="damaged"):
        dd.restore(report.url, dlh.root, force=True, tiers="original", progress=False)
    uri = dlh.settings.catalog_uri
    with dd.connect(dlh.root, catalog={"uri": uri}, tiers=_tiers(dlh.root.parent)) as again:
        # no restore mark left: the lake is as it was
        assert again.tables() == ["t.x", "t.y"]
