"""Backups under failure: a flipped byte, a SIGKILL midway, a writer appending meanwhile."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

import doctordata as dd
from doctordata.backup.backup import (
    list_backups,
    load_manifest,
    prune,
    resolve_target,
    verify_backup,
)
from doctordata.errors import BackupError, IntegrityError
from tests.backup.lakes import TABLES, rows, tiers_for

REPO = Path(__file__).resolve().parents[2]


def _child(script: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(predicate: Any, proc: subprocess.Popen[str], what: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None:
            err = proc.stderr.read() if proc.stderr else ""
            raise AssertionError(f"child exited ({proc.returncode}) before {what}: {err}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.mark.parametrize("kind", ["data", "manifest", "metadata"])
def test_flipped_byte_is_found_by_verify_and_refused_by_restore(
    lake: Any, tmp_path: Path, kind: str
) -> None:
    report = lake.backup("nas", progress=False)
    target = resolve_target(lake, "nas")
    victim = next(f for f in load_manifest(target, report.id).files if f.kind == kind)
    obj = Path(target.object_path(victim.sha256))
    data = bytearray(obj.read_bytes())
    data[len(data) // 2] ^= 0x01
    obj.write_bytes(bytes(data))

    checked = verify_backup(lake, report.id, to="nas")
    assert not checked.ok
    assert [bad[0] for bad in checked.bad] == [victim.path]
    assert "checksum mismatch" in checked.bad[0][2]

    root = tmp_path / "restored"
    with pytest.raises(IntegrityError, match=r"damaged") as err:
        dd.restore(report.url, root)
    assert victim.path in str(err.value)
    # refused means refused: nothing half-restored is left behind
    assert not root.exists() or list(root.iterdir()) == []


def test_missing_object_is_refused_before_anything_is_written(lake: Any, tmp_path: Path) -> None:
    report = lake.backup("nas", progress=False)
    target = resolve_target(lake, "nas")
    victim = next(f for f in load_manifest(target, report.id).files if f.kind == "data")
    Path(target.object_path(victim.sha256)).unlink()
    assert "missing" in verify_backup(lake, report.id, to="nas").bad[0][2]
    with pytest.raises(IntegrityError, match="missing from the backup store"):
        dd.restore(report.url, tmp_path / "restored")
    assert not (tmp_path / "restored").exists()


SLOW_BACKUP = """
    import json, sys, time
    import doctordata as dd
    from doctordata.backup import copy as backup_copy
    from doctordata.backup import store as backup_store

    original = backup_store.BackupTarget.publish

    def slow_publish(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        time.sleep(2)  # a slow NAS: the parent kills us long before we could finish
        return result

    # Local targets name each object in publish (after its fsync); one at a time here.
    backup_store.BackupTarget.publish = slow_publish
    backup_copy.SYNC_WORKERS = 1
    with dd.connect(sys.argv[1], tiers=json.loads(sys.argv[2])) as lh:
        lh.backup("nas", progress=False, workers=1)
    print("finished")
"""


def test_sigkill_midway_leaves_no_listed_backup_and_the_next_one_works(
    lake: Any, tmp_path: Path
) -> None:
    first = lake.backup("nas", progress=False)
    lake.append("hn.items", rows(lake, "hn.items").slice(0, 40))
    before = {name: rows(lake, name) for name in TABLES}
    objects = tmp_path / "nas" / "backups" / "objects"
    stored = {p.name for p in objects.rglob("*") if p.is_file()}

    proc = _child(SLOW_BACKUP, str(tmp_path / "lake"), json.dumps(tiers_for(tmp_path)))
    _wait_for(
        lambda: len({p.name for p in objects.rglob("*") if p.is_file()} - stored) >= 1,
        proc,
        "the child to store its first new file",
    )
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL

    # never listed as complete, never restorable
    assert [b.id for b in list_backups(lake, "nas")] == [first.id]
    partial = [b for b in list_backups(lake, "nas", include_incomplete=True) if not b.complete]
    assert len(partial) == 1
    with pytest.raises(BackupError, match="incomplete"):
        dd.restore(partial[0].url, tmp_path / "from-partial")
    # the source is untouched and healthy
    for name in TABLES:
        assert rows(lake, name).equals(before[name])
    assert lake.verify(orphan_min_age="0s").ok

    second = lake.backup("nas", progress=False)
    assert [b.id for b in list_backups(lake, "nas")] == [first.id, second.id]
    assert verify_backup(lake, second.id, to="nas").ok
    # prune: the partial backup and objects no kept backup needs go; the kept one is whole
    pruned = prune(lake, "nas", keep_last=1, incomplete_grace="0s")
    assert sorted(pruned.deleted) == sorted([first.id, partial[0].id])
    assert not Path(partial[0].url.removeprefix("file://")).exists()
    assert verify_backup(lake, second.id, to="nas").ok
    dd.restore(second.url, tmp_path / "restored")
    with dd.connect(tmp_path / "restored") as lh2:
        for name in TABLES:
            assert rows(lh2, name).equals(before[name])


APPENDER = """
    import json, sys
    import pyarrow as pa
    import doctordata as dd

    with dd.connect(sys.argv[1], tiers=json.loads(sys.argv[2])) as lh:
        for i in range(10_000):
            lh.append("hn.users", pa.table({"name": [f"writer{i}"], "karma": [i]}))
            print(i, flush=True)
"""


def test_backup_while_another_process_appends_is_a_snapshot_that_existed(
    lake: Any, tmp_path: Path
) -> None:
    proc = _child(APPENDER, str(tmp_path / "lake"), json.dumps(tiers_for(tmp_path)))
    assert proc.stdout is not None
    try:
        proc.stdout.readline()  # the writer has committed at least once
        reports = []
        for _ in range(2):
            assert proc.poll() is None, "the writer must still be running during the backup"
            reports.append(lake.backup("nas", progress=False))
        assert proc.poll() is None, "the writer must still be running after the backup"
    finally:
        proc.terminate()
        proc.wait()
    source = lake.table("hn.users")
    source.refresh()
    known = {s.snapshot_id for s in source.snapshots()}
    for i, report in enumerate(reports):
        root = tmp_path / f"restored{i}"
        dd.restore(report.url, root)
        with dd.connect(root) as lh2:
            snapshot = lh2.table("hn.users").current_snapshot()
            assert snapshot is not None and snapshot.snapshot_id in known
            assert rows(lh2, "hn.users").equals(rows(lake, "hn.users", snapshot.snapshot_id))
            assert lh2.verify(orphan_min_age="0s").ok
