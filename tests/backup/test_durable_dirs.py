"""A backup into folders it creates, and a restore into a new root, survive a power cut:
every folder on the way from an existing directory to each file they write is fsynced
(a new folder's name lasts only once its parent is fsynced)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import doctordata as dd


def folders_between(top: Path, files: list[Path]) -> set[str]:
    """Every folder from ``top`` (included) down to each of ``files``."""
    out = {str(top)}
    for f in files:
        for parent in f.parents:
            if parent == top:
                break
            out.add(str(parent))
    return out


def test_a_backup_into_new_folders_is_durable(lake: Any, tmp_path: Path, synced: set[str]) -> None:
    usb = tmp_path / "usb"  # exists (mounted); the folders below it do not
    usb.mkdir()
    report = lake.backup(str(usb / "lake" / "copies"), create=True, progress=False)
    base = usb / "lake" / "copies" / "backups"
    manifest = base / report.id / "manifest.json"
    assert manifest.is_file()
    objects = [p for p in (base / "objects").rglob("*") if p.is_file()]
    assert objects
    assert folders_between(usb, [manifest, *objects]) - synced == set()


def test_a_restore_into_a_new_root_is_durable(lake: Any, tmp_path: Path, synced: set[str]) -> None:
    report = lake.backup("nas", progress=False)
    root = tmp_path / "restores" / "lake2"  # neither exists
    dd.restore(report.url, root, progress=False)
    config = root / "doctordata.toml"
    assert config.is_file()
    assert folders_between(tmp_path, [config]) - synced == set()
