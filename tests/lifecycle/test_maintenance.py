"""lh.maintain(): compaction, expiry that deletes files, orphan cleanup with a safety age."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import doctordata as dd
from doctordata.catalog.references import table_references
from tests.lifecycle.deletes import add_position_deletes
from tests.tiered_lakes import OLD_DAYS, files_on, local_path, rows, sorted_rows

KILLED_APPEND = """
import os, signal, sys
import doctordata as dd
from pyiceberg.io.pyarrow import _dataframe_to_data_files
from tests.tiered_lakes import rows
with dd.connect(sys.argv[1]) as lh:
    table = lh.table("hn.items")
    written = list(_dataframe_to_data_files(table.metadata, rows(5000), table.io))
    # a commit that never lands: its new metadata.json is written, the catalog never moves
    from pyiceberg.serializers import ToOutputFile
    meta = table.metadata.model_copy(update={"last_updated_ms": table.metadata.last_updated_ms + 1})
    ToOutputFile.table_metadata(
        meta, table.io.new_output(table.location() + "/metadata/00099-killed.metadata.json")
    )
    print(len(written), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def _small_appends(lh: dd.Lakehouse, n: int) -> None:
    lh.create_table("hn.items", rows(0, 2, OLD_DAYS[:2]), partition_by=["day(time)"])
    for i in range(1, n):
        lh.append("hn.items", rows(i * 100, 2, OLD_DAYS[:2]))


def _query(lh: dd.Lakehouse) -> tuple[list[tuple[object, ...]], float, int]:
    """(rows, seconds, files planned) of one aggregate over the table."""
    started = time.perf_counter()
    result = lh.sql("SELECT count(*), sum(id), min(name), max(name) FROM hn.items")
    rows_ = result.fetchall()
    return rows_, time.perf_counter() - started, result.stats.scans[0].files_planned


def test_compaction_of_200_small_appends(make_lake, record_property) -> None:  # type: ignore[no-untyped-def]
    """200 appends of 2 days each (400 files) -> one file per day; same rows, and the query
    plans 2 files instead of 400 (the times are reported, not asserted: noisy box)."""
    lh = make_lake()
    _small_appends(lh, 200)
    expected = sorted_rows(lh, "hn.items")
    assert expected.num_rows == 800  # 2 rows on each of 2 days per append
    assert len(files_on(lh, "hn.items")) == 400
    runs = [_query(lh) for _ in range(5)]
    sql_before, planned_before = runs[0][0], runs[0][2]
    before_s = sorted(r[1] for r in runs)[2]
    assert planned_before == 400

    report = lh.maintain("hn.items", expire_older_than="1d")
    compaction = report.tables[0].compaction
    assert compaction is not None
    assert (compaction.files_before, compaction.files_after) == (400, 2)
    assert len(files_on(lh, "hn.items")) == 2  # one per day partition (<= 1 target file each)
    assert sorted_rows(lh, "hn.items").equals(expected)
    runs = [_query(lh) for _ in range(5)]
    after_s = sorted(r[1] for r in runs)[2]
    assert runs[0][0] == sql_before
    assert runs[0][2] == 2
    assert "400 -> 2 files" in str(report)
    record_property("query_s_before_compaction", before_s)
    record_property("query_s_after_compaction", after_s)
    print(f"query over 200 appends: {before_s * 1000:.1f} ms before, {after_s * 1000:.1f} ms after")
    again = lh.maintain("hn.items", expire_older_than="1d").tables[0].compaction
    assert again is not None and again.rewritten == []


def test_compaction_keeps_files_on_their_tier(make_lake) -> None:  # type: ignore[no-untyped-def]
    lh = make_lake()
    _small_appends(lh, 4)
    lh.tier("hn.items", to="nas", where="time < '2020-01-02'")
    lh.maintain("hn.items")
    where = files_on(lh, "hn.items")
    assert sorted(where.values()) == ["nas", "ssd"]
    assert [t for p, t in where.items() if "2020-01-01" in p] == ["nas"]


def test_compaction_and_mover_skip_files_with_delete_files(make_lake) -> None:  # type: ignore[no-untyped-def]
    lh = make_lake()
    _small_appends(lh, 3)
    table = lh.table("hn.items")
    target = next(t.file for t in table.scan().plan_files() if "2020-01-01" in t.file.file_path)
    add_position_deletes(table, target, [0])
    expected = sorted_rows(lh, "hn.items")
    assert expected.num_rows == 11
    report = lh.maintain("hn.items")
    compaction = report.tables[0].compaction
    assert compaction is not None and len(compaction.skipped_partitions) == 1
    assert "delete files apply" in compaction.skipped_partitions[0]
    day1 = [p for p in files_on(lh, "hn.items") if "2020-01-01" in p]
    day2 = [p for p in files_on(lh, "hn.items") if "2020-01-02" in p]
    assert len(day1) == 3 and len(day2) == 1
    moved = lh.tier("hn.items", to="nas")
    assert target.file_path in [p for p, why in moved.skipped if "delete files" in why]
    assert target.file_path in files_on(lh, "hn.items")  # never moved
    assert sorted_rows(lh, "hn.items").equals(expected)


def test_expiry_deletes_unreferenced_files_from_disk(make_lake) -> None:  # type: ignore[no-untyped-def]
    lh = make_lake()
    _small_appends(lh, 5)
    expected = sorted_rows(lh, "hn.items")
    lh.maintain("hn.items", expire_older_than="1d")  # compaction only: old snapshots kept
    table = lh.table("hn.items")
    old_refs = table_references(table)
    assert len(table.metadata.snapshots) == 6
    dry = lh.maintain("hn.items", compact=False, expire_older_than="0s", dry_run=True)
    assert dry.tables[0].expiry.deleted and all(
        local_path(p).exists() for p in dry.tables[0].expiry.deleted
    )
    report = lh.maintain("hn.items", compact=False, expire_older_than="0s", retain_last=1)
    expiry = report.tables[0].expiry
    assert len(expiry.expired) == 5
    assert report.bytes_freed > 0 and expiry.bytes_freed == sum(expiry.sizes.values())
    table = lh.table("hn.items")
    now_refs = table_references(table)
    gone = (old_refs.data | old_refs.manifests | old_refs.manifest_lists) - now_refs.all()
    assert gone and sorted(gone) == sorted(expiry.deleted)
    assert not [p for p in gone if local_path(p).exists()]
    assert all(local_path(p).exists() for p in now_refs.data | now_refs.manifests)
    assert sorted_rows(lh, "hn.items").equals(expected)


@pytest.mark.slow
def test_orphan_cleanup_respects_the_safety_age(make_lake, child_env) -> None:  # type: ignore[no-untyped-def]
    lh = make_lake()
    _small_appends(lh, 2)
    expected = sorted_rows(lh, "hn.items")
    proc = subprocess.run(
        [sys.executable, "-c", KILLED_APPEND, str(lh.root)],
        env=child_env,
        capture_output=True,
        timeout=300,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    written = int(proc.stdout.decode().split()[0])
    assert written >= 4
    table = lh.table("hn.items")
    referenced = table_references(table).all()
    home = Path(local_path(table.location()))
    plain = {local_path(p).as_posix() for p in referenced}
    strays = sorted(p for p in home.rglob("*") if p.is_file() and p.as_posix() not in plain)
    assert len(strays) == written + 1  # data files + the orphan metadata.json
    young = lh.maintain("hn.items", compact=False)
    assert young.tables[0].orphans.deleted == []
    assert len(young.tables[0].orphans.too_young) == len(strays)
    assert all(p.exists() for p in strays)
    past = time.time() - 2 * 86400
    for p in strays:
        os.utime(p, (past, past))
    report = lh.maintain("hn.items", compact=False)
    assert len(report.tables[0].orphans.deleted) == len(strays)
    assert not [p for p in strays if p.exists()]
    assert report.tables[0].orphans.bytes_freed == report.bytes_freed > 0
    assert sorted_rows(lh, "hn.items").equals(expected)
    assert all(local_path(p).exists() for p in table_references(lh.table("hn.items")).all())
