"""`doctordata backup list / verify / prune` and `restore` on an S3 target with an endpoint,
through real `doctordata` processes against the loopback SeaweedFS server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import doctordata as dd
from tests.backup.lakes import build, rows, tiers_for


def _env(s3: Any) -> dict[str, str]:
    # Keys only: no AWS_ENDPOINT_URL, so only --endpoint or the tier config can name the
    # server (as for a user whose shell knows nothing about it).
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCTORDATA", "AWS_"))}
    env.update(
        AWS_ACCESS_KEY_ID=s3.access_key,
        AWS_SECRET_ACCESS_KEY=s3.secret_key,
        AWS_REGION=s3.region,
        AWS_DEFAULT_REGION=s3.region,
        PYTHONPATH=str(Path(__file__).resolve().parents[2]),
    )
    return env


def _cli(env: dict[str, str], root: Path, *args: str, code: int = 0) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "doctordata", "--root", str(root), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.stdout + proc.stderr


def _lake(tmp_path: Path, extra: str = "") -> Path:
    root = tmp_path / "lake"
    root.mkdir()
    lines = []
    for name, cfg in tiers_for(tmp_path).items():
        lines += [f"[tiers.{name}]", f"url = {json.dumps(cfg['url'])}"]
    (root / "doctordata.toml").write_text("\n".join(lines) + "\n" + extra)
    with dd.connect(root) as lh:
        build(lh)
    return root


def test_s3_backup_with_endpoint_can_be_listed_verified_pruned_restored(
    tmp_path: Path, s3_server: Any, s3_bucket: str
) -> None:
    env = _env(s3_server)
    root = _lake(tmp_path)
    url = f"s3://{s3_bucket}/backups-of-lake"
    ep = ("--endpoint", s3_server.endpoint)
    _cli(env, root, "backup", "--to", url, *ep, "--no-progress")
    _cli(env, root, "backup", "--to", url, *ep, "--no-progress")
    # --endpoint after the subcommand (where a user types it) and on the group
    listed = json.loads(_cli(env, root, "backup", "list", "--to", url, *ep, "--json"))
    assert len(listed) == 2 and all(b["url"].startswith(url) for b in listed)
    again = json.loads(_cli(env, root, "backup", "--to", url, *ep, "list", "--json"))
    assert [b["id"] for b in again] == [b["id"] for b in listed]
    assert "OK" in _cli(env, root, "backup", "verify", "--to", url, *ep, "--no-progress")
    out = _cli(env, root, "backup", "verify", listed[0]["url"], *ep, "--no-progress")
    assert "OK" in out
    out = _cli(env, root, "backup", "prune", "--to", url, *ep, "--keep-last", "1")
    assert listed[0]["id"] in out
    left = json.loads(_cli(env, root, "backup", "list", "--to", url, *ep, "--json"))
    assert [b["id"] for b in left] == [listed[1]["id"]]
    # without --endpoint (and no S3 tier in this bucket) AWS is asked: one line, the fix
    out = _cli(env, root, "backup", "list", "--to", url, code=1)
    assert out.startswith("error: ") and "--endpoint" in out and len(out.splitlines()) == 1
    target = tmp_path / "restored"
    _cli(env, tmp_path, "restore", left[0]["url"], str(target), *ep, "--no-progress")
    with dd.connect(root) as lh, dd.connect(target) as lh2:
        assert rows(lh2, "hn.items").equals(rows(lh, "hn.items"))


def test_s3_settings_come_from_the_tier_config(tmp_path: Path, s3_env: Any, s3_bucket: str) -> None:
    """A URL in a configured S3 tier's bucket uses that tier's endpoint: no --endpoint.
    (s3_env gives this test process the keys; the children get no AWS_ENDPOINT_URL.)"""
    env = _env(s3_env)
    tier = f'[tiers.s3]\nurl = "s3://{s3_bucket}/lake"\nendpoint = "{s3_env.endpoint}"\n'
    root = _lake(tmp_path, tier)
    url = f"s3://{s3_bucket}/offsite"
    _cli(env, root, "backup", "--to", url, "--no-progress")
    _cli(env, root, "backup", "--to", "s3", "--no-progress")
    listed = json.loads(_cli(env, root, "backup", "list", "--to", url, "--json"))
    assert len(listed) == 1
    assert len(json.loads(_cli(env, root, "backup", "list", "--to", "s3", "--json"))) == 1
    assert "OK" in _cli(env, root, "backup", "verify", "--to", url, "--no-progress")
    assert "OK" in _cli(env, root, "backup", "verify", listed[0]["url"], "--no-progress")
    assert "deleted 0 backups" in _cli(
        env, root, "backup", "prune", "--to", url, "--keep-last", "1"
    )
    # restore of a URL finds the endpoint in the lakehouse's config too
    target = tmp_path / "restored"
    _cli(env, root, "restore", listed[0]["url"], str(target), "--no-progress")
    with dd.connect(root) as lh, dd.connect(target) as lh2:
        assert rows(lh2, "hn.users").equals(rows(lh, "hn.users"))
