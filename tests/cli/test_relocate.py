"""`doctordata relocate` makes a copied or moved lakehouse usable in its new place and
never touches the original (issue #20, item 3). Real files, the CLI in a subprocess."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

import doctordata as dd


def _cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "doctordata", "--root", str(root), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=300,
    )


def _rows(n: int, start: int = 0) -> pa.Table:
    base = dt.datetime(2026, 1, 1)
    return pa.table(
        {
            "id": pa.array(range(start, start + n), pa.int64()),
            "time": [base + dt.timedelta(days=i) for i in range(start, start + n)],
        }
    )


def _hashes(path: Path) -> dict[str, str]:
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


def _lake(root: Path) -> None:
    assert _cli(root, "init").returncode == 0
    with dd.connect(root) as lh:
        lh.create_table("hn.items", _rows(5), partition_by=["day(time)"])
        lh.append("hn.items", _rows(3, start=5))  # two snapshots, metadata log of 3


def _count(root: Path) -> str:
    done = _cli(root, "sql", "--format", "csv", "SELECT count(*) AS n FROM hn.items")
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("how", ["copy", "move"])
def test_relocated_lake_works_and_the_original_is_untouched(tmp_path: Path, how: str) -> None:
    original, copy = tmp_path / "a", tmp_path / "b"
    _lake(original)
    if how == "copy":
        shutil.copytree(original, copy)
    else:
        shutil.move(original, copy)
    before = _hashes(original)
    lake_id = (copy / ".doctordata" / "lake-id").read_text()

    refused = _cli(copy, "tables")
    assert refused.returncode != 0 and "doctordata --root" in refused.stderr
    assert "relocate" in refused.stderr, refused.stderr

    done = _cli(copy, "relocate")
    assert done.returncode == 0, done.stderr
    assert "relocated" in done.stdout and "1 tables" in done.stdout, done.stdout

    assert "hn.items" in _cli(copy, "tables").stdout
    assert "8" in _count(copy)
    with dd.connect(copy) as lh:
        lh.append("hn.items", _rows(2, start=8))
        assert lh.sql("SELECT count(*), max(id) FROM hn.items").fetchall() == [(10, 9)]
        assert len(lh.table("hn.items").history()) == 3  # time travel still reads the copy
    verified = _cli(copy, "verify", "--deep")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    # Nothing in the copy names the old place any more.
    for p in copy.rglob("*"):
        if p.is_file() and p.suffix in (".json", ".avro", ".db"):
            assert str(original).encode() not in p.read_bytes(), p
    doctor = _cli(copy, "doctor")
    assert "moved root" not in doctor.stdout, doctor.stdout

    assert _hashes(original) == before
    # A copy gets its own lake id (tier markers name it); a moved lake keeps its id.
    new_id = (copy / ".doctordata" / "lake-id").read_text()
    if how == "copy":
        assert "8" in _count(original)
        assert new_id != lake_id and "new lake id" in done.stdout, done.stdout
    else:
        assert not original.exists()
        assert new_id == lake_id and "lake id" not in done.stdout, done.stdout


def test_dry_run_changes_nothing_and_an_unmoved_lake_is_a_no_op(tmp_path: Path) -> None:
    original, copy = tmp_path / "a", tmp_path / "b"
    _lake(original)
    shutil.copytree(original, copy)
    copied = _hashes(copy)
    done = _cli(copy, "relocate", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "would relocate" in done.stdout and "dry run" in done.stdout, done.stdout
    assert "would get a new lake id" in done.stdout, done.stdout
    assert _hashes(copy) == copied
    assert _cli(copy, "tables").returncode != 0  # still refused

    untouched = _hashes(original)
    done = _cli(original, "relocate")
    assert done.returncode == 0, done.stderr
    assert "was not moved or copied: nothing to relocate" in done.stdout, done.stdout
    assert _hashes(original) == untouched
    # Through the API, relocating twice: the second is a no-op. new_id=False keeps the id.
    lake_id = (copy / ".doctordata" / "lake-id").read_text()
    kept = dd.relocate(str(copy), new_id=False)
    assert kept.tables == ["hn.items"] and kept.new_id is None
    assert (copy / ".doctordata" / "lake-id").read_text() == lake_id
    assert not dd.relocate(str(copy)).moved
    assert "8" in _count(copy)


def test_a_relocate_killed_before_the_catalog_swap_is_finished_by_running_it_again(
    tmp_path: Path,
) -> None:
    from tests.lifecycle.deletes import add_position_deletes

    original, copy = tmp_path / "a", tmp_path / "b"
    _lake(original)
    with dd.connect(original) as lh:  # a delete file: rewritten again by the second run
        target = next(iter(lh.table("hn.items").scan().plan_files())).file
        add_position_deletes(lh.table("hn.items"), target, [0], bounds=True)
    shutil.copytree(original, copy)
    before = _hashes(original)
    killed = subprocess.run(
        [sys.executable, "-m", "doctordata", "--root", str(copy), "relocate"],
        capture_output=True,
        text=True,
        env={**os.environ, "DOCTORDATA_TEST_KILL_AT": "relocate-rewritten"},
        timeout=300,
    )
    assert killed.returncode == -9, killed.stderr
    # Files rewritten, rows not swapped: the copy is still refused, never half-read.
    refused = _cli(copy, "sql", "SELECT count(*) FROM hn.items")
    assert refused.returncode != 0 and "relocate" in refused.stderr, refused.stderr
    done = _cli(copy, "relocate")
    assert done.returncode == 0 and "relocated" in done.stdout, done.stdout + done.stderr
    assert "7" in _count(copy)
    assert _cli(copy, "verify", "--deep").returncode == 0
    assert _hashes(original) == before


def test_a_two_tier_lake_is_relocated_on_every_tier(tmp_path: Path) -> None:
    from tests.tiered_lakes import AGE_POLICY, rows, write_config

    original, copy = tmp_path / "a", tmp_path / "b"
    write_config(original, {"ssd": {"url": "ssd"}, "nas": {"url": "tiers/nas"}}, AGE_POLICY)
    (original / "tiers" / "nas").mkdir(parents=True)
    with dd.connect(original) as lh:
        lh.create_table("hn.items", rows(0), partition_by=["day(time)"])
        lh.tier()  # the old days go to the NAS tier
        files = lh.sql("SELECT count(*) FROM hn.items").fetchall()
    assert any((original / "tiers" / "nas").rglob("*.parquet"))
    shutil.copytree(original, copy)
    before = _hashes(original)
    done = _cli(copy, "relocate")
    assert done.returncode == 0, done.stderr
    assert "tier ssd" in done.stdout and "tier nas" in done.stdout, done.stdout
    with dd.connect(copy) as lh:
        assert lh.sql("SELECT count(*) FROM hn.items").fetchall() == files
        live = [t.file.file_path for t in lh.table("hn.items").scan().plan_files()]
        assert live and all(str(copy) in p for p in live), live
        assert any(str(copy / "tiers" / "nas") in p for p in live), live
    assert _cli(copy, "verify", "--deep").returncode == 0
    assert _hashes(original) == before


def test_a_copy_sharing_the_catalog_is_refused_and_a_shared_nas_is_named(
    tmp_path: Path,
) -> None:
    from tests.tiered_lakes import AGE_POLICY, rows, write_config

    original, copy, nas = tmp_path / "a", tmp_path / "b", tmp_path / "nas"
    nas.mkdir()
    shared_db = tmp_path / "shared" / "catalog.db"
    tiers = {"ssd": {"url": "ssd"}, "nas": {"url": str(nas)}}
    write_config(original, tiers, AGE_POLICY)
    config = original / "doctordata.toml"
    config.write_text(f'[catalog]\nuri = "sqlite:///{shared_db}"\n' + config.read_text())
    with dd.connect(original) as lh:
        lh.create_table("hn.items", rows(0), partition_by=["day(time)"])
    shutil.copytree(original, copy)
    before, db_before = _hashes(original), shared_db.read_bytes()
    done = _cli(copy, "relocate")
    assert done.returncode != 0
    assert str(shared_db) in done.stderr and "own catalog" in done.stderr, done.stderr
    assert _hashes(original) == before and shared_db.read_bytes() == db_before
    # Its own SQLite catalog in the root: relocated, with a warning about the shared NAS.
    config = copy / "doctordata.toml"
    config.write_text(config.read_text().replace(f"sqlite:///{shared_db}", "sqlite:///cat.db"))
    shutil.copy(shared_db, copy / "cat.db")
    done = _cli(copy, "relocate")
    assert done.returncode == 0, done.stderr
    assert "warning: tier nas" in done.stdout and "share its files" in done.stdout, done.stdout
    assert _hashes(original) == before and shared_db.read_bytes() == db_before
    assert _count(copy) == _count(original)


@pytest.mark.parametrize("how", ["copy", "move"])
def test_position_deletes_stay_applied_after_relocate(tmp_path: Path, how: str) -> None:
    """Delete files name data files by absolute path: relocate rewrites them (and their
    manifest entries), so the copy's deleted rows stay deleted, read by DuckDB and by
    pyiceberg; the original is never written."""
    import pyarrow.parquet as pq

    from tests.lifecycle.deletes import add_position_deletes

    original, copy = tmp_path / "a", tmp_path / "b"
    _lake(original)
    with dd.connect(original) as lh:
        table = lh.table("hn.items")
        targets = sorted((t.file for t in table.scan().plan_files()), key=lambda f: f.file_path)
        # One entry with file_path bounds (as Java writers record them), one without.
        add_position_deletes(lh.table("hn.items"), targets[0], [0], bounds=True)
        add_position_deletes(lh.table("hn.items"), targets[1], [0], bounds=False)
        expected = sorted(r[0] for r in lh.sql("SELECT id FROM hn.items").fetchall())
    assert len(expected) == 6
    (shutil.copytree if how == "copy" else shutil.move)(original, copy)
    before = _hashes(original) if how == "copy" else {}
    dry = _cli(copy, "relocate", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    done = _cli(copy, "relocate")
    assert done.returncode == 0, done.stderr

    assert "6" in _count(copy)
    with dd.connect(copy) as lh:
        assert sorted(r[0] for r in lh.sql("SELECT id FROM hn.items").fetchall()) == expected
        scanned = lh.table("hn.items").scan().to_arrow()["id"].to_pylist()
        assert sorted(scanned) == expected
        named = set()
        for task in lh.table("hn.items").scan().plan_files():
            for d in task.delete_files:
                named |= set(
                    pq.read_table(d.file_path.removeprefix("file://"))["file_path"].to_pylist()
                )
        assert len(named) == 2 and all(str(copy) in n for n in named), named
    verified = _cli(copy, "verify", "--deep")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    for p in copy.rglob("*"):
        if p.is_file() and p.suffix in (".json", ".avro", ".db", ".parquet"):
            assert str(original).encode() not in p.read_bytes(), p
    if how == "copy":
        assert _hashes(original) == before
        assert "6" in _count(original)


def test_a_delete_file_relocate_cannot_rewrite_is_refused_before_anything_changes(
    tmp_path: Path,
) -> None:
    import pyarrow as pa

    from tests.lifecycle.deletes import add_position_deletes

    original, copy = tmp_path / "a", tmp_path / "b"
    _lake(original)
    odd = pa.schema([pa.field("path", pa.string(), False), pa.field("row", pa.int64(), False)])
    with dd.connect(original) as lh:
        table = lh.table("hn.items")
        target = next(iter(table.scan().plan_files())).file
        bad = add_position_deletes(table, target, [0], schema=odd)
    shutil.copytree(original, copy)
    copied = _hashes(copy)
    done = _cli(copy, "relocate")
    assert done.returncode != 0
    message = done.stderr
    assert "hn.items" in message and bad.rsplit("/", 1)[1] in message, message
    assert "Fix:" in message and "rewrite_data_files" in message, message
    assert _hashes(copy) == copied  # nothing rewritten, still refused
    assert _cli(copy, "tables").returncode != 0


def _marker(tier_dir: Path) -> dict[str, str]:
    import json

    data: dict[str, str] = json.loads((tier_dir / ".doctordata-tier").read_text())
    return data


def _ids_and_max(root: Path) -> str:
    done = _cli(root, "sql", "--format", "csv", "SELECT count(*) AS n, max(id) AS m FROM hn.items")
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_a_cp_r_copy_gets_its_own_lake_id_and_the_two_lakes_never_mix(tmp_path: Path) -> None:
    """`cp -r` keeps .doctordata/lake-id; relocate gives the copy a new one, so the tier
    markers tell the two lakes apart (doctor names a tier the copy shares with the
    original). The plan cache and backups on a shared target never mix their data."""
    import json

    from tests.tiered_lakes import write_config

    original, copy, nas = tmp_path / "a", tmp_path / "b", tmp_path / "nas"
    nas.mkdir()
    write_config(original, {"ssd": {"url": "ssd"}, "nas": {"url": str(nas)}}, [])
    with dd.connect(original) as lh:
        lh.create_table("hn.items", _rows(5), partition_by=["day(time)"])
        lh.append("hn.items", _rows(3, start=5))
    assert _ids_and_max(original) == "8,7"  # a cached plan in the original's root
    assert _cli(original, "backup", "--to", "nas", "--no-progress").returncode == 0
    original_id = (original / ".doctordata" / "lake-id").read_text().strip()

    shutil.copytree(original, copy)
    assert (copy / ".doctordata" / "lake-id").read_text().strip() == original_id
    done = _cli(copy, "relocate")
    assert done.returncode == 0, done.stderr
    copy_id = (copy / ".doctordata" / "lake-id").read_text().strip()
    assert copy_id != original_id and f"new lake id {copy_id}" in done.stdout, done.stdout
    assert (original / ".doctordata" / "lake-id").read_text().strip() == original_id
    assert _marker(copy / "ssd")["lake"] == copy_id
    assert _marker(original / "ssd")["lake"] == original_id
    # The NAS is shared: its marker is the original's, and doctor says so in the copy.
    assert _marker(nas)["lake"] == original_id
    doctor = _cli(copy, "doctor")
    assert f"names another lake, {original_id}" in doctor.stdout, doctor.stdout
    assert "names another lake" not in _cli(original, "doctor").stdout

    # The two lakes diverge; each reads its own rows (the same query, cached in both).
    with dd.connect(original) as lh:
        lh.append("hn.items", _rows(2, start=100))
    with dd.connect(copy) as lh:
        lh.append("hn.items", _rows(3, start=200))
    assert _ids_and_max(original) == "10,101"
    assert _ids_and_max(copy) == "11,202"
    # Both back up to the shared NAS: each backup starts from the other's as the
    # previous one on that target, and still restores its own lake's rows.
    assert _cli(copy, "backup", "--to", "nas", "--no-progress").returncode == 0
    assert _cli(original, "backup", "--to", "nas", "--no-progress").returncode == 0
    listed = _cli(copy, "backup", "list", "--to", "nas", "--json")
    assert listed.returncode == 0, listed.stderr
    urls = [b["url"] for b in json.loads(listed.stdout)]
    assert len(urls) == 3  # original, copy, original (oldest first)
    for url, root, expected in ((urls[1], "rb", "11,202"), (urls[2], "ra", "10,101")):
        restored = _cli(copy, "restore", url, str(tmp_path / root), "--no-progress")
        assert restored.returncode == 0, restored.stderr
        assert _ids_and_max(tmp_path / root) == expected


def test_a_delete_file_on_a_shared_tier_naming_copied_files_is_refused(tmp_path: Path) -> None:
    """A position-delete file on a tier outside the root (not copied) that names data
    files that were copied: rewriting it would change the original's table, leaving it
    would bring rows back. Refused before anything changes, in the copy or on the NAS."""
    from tests.lifecycle.deletes import add_position_deletes
    from tests.tiered_lakes import write_config

    original, copy, nas = tmp_path / "a", tmp_path / "b", tmp_path / "nas"
    nas.mkdir()
    write_config(original, {"ssd": {"url": "ssd"}, "nas": {"url": str(nas)}}, [])
    with dd.connect(original) as lh:
        lh.create_table("hn.items", _rows(5), partition_by=["day(time)"])
        table = lh.table("hn.items")
        target = next(iter(table.scan().plan_files())).file
        (nas / "hn").mkdir()
        bad = add_position_deletes(table, target, [0], directory=(nas / "hn").as_uri())
    shutil.copytree(original, copy)
    copied, on_nas = _hashes(copy), _hashes(nas)
    done = _cli(copy, "relocate")
    assert done.returncode != 0
    assert "hn.items" in done.stderr and bad in done.stderr, done.stderr
    assert "not copied" in done.stderr and "Fix:" in done.stderr, done.stderr
    assert _hashes(copy) == copied and _hashes(nas) == on_nas
    assert "4" in _count(original)
