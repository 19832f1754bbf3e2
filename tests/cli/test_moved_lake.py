"""A lakehouse made by `doctordata init` is one directory: relative paths, no catalog
created by merely opening a root, and a moved or copied lake never reads or writes the
original (issue #20, item 3). Real files, the CLI in a subprocess."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pyarrow as pa
import pytest

import doctordata as dd
from doctordata.errors import CatalogError


def _cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "doctordata", "--root", str(root), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=300,
    )


def _rows(n: int) -> pa.Table:
    base = dt.datetime(2026, 1, 1)
    return pa.table(
        {
            "id": pa.array(range(n), pa.int64()),
            "time": [base + dt.timedelta(days=i) for i in range(n)],
        }
    )


def _tree(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*")) if path.exists() else []


def test_init_writes_paths_relative_to_the_root(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    done = _cli(root, "init")
    assert done.returncode == 0, done.stderr
    config = tomllib.loads((root / "doctordata.toml").read_text())
    assert config["catalog"]["uri"] == "sqlite:///catalog.db"
    assert config["tiers"]["ssd"]["url"] == "warehouse"
    assert str(tmp_path) not in (root / "doctordata.toml").read_text()
    assert (root / "catalog.db").is_file()  # init creates the catalog
    settings = dd.connect(root).settings
    assert settings.catalog_uri == f"sqlite:///{root / 'catalog.db'}"
    assert settings.tiers["ssd"].url == (root / "warehouse").as_uri()


def test_opening_a_root_without_catalog_creates_nothing(tmp_path: Path) -> None:
    root = tmp_path / "nothing-here"
    done = _cli(root, "tables")
    assert done.returncode == 0, done.stderr
    assert "no tables yet" in done.stdout
    assert not root.exists()
    # Through the API: listings are empty and nothing is written, not even the root.
    root.mkdir()
    with dd.connect(root) as lh:
        assert lh.tables() == [] and lh.namespaces() == []
        assert _tree(root) == []
        with pytest.raises(Exception, match="hn"):
            lh.table("hn.items")
        assert _tree(root) == []
        # The first create_* creates the catalog.
        lh.create_table("hn.items", _rows(3))
        assert lh.tables() == ["hn.items"]
    assert (root / "catalog.db").is_file()


def test_a_second_process_sees_a_catalog_created_after_it_opened(tmp_path: Path) -> None:
    with dd.connect(tmp_path / "lake") as reader:
        assert reader.tables() == []
        with dd.connect(tmp_path / "lake") as writer:
            writer.create_table("hn.items", _rows(2))
        assert reader.tables() == ["hn.items"]


def test_copied_lake_made_by_init_never_touches_the_original(tmp_path: Path) -> None:
    original, copy = tmp_path / "a", tmp_path / "b"
    assert _cli(original, "init").returncode == 0
    with dd.connect(original) as lh:
        lh.create_table("hn.items", _rows(5), partition_by=["day(time)"])
    shutil.copytree(original, copy)
    before = {p: p.stat().st_mtime_ns for p in original.rglob("*")}

    # The copy's config resolves below the copy: its catalog, its warehouse.
    settings = dd.connect(copy).settings
    assert settings.catalog_uri == f"sqlite:///{copy / 'catalog.db'}"
    # Its tables' metadata still names the original: refused, never read or written there.
    for args in (("tables",), ("sql", "SELECT count(*) FROM hn.items"), ("describe", "hn.items")):
        done = _cli(copy, *args)
        assert done.returncode != 0
        assert "copied or moved" in done.stderr and str(original) in done.stderr, done.stderr
    with pytest.raises(CatalogError, match="copied or moved"), dd.connect(copy) as lh:
        lh.append("hn.items", _rows(1))
    assert {p: p.stat().st_mtime_ns for p in original.rglob("*")} == before

    # The original still works; once it is gone the copy says the same, not "no tables".
    with dd.connect(original) as lh:
        assert lh.sql("SELECT count(*) FROM hn.items").fetchall() == [(5,)]
    shutil.rmtree(original)
    done = _cli(copy, "sql", "SELECT count(*) FROM hn.items")
    assert done.returncode != 0 and "copied or moved" in done.stderr, done.stderr
    assert not original.exists()
    from doctordata.health import check_moved

    [row] = check_moved(dd.connect(copy))
    assert row.failed and str(original / "warehouse") in row.detail, row


def test_absolute_config_of_a_moved_lake_is_reported(tmp_path: Path) -> None:
    """A config written with absolute paths (older init) names the original's catalog:
    opening the moved copy must say so, not create an empty catalog at the old path."""
    original, moved = tmp_path / "a", tmp_path / "b"
    original.mkdir()
    (original / "doctordata.toml").write_text(
        f'[catalog]\nuri = "sqlite:///{original}/catalog.db"\n'
        f'[tiers.ssd]\nurl = "file://{original}/warehouse"\n'
    )
    with dd.connect(original) as lh:
        lh.create_table("hn.items", _rows(2))
    shutil.move(original, moved)

    done = _cli(moved, "tables")
    assert done.returncode != 0
    assert "moved or copied" in done.stderr and "sqlite:///catalog.db" in done.stderr
    assert not original.exists()  # no new empty catalog at the old path

    doctor = _cli(moved, "doctor")
    flat = " ".join(doctor.stdout.split())
    assert doctor.returncode == 1
    assert "catalog.uri" in flat and "tiers.ssd.url" in flat and "moved root" in flat
    assert not original.exists()

    # With the config fixed, the catalog's own locations still name the old place: refused.
    (moved / "doctordata.toml").write_text(
        '[catalog]\nuri = "sqlite:///catalog.db"\n[tiers.ssd]\nurl = "warehouse"\n'
    )
    done = _cli(moved, "tables")
    assert done.returncode != 0 and "copied or moved" in done.stderr, done.stderr
    assert not original.exists()


def test_a_nas_tier_named_like_the_ssd_tier_is_not_a_move(tmp_path: Path) -> None:
    from doctordata.health import check_moved

    root, nas = tmp_path / "lake", tmp_path / "nas" / "warehouse"
    nas.mkdir(parents=True)
    config = {"ssd": {"url": "warehouse"}, "nas": {"url": str(nas)}}
    with dd.connect(root, tiers=config) as lh:
        lh.create_table("hn.items", _rows(2))
        assert check_moved(lh) == []
        assert lh.sql("SELECT count(*) FROM hn.items").fetchall() == [(2,)]
