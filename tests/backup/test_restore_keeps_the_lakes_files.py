"""A restore over a lake (--force) loses none of the lake's files to the next maintain.

Files the restored catalog does not reference (written after the backup, or another
lake's at the same table paths) used to stay in the tables' directories, where orphan
removal deleted them. Now they are moved to ``<tier root>/quarantine/restore-<id>/``,
which maintain never touches, and a root holding another lake is refused unless
replace_lake=True."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

import doctordata as dd
from doctordata.errors import BackupError
from tests.backup.lakes import TABLES, items, rows, tiers_for


def contents(*dirs: Path) -> dict[str, str]:
    """sha256 -> a path, of every file below ``dirs`` (what bytes exist, wherever)."""
    out: dict[str, str] = {}
    for top in dirs:
        for p in top.rglob("*"):
            if p.is_file():
                out.setdefault(hashlib.sha256(p.read_bytes()).hexdigest(), str(p))
    return out


def test_restore_in_place_keeps_newer_files_out_of_maintains_reach(
    lake: Any, tmp_path: Path
) -> None:
    report = lake.backup("nas", progress=False)
    expected = {name: rows(lake, name) for name in TABLES}
    lake.append("hn.items", items(1000, 5))  # after the backup: the restore drops it
    warehouse = tmp_path / "lake" / "warehouse"
    before = contents(warehouse)
    root = lake.root
    lake.close()

    restored = dd.restore(report.url, root, tiers="original", force=True, progress=False)
    with dd.connect(root, tiers=tiers_for(tmp_path)) as again:
        for name in TABLES:
            assert rows(again, name).equals(expected[name])  # the backup's state
        again.maintain(compact=False, orphan_older_than="0s")
        for name in TABLES:
            assert rows(again, name).equals(expected[name])
    after = contents(warehouse)
    assert set(before) - set(after) == set()  # every byte the lake had is still there
    assert restored.quarantined > 0
    folder = warehouse / "quarantine" / f"restore-{report.id}"
    assert restored.quarantine == [folder.as_uri()]
    assert "delete that folder by hand" in str(restored)
    moved = [p for p in folder.rglob("*") if p.is_file()]
    assert len(moved) == restored.quarantined
    assert any(p.suffix == ".parquet" for p in moved)  # the newer append's data file


def test_restore_over_another_lake_is_refused_unless_asked(lake: Any, tmp_path: Path) -> None:
    report = lake.backup("nas", progress=False)
    other_root = tmp_path / "other"
    other_tiers = {"ssd": {"url": str(other_root / "warehouse")}}
    with dd.connect(other_root, tiers=other_tiers) as other:
        other.create_table("hn.items", items(5000, 50))  # same table path, other data
        theirs = rows(other, "hn.items")
    before = contents(other_root / "warehouse")

    with pytest.raises(BackupError, match="another lake") as err:
        dd.restore(report.url, other_root, force=True, progress=False)
    assert "--replace-lake" in str(err.value)
    with dd.connect(other_root, tiers=other_tiers) as other:
        assert rows(other, "hn.items").equals(theirs)  # untouched

    restored = dd.restore(report.url, other_root, force=True, replace_lake=True, progress=False)
    assert sorted(restored.tables) == sorted(TABLES) and restored.quarantined > 0
    with dd.connect(other_root) as lh2:
        lh2.maintain(compact=False, orphan_older_than="0s")
        assert rows(lh2, "hn.items").num_rows == rows(lake, "hn.items").num_rows
    after = contents(other_root / "warehouse")
    assert set(before) - set(after) == set()


def test_a_fresh_restore_moves_nothing_and_an_unfinished_one_may_be_rerun(
    lake: Any, tmp_path: Path
) -> None:
    from doctordata.catalog.catalog_guard import RESTORE_MARK

    report = lake.backup("nas", progress=False)
    root = tmp_path / "new"
    first = dd.restore(report.url, root, progress=False)
    assert first.quarantined == 0 and not (root / "warehouse" / "quarantine").exists()
    (root / RESTORE_MARK).write_text("killed\n")  # as a killed second restore leaves it
    again = dd.restore(report.url, root, force=True, progress=False)
    assert again.quarantined == 0


def test_a_restored_copy_takes_its_source_lakes_backups_again(lake: Any, tmp_path: Path) -> None:
    """A root restored from lake L's backup is a new lake (new id) but L's copy: another
    backup of L restored over it with --force is not "another lake"."""
    first = lake.backup("nas", progress=False)
    lake.append("hn.items", items(1000, 5))
    second = lake.backup("nas", progress=False)
    root = tmp_path / "copy"
    dd.restore(first.url, root, progress=False)
    with dd.connect(root) as copy:
        assert copy.table("hn.items")  # opened: the copy has its own lake id now
    restored = dd.restore(second.url, root, force=True, progress=False)
    with dd.connect(root) as copy:
        assert rows(copy, "hn.items").equals(rows(lake, "hn.items"))
    assert restored.quarantined == 0  # the first backup's files are all in the second


def test_restore_over_a_lake_on_s3_moves_its_newer_files_aside(
    lake: Any, tmp_path: Path, s3_env: Any, s3_bucket: str
) -> None:
    report = lake.backup("nas", progress=False)
    expected = rows(lake, "hn.items")
    root, on_s3 = tmp_path / "r", {"ssd": f"s3://{s3_bucket}/lake"}
    dd.restore(report.url, root, tiers=on_s3, endpoint=s3_env.endpoint, progress=False)
    with dd.connect(root) as copy:
        copy.append("hn.items", items(1000, 5))  # a data file on S3 the backup lacks
    fs = s3_env.filesystem()
    before = {p for p in fs.find(f"{s3_bucket}/lake") if p.endswith(".parquet")}
    again = dd.restore(
        report.url, root, tiers=on_s3, endpoint=s3_env.endpoint, force=True, progress=False
    )
    with dd.connect(root) as copy:
        copy.maintain(compact=False, orphan_older_than="0s")
        assert rows(copy, "hn.items").equals(expected)
    fs.invalidate_cache()
    after = {p for p in fs.find(f"{s3_bucket}/lake") if p.endswith(".parquet")}
    moved = {p for p in after if "/quarantine/" in p}
    # every data file is still there: in place, or moved aside (not deleted by maintain)
    assert before - after == {p.replace(f"quarantine/restore-{report.id}/", "") for p in moved}
    folder = f"s3://{s3_bucket}/lake/quarantine/restore-{report.id}"
    assert again.quarantine == [folder] and again.quarantined > 0
