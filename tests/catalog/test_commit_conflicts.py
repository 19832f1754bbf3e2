"""Serializable upsert/overwrite/delete against a writer that committed after our read.

A Table loaded before another writer's commit is exactly what a second process holds
while the first one commits: these tests replay that race deterministically (no threads,
no timing). The four-process test is in test_upsert_concurrency.py.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow as pa
import pytest

import doctordata as dd
from doctordata.catalog import commits, tables
from doctordata.errors import CommitConflictError


def _kv(ids: list, value: str, key_type: pa.DataType | None = None) -> pa.Table:
    ids_array = pa.array(ids, key_type or pa.int64())
    return pa.table({"id": ids_array, "val": [value] * len(ids)})


@pytest.mark.parametrize("key_type", [pa.int64(), pa.string()], ids=["long", "string"])
def test_stale_upsert_of_the_same_new_keys_does_not_duplicate(
    clh: dd.Lakehouse, key_type: pa.DataType
) -> None:
    conv = (lambda i: i) if key_type == pa.int64() else str
    clh.create_table("kv.t", _kv([conv(i) for i in range(10)], "init", key_type))
    first, second = clh.table("kv.t"), clh.table("kv.t")  # both read the same snapshot
    new = [conv(i) for i in (3, 10, 11, 12)]
    assert tables.upsert(first, _kv(new, "a", key_type), on=["id"]).rows_inserted == 3
    # The second writer planned "insert 10, 11, 12" on the old snapshot: it must not.
    result = tables.upsert(second, _kv(new, "b", key_type), on=["id"])
    rows = clh.read("kv.t").to_pylist()
    assert Counter(r["id"] for r in rows).most_common(1)[0][1] == 1
    assert len(rows) == 13
    assert {r["id"]: r["val"] for r in rows if r["id"] in new} == dict.fromkeys(new, "b")
    assert (result.rows_updated, result.rows_inserted) == (4, 0)


def test_stale_upsert_after_an_unrelated_append_inserts(clh: dd.Lakehouse) -> None:
    clh.create_table("kv.t", _kv(list(range(10)), "init"))
    stale = clh.table("kv.t")
    clh.append("kv.t", _kv([100, 101], "other"))  # touches none of the upsert's keys
    result = tables.upsert(stale, _kv([5, 20, 21], "b"), on=["id"])
    assert (result.rows_updated, result.rows_inserted) == (1, 2)
    final = {r["id"]: r["val"] for r in clh.read("kv.t").to_pylist()}
    assert len(final) == 14
    assert final[100] == final[101] == "other"
    assert final[5] == final[20] == "b"


def test_stale_upsert_after_a_concurrent_rewrite_keeps_both(clh: dd.Lakehouse) -> None:
    clh.create_table("kv.t", _kv(list(range(10)), "init"))
    stale = clh.table("kv.t")
    clh.upsert("kv.t", _kv([1, 2], "a"), on=["id"])  # rewrites the file stale will rewrite
    tables.upsert(stale, _kv([2, 3], "b"), on=["id"])
    final = {r["id"]: r["val"] for r in clh.read("kv.t").to_pylist()}
    assert clh.read("kv.t").num_rows == 10
    assert (final[1], final[2], final[3], final[4]) == ("a", "b", "b", "init")


def test_stale_delete_also_deletes_matching_rows_committed_before_it(clh: dd.Lakehouse) -> None:
    clh.create_table("kv.t", _kv(list(range(10)), "init"))
    stale = clh.table("kv.t")
    clh.append("kv.t", _kv([50, 51, 200], "late"))
    tables.delete(stale, "id >= 5 AND id < 100")
    assert sorted(clh.read("kv.t").column("id").to_pylist()) == [0, 1, 2, 3, 4, 200]


def test_stale_overwrite_replaces_rows_committed_before_it(clh: dd.Lakehouse) -> None:
    clh.create_table("kv.t", _kv(list(range(10)), "init"))
    stale = clh.table("kv.t")
    clh.append("kv.t", _kv([7, 300], "late"))  # a second id 7, and one outside the filter
    tables.overwrite(stale, _kv([5, 6], "new"), where="id >= 5 AND id < 100")
    final = sorted((r["id"], r["val"]) for r in clh.read("kv.t").to_pylist())
    assert final == [*((i, "init") for i in range(5)), (5, "new"), (6, "new"), (300, "late")]


def test_conflict_after_every_attempt_is_a_typed_error(
    clh: dd.Lakehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    clh.create_table("kv.t", _kv(list(range(10)), "init"))
    stale = clh.table("kv.t")
    clh.upsert("kv.t", _kv([20], "a"), on=["id"])
    monkeypatch.setattr(commits, "ATTEMPTS", 1)
    with pytest.raises(CommitConflictError, match=r"upsert on table 'kv.t'.*Run it again"):
        tables.upsert(stale, _kv([20, 21], "b"), on=["id"])
    # Nothing of the failed upsert is visible, and its data file is gone, not orphaned.
    final = {r["id"]: r["val"] for r in clh.read("kv.t").to_pylist()}
    assert len(final) == 11
    assert final[20] == "a"
    table = clh.table("kv.t")
    referenced = {
        Path(task.file.file_path.removeprefix("file://")).name
        for snapshot in table.metadata.snapshots
        for task in table.scan(snapshot_id=snapshot.snapshot_id).plan_files()
    }
    on_disk = {p.name for p in Path(table.location().removeprefix("file://")).rglob("*.parquet")}
    assert on_disk == referenced


def test_file_rewrite_of_files_deleted_meanwhile_is_a_typed_conflict(clh: dd.Lakehouse) -> None:
    from doctordata.catalog.rewrite import stage_rewrite

    clh.create_table("kv.t", _kv(list(range(10)), "init"))
    table = clh.table("kv.t")
    files = [task.file for task in table.scan().plan_files()]
    staged = stage_rewrite(table, files, [], operation="compaction")  # as compaction/mover
    clh.delete("kv.t", "id >= 0")  # another writer drops the files being replaced
    with pytest.raises(CommitConflictError, match=r"compaction on table 'kv.t'"):
        staged.commit()
    assert clh.read("kv.t").num_rows == 0
