"""`doctordata backup [list|verify|prune]`, `restore` and `verify` through the real CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import doctordata as dd
from doctordata.cli import cli
from doctordata.errors import ConfigError
from tests.backup.lakes import build, rows, tiers_for, users


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "lake"
    root.mkdir()
    lines = []
    for name, cfg in tiers_for(tmp_path).items():
        lines += [f"[tiers.{name}]", f"url = {json.dumps(cfg['url'])}"]
    (root / "doctordata.toml").write_text("\n".join(lines) + "\n")
    with dd.connect(root) as lh:
        build(lh)
    return root


def run(root: Path, *args: str, code: int = 0) -> Any:
    result = CliRunner().invoke(cli, ["--root", str(root), *args])
    assert result.exit_code == code, result.output + repr(result.exception)
    return result


def test_backup_list_verify_restore_prune(root: Path, tmp_path: Path) -> None:
    out = run(root, "backup", "--to", "nas", "--no-progress").output
    assert "copied" in out and "files" in out
    run(root, "backup")  # --to defaults to nas
    listed = json.loads(run(root, "backup", "list", "--json").output)
    assert len(listed) == 2 and all(b["complete"] for b in listed)
    assert "OK" in run(root, "backup", "verify", "--no-progress").output
    assert listed[0]["id"] in run(root, "backup", "list").output

    target = tmp_path / "restored"
    out = run(root, "restore", "latest", str(target), "--no-progress").output
    assert f"restored backup {listed[1]['id']}" in out
    err = run(root, "restore", listed[1]["url"], str(target), code=1)
    assert "--force" in str(err.exception)
    with dd.connect(root) as lh, dd.connect(target) as lh2:
        assert rows(lh2, "hn.items").equals(rows(lh, "hn.items"))

    out = run(root, "backup", "prune", "--keep-last", "1").output
    assert f"deleted 1 backups ({listed[0]['id']})" in out
    assert len(json.loads(run(root, "backup", "list", "--json").output)) == 1


def test_verify_exit_code_follows_damage(root: Path) -> None:
    assert "OK" in run(root, "verify").output
    data = next((root / "warehouse").rglob("*.parquet"))
    data.unlink()
    result = run(root, "verify", code=1)
    assert str(data) in result.output and "fix:" in result.output
    assert not json.loads(run(root, "verify", "--json", code=1).output)["ok"]


def test_backup_verify_exit_code_on_a_flipped_byte(root: Path) -> None:
    run(root, "backup", "--no-progress")
    obj = next(p for p in (root.parent / "nas" / "backups" / "objects").rglob("*") if p.is_file())
    data = bytearray(obj.read_bytes())
    data[0] ^= 0xFF
    obj.write_bytes(bytes(data))
    assert "BAD" in run(root, "backup", "verify", code=1).output


def test_unknown_tier_names_the_configured_ones(root: Path) -> None:
    result = run(root, "backup", "--to", "usb", code=1)
    assert "configured tiers: ssd, nas" in str(result.exception)


def test_restore_in_place_after_losing_the_root(root: Path, tmp_path: Path) -> None:
    with dd.connect(root) as lh:
        expected = rows(lh, "hn.users")
    out = run(root, "backup", "--no-progress").output
    url = tiers_for(tmp_path)["nas"]["url"]
    backup_id = out.split()[1]
    shutil.rmtree(root)
    run(tmp_path, "restore", f"{url}/backups/{backup_id}", str(root), "--in-place")
    with dd.connect(root) as lh2:
        assert rows(lh2, "hn.users").equals(expected)


def test_restore_into_another_catalog_uri(root: Path, tmp_path: Path) -> None:
    run(root, "backup", "--no-progress")
    target = tmp_path / "restored"
    db = tmp_path / "elsewhere" / "catalog.db"
    db.parent.mkdir()
    uri = f"sqlite:///{db}"
    run(root, "restore", "latest", str(target), "--catalog-uri", uri, "--no-progress")
    assert db.is_file() and not (target / "catalog.db").exists()
    assert uri in (target / "doctordata.toml").read_text()
    with dd.connect(root) as lh, dd.connect(target) as lh2:
        assert lh2.settings.catalog_uri == uri
        assert rows(lh2, "hn.items").equals(rows(lh, "hn.items"))


def test_restore_with_a_bad_catalog_uri_fails_and_leaves_nothing(
    root: Path, tmp_path: Path
) -> None:
    run(root, "backup", "--no-progress")
    target = tmp_path / "restored"
    result = run(root, "restore", "latest", str(target), "--catalog-uri", "nosuch://x", code=1)
    assert isinstance(result.exception, ConfigError)
    assert "catalog.uri = 'nosuch://x'" in str(result.exception)
    assert not target.exists() or not any(target.iterdir())


def test_restore_over_another_lake_needs_replace_lake(root: Path, tmp_path: Path) -> None:
    run(root, "backup", "--to", "nas", "--no-progress")
    url = json.loads(run(root, "backup", "list", "--json").output)[-1]["url"]
    other = tmp_path / "other"
    with dd.connect(other) as lh:
        lh.create_table("hn.users", users(3))  # another lake, same table path
    err = run(tmp_path, "restore", url, str(other), "--force", "--no-progress", code=1)
    assert "another lake" in str(err.exception) and "--replace-lake" in str(err.exception)
    out = run(tmp_path, "restore", url, str(other), "--force", "--replace-lake", "--no-progress")
    assert "quarantine" in out.output and "delete that folder by hand" in out.output
