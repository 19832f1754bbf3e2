"""A restore over a root that already holds a lake (--force, or in place with
tiers="original") never damages the files that are there: a damaged object in the backup
is refused before it replaces anything, so the lake reads exactly as before."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import doctordata as dd
from doctordata.backup.backup import load_manifest, resolve_target
from doctordata.errors import IntegrityError
from tests.backup.lakes import TABLES, rows, tiers_for


@pytest.mark.parametrize("kind", ["data", "metadata"])
def test_a_damaged_backup_restored_in_place_leaves_the_lake_intact(
    lake: Any, tmp_path: Path, kind: str
) -> None:
    report = lake.backup("nas", progress=False)
    expected = {name: rows(lake, name) for name in TABLES}
    target = resolve_target(lake, "nas")
    victim = next(f for f in load_manifest(target, report.id).files if f.kind == kind)
    obj = Path(target.object_path(victim.sha256))
    good = obj.read_bytes()
    obj.write_bytes(good[:-1] + bytes([good[-1] ^ 0xFF]))  # same size, one byte off
    live = Path(victim.path.removeprefix("file://"))
    before = live.read_bytes()
    root = lake.root
    lake.close()

    with pytest.raises(IntegrityError, match="damaged"):
        dd.restore(report.url, root, tiers="original", force=True, progress=False)
    assert live.read_bytes() == before  # the lake's own copy was never touched
    assert not [p for p in live.parent.iterdir() if p.name.startswith(live.name + ".")]
    with dd.connect(root, tiers=tiers_for(tmp_path)) as again:
        for name in TABLES:
            assert rows(again, name).equals(expected[name])
        assert again.verify(deep=True).ok
