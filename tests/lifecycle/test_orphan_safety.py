"""maintain() never deletes a file any table references (issue 13, items 1-4).

Each scenario once lost data: a compacted unpartitioned table (its file spelled
``data//f``), a renamed table whose old name was reused, a backup written inside a table's
directory; and orphan cleanup must delete nothing while a table's metadata is unreadable.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import doctordata as dd
from doctordata.catalog.references import table_references
from doctordata.errors import LocationError

TWO_DAYS = 2 * 86400


def _ids(n: int, start: int = 0) -> pa.Table:
    return pa.table({"id": pa.array(range(start, start + n), pa.int64())})


def backdate(root: Path | str, seconds: float = TWO_DAYS) -> None:
    """Make every file below ``root`` look ``seconds`` old (past the 1-day safety age)."""
    stamp = time.time() - seconds
    for directory, _, files in os.walk(root):
        for name in files:
            os.utime(os.path.join(directory, name), (stamp, stamp), follow_symlinks=False)


def rows_of(lh: dd.Lakehouse, name: str) -> list[Any]:
    return sorted(lh.read(name).to_pylist(), key=repr)


def duckdb_rows(lh: dd.Lakehouse, name: str) -> list[Any]:
    return sorted(lh.sql(f"SELECT * FROM {name}").fetchall(), key=repr)


def referenced_files_exist(lh: dd.Lakehouse) -> list[str]:
    """Referenced files (every table, every snapshot) that are missing."""
    from doctordata.storage.locations import split

    missing = []
    for name in lh.tables():
        for path in table_references(lh.table(name)).all():
            if not os.path.exists(split(path)[1]):
                missing.append(path)
    return missing


def test_a_compacted_unpartitioned_table_survives_the_next_days_maintain(
    lh: dd.Lakehouse,
) -> None:
    lh.create_table("t.u", _ids(1))
    for i in range(1, 30):
        lh.append("t.u", _ids(1, i))
    report = lh.maintain()
    assert report.tables[0].compaction.written, "compaction must have rewritten the table"
    backdate(lh.root)
    report = lh.maintain()
    assert not any(t.orphans.deleted for t in report.tables), str(report)
    assert sorted(lh.read("t.u").column("id").to_pylist()) == list(range(30))
    assert sorted(duckdb_rows(lh, "t.u")) == [(i,) for i in range(30)]
    assert lh.sql("SELECT count(*) FROM t.u", engine="clickhouse").fetchall() == [(30,)]
    assert lh.verify().ok and not referenced_files_exist(lh)
    (path,) = [t.file.file_path for t in lh.table("t.u").scan().plan_files()]
    assert "//" not in path.removeprefix("file://")


def test_files_spelled_with_double_slashes_by_older_versions_are_referenced(
    lh: dd.Lakehouse,
) -> None:
    """A lake compacted by an older doctordata holds 'data//f' locations: still live."""
    import shutil

    from doctordata.catalog.rewrite import rewrite_files
    from doctordata.catalog.swap import relocated

    lh.create_table("t.old", _ids(3))
    table = lh.table("t.old")
    (old,) = [t.file for t in table.scan().plan_files()]
    data_dir = old.file_path.removeprefix("file://").rsplit("/", 1)[0]
    shutil.copyfile(old.file_path.removeprefix("file://"), f"{data_dir}/legacy.parquet")
    spelled = f"file://{data_dir}//legacy.parquet"  # how old compactions spelled it
    rewrite_files(table, [old], [relocated(old, spelled)], operation="test: old compaction")
    backdate(lh.root)
    report = lh.maintain(expire_older_than="0s", compact=False)
    deleted = [p for t in report.tables for p in t.orphans.deleted + t.expiry.deleted]
    assert not any(p.endswith("/legacy.parquet") for p in deleted), deleted
    assert os.path.exists(f"{data_dir}/legacy.parquet")
    assert sorted(lh.read("t.old").column("id").to_pylist()) == [0, 1, 2]
    assert lh.verify().ok


def test_rename_then_create_with_the_old_name_then_maintain_keeps_both(
    lh: dd.Lakehouse,
) -> None:
    lh.create_table("t.a", _ids(5))
    lh.append("t.a", _ids(5, 5))
    lh.rename_table("t.a", "t.renamed")
    lh.create_table("t.a", _ids(3, 100))
    lh.append("t.a", _ids(3, 200))
    before = {name: rows_of(lh, name) for name in lh.tables()}
    backdate(lh.root)
    lh.maintain()
    lh.maintain(orphan_older_than="0s")
    assert {name: rows_of(lh, name) for name in lh.tables()} == before
    assert lh.verify().ok and not referenced_files_exist(lh)
    assert lh.table("t.a").location() != lh.table("t.renamed").location()


def test_two_tables_sharing_a_directory_never_delete_each_others_files(
    lh: dd.Lakehouse,
) -> None:
    """Older lakes may hold a renamed table and its successor in one directory: orphan
    cleanup asks every table, not just the one it cleans."""
    lh.create_table("t.a", _ids(4))
    lh.rename_table("t.a", "t.renamed")
    shared = lh.table("t.renamed").location()
    lh.catalog.create_table(("t", "a"), schema=lh.table("t.renamed").schema(), location=shared)
    lh.append("t.a", _ids(2, 50))
    orphan = Path(shared.removeprefix("file://")) / "data" / "orphan.parquet"
    orphan.write_bytes(b"not referenced by anyone")
    before = {name: rows_of(lh, name) for name in lh.tables()}
    backdate(lh.root)
    report = lh.maintain(compact=False)
    assert {name: rows_of(lh, name) for name in lh.tables()} == before
    assert not referenced_files_exist(lh)
    # Even a true orphan stays: it lies in another table's directory too.
    assert orphan.exists()
    assert not [p for t in report.tables for p in t.orphans.deleted]
    kept = {p for t in report.tables for p in t.orphans.other_table}
    assert kept == {"file://" + os.path.realpath(orphan)}


def test_a_backup_inside_a_table_or_tier_directory_is_refused(
    lh: dd.Lakehouse, tmp_path: Path
) -> None:
    lh.create_table("t.a", _ids(3))
    table_dir = Path(lh.table("t.a").location().removeprefix("file://"))
    with pytest.raises(LocationError, match=r"table 't\.a'") as err:
        lh.backup(str(table_dir / "bk"), progress=False)
    assert "maintain" in str(err.value)
    with pytest.raises(LocationError, match=r"table 't\.a'"):
        lh.backup((table_dir / "data").as_uri(), progress=False)
    with pytest.raises(LocationError, match="inside tier 'ssd'"):
        lh.backup(str(Path(lh.hot_tier.root) / "t" / "b"), progress=False)
    assert not (table_dir / "bk").exists()
    report = lh.backup(str(tmp_path / "elsewhere"), progress=False, create=True)  # outside
    assert report.files
    backdate(tmp_path)
    lh.maintain(orphan_older_than="0s")
    assert (tmp_path / "elsewhere" / "backups").is_dir()
    assert dd.restore(report.url, tmp_path / "restored") is not None


def test_an_unreadable_table_blocks_orphan_deletion_everywhere(lh: dd.Lakehouse) -> None:
    lh.create_table("t.good", _ids(3))
    lh.create_table("t.bad", _ids(3))
    good_dir = Path(lh.table("t.good").location().removeprefix("file://"))
    orphan = good_dir / "data" / "orphan.parquet"
    orphan.write_bytes(b"x")
    metadata = Path(lh.table("t.bad").metadata_location.removeprefix("file://"))
    intact = metadata.read_bytes()
    metadata.write_text('{"format-version": 2, "garbage": true}')
    backdate(lh.root)
    report = lh.maintain("t.good", orphan_older_than="0s", compact=False)
    (entry,) = report.tables
    assert orphan.exists() and not entry.orphans.deleted
    assert "t.bad" in entry.orphans.blocked_by
    assert "table 't.bad' cannot be read" in str(report)
    metadata.write_bytes(intact)  # repaired: the same run now deletes the orphan
    report = lh.maintain("t.good", orphan_older_than="0s", compact=False)
    assert not orphan.exists() and not report.tables[0].orphans.blocked_by


def test_expiry_keeps_a_file_another_table_still_references(lh: dd.Lakehouse) -> None:
    """One file registered in two tables: expiring the snapshots of one that no longer
    needs it must not delete it from under the other."""
    import pyarrow.parquet as pq

    imports = Path(lh.hot_tier.root) / "imports"
    imports.mkdir()
    pq.write_table(_ids(4, 70), imports / "shared.parquet")
    for name in ("t.one", "t.two"):
        lh.create_table(name, _ids(0).schema)
        lh.add_files(name, [str(imports / "shared.parquet")])
    lh.delete("t.one", "true")
    report = lh.maintain("t.one", expire_older_than="0s", orphan_older_than="0s")
    assert report.tables[0].expiry.expired, "the snapshots holding the file expired"
    assert (imports / "shared.parquet").exists()
    assert sorted(lh.read("t.two").column("id").to_pylist()) == [70, 71, 72, 73]
    assert lh.verify().ok
