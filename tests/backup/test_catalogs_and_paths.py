"""Catalog backends (Postgres) and the Avro path rewriting restore relies on."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import doctordata as dd
from doctordata.backup.avro_paths import avro_paths, rewrite_avro
from doctordata.backup.backup import verify_backup
from doctordata.backup.store import BackupTarget
from doctordata.catalog.references import walk_table
from doctordata.errors import BackupError
from tests.backup.lakes import TABLES, build, rows, tiers_for


def test_postgres_catalog_backup_restores_into_a_new_sqlite_root(
    tmp_path: Path, postgres_catalog_url: str
) -> None:
    with dd.connect(
        tmp_path / "lake", tiers=tiers_for(tmp_path), catalog={"uri": postgres_catalog_url}
    ) as lh:
        build(lh)
        expected = {name: rows(lh, name) for name in TABLES}
        report = lh.backup("nas", progress=False)
    restored = dd.restore(report.url, tmp_path / "restored")
    assert sorted(restored.tables) == sorted(TABLES)
    with dd.connect(tmp_path / "restored") as lh2:
        assert lh2.settings.catalog_uri.startswith("sqlite")
        for name in TABLES:
            assert rows(lh2, name).equals(expected[name])


def _manifest_bytes(lake: Any, kind: str) -> bytes:
    table = lake.table("hn.items")
    refs = walk_table(table.io, "hn.items", table.metadata_location)
    path = next(r.path for r in refs.files.values() if r.kind == kind)
    return Path(path.removeprefix("file://")).read_bytes()


@pytest.mark.parametrize("kind", ["manifest", "manifest-list"])
def test_rewrite_changes_only_paths(lake: Any, kind: str) -> None:
    from pyiceberg.avro.file import AvroFile
    from pyiceberg.io.pyarrow import PyArrowFileIO

    data = _manifest_bytes(lake, kind)
    paths = avro_paths(data)
    assert paths and all(p.startswith("file:///") for p in paths)
    moved = rewrite_avro(data, lambda p: p.replace("file:///", "s3://bucket/moved/", 1))
    assert avro_paths(moved) == [p.replace("file:///", "s3://bucket/moved/", 1) for p in paths]
    assert avro_paths(rewrite_avro(data, lambda p: p)) == paths

    def records(blob: bytes, where: Path) -> tuple[Any, list[Any]]:
        where.write_bytes(blob)
        with AvroFile[Any](PyArrowFileIO().new_input(str(where))) as reader:
            return reader.header.meta, [r for r in reader]

    tmp = Path(lake.root)
    meta_a, before = records(data, tmp / "a.avro")
    meta_b, after = records(moved, tmp / "b.avro")
    # header metadata (schema, partition spec, format version, content) is kept
    assert {k: v for k, v in meta_a.items() if k != "avro.schema"} == {
        k: v for k, v in meta_b.items() if k != "avro.schema"
    }
    assert len(before) == len(after)
    undo = "s3://bucket/moved/", "file:///"
    assert [_plain(r, undo) for r in after] == [_plain(r, None) for r in before]


def _plain(value: Any, undo: tuple[str, str] | None) -> Any:
    """A record as nested lists/dicts (paths moved back when ``undo`` is given)."""
    from collections.abc import Mapping

    from pyiceberg.typedef import Record

    if isinstance(value, Record):
        return [_plain(v, undo) for v in value._data]
    if isinstance(value, Mapping):
        return {k: _plain(v, undo) for k, v in dict(value).items()}
    if isinstance(value, list):
        return [_plain(v, undo) for v in value]
    if isinstance(value, str) and undo:
        return value.replace(*undo, 1)
    return value


def test_a_target_path_that_is_a_file_is_refused(lake: Any, tmp_path: Path) -> None:
    report = lake.backup("nas", progress=False)
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(BackupError, match="is a file, not a directory"):
        dd.restore(report.url, tmp_path / "a-file")


def test_prune_needs_a_rule_and_keeps_the_newest(lake: Any) -> None:
    from doctordata.backup.backup import list_backups, prune, resolve_target

    with pytest.raises(BackupError, match="keep_last"):
        prune(lake, "nas")
    with pytest.raises(BackupError, match="at least 1"):
        prune(lake, "nas", keep_last=0)
    first = lake.backup("nas", progress=False)
    lake.append("hn.users", rows(lake, "hn.users").slice(0, 1))
    second = lake.backup("nas", progress=False)
    # older_than alone never deletes the newest backup, even if it is old enough
    report = prune(lake, "nas", older_than="0s")
    assert report.deleted == [first.id] and report.kept == [second.id]
    assert [b.id for b in list_backups(lake, "nas")] == [second.id]
    target: BackupTarget = resolve_target(lake, "nas")
    # only the first backup's catalog copy was its alone; everything else is shared
    assert report.deleted_objects == 1
    assert verify_backup(lake, second.id, to="nas").ok
    assert len(target.list_objects()) == second.files + 1


def test_prune_deletes_no_object_while_a_backup_is_running(lake: Any) -> None:
    from doctordata.backup.backup import new_backup_id, prune, resolve_target
    from doctordata.backup.store import STARTED_NAME

    first = lake.backup("nas", progress=False)
    lake.append("hn.users", rows(lake, "hn.users").slice(0, 1))
    second = lake.backup("nas", progress=False)
    target = resolve_target(lake, "nas")
    before = set(target.list_objects())
    running = new_backup_id()  # another process has just started a backup
    target.write_json(
        target.path(running, STARTED_NAME),
        {"id": running, "started_at": datetime.now(UTC).isoformat()},
    )
    report = prune(lake, "nas", keep_last=1)
    assert report.deleted == [first.id] and report.running == [running]
    assert report.deleted_objects == 0 and set(target.list_objects()) == before
    assert "is running" in str(report)
    assert verify_backup(lake, second.id, to="nas").ok


def test_an_empty_lakehouse_backs_up_and_restores(lh: Any, tmp_path: Path) -> None:
    report = lh.backup(str(tmp_path / "usb"), progress=False, create=True)
    assert report.tables == 0 and report.files == 0
    restored = dd.restore(report.url, tmp_path / "restored")
    assert restored.tables == []
    with dd.connect(tmp_path / "restored") as lh2:
        assert lh2.tables() == []


def test_progress_bars_draw_on_request(lake: Any, tmp_path: Path, capsys: Any) -> None:
    report = lake.backup("nas", progress=True)
    assert verify_backup(lake, report.id, to="nas", progress=True).ok
    dd.restore(report.url, tmp_path / "restored", progress=True)
    err = capsys.readouterr().err
    assert "backup" in err and "verify" in err and "restore" in err
