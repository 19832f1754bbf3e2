"""Backup -> lose the root -> restore elsewhere: identical rows, snapshots and file bytes."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

import doctordata as dd
from doctordata.backup.backup import list_backups, verify_backup
from doctordata.errors import BackupError, BackupNotFoundError, ConfigError
from tests.backup.lakes import TABLES, data_file_hashes, rows


def _history(lh: Any, name: str) -> dict[int, Any]:
    return {s.snapshot_id: rows(lh, name, s.snapshot_id) for s in lh.table(name).snapshots()}


def test_restore_after_losing_the_root_gives_identical_tables(lake: Any, tmp_path: Path) -> None:
    before = {name: rows(lake, name) for name in TABLES}
    history = {name: _history(lake, name) for name in TABLES}
    hashes = data_file_hashes(tmp_path / "lake" / "warehouse")
    report = lake.backup("nas", progress=False)
    assert report.tables == 2 and report.copied_files == report.files > 0
    assert [b.id for b in list_backups(lake, "nas")] == [report.id]
    lake.close()
    shutil.rmtree(tmp_path / "lake")  # the dead SSD

    restored = dd.restore(report.url, tmp_path / "restored")
    assert sorted(restored.tables) == sorted(TABLES)
    with dd.connect(tmp_path / "restored") as lh2:
        assert sorted(lh2.tables()) == sorted(TABLES)
        for name in TABLES:
            assert rows(lh2, name).equals(before[name])
            # every retained snapshot came back too (time travel still works)
            assert _history(lh2, name).keys() == history[name].keys()
            for snapshot_id, expected in history[name].items():
                assert rows(lh2, name, snapshot_id).equals(expected)
            location = lh2.table(name).metadata_location
            assert location.startswith((tmp_path / "restored" / "warehouse").as_uri())
        # byte-identical data files at the same relative paths
        assert data_file_hashes(tmp_path / "restored" / "warehouse") == hashes
        # the restored lakehouse is healthy and writable
        assert lh2.verify(orphan_min_age="0s").ok
        lh2.append("hn.users", rows(lh2, "hn.users").slice(0, 1))
        assert len(rows(lh2, "hn.users")) == len(before["hn.users"]) + 1


QUERY = "SELECT kind, count(*) AS n, sum(id) AS s FROM hn.items GROUP BY kind ORDER BY kind"


def _expected_groups(lh: Any) -> list[tuple[Any, ...]]:
    """QUERY's answer computed by pyarrow from a pyiceberg scan: an engine-free oracle."""
    grouped = rows(lh, "hn.items").group_by("kind").aggregate([("id", "count"), ("id", "sum")])
    return sorted(
        zip(*(grouped[c].to_pylist() for c in ("kind", "id_count", "id_sum")), strict=True)
    )


def test_restored_tables_query_on_duckdb_and_clickhouse(lake: Any, tmp_path: Path) -> None:
    expected = _expected_groups(lake)
    report = lake.backup("nas", progress=False)
    dd.restore(report.url, tmp_path / "restored")
    with dd.connect(tmp_path / "restored") as lh2:
        for engine in ("duckdb", "clickhouse"):
            got = lh2.sql(QUERY, engine=engine).fetchall()
            assert [tuple(r) for r in got] == expected, engine


def test_same_process_queries_original_then_restored(lake: Any, tmp_path: Path) -> None:
    """A restored table has the original's uuid and snapshot ids at new paths: nothing
    cached for the original (e.g. scan plans) may leak into queries of the copy."""
    expected = lake.sql(QUERY, engine="duckdb").fetchall()
    report = lake.backup("nas", progress=False)
    lake.close()
    shutil.move(tmp_path / "lake", tmp_path / "old-lake")
    dd.restore(report.url, tmp_path / "restored")
    with dd.connect(tmp_path / "restored") as lh2:
        assert lh2.sql(QUERY, engine="duckdb").fetchall() == expected


def test_incremental_backup_copies_only_new_files(lake: Any, tmp_path: Path) -> None:
    first = lake.backup("nas", progress=False)
    objects = tmp_path / "nas" / "backups" / "objects"
    stored = sum(1 for p in objects.rglob("*") if p.is_file())
    lake.append("hn.items", rows(lake, "hn.items").slice(0, 5))
    second = lake.backup("nas", progress=False)

    from doctordata.backup.backup import load_manifest, resolve_target

    target = resolve_target(lake, "nas")
    old = {f.path for f in load_manifest(target, first.id).files}
    new = {f.path for f in load_manifest(target, second.id).files}
    added = new - old
    # one append = new data files + one manifest list + new manifest(s) + one metadata.json
    kinds = {f.kind for f in load_manifest(target, second.id).files if f.path in added}
    assert kinds == {"data", "manifest", "manifest-list", "metadata"}
    assert second.copied_files == len(added)
    assert second.reused_files == len(new & old) == len(old)
    # plus one new object: this backup's catalog copy
    assert sum(1 for p in objects.rglob("*") if p.is_file()) == stored + len(added) + 1
    third = lake.backup("nas", progress=False)
    assert third.copied_files == 0 and third.files == second.files
    assert verify_backup(lake, third.id, to="nas").ok


def test_backup_target_must_be_a_configured_tier_or_a_path(lake: Any, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no tier of that name; configured tiers: ssd, nas"):
        lake.backup("usb")
    # an explicit directory works as a one-off target
    report = lake.backup(str(tmp_path / "usb-disk"), progress=False, create=True)
    assert (tmp_path / "usb-disk" / "backups" / report.id / "manifest.json").is_file()
    assert verify_backup(None, report.url).ok


def test_backup_to_the_hot_tier_warns(lake: Any) -> None:
    report = lake.backup("ssd", progress=False)
    assert any("will not survive a dead SSD" in w for w in report.warnings)


def test_restore_refuses_a_non_empty_root_without_force(lake: Any, tmp_path: Path) -> None:
    report = lake.backup("nas", progress=False)
    target = tmp_path / "busy"
    target.mkdir()
    (target / "precious.txt").write_text("keep me")
    with pytest.raises(BackupError, match=r"not empty .*precious\.txt.*--force"):
        dd.restore(report.url, target)
    assert sorted(p.name for p in target.iterdir()) == ["precious.txt"]
    dd.restore(report.url, target, force=True)
    with dd.connect(target) as lh2:
        assert rows(lh2, "hn.users").equals(rows(lake, "hn.users"))
    # restoring the same backup over it again (force) replaces the catalog entries
    dd.restore(report.url, target, force=True)
    assert (target / "precious.txt").read_text() == "keep me"


def test_restore_of_unknown_backup_names_what_exists(lake: Any, tmp_path: Path) -> None:
    report = lake.backup("nas", progress=False)
    missing = report.url.rsplit("/", 1)[0] + "/20200101T000000.000000Z-abcdef"
    with pytest.raises(BackupNotFoundError, match=report.id):
        dd.restore(missing, tmp_path / "r")


def test_restore_in_place_puts_files_back_where_they_were(lake: Any, tmp_path: Path) -> None:
    before = rows(lake, "hn.items")
    hashes = data_file_hashes(tmp_path / "lake" / "warehouse")
    report = lake.backup("nas", progress=False)
    lake.close()
    shutil.rmtree(tmp_path / "lake")
    dd.restore(report.url, tmp_path / "lake", tiers="original")
    assert data_file_hashes(tmp_path / "lake" / "warehouse") == hashes
    with dd.connect(tmp_path / "lake") as lh2:
        assert rows(lh2, "hn.items").equals(before)
