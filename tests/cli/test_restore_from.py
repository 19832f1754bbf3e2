"""`doctordata restore <id>|latest ROOT --from DIR`: a backup found by id in an explicit
directory needs no working lakehouse, so the repair that EmptyCatalogError names (restore
a root whose catalog is lost) works through the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa

import doctordata as dd


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCTORDATA")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    return subprocess.run(
        [sys.executable, "-m", "doctordata", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _rows(root: Path) -> list[int]:
    with dd.connect(root) as lh:
        return sorted(lh.read("t.items").column("id").to_pylist())


def test_restore_by_id_from_an_explicit_directory_repairs_a_lost_catalog(tmp_path: Path) -> None:
    lake, backups = tmp_path / "lake", tmp_path / "usb"
    backups.mkdir()
    done = _cli("--root", str(lake), "init")
    assert done.returncode == 0, done.stderr
    with dd.connect(lake) as lh:
        lh.create_table("t.items", pa.table({"id": pa.array([1, 2, 3], pa.int64())}))
        lh.append("t.items", pa.table({"id": pa.array([4, 5], pa.int64())}))
        backup_id = lh.backup(str(backups)).id
    (lake / "catalog.db").unlink()  # the damage: tables on disk, no catalog
    broken = _cli("--root", str(lake), "tables")
    assert broken.returncode != 0 and "doctordata restore" in broken.stderr, broken.stderr

    # by id into a new root, with the damaged root as the group's root (its config is read,
    # its catalog is not opened)
    copy = tmp_path / "copy"
    done = _cli("--root", str(lake), "restore", backup_id, str(copy), "--from", str(backups))
    assert done.returncode == 0, done.stderr
    assert _rows(copy) == [1, 2, 3, 4, 5]

    # the repair the error names: latest, in place
    done = _cli(
        "--root", str(lake), "restore", "latest", str(lake), "--force", "--in-place",
        "--from", str(backups),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    verified = _cli("--root", str(lake), "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert _rows(lake) == [1, 2, 3, 4, 5]


def test_an_unknown_id_or_an_empty_directory_is_named(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    done = _cli("restore", "latest", str(tmp_path / "new"), "--from", str(empty))
    assert done.returncode == 1
    assert "no complete backup in" in done.stderr and str(empty) in done.stderr, done.stderr
    lake = tmp_path / "lake"
    with dd.connect(lake) as lh:
        lh.create_table("t.items", pa.table({"id": pa.array([1], pa.int64())}))
        lh.backup(str(empty))
    done = _cli("restore", "nope", str(tmp_path / "new"), "--from", str(empty))
    assert done.returncode == 1
    assert "no backup 'nope'" in done.stderr, done.stderr
    assert not (tmp_path / "new").exists()
