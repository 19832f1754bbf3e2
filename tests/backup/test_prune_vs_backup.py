"""prune deleting objects while another process backs up never leaves that backup naming
an object that is gone. The race: prune lists the backups (none running), a backup starts
and reuses an object only an old backup held, prune deletes that object as unneeded, and
the backup's manifest names it. Two real processes, synchronised by pipes and the kernel's
lock table: no sleeps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import doctordata as dd
from doctordata.backup.backup import verify_backup
from tests.backup.child import PAUSED_BEFORE_MANIFEST, Child
from tests.backup.lakes import TABLES, rows, tiers_for

BACKUP = (
    PAUSED_BEFORE_MANIFEST
    + """
with dd.connect(sys.argv[1], tiers=json.loads(sys.argv[2])) as lh:
    print("starting", flush=True)
    print("done", lh.backup("nas", progress=False).id, flush=True)
"""
)


def test_a_backup_starting_while_prune_decides_keeps_every_object(
    lake: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, child_env: dict[str, str]
) -> None:
    import doctordata.backup.prune as prune_module

    lake.backup("nas", progress=False)  # holds hn.users' files
    users = lake.table("hn.users").metadata_location
    lake.drop_table("hn.users")  # its files stay on disk
    lake.backup("nas", progress=False)  # the newest: without hn.users
    lake.catalog.register_table(("hn", "users"), users)  # back: objects only the first has
    expected = {name: rows(lake, name) for name in TABLES}

    child = Child(BACKUP, [str(lake.root), json.dumps(tiers_for(tmp_path))], child_env)
    real_load = prune_module.load_manifest
    seen: list[str] = []

    def listed_then_backup(*args: Any, **kwargs: Any) -> Any:
        # prune has listed the backups (none running) and now reads the kept ones' needs
        if not seen:
            assert child.line() == "starting"
            seen.append(child.line(or_blocked=True) or "waits for prune")
        return real_load(*args, **kwargs)

    monkeypatch.setattr(prune_module, "load_manifest", listed_then_backup)
    report = prune_module.prune(lake, "nas", keep_last=1)
    monkeypatch.undo()
    assert seen and report.deleted_objects > 0  # the first backup's objects went
    child.go_on()
    line = child.line()
    if line == "paused":  # it waited for prune, then chose its objects
        child.go_on()
        line = child.line()
    assert line is not None and line.startswith("done "), line
    assert child.proc.wait(timeout=120) == 0
    backup_id = line.split()[1]
    assert verify_backup(lake, backup_id, to="nas").ok  # every object it names is there
    restored = dd.restore(f"{tmp_path}/nas/backups/{backup_id}", tmp_path / "r", progress=False)
    assert sorted(restored.tables) == sorted(TABLES)
    with dd.connect(tmp_path / "r") as lh2:
        for name in TABLES:
            assert rows(lh2, name).equals(expected[name])


def test_prune_deletes_no_object_while_a_backup_holds_the_target(lake: Any) -> None:
    """A backup holds the target's lock before its started.json exists: prune still
    deletes the old backup's manifest, but no object."""
    from doctordata.backup.backup import list_backups, prune, resolve_target

    first = lake.backup("nas", progress=False)
    lake.append("hn.users", rows(lake, "hn.users").slice(0, 1))
    second = lake.backup("nas", progress=False)
    target = resolve_target(lake, "nas")
    before = set(target.list_objects())
    with target.object_lock(exclusive=False):
        report = prune(lake, "nas", keep_last=1)
    assert report.deleted == [first.id] and report.deleted_objects == 0
    assert set(target.list_objects()) == before and "is running" in str(report)
    assert [b.id for b in list_backups(lake, "nas")] == [second.id]
    assert prune(lake, "nas", keep_last=1).deleted_objects == 1  # the next prune does it
