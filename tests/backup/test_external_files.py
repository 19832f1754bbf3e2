"""Data files registered from outside every tier (by older versions or foreign writers)
survive a backup/restore."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import doctordata as dd
from tests.backup.lakes import items, rows


def test_files_outside_the_tiers_are_restored_below_root_external(
    lake: Any, tmp_path: Path
) -> None:
    import pyarrow.parquet as pq

    outside = tmp_path / "import" / "batch.parquet"
    outside.parent.mkdir()
    pq.write_table(items(5000, 25), outside)
    lake.create_table("hn.imported", items(0, 1).schema)
    # lh.add_files refuses files outside every tier now; older versions and foreign
    # writers registered such files, and a backup must still carry them.
    lake.table("hn.imported").add_files(file_paths=[str(outside)])
    expected = rows(lake, "hn.imported")
    assert len(expected) == 25
    report = lake.backup("nas", progress=False)
    shutil.rmtree(outside.parent)

    dd.restore(report.url, tmp_path / "restored")
    with dd.connect(tmp_path / "restored") as lh2:
        assert rows(lh2, "hn.imported").equals(expected)
        paths = [t.file.file_path for t in lh2.table("hn.imported").scan().plan_files()]
        external = (tmp_path / "restored" / "external").as_uri()
        assert paths and all(p.startswith(external) for p in paths)
