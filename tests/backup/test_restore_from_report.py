"""dd.restore() takes the BackupReport lh.backup() returned, or its id (issue #20 item 9)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

import doctordata as dd
from doctordata.errors import BackupError, BackupNotFoundError
from tests.backup.lakes import tiers_for

DATA = pa.table({"id": pa.array([1, 2, 3], pa.int64())})


def _backed_up(tmp_path: Path) -> object:
    # The tiers live in the lake's doctordata.toml, so a later connect finds the NAS tier.
    tiers = tiers_for(tmp_path)
    (tmp_path / "lake").mkdir()
    (tmp_path / "lake" / "doctordata.toml").write_text(
        "".join(f'[tiers.{name}]\nurl = "{t["url"]}"\n' for name, t in tiers.items())
    )
    with dd.connect(tmp_path / "lake") as lh:
        lh.create_table("db.t", DATA)
        return lh.backup("nas", progress=False)


def _ids(root: Path) -> list[tuple[int, ...]]:
    with dd.connect(root) as lh:
        return lh.sql("SELECT id FROM db.t ORDER BY id").fetchall()


def test_restore_accepts_the_report(tmp_path: Path) -> None:
    report = _backed_up(tmp_path)
    restored = dd.restore(report, tmp_path / "copy")
    assert restored.tables == ["db.t"]
    assert _ids(tmp_path / "copy") == [(1,), (2,), (3,)]


def test_restore_accepts_the_id_with_its_lakehouse(tmp_path: Path) -> None:
    report = _backed_up(tmp_path)
    dd.restore(report.id, tmp_path / "copy", source=tmp_path / "lake")  # type: ignore[attr-defined]
    assert _ids(tmp_path / "copy") == [(1,), (2,), (3,)]


def test_restore_refuses_what_is_not_a_backup(tmp_path: Path) -> None:
    report = _backed_up(tmp_path)
    with pytest.raises(BackupError, match="is not a backup"):
        dd.restore(42, tmp_path / "copy")
    with pytest.raises(BackupNotFoundError):
        dd.restore("20000101T000000Z-000000", tmp_path / "copy", source=tmp_path / "lake")
    with pytest.raises(BackupError, match="no lakehouse at"):
        dd.restore(report.id, tmp_path / "copy", source=tmp_path / "nowhere")  # type: ignore[attr-defined]
    assert not (tmp_path / "nowhere").exists()
    assert not (tmp_path / "copy").exists()
