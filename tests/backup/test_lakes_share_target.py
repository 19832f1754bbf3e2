"""Two lakes (a lake and its relocated `cp -r` copy) backing up to one target: prune and
`restore latest` keep to one lake's backups. Real lakes, the real CLI, a real directory."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import doctordata as dd
from doctordata.backup.targets import open_backup
from doctordata.cli import cli
from doctordata.errors import BackupNotFoundError
from tests.backup.lakes import items


def run(root: Path, *args: str, code: int = 0) -> Any:
    result = CliRunner().invoke(cli, ["--root", str(root), *args])
    assert result.exit_code == code, result.output + repr(result.exception)
    return result


def lake_id(root: Path) -> str:
    return (root / ".doctordata" / "lake-id").read_text().strip()


def listed(root: Path, shared: Path) -> list[dict[str, Any]]:
    return list(json.loads(run(root, "backup", "list", "--to", str(shared), "--json").output))


def backup(root: Path, shared: Path) -> str:
    run(root, "backup", "--to", str(shared), "--create", "--no-progress")
    return str(listed(root, shared)[-1]["id"])


@pytest.fixture
def lakes(tmp_path: Path) -> tuple[Path, Path, Path]:
    """An original lake, its relocated copy (a new lake id) and the target they share."""
    original, copy, shared = tmp_path / "a", tmp_path / "b", tmp_path / "shared"
    run(original, "init")
    with dd.connect(original) as lh:
        lh.create_table("hn.items", items(0, 50))
    shutil.copytree(original, copy)
    run(copy, "relocate")
    assert lake_id(copy) != lake_id(original)
    return original, copy, shared


def test_the_copys_prune_never_deletes_the_originals_backups(
    lakes: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    original, copy, shared = lakes
    a1, a2 = backup(original, shared), backup(original, shared)
    with dd.connect(copy) as lh:
        lh.append("hn.items", items(50, 5))  # the copy's own, newer data
    b1, b2 = backup(copy, shared), backup(copy, shared)

    out = run(copy, "backup", "prune", "--to", str(shared), "--keep-last", "1").output
    assert f"deleted 1 backups ({b1})" in out, out
    assert "not this lake's, kept" in out and a1 in out and a2 in out
    assert [b["id"] for b in listed(copy, shared)] == [a1, a2, b2]
    infos = {b["id"]: b for b in listed(copy, shared)}
    assert {infos[i]["lake_id"] for i in (a1, a2)} == {lake_id(original)}
    assert infos[b2]["lake_id"] == lake_id(copy)
    text = run(copy, "backup", "list", "--to", str(shared)).output
    assert lake_id(original) in text and lake_id(copy) in text
    # the original's backups are whole: verified, restorable with the original's rows
    assert "OK" in run(original, "backup", "verify", a1, "--to", str(shared)).output
    run(original, "restore", a1, str(tmp_path / "r1"), "--from", str(shared), "--no-progress")
    with dd.connect(tmp_path / "r1") as lh:
        assert lh.read("hn.items").num_rows == 50

    # `restore latest` is the latest of the lake at --root, not of the target
    out = run(original, "restore", "latest", str(tmp_path / "r2"), "--from", str(shared)).output
    assert f"restored backup {a2}" in out
    out = run(copy, "restore", "latest", str(tmp_path / "r3"), "--from", str(shared)).output
    assert f"restored backup {b2}" in out

    # the original's prune judges its own backups only
    out = run(original, "backup", "prune", "--to", str(shared), "--keep-last", "1").output
    assert f"deleted 1 backups ({a1})" in out, out
    assert [b["id"] for b in listed(copy, shared)] == [a2, b2]


def test_prune_all_lakes_keeps_each_lakes_newest(lakes: tuple[Path, Path, Path]) -> None:
    original, copy, shared = lakes
    a1, a2 = backup(original, shared), backup(original, shared)
    b1, b2 = backup(copy, shared), backup(copy, shared)
    out = run(
        copy, "backup", "prune", "--to", str(shared), "--keep-last", "1", "--all-lakes"
    ).output
    assert "not this lake's" not in out
    assert [b["id"] for b in listed(copy, shared)] == [a2, b2], out
    assert {a1, b1}.isdisjoint(b["id"] for b in listed(original, shared))
    assert "OK" in run(original, "backup", "verify", a2, "--to", str(shared)).output


def test_restore_latest_without_a_lake_refuses_a_target_of_two_lakes(
    lakes: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    original, copy, shared = lakes
    a1 = backup(original, shared)
    b1 = backup(copy, shared)
    elsewhere = tmp_path / "new-machine"  # no lake here: which lake is "latest"?
    elsewhere.mkdir()
    dest = tmp_path / "r"
    err = run(elsewhere, "restore", "latest", str(dest), "--from", str(shared), code=1)
    assert isinstance(err.exception, BackupNotFoundError)
    message = str(err.exception)
    for name in (lake_id(original), lake_id(copy), a1, b1, "--lake-id"):
        assert name in message, message
    assert not dest.exists() or not any(dest.iterdir())
    out = run(
        elsewhere, "restore", "latest", str(dest), "--from", str(shared),
        "--lake-id", lake_id(original), "--no-progress",
    ).output  # fmt: skip
    assert f"restored backup {a1}" in out


def test_restore_latest_refuses_when_only_other_lakes_backed_up(
    lakes: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    original, copy, shared = lakes
    a1 = backup(original, shared)
    err = run(copy, "restore", "latest", str(tmp_path / "r"), "--from", str(shared), code=1)
    assert isinstance(err.exception, BackupNotFoundError)
    assert a1 in str(err.exception) and lake_id(original) in str(err.exception)
    # the API (an id-less lookup through the lakehouse) refuses the same way
    with dd.connect(copy) as lh, pytest.raises(BackupNotFoundError, match=a1):
        open_backup("latest", lh=lh, to=str(shared))


def _strip_lake_ids(shared: Path) -> None:
    """Make the backups there look as an older doctordata wrote them (no lake id)."""
    for path in (shared / "backups").glob("*/manifest.json"):
        data = json.loads(path.read_text())
        del data["source"]["lake_id"]
        path.write_text(json.dumps(data))


def test_old_backups_without_a_lake_id_belong_to_the_root_that_made_them(
    lakes: tuple[Path, Path, Path],
) -> None:
    original, copy, shared = lakes
    a1, a2 = backup(original, shared), backup(original, shared)
    _strip_lake_ids(shared)
    assert {b["lake_id"] for b in listed(original, shared)} == {None}
    b1 = backup(copy, shared)
    out = run(copy, "backup", "prune", "--to", str(shared), "--keep-last", "1").output
    assert [b["id"] for b in listed(copy, shared)] == [a1, a2, b1], out
    out = run(original, "backup", "prune", "--to", str(shared), "--keep-last", "1").output
    assert [b["id"] for b in listed(copy, shared)] == [a2, b1], out


def test_in_place_restore_is_the_same_lake_a_new_root_is_a_new_one(
    tmp_path: Path,
) -> None:
    root, shared = tmp_path / "lake", tmp_path / "shared"
    run(root, "init")
    with dd.connect(root) as lh:
        lh.create_table("hn.items", items(0, 20))
    first, second = backup(root, shared), backup(root, shared)
    own = lake_id(root)
    # a new root: a new lake, so its prune leaves the source lake's backups alone
    run(root, "restore", second, str(tmp_path / "check"), "--from", str(shared))
    with dd.connect(tmp_path / "check") as lh:
        assert lh.read("hn.items").num_rows == 20
    assert lake_id(tmp_path / "check") != own
    out = run(tmp_path / "check", "backup", "prune", "--to", str(shared), "--keep-last", "1")
    assert [b["id"] for b in listed(root, shared)] == [first, second], out.output

    # disaster: the catalog and the lake's state are lost; in place it is the same lake
    shutil.rmtree(root / ".doctordata")
    (root / "catalog.db").unlink()
    run(root, "restore", second, str(root), "--from", str(shared), "--in-place", "--force")
    assert lake_id(root) == own
    with dd.connect(root) as lh:
        assert lh.read("hn.items").num_rows == 20
    out = run(root, "backup", "prune", "--to", str(shared), "--keep-last", "1").output
    assert f"deleted 1 backups ({first})" in out, out


def test_an_incremental_backup_builds_on_its_own_lakes_previous_backup(
    lakes: tuple[Path, Path, Path],
) -> None:
    from doctordata.backup.previous import load_previous
    from doctordata.backup.targets import resolve_target

    original, copy, shared = lakes
    a1 = backup(original, shared)
    b1 = backup(copy, shared)
    with dd.connect(original) as lh:
        target = resolve_target(lh, str(shared))
        # the copy's newer backup names the copy's locations: nothing in it is reusable
        assert load_previous(target, lake_id(original), str(original)).id == a1
    assert load_previous(target, lake_id(copy), str(copy)).id == b1
    assert load_previous(target).id == b1  # no lake given: the newest on the target


def test_two_lakes_sharing_an_s3_target(
    lakes: tuple[Path, Path, Path], s3_env: Any, s3_bucket: str
) -> None:
    original, copy, _ = lakes
    to = ["--to", f"s3://{s3_bucket}/shared", "--endpoint", s3_env.endpoint]

    def ids(root: Path) -> list[str]:
        return [b["id"] for b in json.loads(run(root, "backup", "list", *to, "--json").output)]

    for root in (original, original, copy, copy):
        run(root, "backup", *to, "--no-progress")
    a1, a2, _b1, b2 = ids(copy)
    out = run(copy, "backup", "prune", *to, "--keep-last", "1").output
    assert ids(original) == [a1, a2, b2], out
    assert "OK" in run(original, "backup", "verify", a1, *to, "--no-progress").output


def test_the_api_restores_latest_of_the_source_lake(
    lakes: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    original, copy, shared = lakes
    a1 = backup(original, shared)
    backup(copy, shared)
    report = dd.restore(
        "latest", tmp_path / "r", source=original, to=str(shared), progress=False
    )  # fmt: skip
    assert report.id == a1
