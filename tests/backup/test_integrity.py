"""lh.verify(): every referenced file exists with its size; chain, orphans, small files."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from doctordata.catalog.references import walk_table
from doctordata.errors import TableNotFoundError
from tests.backup.lakes import items


def _files(lake: Any, name: str, kind: str) -> list[str]:
    table = lake.table(name)
    refs = walk_table(table.io, name, table.metadata_location)
    return sorted(r.path.removeprefix("file://") for r in refs.files.values() if r.kind == kind)


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_a_healthy_lakehouse_verifies_clean(lake: Any) -> None:
    report = lake.verify(orphan_min_age="0s")
    assert report.ok and report.issues == []
    assert report.tables == 2
    table = lake.table("hn.items")
    expected = len(walk_table(table.io, "hn.items", table.metadata_location).files)
    assert report.files_checked > expected  # both tables' files


@pytest.mark.parametrize("kind", ["data", "manifest", "manifest-list"])
def test_a_missing_file_is_an_error_naming_it(lake: Any, kind: str) -> None:
    victim = _files(lake, "hn.items", kind)[0]
    os.unlink(victim)
    report = lake.verify()
    assert not report.ok
    assert [i.kind for i in report.errors] == ["missing-file"]
    assert victim in report.errors[0].message and report.errors[0].table == "hn.items"
    assert "doctordata restore" in report.errors[0].fix
    assert "DAMAGED" in str(report)


def test_a_missing_metadata_json_is_reported_not_raised(lake: Any) -> None:
    current = lake.table("hn.users").metadata_location.removeprefix("file://")
    os.unlink(current)
    report = lake.verify()
    assert [(i.table, i.kind) for i in report.errors] == [("hn.users", "missing-file")]
    assert current in report.errors[0].message


def test_a_truncated_data_file_is_a_size_mismatch(lake: Any) -> None:
    victim = _files(lake, "hn.items", "data")[0]
    with open(victim, "r+b") as fh:
        fh.truncate(10)
    report = lake.verify()
    assert [i.kind for i in report.errors] == ["size-mismatch"]
    assert victim in report.errors[0].message and "10 bytes" in report.errors[0].message


def test_a_broken_metadata_chain_is_an_error(lake: Any) -> None:
    location = lake.table("hn.users").metadata_location.removeprefix("file://")
    doc = json.loads(Path(location).read_text())
    doc["current-snapshot-id"] = 12345
    doc["refs"]["main"]["snapshot-id"] = 12345
    Path(location).write_text(json.dumps(doc))
    report = lake.verify(table="hn.users")
    messages = [i.message for i in report.errors if i.kind == "broken-metadata"]
    assert any("current snapshot 12345" in m for m in messages)
    assert any("'main' points at missing snapshot 12345" in m for m in messages)


def test_orphans_are_reported_with_the_fix_but_not_young_files(lake: Any, tmp_path: Path) -> None:
    data_dir = Path(_files(lake, "hn.items", "data")[0]).parent
    old = data_dir / "left-by-a-crash.parquet"
    old.write_bytes(b"x" * 100)
    _age(old, 7200)
    (data_dir / "being-written-now.parquet").write_bytes(b"y" * 50)
    report = lake.verify(orphan_min_age="1h")
    assert report.ok  # orphans waste space; they do not break reads
    orphans = [i for i in report.warnings if i.kind == "orphans"]
    assert len(orphans) == 1 and orphans[0].paths == (str(old),)
    assert orphans[0].fix.startswith("doctordata maintain")


def test_small_files_are_reported_with_the_fix(lake: Any) -> None:
    for start in range(1000, 1006):
        lake.append("hn.items", items(start, 3))
    quiet = lake.verify(small_file_count=100)
    assert not [i for i in quiet.issues if i.kind == "small-files"]
    report = lake.verify(small_file_count=5, small_file_size="1MB")
    small = [i for i in report.warnings if i.kind == "small-files"]
    assert len(small) == 1 and small[0].table == "hn.items"
    assert "doctordata maintain" in small[0].fix


def test_verify_of_an_unknown_table_suggests_names(lake: Any) -> None:
    with pytest.raises(TableNotFoundError, match=r"hn\.items"):
        lake.verify(table="hn.itemz")
