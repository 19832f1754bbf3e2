"""The tier mover on local tiers (SSD and NAS are two real directories)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from doctordata.errors import (
    SnapshotNotFoundError,
    TierNotFoundError,
    TierOfflineError,
    TierUnavailableError,
    WhereClauseError,
)
from tests.tiered_lakes import (
    engine_rows,
    engine_summary,
    files_on,
    local_path,
    recent_day,
    rows,
    sorted_rows,
)


@pytest.fixture
def lake(make_lake):  # type: ignore[no-untyped-def]
    lh = make_lake()
    lh.create_table("hn.items", rows(0), partition_by=["day(time)"])
    lh.append("hn.items", rows(1000))
    return lh


def test_dry_run_lists_moves_and_moves_nothing(lake) -> None:  # type: ignore[no-untyped-def]
    before = files_on(lake, "hn.items")
    snapshot = lake.table("hn.items").current_snapshot().snapshot_id
    report = lake.tier(dry_run=True)
    assert report.dry_run and not report.moved
    assert len(report.planned) == 6  # 3 old days x 2 appends
    assert {m.dest for m in report.planned} == {"nas"}
    assert all("time_day=2020-01-0" in m.src_path for m in report.planned)
    assert "would move 6 files" in str(report)
    assert files_on(lake, "hn.items") == before
    assert lake.table("hn.items").current_snapshot().snapshot_id == snapshot


def test_policy_moves_old_partitions_and_reads_are_identical(lake) -> None:  # type: ignore[no-untyped-def]
    arrow_before = sorted_rows(lake, "hn.items")
    sql_before = engine_rows(lake, "hn.items")
    clickhouse_before = engine_summary(lake, "hn.items", "clickhouse")
    assert clickhouse_before == engine_summary(lake, "hn.items", "duckdb")
    report = lake.tier()
    assert len(report.moved) == 6 and not report.failed
    assert report.bytes_moved > 0 and report.bytes_per_second > 0
    where = files_on(lake, "hn.items")
    recent = recent_day().strftime("time_day=%Y-%m-%d")
    for path, tier in where.items():
        assert tier == ("ssd" if recent in path else "nas"), path
        assert local_path(path).is_file()
    nas_root = lake.tiers["nas"].root
    on_nas = [local_path(p).as_posix() for p, t in where.items() if t == "nas"]
    assert on_nas and all(p.startswith(nas_root) for p in on_nas)
    # old copies are retained (time travel), one commit added exactly one snapshot
    assert all(local_path(m.src_path).is_file() for m in report.moved)
    assert len(report.retained) == 6
    assert len(lake.table("hn.items").metadata.snapshots) == 3
    assert sorted_rows(lake, "hn.items").equals(arrow_before)
    assert engine_rows(lake, "hn.items") == sql_before
    assert engine_summary(lake, "hn.items", "clickhouse") == clickhouse_before
    # nothing left to do: a second run is a no-op
    assert lake.tier().moved == []


def test_moved_file_keeps_stats_and_partition(lake) -> None:  # type: ignore[no-untyped-def]
    table = lake.table("hn.items")
    old = {os.path.basename(t.file.file_path): t.file for t in table.scan().plan_files()}
    lake.tier()
    for task in lake.table("hn.items").scan().plan_files():
        new, prev = task.file, old[os.path.basename(task.file.file_path)]
        assert new.partition == prev.partition
        assert new.record_count == prev.record_count
        assert new.file_size_in_bytes == prev.file_size_in_bytes
        assert new.upper_bounds == prev.upper_bounds and new.lower_bounds == prev.lower_bounds


def test_time_travel_until_free_now_then_clear_error(lake) -> None:  # type: ignore[no-untyped-def]
    before_move = lake.table("hn.items").current_snapshot().snapshot_id
    expected = sorted_rows(lake, "hn.items")
    moved = lake.tier()
    # old snapshot still readable from the retained SSD copies
    assert lake.read("hn.items", as_of=before_move).sort_by("id").equals(expected)
    # bring everything back to the SSD and free the NAS copies at once
    back = lake.tier("hn.items", to="ssd", free_now=True)
    assert len(back.moved) == 6
    assert "hn.items" in back.expired_snapshots
    assert "no longer possible" in str(back)
    for move in back.moved:
        assert not local_path(move.src_path).exists(), "NAS copy should be freed"
    assert sorted(back.freed) == sorted(m.src_path for m in back.moved)
    assert sorted_rows(lake, "hn.items").equals(expected)
    # the move snapshot (the only one that referenced the NAS copies) is gone
    move_snapshot = [s for s in lake.snapshots("hn.items") if "tier-move" in str(s["summary"])]
    assert len(move_snapshot) == 1  # only the move back remains
    with pytest.raises(SnapshotNotFoundError):
        lake.read("hn.items", as_of=back.expired_snapshots["hn.items"][0])
    del moved


def test_move_back_with_where(lake) -> None:  # type: ignore[no-untyped-def]
    lake.tier()
    report = lake.tier("hn.items", to="ssd", where="time < '2020-01-02'")
    assert len(report.moved) == 2
    assert all("time_day=2020-01-01" in m.src_path for m in report.moved)
    where = files_on(lake, "hn.items")
    assert sorted(t for p, t in where.items() if "2020-01-01" in p) == ["ssd", "ssd"]
    assert sorted(t for p, t in where.items() if "2020-01-02" in p) == ["nas", "nas"]


def test_where_needs_to_and_unknown_tier(lake) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(WhereClauseError, match="needs to="):
        lake.tier("hn.items", where="id > 1")
    with pytest.raises(TierNotFoundError, match=r"'nass'.*Did you mean: nas"):
        lake.tier("hn.items", to="nass")


def test_missing_nas_refuses_before_moving(lake) -> None:  # type: ignore[no-untyped-def]
    nas = Path(lake.tiers["nas"].root)
    nas.rmdir()
    before = files_on(lake, "hn.items")
    with pytest.raises(TierUnavailableError) as err:
        lake.tier()
    assert "'nas'" in str(err.value) and "'exists'" in str(err.value)
    assert "mount" in str(err.value)
    assert files_on(lake, "hn.items") == before
    assert not nas.exists()


def test_unmounted_nas_refuses(lake) -> None:  # type: ignore[no-untyped-def]
    lake.tier()  # some files now live on the NAS
    nas = Path(lake.tiers["nas"].root)
    hidden = nas.with_name(nas.name + "-elsewhere")
    nas.rename(hidden)
    nas.mkdir()  # an empty mount point: the disk is not mounted
    with pytest.raises(TierOfflineError, match=r"'nas'.*offline"):
        lake.tier("hn.items", to="ssd")
    assert list(nas.iterdir()) == []


def test_unwritable_nas_refuses(make_lake, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    if os.geteuid() == 0:
        # root ignores permission bits; sysfs refuses new files even to root
        target = "/sys/kernel"
    else:
        ro = tmp_path / "ro-nas"
        ro.mkdir()
        ro.chmod(0o555)
        target = str(ro)
    lh = make_lake(extra_tiers={"ro": {"url": target}})
    lh.create_table("hn.items", rows(0), partition_by=["day(time)"])
    before = files_on(lh, "hn.items")
    with pytest.raises(TierUnavailableError, match=r"'ro'.*'writable'"):
        lh.tier("hn.items", to="ro")
    assert files_on(lh, "hn.items") == before


def test_checksum_mismatch_discards_copy(lake, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DOCTORDATA_TEST_CORRUPT", "time_day=2020-01-02")
    expected = sorted_rows(lake, "hn.items")
    report = lake.tier()
    assert len(report.failed) == 2 and len(report.moved) == 4
    assert all("2020-01-02" in path and "does not match" in why for path, why in report.failed)
    assert "FAILED" in str(report)
    where = files_on(lake, "hn.items")
    assert sorted(t for p, t in where.items() if "2020-01-02" in p) == ["ssd", "ssd"]
    nas = Path(lake.tiers["nas"].root)
    assert not [p for p in nas.rglob("*") if "2020-01-02" in str(p) and p.is_file()]
    assert not list(nas.rglob("*.dd-tmp"))
    assert sorted_rows(lake, "hn.items").equals(expected)
    monkeypatch.delenv("DOCTORDATA_TEST_CORRUPT")
    assert len(lake.tier().moved) == 2


def test_file_age_policy_for_unpartitioned_table(make_lake) -> None:  # type: ignore[no-untyped-def]
    lh = make_lake(policies=[{"table": "raw.*", "older_than": "30d", "to": "nas"}])
    lh.create_table("raw.logs", rows(0))
    lh.append("raw.logs", rows(100))
    paths = list(files_on(lh, "raw.logs"))
    old = local_path(paths[0])
    stamp = old.stat().st_mtime - 60 * 86400
    os.utime(old, (stamp, stamp))
    report = lh.tier()
    assert [m.src_path for m in report.moved] == [paths[0]]
    moved_to = local_path(report.moved[0].dst_path)
    # the copy keeps the data's age, so a later "older than 1y -> s3" rule still works
    assert abs(moved_to.stat().st_mtime - stamp) < 1


def test_keep_below_moves_oldest_first(make_lake) -> None:  # type: ignore[no-untyped-def]
    lh = make_lake(policies=[{"table": "*", "column": "time", "keep_below": "1B", "to": "nas"}])
    lh.create_table("hn.items", rows(0), partition_by=["day(time)"])
    sizes = sorted(files_on(lh, "hn.items"))
    report = lh.tier(dry_run=True)
    assert len(report.planned) == len(sizes)  # everything must go to get under 1 byte
    assert next(m.src_path for m in report.planned).count("2020-01-01") == 1
    total = sum(m.size for m in report.planned)
    lh2 = make_lake(
        policies=[{"table": "*", "column": "time", "keep_below": f"{total - 1}B", "to": "nas"}],
        name="lake2",
    )
    lh2.create_table("hn.items", rows(0), partition_by=["day(time)"])
    report2 = lh2.tier(dry_run=True)
    assert len(report2.planned) == 1 and "2020-01-01" in report2.planned[0].src_path


def test_round_trips_leave_no_dead_manifests(lake) -> None:  # type: ignore[no-untyped-def]
    expected = sorted_rows(lake, "hn.items")
    for _ in range(3):
        assert lake.tier("hn.items", to="nas").moved
        assert lake.tier("hn.items", to="ssd", free_now=True).moved
    table = lake.table("hn.items")
    current = table.current_snapshot()
    manifests = current.manifests(table.io)
    # Only the last commit's own DELETED entries may be in a manifest without live files;
    # pyiceberg alone would carry one more such manifest per move (7 here).
    dead = [m for m in manifests if not (m.has_added_files() or m.has_existing_files())]
    assert [m.added_snapshot_id for m in dead] == [current.snapshot_id]
    assert len(manifests) == 2
    assert sorted_rows(lake, "hn.items").equals(expected)
    assert set(files_on(lake, "hn.items").values()) == {"ssd"}
