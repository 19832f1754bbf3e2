"""A backup that runs longer than prune's grace period is not mistaken for an abandoned one.

prune deletes a partial backup (no manifest yet) that shows no sign of life for 24 h,
and, when no backup runs, every object no complete backup needs. A backup of tens of TB
can run longer than a day: judged by its start alone, it was deleted with the objects it
had copied, and then wrote a manifest over missing objects - a "complete" backup that
cannot be restored. Each test pauses a real backup in a thread after it stored its
new objects are stored (before its manifest), runs prune, and lets it go on; on a local
directory and on S3 (SeaweedFS on loopback).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from doctordata.backup import backup as backup_mod
from doctordata.backup import heartbeat as heartbeat_mod
from doctordata.backup import store as store_mod
from doctordata.backup.backup import list_backups, prune, resolve_target, verify_backup
from doctordata.errors import BackupError
from tests.backup.lakes import TABLES, build, items, rows, tiers_for

WAIT = 120  # seconds; only reached if something is broken


class PausedBackup:
    """``lake.backup(to)`` in a thread, held once its new objects are stored."""

    def __init__(self, lake: Any, to: str, monkeypatch: pytest.MonkeyPatch) -> None:
        self.lake = lake
        self.to = to
        self.stored = threading.Event()
        self.release = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None
        original = backup_mod._walk_and_copy

        def walk_and_copy(*args: Any, **kwargs: Any) -> Any:
            copied = original(*args, **kwargs)
            self.stored.set()
            assert self.release.wait(WAIT), "the test never released the backup"
            return copied

        monkeypatch.setattr(backup_mod, "_walk_and_copy", walk_and_copy)
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.result = self.lake.backup(self.to, progress=False, workers=1)
        except BaseException as exc:  # handed to the test
            self.error = exc

    def __enter__(self) -> PausedBackup:
        self.thread.start()
        assert self.stored.wait(WAIT), "the backup never stored an object"
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.thread.join(WAIT)

    def finish(self) -> Any:
        self.release.set()
        self.thread.join(WAIT)
        assert not self.thread.is_alive()
        return self.result

    def started(self) -> tuple[str, dict[str, Any]]:
        """This backup's id and started.json (the one without a manifest)."""
        target = resolve_target(self.lake, self.to)
        [partial] = [
            b for b in list_backups(self.lake, self.to, include_incomplete=True) if not b.complete
        ]
        return partial.id, target.read_json(target.path(partial.id, store_mod.STARTED_NAME))


@pytest.fixture(params=["nas", "s3"])
def changed_lake(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Any, str]]:
    """A lake with one complete backup on the target and new data since (the next backup
    copies it), and the target's tier name."""
    import doctordata as dd

    tiers: dict[str, Any] = tiers_for(tmp_path)
    if request.param == "s3":
        s3_env = request.getfixturevalue("s3_env")
        bucket = request.getfixturevalue("s3_bucket")
        tiers["s3"] = {"url": f"s3://{bucket}/lake", "endpoint": s3_env.endpoint}
    with dd.connect(tmp_path / "lake", tiers=tiers) as lh:
        build(lh)
        lh.backup(request.param, progress=False)
        lh.append("hn.items", items(1000, 25))
        yield lh, request.param


def _wait_for_heartbeat(paused: PausedBackup) -> dict[str, Any]:
    """started.json once it holds a heartbeat (as it was after 30 s if it never does:
    the assertions that follow say what went wrong)."""
    done = threading.Event()
    record: dict[str, Any] = {}
    for _ in range(30 * 20):
        record = paused.started()[1]
        if "heartbeat_at" in record:
            break
        done.wait(0.05)
    return record


def test_prune_keeps_a_backup_that_started_a_day_ago_and_is_still_running(
    changed_lake: tuple[Any, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    lake, to = changed_lake
    day_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=25)).isoformat()
    monkeypatch.setattr(backup_mod, "_utcnow", lambda: day_ago)  # it started 25 h ago
    monkeypatch.setattr(backup_mod, "HEARTBEAT_SECONDS", 0.01)
    before = {name: rows(lake, name) for name in TABLES}
    with PausedBackup(lake, to, monkeypatch) as paused:
        record = _wait_for_heartbeat(paused)
        assert record["started_at"] == day_ago
        pruned = prune(lake, to, keep_last=1)  # default grace: 24 h
        assert pruned.deleted == []
        assert pruned.deleted_objects == 0
        assert pruned.running == [record["id"]]
        report = paused.finish()
    assert paused.error is None, paused.error
    assert verify_backup(lake, report.id, to=to).ok
    import doctordata as dd

    endpoint = lake.settings.tiers[to].endpoint if to == "s3" else None
    dd.restore(report.url, tmp_path / "restored", endpoint=endpoint)
    with dd.connect(tmp_path / "restored") as restored:
        for name in TABLES:
            assert rows(restored, name).equals(before[name])


def test_a_backup_removed_by_prune_while_it_ran_is_not_marked_complete(
    changed_lake: tuple[Any, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    lake, to = changed_lake
    listed = [b.id for b in list_backups(lake, to)]
    with PausedBackup(lake, to, monkeypatch) as paused:
        backup_id, _ = paused.started()
        # What a prune does to a backup it judges abandoned (here: no grace at all).
        pruned = prune(lake, to, keep_last=1, incomplete_grace="0s")
        assert pruned.deleted == [backup_id]
        paused.finish()
    assert isinstance(paused.error, BackupError), paused.error
    assert "was removed" in str(paused.error) and "run the backup again" in str(paused.error)
    assert [b.id for b in list_backups(lake, to)] == listed  # nothing new listed
    target = resolve_target(lake, to)
    assert not target.fs.exists(target.path(backup_id, store_mod.STARTED_NAME))
    assert not target.fs.exists(target.path(backup_id, store_mod.MANIFEST_NAME))
    again = lake.backup(to, progress=False)  # the next backup works
    assert verify_backup(lake, again.id, to=to).ok


def test_heartbeat_rewrites_started_json_and_stops_once_pruned(lake: Any) -> None:
    target = resolve_target(lake, "nas", create=True)
    record = {"id": "b1", "started_at": heartbeat_mod.utcnow(), "pid": 1}
    path = target.path("b1", store_mod.STARTED_NAME)
    target.write_json(path, record, sync=False)
    beat = heartbeat_mod.Heartbeat(target, "b1", record, interval=3600)
    beat.beat()
    written = target.read_json(path)
    assert written["started_at"] == record["started_at"] and written["pid"] == 1
    assert heartbeat_mod.last_alive(written) >= heartbeat_mod.last_alive(record)
    beat.check_alive()
    target.remove(target.path("b1"), recursive=True)
    beat.beat()  # does not bring the folder back
    assert not Path(path).exists()
    with pytest.raises(BackupError, match="b1 was removed"):
        beat.check_alive()
    assert json.loads(json.dumps(written))["heartbeat_at"]
