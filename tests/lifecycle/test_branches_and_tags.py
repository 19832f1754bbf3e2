"""Expiry, compaction, orphan cleanup and the mover (free_now) on a table with a branch
that has its own commits and a tag on an old snapshot: every ref reads the same rows
after, and every file any snapshot references is still there (passes on main: coverage
from a hunt for data loss)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from doctordata.catalog.references import table_references
from tests.tiered_lakes import local_path, rows


def test_expiry_compaction_and_moves_spare_branches_and_tags(make_lake) -> None:  # type: ignore[no-untyped-def]
    lh = make_lake()
    lh.create_table("hn.items", rows(0), partition_by=["day(time)"])
    first = lh.table("hn.items").current_snapshot().snapshot_id
    lh.table("hn.items").manage_snapshots().create_branch(first, "audit").create_tag(
        first, "v1"
    ).commit()
    lh.table("hn.items").append(rows(5000), branch="audit")
    lh.append("hn.items", rows(1000))
    lh.delete("hn.items", "id < 3")
    table = lh.table("hn.items")

    def read(ref: str | None) -> object:
        t = lh.table("hn.items")
        sid = t.metadata.refs[ref].snapshot_id if ref else None
        return t.scan(snapshot_id=sid).to_arrow().sort_by("id")

    before = {ref: read(ref) for ref in (None, "audit", "v1")}
    old = time.time() - 3 * 86400  # every file past any safety age
    for p in Path(local_path(table.location())).rglob("*"):
        os.utime(p, (old, old))
    first_run = lh.maintain(expire_older_than="0s", orphan_older_than="0s")
    assert first_run.ok and first_run.tables[0].compaction is not None
    assert first_run.tables[0].compaction.rewritten  # main was compacted
    moved = lh.tier(free_now=True, progress=False)
    assert moved.moved and not moved.failed
    assert lh.maintain(expire_older_than="0s", orphan_older_than="0s").ok
    assert {ref: read(ref) for ref in (None, "audit", "v1")} == before
    refs = table_references(lh.table("hn.items"))
    assert [p for p in refs.all() if not local_path(p).is_file()] == []
    assert lh.verify(deep=True).ok
