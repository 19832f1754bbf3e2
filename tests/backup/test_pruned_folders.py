"""A pruned backup leaves no "incomplete backup" behind: SeaweedFS keeps the empty folder
of a deleted prefix (S3 "directories" persist there), and such a folder, with no object
in it, is not a backup (listing), not a running one (prune's object GC) and nothing for
prune to trip on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import doctordata as dd
from doctordata.backup.backup import list_backups, load_manifest, prune, resolve_target
from doctordata.errors import BackupNotFoundError
from tests.backup.lakes import build, tiers_for


@pytest.fixture(params=["local", "s3"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    tiers: dict[str, Any] = tiers_for(tmp_path)
    if request.param == "s3":
        s3_env = request.getfixturevalue("s3_env")
        bucket = request.getfixturevalue("s3_bucket")
        tiers["s3"] = {"url": f"s3://{bucket}/lake", "endpoint": s3_env.endpoint}
        return {"tiers": tiers, "to": "s3"}
    return {"tiers": tiers, "to": "nas"}


def test_a_pruned_backup_is_not_listed_again(tmp_path: Path, where: dict[str, Any]) -> None:
    to = where["to"]
    with dd.connect(tmp_path / "lake", tiers=where["tiers"]) as lh:
        build(lh)
        first = lh.backup(to, progress=False)
        lh.append("hn.users", lh.table("hn.users").scan().to_arrow().slice(0, 2))
        second = lh.backup(to, progress=False)
        report = prune(lh, to, keep_last=1)
        assert report.deleted == [first.id] and not report.running
        target = resolve_target(lh, to)
        listed = list_backups(lh, to, include_incomplete=True)
        assert [(b.id, b.complete) for b in listed] == [(second.id, True)]
        again = prune(lh, to, keep_last=1, incomplete_grace="0s")
        assert again.deleted == [] and again.running == [] and again.kept == [second.id]
        third = lh.backup(to, progress=False)  # objects GC is not held up either
        assert [b.id for b in list_backups(lh, to, include_incomplete=True)] == [
            second.id,
            third.id,
        ]
        assert target.backup_ids()[-1] == third.id


def test_an_empty_backup_folder_is_no_backup(tmp_path: Path, where: dict[str, Any]) -> None:
    """A folder named like a fresh backup but holding nothing (local: a backup killed
    right after creating it; SeaweedFS: what deleting its files left) is not listed, and
    does not hold up prune's object GC as a "running" backup would."""
    from doctordata.backup.backup import new_backup_id

    to = where["to"]
    with dd.connect(tmp_path / "lake", tiers=where["tiers"]) as lh:
        build(lh)
        first = lh.backup(to, progress=False)
        lh.append("hn.users", lh.table("hn.users").scan().to_arrow().slice(0, 2))
        second = lh.backup(to, progress=False)
        target = resolve_target(lh, to)
        empty = new_backup_id()
        folder = target.backup_dir(empty)
        if target.local:
            Path(folder).mkdir()
        else:
            target.fs.pipe_file(f"{folder}/started.json", b"{}")
            target.fs.rm(folder, recursive=True)
            target.fs.invalidate_cache()
        assert empty in target.backup_ids()  # the folder is there
        listed = list_backups(lh, to, include_incomplete=True)
        assert [b.id for b in listed] == [first.id, second.id]
        report = prune(lh, to, keep_last=1)
        assert report.deleted == [first.id] and report.running == []
        assert report.deleted_objects == 1  # the first backup's own catalog copy
        with pytest.raises(BackupNotFoundError, match="no backup"):
            load_manifest(target, empty)
