"""The mover's catalog swap: staged while the copies run, committed after them."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from doctordata.catalog.rewrite import rewrite_files
from doctordata.catalog.swap import commit_staged, relocated, stage_swap
from doctordata.lifecycle import mover
from doctordata.lifecycle.policy import plan_explicit
from doctordata.storage.offline import MARKER
from tests.tiered_lakes import OLD_DAYS, files_on, local_path, rows, sorted_rows


def _lake(make_lake: Any, name: str = "lake") -> Any:
    lh = make_lake(name=name)
    lh.create_table("hn.items", rows(0), partition_by=["day(time)"])
    lh.append("hn.items", rows(1000))
    return lh


def _old_day_moves(lh: Any, to: str = "nas", days: tuple[str, ...] = ("2020-01-01",)) -> list[Any]:
    plan = plan_explicit("hn.items", lh.table("hn.items"), lh.tiers, to)
    return [m for m in plan.moves if any(f"time_day={d}" in m.src_path for d in days)]


def _copy(moves: list[Any]) -> None:
    for m in moves:
        dst = local_path(m.dst_path)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(local_path(m.src_path), dst)


def _metadata_files(lh: Any) -> set[str]:
    folder = Path(local_path(lh.table("hn.items").metadata.location)) / "metadata"
    return {p.name for p in folder.iterdir()}


def _referenced_avro(lh: Any) -> set[str]:
    """Manifest lists and manifests of every retained snapshot (file names)."""
    table = lh.table("hn.items")
    names: set[str] = set()
    for snapshot in table.metadata.snapshots:
        names.add(Path(snapshot.manifest_list).name)
        names |= {Path(m.manifest_path).name for m in snapshot.manifests(table.io)}
    return names


def _manifest_counts(table: Any) -> list[tuple[int, int, int]]:
    manifests = table.current_snapshot().manifests(table.io)
    return sorted(
        (m.added_files_count, m.existing_files_count, m.deleted_files_count) for m in manifests
    )


def test_swap_commits_what_pyiceberg_rewrite_commits(make_lake) -> None:  # type: ignore[no-untyped-def]
    """Same summary, same manifest layout (ADDED, DELETED, EXISTING rewrite of the touched
    manifest, untouched manifest kept) as the rewrite through pyiceberg's producer."""
    ours, theirs = _lake(make_lake, "ours"), _lake(make_lake, "theirs")
    results = []
    for lh, commit in ((ours, "swap"), (theirs, "pyiceberg")):
        moves = _old_day_moves(lh, days=("2020-01-01", "2020-01-02"))
        assert len(moves) == 4  # 2 days x 2 commits: touches both manifests, partly
        _copy(moves)
        table = lh.table("hn.items")
        pairs = [(m.data_file, m.dst_path) for m in moves]
        if commit == "swap":
            committed = commit_staged(stage_swap(table, pairs, "requested: to nas"))
        else:
            committed = rewrite_files(
                table,
                [old for old, _ in pairs],
                [relocated(old, new) for old, new in pairs],
                operation="tier-move: requested: to nas",
            )
        results.append((committed, moves))
    (ours_table, ours_moves), (theirs_table, _) = results
    assert ours_table.current_snapshot().summary == theirs_table.current_snapshot().summary
    summary = ours_table.current_snapshot().summary
    assert summary["added-data-files"] == summary["deleted-data-files"] == "4"
    assert summary["changed-partition-count"] == "2"
    assert _manifest_counts(ours_table) == _manifest_counts(theirs_table)
    # each of the two manifests (create, append) keeps its other two days as EXISTING
    assert _manifest_counts(ours_table) == [(0, 0, 4), (0, 2, 0), (0, 2, 0), (4, 0, 0)]
    assert sorted_rows(ours, "hn.items").equals(sorted_rows(theirs, "hn.items"))
    on_nas = sorted(p for p, tier in files_on(ours, "hn.items").items() if tier == "nas")
    assert on_nas == sorted(m.dst_path for m in ours_moves)


def test_staged_swap_survives_a_commit_landing_before_it(make_lake) -> None:  # type: ignore[no-untyped-def]
    """Staged against one snapshot, committed after an append: pyiceberg's retry stages it
    again on the new head (our producer), keeping the appended rows."""
    lh = _lake(make_lake)
    moves = _old_day_moves(lh)
    _copy(moves)
    staged = stage_swap(lh.table("hn.items"), [(m.data_file, m.dst_path) for m in moves], "t")
    lh.append("hn.items", rows(5000))
    expected = sorted_rows(lh, "hn.items")
    committed = commit_staged(staged)
    assert sorted_rows(lh, "hn.items").equals(expected)
    where = files_on(lh, "hn.items")
    assert sorted(p for p, t in where.items() if t == "nas") == sorted(m.dst_path for m in moves)
    assert committed.current_snapshot().summary["total-records"] == str(expected.num_rows)
    assert _referenced_avro(lh) >= {n for n in _metadata_files(lh) if n.endswith(".avro")}


def test_discarded_swap_leaves_no_files_and_no_snapshot(make_lake) -> None:  # type: ignore[no-untyped-def]
    lh = _lake(make_lake)
    before_files, before = _metadata_files(lh), lh.table("hn.items").current_snapshot()
    moves = _old_day_moves(lh)
    staged = stage_swap(lh.table("hn.items"), [(m.data_file, m.dst_path) for m in moves], "t")
    assert _metadata_files(lh) > before_files  # manifests and the manifest list
    staged.discard()
    assert _metadata_files(lh) == before_files
    assert lh.table("hn.items").current_snapshot().snapshot_id == before.snapshot_id


def test_failed_copy_restages_without_it_and_leaves_no_stray_manifests(  # type: ignore[no-untyped-def]
    make_lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    lh = _lake(make_lake)
    monkeypatch.setenv("DOCTORDATA_TEST_CORRUPT", "time_day=2020-01-03")
    report = lh.tier(progress=False)
    assert len(report.moved) == 4 and len(report.failed) == 2
    where = files_on(lh, "hn.items")
    assert sorted(t for p, t in where.items() if "2020-01-03" in p) == ["ssd", "ssd"]
    avro = {n for n in _metadata_files(lh) if n.endswith(".avro")}
    assert avro == _referenced_avro(lh), "the first staging's files were not discarded"


def test_file_gone_before_the_commit_fails_the_table_and_keeps_every_row(  # type: ignore[no-untyped-def]
    make_lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A delete lands between planning and the swap: staging cannot remove a file that is
    no longer live, neither while copying nor after; nothing moves, the copies go."""
    lh = _lake(make_lake)
    real_plan = mover._plan

    def plan_then_delete(*args: Any) -> Any:
        plan = real_plan(*args)
        lh.delete("hn.items", f"time < '{OLD_DAYS[1].date()}'")  # a concurrent writer
        return plan

    monkeypatch.setattr(mover, "_plan", plan_then_delete)
    report = lh.tier(progress=False)
    expected = sorted_rows(lh, "hn.items")
    assert report.moved == [] and len(report.failed) == 6
    assert all("commit failed" in why and "ValidationException" in why for _, why in report.failed)
    stray = [p for p in Path(lh.tiers["nas"].root).rglob("*") if p.is_file()]
    assert [p.name for p in stray] == [MARKER]  # the NAS was used: marked, nothing else
    monkeypatch.undo()
    again = lh.tier(progress=False)
    assert len(again.moved) == 4 and not again.failed  # days 2 and 3 (day 1 was deleted)
    assert sorted_rows(lh, "hn.items").equals(expected)


def test_partition_summaries_still_written_when_asked(make_lake) -> None:  # type: ignore[no-untyped-def]
    lh = _lake(make_lake)
    with lh.table("hn.items").transaction() as tx:
        tx.set_properties({"write.summary.partition-limit": "10"})
    moves = _old_day_moves(lh)
    _copy(moves)
    table = lh.table("hn.items")
    committed = commit_staged(stage_swap(table, [(m.data_file, m.dst_path) for m in moves], "t"))
    summary = committed.current_snapshot().summary
    assert summary["partition-summaries-included"] == "true"
    assert "added-data-files=2" in summary["partitions.time_day=2020-01-01"]
