"""Restore writes local files durably (fsync of each file and of the new directories),
survives a SIGKILL while writing files, and a tier moved to S3 gets the --endpoint."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import doctordata as dd
from doctordata.cli import cli
from tests.backup.lakes import TABLES, build, rows, tiers_for


def test_every_restored_local_file_and_directory_is_fsynced(
    lake: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = lake.backup("nas", progress=False)
    synced: set[str] = set()
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:  # a spy: the real fsync still runs
        # A restored file is fsynced under its temporary name, then renamed to its own.
        synced.add(re.sub(r"\.[0-9a-f]{32}\.restoring$", "", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    root = tmp_path / "restored"
    dd.restore(report.url, root, progress=False)
    monkeypatch.undo()

    written = [p for p in root.rglob("*") if ".doctordata" not in p.parts]
    files = {str(p) for p in written if p.is_file() and not p.name.startswith("catalog.db")}
    dirs = {str(p) for p in written if p.is_dir()} | {str(root)}
    restored = {
        f for f in files if ("/warehouse/" in f or "/tiers/" in f) and "/.doctordata" not in f
    }
    assert len(restored) == report.files  # every file of the backup was written
    assert restored - synced == set()
    assert str(root / "doctordata.toml") in synced
    assert dirs - synced == set()
    with dd.connect(root) as lh2:
        assert lh2.verify(deep=True).ok


def test_a_restore_killed_while_writing_files_reruns_to_a_verified_lake(
    lake: Any, tmp_path: Path, child_env: dict[str, str]
) -> None:
    report = lake.backup("nas", progress=False)
    expected = {name: rows(lake, name) for name in TABLES}
    root = tmp_path / "restored"
    cmd = [sys.executable, "-m", "doctordata", "restore", report.url, str(root), "--no-progress"]
    env = {**child_env, "DOCTORDATA_TEST_KILL_AT": "restore-file-written:5"}
    killed = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert killed.returncode == -9, killed.stderr
    assert any(root.rglob("*.parquet")) or any(root.rglob("*.avro"))  # killed half-way

    env.pop("DOCTORDATA_TEST_KILL_AT")
    again = subprocess.run([*cmd, "--force"], env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    with dd.connect(root) as lh2:
        assert sorted(lh2.tables()) == sorted(TABLES)
        assert lh2.verify(deep=True).ok
        for name in TABLES:
            assert rows(lh2, name).equals(expected[name])


def test_a_local_tier_restored_to_s3_gets_the_endpoint(
    tmp_path: Path, s3_env: Any, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with dd.connect(tmp_path / "lake", tiers=tiers_for(tmp_path)) as lh:
        build(lh)
        report = lh.backup("nas", progress=False)
        expected = {name: rows(lh, name) for name in TABLES}
    # Only the command's --endpoint names the server (no AWS_ENDPOINT_URL to fall back on).
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    root = tmp_path / "restored"
    url = f"s3://{s3_bucket}/restored"
    args = ["restore", report.url, str(root), "--tier", f"ssd={url}"]
    result = CliRunner().invoke(
        cli, [*args, "--endpoint", s3_env.endpoint, "--no-progress"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output + repr(result.exception)
    config = (root / "doctordata.toml").read_text()
    assert f'endpoint = "{s3_env.endpoint}"' in config, config
    with dd.connect(root) as lh2:
        assert lh2.tiers["ssd"].endpoint == s3_env.endpoint
        for name in TABLES:
            assert rows(lh2, name).equals(expected[name])
