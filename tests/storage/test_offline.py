"""An offline tier is a state, not a crash (issue #14 part 6, issue #20 item 2).

The NAS is a real mount: a bind mount of a backing directory onto the tier's mount point
(we run as root). Unmounting leaves the empty mount point, exactly like an unmounted NAS;
mounting again brings every file back. Where mounting is not permitted, the fallback
moves the backing directory away and leaves an empty directory in its place.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import doctordata as dd
from doctordata.errors import TierOfflineError, TierUnavailableError
from doctordata.storage.offline import MARKER
from tests.tiered_lakes import AGE_POLICY, OLD_DAYS, files_on, recent_day, rows, write_config

ENGINES = ["duckdb", "clickhouse"]
RECENT = "time > '2025-01-01'"  # rows on the SSD only


class Nas:
    """A NAS tier directory that can be unmounted and mounted again."""

    def __init__(self, base: Path) -> None:
        self.mountpoint = base / "nas"
        self.disk = base / "nas-disk"
        self.mountpoint.mkdir()
        self.disk.mkdir()
        self.bind = _can_bind(self.disk, self.mountpoint)
        self.mounted = self.bind
        if not self.bind:
            self.mount()

    def mount(self) -> None:
        if self.bind:
            subprocess.run(["mount", "--bind", str(self.disk), str(self.mountpoint)], check=True)
        else:  # fallback: the tier's directory comes back from where it was moved
            self.mountpoint.rmdir()
            self.disk.rename(self.mountpoint)
        self.mounted = True

    def unmount(self) -> None:
        if self.bind:
            subprocess.run(["umount", str(self.mountpoint)], check=True)
        else:
            self.mountpoint.rename(self.disk)
            self.mountpoint.mkdir()
        self.mounted = False
        assert list(self.mountpoint.iterdir()) == []  # an empty mount point


def _can_bind(src: Path, dst: Path) -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    done = subprocess.run(["mount", "--bind", str(src), str(dst)], capture_output=True)
    return done.returncode == 0


@pytest.fixture
def nas(tmp_path: Path) -> Iterator[Nas]:
    mounted = Nas(tmp_path)
    yield mounted
    if mounted.bind and mounted.mounted:
        subprocess.run(["umount", str(mounted.mountpoint)], check=False)


def _connect(root: Path, nas: Nas) -> dd.Lakehouse:
    write_config(
        root, {"ssd": {"url": str(root / "ssd")}, "nas": {"url": str(nas.mountpoint)}}, AGE_POLICY
    )
    return dd.connect(root)


@pytest.fixture
def lake(tmp_path: Path, nas: Nas) -> Iterator[dd.Lakehouse]:
    """hn.items: 15 old rows (3 days) on the NAS, 5 recent rows on the SSD."""
    lh = _connect(tmp_path / "lake", nas)
    lh.create_table("hn.items", rows(0), partition_by=["day(time)"])
    report = lh.tier()
    assert len(report.moved) == 3 and (nas.mountpoint / MARKER).is_file()
    yield lh
    lh.close()


def _count(lh: dd.Lakehouse, where: str = "true", engine: str = "duckdb") -> int:
    result = lh.sql(f"SELECT count(*) FROM hn.items WHERE {where}", engine=engine)
    return int(result.fetchall()[0][0])


def _offline(exc: pytest.ExceptionInfo[TierOfflineError], nas: Nas) -> None:
    text = str(exc.value)
    assert "'nas'" in text and nas.mountpoint.as_uri() in text and "mount" in text


# -- queries --------------------------------------------------------------------------
@pytest.mark.parametrize("engine", ENGINES)
def test_queries_on_online_tiers_work_and_the_nas_is_named(lake: Any, nas: Nas, engine: str):
    assert _count(lake, engine=engine) == 20
    nas.unmount()
    assert _count(lake, RECENT, engine) == 5
    with pytest.raises(TierOfflineError) as err:
        _count(lake, engine=engine)  # a cached plan: the same check on the cache-hit path
    _offline(err, nas)
    with pytest.raises(TierOfflineError) as err:
        _count(lake, "id >= 0", engine)  # planned afresh
    _offline(err, nas)
    nas.mount()
    assert _count(lake, engine=engine) == 20


def test_pyiceberg_reads_name_the_offline_tier(lake: Any, nas: Nas) -> None:
    nas.unmount()
    assert lake.read("hn.items", where=RECENT).num_rows == 5
    with pytest.raises(TierOfflineError) as err:
        lake.read("hn.items")
    _offline(err, nas)


# -- writes ---------------------------------------------------------------------------
def test_delete_and_upsert_that_need_the_nas_are_refused_and_lose_nothing(lake: Any, nas: Nas):
    before = lake.table("hn.items").current_snapshot().snapshot_id
    nas.unmount()
    with pytest.raises(TierOfflineError) as err:
        lake.delete("hn.items", "id = 1")  # one row of a NAS file: the file must be rewritten
    _offline(err, nas)
    with pytest.raises(TierOfflineError):
        lake.upsert("hn.items", rows(0).slice(0, 2), on=["id"])
    with pytest.raises(TierOfflineError):
        lake.overwrite("hn.items", rows(0).slice(0, 1), where="id = 2")
    assert lake.table("hn.items").current_snapshot().snapshot_id == before
    lake.delete("hn.items", "id = 17")  # a recent row: SSD only
    nas.mount()
    ids = sorted(lake.read("hn.items").column("id").to_pylist())
    assert ids == [i for i in range(20) if i != 17]


# -- maintenance ----------------------------------------------------------------------
def test_maintain_skips_the_offline_tier_and_every_row_survives(tmp_path: Path, nas: Nas):
    lh = _connect(tmp_path / "lake", nas)
    old = rows(0, days=OLD_DAYS)
    lh.create_table("hn.items", old, partition_by=["day(time)"])
    lh.append("hn.items", rows(100, days=OLD_DAYS))  # two small files per partition
    lh.append("hn.items", rows(200, days=[recent_day()]))
    lh.tier(free_now=True)
    on_nas = {p for p, t in files_on(lh, "hn.items").items() if t == "nas"}
    assert len(on_nas) == 6
    lh.delete("hn.items", "time < '2020-01-02'")  # two NAS files now only in old snapshots
    expected = sorted(lh.read("hn.items").column("id").to_pylist())
    nas.unmount()
    report = lh.maintain(expire_older_than="0s", orphan_older_than="0s")
    text = str(report)
    assert "skipped tier 'nas', which is offline" in text
    entry = report.tables[0]
    assert len(entry.expiry.expired) >= 1
    assert not [p for p in entry.expiry.deleted if p in on_nas]
    assert len([p for p in entry.expiry.kept_offline if p in on_nas]) == 2
    assert entry.compaction is not None and not entry.compaction.rewritten
    assert not [p for p in entry.orphans.deleted if "nas" in p]
    nas.mount()
    assert sorted(lh.read("hn.items").column("id").to_pylist()) == expected
    assert _count(lh) == len(expected)
    # Back online: the two unreferenced NAS files are orphans now, and the NAS compacts.
    again = lh.maintain(expire_older_than="0s", orphan_older_than="0s")
    assert "offline" not in str(again)
    assert len([p for p in again.tables[0].orphans.deleted if "/nas/" in p]) == 2
    assert sorted(lh.read("hn.items").column("id").to_pylist()) == expected
    lh.close()


# -- tier() ---------------------------------------------------------------------------
def test_tier_never_moves_onto_an_offline_nas(lake: Any, nas: Nas) -> None:
    lake.append("hn.items", rows(100, days=OLD_DAYS))  # old rows, on the SSD for now
    nas.unmount()
    with pytest.raises(TierOfflineError) as err:
        lake.tier()
    _offline(err, nas)
    with pytest.raises(TierOfflineError):
        lake.tier("hn.items", to="ssd")  # nor off it
    assert list(nas.mountpoint.iterdir()) == []  # nothing landed on the disk below
    nas.mount()
    assert sorted(files_on(lake, "hn.items").values()).count("ssd") == 4
    assert len(lake.tier().moved) == 3


# -- doctor ---------------------------------------------------------------------------
def _doctor(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "doctordata", "--root", str(root), "doctor"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "250"},
    )


def test_doctor_reports_the_offline_tier_and_fails(lake: Any, nas: Nas) -> None:
    from doctordata.health import check_tiers

    nas.unmount()
    rows_ = {c.name: c for c in check_tiers(lake)}
    assert rows_["tier ssd"].status == "OK"
    nas_row = rows_["tier nas"]
    assert nas_row.status == "FAIL" and "OFFLINE" in nas_row.detail and "mount" in nas_row.fix
    done = _doctor(lake.root)
    assert done.returncode == 1
    assert "OFFLINE" in done.stdout and "tier nas" in done.stdout
    nas.mount()
    assert {c.name: c.status for c in check_tiers(lake)}["tier nas"] == "OK"


def test_tier_status_shows_the_offline_tier(lake: Any, nas: Nas) -> None:
    assert lake.tier_status().state == {"ssd": "online", "nas": "online"}
    nas.unmount()
    status = lake.tier_status()
    assert status.state["nas"] == "offline" and status.free["nas"] is None
    assert status.usage("hn.items", "nas").live_files == 3  # the catalog still knows
    done = _cli(lake.root, "tiers")
    assert done.returncode == 0 and "OFFLINE" in done.stdout


# -- lakes made before markers --------------------------------------------------------
def _forget_markers(lh: Any, nas: Nas) -> None:
    for path in (nas.mountpoint / MARKER, Path(lh.tiers["ssd"].root) / MARKER):
        path.unlink(missing_ok=True)
    shutil.rmtree(lh.root / ".doctordata" / "tiers", ignore_errors=True)


def test_a_lake_without_markers_is_marked_on_first_use(lake: Any, nas: Nas) -> None:
    _forget_markers(lake, nas)
    assert _count(lake) == 20  # the NAS holds this lake's files: it gets its marker
    assert (nas.mountpoint / MARKER).is_file()
    nas.unmount()
    with pytest.raises(TierOfflineError):
        _count(lake, "id > 0")


def test_a_lake_without_markers_and_an_unmounted_nas(lake: Any, nas: Nas) -> None:
    _forget_markers(lake, nas)
    nas.unmount()
    assert _count(lake, RECENT) == 5
    with pytest.raises(TierOfflineError) as err:
        _count(lake)
    assert "empty or missing" in str(err.value)
    assert not (nas.mountpoint / MARKER).exists()


# -- backup ---------------------------------------------------------------------------
def _cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "doctordata", "--root", str(root), *args],
        capture_output=True,
        text=True,
    )


def test_backup_to_a_missing_directory_needs_create(lake: Any, tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent" / "dir"
    done = _cli(lake.root, "backup", "--to", str(missing), "--no-progress")
    assert done.returncode != 0
    assert "does not exist" in done.stderr + done.stdout and "--create" in done.stderr + done.stdout
    assert not missing.exists() and not missing.parent.exists()
    with pytest.raises(TierUnavailableError, match="create=True"):
        lake.backup(str(missing), progress=False)
    done = _cli(lake.root, "backup", "--to", str(missing), "--create", "--no-progress")
    assert done.returncode == 0, done.stderr
    assert len(list((missing / "backups").glob("*/manifest.json"))) == 1


def test_backup_to_an_offline_tier_is_refused(lake: Any, nas: Nas) -> None:
    first = lake.backup("nas", progress=False)
    nas.unmount()
    with pytest.raises(TierOfflineError) as err:
        lake.backup("nas", progress=False)
    _offline(err, nas)
    done = _cli(lake.root, "backup", "--to", "nas", "--no-progress")
    assert done.returncode != 0 and "offline" in done.stderr + done.stdout
    assert list(nas.mountpoint.iterdir()) == []  # no backup on the local disk
    nas.mount()
    second = lake.backup("nas", progress=False)
    for report in (first, second):
        assert (nas.mountpoint / "backups" / report.id / "manifest.json").is_file()


def test_a_backup_disk_used_before_is_recognised_when_unmounted(lake: Any, tmp_path: Path):
    usb, disk = tmp_path / "usb", tmp_path / "usb-disk"
    usb.mkdir()
    disk.mkdir()
    if not _can_bind(disk, usb):
        pytest.skip("bind mounts are not permitted here")
    try:
        lake.backup(str(usb), progress=False)
    finally:
        subprocess.run(["umount", str(usb)], check=True)
    with pytest.raises(TierOfflineError):
        lake.backup(str(usb), progress=False)  # the empty mount point is not the disk
    assert list(usb.iterdir()) == []


# -- S3 endpoints that do not answer --------------------------------------------------
def test_a_dead_s3_endpoint_is_offline_not_a_credentials_error(tmp_path: Path, monkeypatch):
    """Bucket names are random in tests: one holding "403" once read as "access denied"."""
    import socket

    from doctordata.storage.offline import probe
    from doctordata.storage.tier import Tier

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}"
    tier = Tier("s3", "s3://test-1258403a827548c7/lake", endpoint=endpoint, region="us-east-1")
    seen = probe(tier, tmp_path)
    assert seen.state == "offline" and endpoint in seen.detail
