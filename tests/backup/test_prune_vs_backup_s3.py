"""prune and backup on an S3 target (no locks) never leave a complete backup naming a
deleted object. The race: prune lists the backups (none running), a backup starts and
reuses an object only an old backup held (or uploads one prune then lists as unneeded),
prune deletes it, and the backup's manifest names it. Two real processes against the
loopback SeaweedFS, synchronised by pipes at the dangerous step: no sleeps."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import pytest

import doctordata as dd
from doctordata.backup.backup import resolve_target, verify_backup
from tests.backup.child import PAUSED_BEFORE_MANIFEST, Child
from tests.backup.lakes import TABLES, build, rows, tiers_for

# The child backs up to the S3 tier once the parent says so; it reports when it waits for
# a prune (fence.waiting, where that exists) and pauses before writing its manifest.
BACKUP = (
    PAUSED_BEFORE_MANIFEST
    + """
try:
    from doctordata.backup import fence
except ImportError:
    fence = None
if fence is not None:
    told = []

    def waiting(target, live):
        if not told:
            told.append(live)
            print("waiting", flush=True)

    fence.waiting = waiting
    fence.POLL_SECONDS = 0.05  # the backup's own polling: the test waits on its output
with dd.connect(sys.argv[1], tiers=json.loads(sys.argv[2])) as lh:
    print("ready", flush=True)
    sys.stdin.readline()
    print("done", lh.backup("s3", progress=False).id, flush=True)
"""
)


def _s3_lake(tmp_path: Path, s3: Any, bucket: str) -> dict[str, Any]:
    return {
        **tiers_for(tmp_path),
        "s3": {"url": f"s3://{bucket}/lake", "endpoint": s3.endpoint},
    }


def fence_markers(lake: Any) -> tuple[list[str], list[str]]:
    from doctordata.backup.fence import prune_markers

    return prune_markers(resolve_target(lake, "s3"))


def _env(child_env: dict[str, str]) -> dict[str, str]:
    env = dict(child_env)
    env.update({k: v for k, v in os.environ.items() if k.startswith("AWS_")})
    return env


def test_a_backup_starting_after_prune_listed_never_names_a_deleted_object(
    tmp_path: Path,
    s3_env: Any,
    s3_bucket: str,
    child_env: dict[str, str],
) -> None:
    import doctordata.backup.prune as prune_module

    tiers = _s3_lake(tmp_path, s3_env, s3_bucket)
    with dd.connect(tmp_path / "lake", tiers=tiers) as lake:
        build(lake)
        lake.backup("s3", progress=False)  # holds hn.users' files
        users = lake.table("hn.users").metadata_location
        lake.drop_table("hn.users")  # its files stay on disk
        lake.backup("s3", progress=False)  # the newest: without hn.users
        lake.catalog.register_table(("hn", "users"), users)  # objects only the first has
        expected = {name: rows(lake, name) for name in TABLES}

        child = Child(BACKUP, [str(lake.root), json.dumps(tiers)], _env(child_env))
        assert child.line() == "ready"
        real_load = prune_module.load_manifest
        seen: list[str] = []

        def listed_then_backup(*args: Any, **kwargs: Any) -> Any:
            # prune has listed the backups (none running): now the backup starts
            if not seen:
                child.go_on()
                # old code: it runs up to its manifest; fenced: it waits for this prune
                seen.append(child.line() or "")
            return real_load(*args, **kwargs)

        with pytest.MonkeyPatch.context() as mp:  # (monkeypatch.undo would drop s3_env)
            mp.setattr(prune_module, "load_manifest", listed_then_backup)
            report = prune_module.prune(lake, "s3", keep_last=1)
        assert seen and report.deleted_objects > 0  # the first backup's objects went
        line = seen[0]
        line_was_waiting = line == "waiting"
        if line_was_waiting:  # the prune is over: it lists the store and copies
            line = child.line() or ""
        assert line == "paused", line
        child.go_on()
        line = child.line() or ""
        assert line.startswith("done "), line
        assert child.proc.wait(timeout=120) == 0
        backup_id = line.split()[1]
        check = verify_backup(lake, backup_id, to="s3")
        assert check.ok, check  # every object it names is there
        if line_was_waiting:  # and that prune's marker is gone
            assert fence_markers(lake) == ([], [])
    restored = dd.restore(
        f"s3://{s3_bucket}/lake/backups/{backup_id}",
        tmp_path / "r",
        endpoint=s3_env.endpoint,
        progress=False,
    )
    assert sorted(restored.tables) == sorted(TABLES)
    with dd.connect(tmp_path / "r") as lh2:
        for name in TABLES:
            assert rows(lh2, name).equals(expected[name])


def test_a_dead_prunes_marker_does_not_hold_backups_and_prune_removes_it(
    tmp_path: Path, s3_env: Any, s3_bucket: str
) -> None:
    from doctordata.backup import fence
    from doctordata.backup.backup import prune

    with dd.connect(tmp_path / "lake", tiers=_s3_lake(tmp_path, s3_env, s3_bucket)) as lake:
        build(lake)
        target = resolve_target(lake, "s3")
        target.fs.mkdir(target.base, create_parents=True)
        old = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=fence.STALE_SECONDS + 60)
        dead = target.path(f"{fence.PREFIX}20200101T000000.000000Z-abcdef")
        target.write_json(dead, {"id": "x", "started_at": old.isoformat()})
        assert fence.prune_markers(target) == ([], [dead])
        first = lake.backup("s3", progress=False)  # does not wait for a dead prune
        assert not any("prune" in w for w in first.warnings)
        lake.append("hn.users", rows(lake, "hn.users").slice(0, 1))
        lake.backup("s3", progress=False)
        assert prune(lake, "s3", keep_last=1).deleted == [first.id]
        assert fence.prune_markers(target) == ([], [])  # removed, and its own too


def test_a_live_prune_marker_is_waited_for(tmp_path: Path, s3_env: Any, s3_bucket: str) -> None:
    """A backup that finds a live marker does not list the store until it is gone."""
    from doctordata.backup import fence

    with dd.connect(tmp_path / "lake", tiers=_s3_lake(tmp_path, s3_env, s3_bucket)) as lake:
        build(lake)
        target = resolve_target(lake, "s3")
        target.fs.mkdir(target.base, create_parents=True)
        marker = fence.PruneMarker(target)
        calls: list[list[str]] = []

        def waiting(_: Any, live: list[str]) -> None:
            calls.append(live)
            marker.__exit__(None, None, None)  # that prune finishes now

        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(fence, "waiting", waiting)
            mp.setattr(fence, "POLL_SECONDS", 0.0)
            marker.__enter__()
            report = lake.backup("s3", progress=False)
        assert calls == [[marker.path]]
        assert any(marker.id in w for w in report.warnings)
        assert verify_backup(lake, report.id, to="s3").ok


def test_a_prune_whose_marker_lapsed_deletes_no_more(
    tmp_path: Path, s3_env: Any, s3_bucket: str
) -> None:
    """A prune that could not refresh its marker in time (paused, target unreachable)
    stops before the next deletion: a backup may have stopped waiting for it."""
    from doctordata.backup import fence
    from doctordata.backup.backup import prune
    from doctordata.errors import BackupError

    with dd.connect(tmp_path / "lake", tiers=_s3_lake(tmp_path, s3_env, s3_bucket)) as lake:
        build(lake)
        lake.backup("s3", progress=False)
        lake.drop_table("hn.users")
        lake.backup("s3", progress=False)
        target = resolve_target(lake, "s3")
        objects = set(target.list_objects())
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(fence, "LEASE_SECONDS", -1.0)  # lapsed at once
            with pytest.raises(BackupError, match="stopped deleting"):
                prune(lake, "s3", keep_last=1)
        assert set(target.list_objects()) == objects  # not one object deleted
        assert fence.prune_markers(target) == ([], [])  # its marker went all the same
        assert prune(lake, "s3", keep_last=1).deleted_objects > 0  # a healthy one does
