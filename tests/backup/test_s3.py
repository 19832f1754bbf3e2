"""Backups to an S3 tier on the loopback SeaweedFS server, and restore from it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import doctordata as dd
from doctordata.backup.backup import list_backups, load_manifest, resolve_target, verify_backup
from tests.backup.lakes import TABLES, build, rows, tiers_for


def test_backup_to_s3_is_incremental_verifiable_and_restorable(
    tmp_path: Path, s3_env: Any, s3_bucket: str
) -> None:
    tiers: dict[str, Any] = {
        **tiers_for(tmp_path),
        "s3": {"url": f"s3://{s3_bucket}/lake", "endpoint": s3_env.endpoint},
    }
    with dd.connect(tmp_path / "lake", tiers=tiers) as lh:
        build(lh)
        first = lh.backup("s3", progress=False)
        assert first.url.startswith(f"s3://{s3_bucket}/lake/backups/")
        lh.append("hn.users", rows(lh, "hn.users").slice(0, 3))
        second = lh.backup("s3", progress=False)
        target = resolve_target(lh, "s3")
        old = {f.path for f in load_manifest(target, first.id).files}
        new = {f.path for f in load_manifest(target, second.id).files}
        assert 0 < second.copied_files == len(new - old) < second.files
        assert [b.id for b in list_backups(lh, "s3")] == [first.id, second.id]
        assert verify_backup(lh, second.id, to="s3").ok
        expected = {name: rows(lh, name) for name in TABLES}

        # a damaged object on S3 is found by verify
        victim = next(f for f in load_manifest(target, second.id).files if f.kind == "data")
        fs = s3_env.filesystem()
        key = target.object_path(victim.sha256)
        good = fs.cat(key)
        fs.pipe(key, good[:-1] + bytes([good[-1] ^ 0xFF]))
        assert [b[0] for b in verify_backup(lh, second.id, to="s3").bad] == [victim.path]
        fs.pipe(key, good)

    restored = dd.restore(second.url, tmp_path / "restored", endpoint=s3_env.endpoint)
    assert sorted(restored.tables) == sorted(TABLES)
    with dd.connect(tmp_path / "restored") as lh2:
        for name in TABLES:
            assert rows(lh2, name).equals(expected[name])
