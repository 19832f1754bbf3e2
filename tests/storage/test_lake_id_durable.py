"""The lake id survives a power cut: its file, the folder holding it and every folder
created on the way are fsynced before the id is used (a lake that came back with a new
id would no longer recognise the tiers it marked, nor its own backups). Also the record
of a marked tier, which tells an unmounted NAS from one never used."""

from __future__ import annotations

from pathlib import Path

import pytest

from doctordata.storage import offline
from doctordata.storage.tier import Tier


def _file_synced(path: Path, synced: set[str]) -> bool:
    """The file's content was fsynced (under its own or a temporary name beside it)."""
    return any(s == str(path) or s.startswith(f"{path}.tmp") for s in synced)


@pytest.mark.parametrize("make", ["lake_id", "renew_lake_id", "adopt_lake_id"])
def test_a_new_lake_id_is_durable(tmp_path: Path, synced: set[str], make: str) -> None:
    root = tmp_path / "lake"  # nothing there yet: every folder is new
    if make == "adopt_lake_id":
        offline.adopt_lake_id(root, "a" * 32)
        lake = "a" * 32
    else:
        lake = getattr(offline, make)(root)
    path = root / ".doctordata" / "lake-id"
    assert path.read_text().strip() == lake == offline.current_lake_id(root)
    assert _file_synced(path, synced)
    assert {str(root / ".doctordata"), str(root), str(tmp_path)} - synced == set()
    assert [p.name for p in path.parent.iterdir()] == ["lake-id"]  # no temp file left


def test_an_existing_lake_id_is_kept_and_an_empty_one_replaced(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    first = offline.lake_id(root)
    assert offline.lake_id(root) == first
    (root / ".doctordata" / "lake-id").write_text("")  # a crash in an older version
    second = offline.lake_id(root)
    assert len(second) == 32 and second != first
    assert offline.lake_id(root) == second


def test_a_marked_tiers_record_is_durable(tmp_path: Path, synced: set[str]) -> None:
    nas = tmp_path / "nas"
    nas.mkdir()
    root = tmp_path / "lake"
    root.mkdir()
    offline.lake_id(root)
    synced.clear()
    tier = Tier(name="nas", url=nas.as_uri())
    offline.mark(tier, root)
    record = next((root / ".doctordata" / "tiers").iterdir())
    assert _file_synced(record, synced)
    assert {str(record.parent), str(root / ".doctordata")} - synced == set()
    assert offline.was_marked(root, tier)
