"""What an append does per snapshot of history (issue 18, branch appends3): metadata.json
text kept between commits, snapshot lookups by index, and the flush's fsyncs overlapping.
Each speed-up gives pyiceberg's exact answers (compared here) and keeps every file and
directory durable before the catalog row changes."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest

import doctordata as dd
from doctordata.catalog import fileio
from doctordata.catalog.speedups import snapshot_lookup
from doctordata.catalog.speedups.metadata_json import MetadataWriter
from tests.catalog.catalog_update import on_catalog_update
from tests.catalog.data import items


@pytest.fixture
def versions(lh: dd.Lakehouse) -> list[Any]:
    """The metadata of a table after each of 6 appends (one writer's successive inputs)."""
    lh.create_table("t.items", items(range(0)), partition_by=["day(time)"])
    out = []
    for i in range(6):
        lh.append("t.items", items(range(10 * i, 10 * i + 10)))
        out.append(lh.table("t.items").metadata)
    return out


def _pyiceberg_bytes(metadata: Any, io: Any, path: Path) -> bytes:
    from pyiceberg.serializers import ToOutputFile

    path.unlink(missing_ok=True)
    ToOutputFile.table_metadata(metadata, io.new_output(str(path)))
    return path.read_bytes()


def _ours(writer: MetadataWriter, metadata: Any, io: Any, path: Path) -> bytes:
    path.unlink(missing_ok=True)
    writer.write(metadata, io, str(path))
    return path.read_bytes()


def test_successive_versions_expiry_and_rollback_write_pyicebergs_bytes(
    lh: dd.Lakehouse, versions: list[Any], tmp_path: Path
) -> None:
    io = lh.table("t.items").io
    writer = MetadataWriter()
    last = versions[-1]
    expired = last.model_copy(
        update={"snapshots": last.snapshots[2:], "snapshot_log": last.snapshot_log[2:]}
    )
    rolled_back = last.model_copy(
        update={
            "snapshots": last.snapshots[:3],
            "snapshot_log": last.snapshot_log[:3],
            "current_snapshot_id": last.snapshots[2].snapshot_id,
        }
    )
    reparsed = type(last).model_validate_json(last.model_dump_json())  # no shared objects
    for metadata in (*versions, expired, last, rolled_back, reparsed, versions[0]):
        assert len(metadata.snapshot_log) == len(metadata.snapshots)
        ours = _ours(writer, metadata, io, tmp_path / "ours.metadata.json")
        assert ours == _pyiceberg_bytes(metadata, io, tmp_path / "theirs.metadata.json")


def test_an_append_serializes_only_its_new_snapshot_and_log_entry(
    lh: dd.Lakehouse, versions: list[Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pyiceberg.table.metadata import SnapshotLogEntry
    from pyiceberg.table.snapshots import Snapshot

    io = lh.table("t.items").io
    writer = MetadataWriter()
    _ours(writer, versions[-2], io, tmp_path / "a.metadata.json")
    dumped: list[str] = []
    for cls in (Snapshot, SnapshotLogEntry, type(versions[-1])):
        real = cls.model_dump_json

        def spy(self: Any, *args: Any, _real: Any = real, **kwargs: Any) -> str:
            # A metadata document is only ever dumped as a shell, without its lists.
            lists = len(getattr(self, "snapshots", ())) + len(getattr(self, "snapshot_log", ()))
            dumped.append(f"{type(self).__name__}:{lists}")
            return str(_real(self, *args, **kwargs))

        monkeypatch.setattr(cls, "model_dump_json", spy)
    ours = _ours(writer, versions[-1], io, tmp_path / "b.metadata.json")
    shell = f"{type(versions[-1]).__name__}:0"
    assert sorted(dumped) == sorted(["Snapshot:0", "SnapshotLogEntry:0", shell])
    monkeypatch.undo()
    assert ours == _pyiceberg_bytes(versions[-1], io, tmp_path / "theirs.metadata.json")


def test_a_second_writer_of_the_same_table_does_not_change_the_first_ones_bytes(
    lh: dd.Lakehouse, versions: list[Any], tmp_path: Path
) -> None:
    io = lh.table("t.items").io
    writer = MetadataWriter()
    _ours(writer, versions[-3], io, tmp_path / "a.metadata.json")
    parts, release = writer._parts(versions[-2])  # lent out while its file is written
    first = b"".join(parts)
    meanwhile = _ours(writer, versions[-1], io, tmp_path / "b.metadata.json")
    assert b"".join(parts) == first  # not extended under the first writer
    release()
    assert first == _pyiceberg_bytes(versions[-2], io, tmp_path / "t1.metadata.json")
    assert meanwhile == _pyiceberg_bytes(versions[-1], io, tmp_path / "t2.metadata.json")
    assert _ours(writer, versions[-1], io, tmp_path / "c.metadata.json") == meanwhile


def test_array_text_reuses_fragments_by_identity_only() -> None:
    from doctordata.catalog.speedups.metadata_json import ArrayText

    class Entry:
        def __init__(self, n: int) -> None:
            self.n = n

    calls: list[int] = []

    def dump(entry: Any) -> str:
        calls.append(entry.n)
        return f'{{"n":{entry.n}}}'

    a, b, c = Entry(1), Entry(2), Entry(3)
    text = ArrayText()
    assert text.render([a, b], dump) == b'{"n":1},{"n":2}' and calls == [1, 2]
    assert text.render([a, b, c], dump) == b'{"n":1},{"n":2},{"n":3}' and calls == [1, 2, 3]
    assert text.render([a, b, c], dump) == b'{"n":1},{"n":2},{"n":3}' and calls == [1, 2, 3]
    assert text.render([b, c], dump) == b'{"n":2},{"n":3}' and calls == [1, 2, 3]  # expiry
    twin = Entry(2)  # equal content, another object: serialized itself
    assert text.render([twin, c], dump) == b'{"n":2},{"n":3}' and calls == [1, 2, 3, 2]
    assert text.render([], dump) == b"" and text.render([a], dump) == b'{"n":1}'


class _CountingList(list):  # type: ignore[type-arg]
    walks = 0

    def __iter__(self) -> Any:
        _CountingList.walks += 1
        return super().__iter__()


def test_snapshot_by_id_answers_like_pyiceberg_without_walking_the_history(
    versions: list[Any],
) -> None:
    assert snapshot_lookup.installed()
    original = snapshot_lookup.original()
    last = versions[-1]
    ids = [s.snapshot_id for s in last.snapshots]
    for metadata in (*versions, last.model_copy(update={"snapshots": []})):
        for sid in [*ids, 12345, -1]:
            assert metadata.snapshot_by_id(sid) is original(metadata, sid)
    counted = last.model_copy(update={"snapshots": _CountingList(last.snapshots)})
    _CountingList.walks = 0
    for _ in range(5):  # what an append asks: the current snapshot, a new id, the parent
        assert counted.snapshot_by_id(counted.current_snapshot_id) is counted.snapshots[-1]
        assert counted.snapshot_by_id(987654321) is None
        assert counted.snapshot_by_id(ids[1]) is counted.snapshots[1]
    assert _CountingList.walks <= 1  # one index per list, not one scan per call


def test_snapshot_lists_sharing_an_index_answer_like_a_scan() -> None:
    """Appended lists share their base list's index; branches from one base, expiry and
    a list seen again must still give exactly what a scan gives."""
    from types import SimpleNamespace

    def snap(sid: int) -> Any:
        return SimpleNamespace(snapshot_id=sid)

    def scan(snapshots: list[Any], sid: int) -> Any:
        return next((s for s in snapshots if s.snapshot_id == sid), None)

    base = [snap(i) for i in range(1, 50)]
    one = [*base, snap(100)]
    other = [*base, snap(200), snap(100)]  # a branch: 100 at another position
    longer = [*one, snap(300)]
    expired = longer[10:]
    lists = [base, one, other, longer, expired, one, base, other]
    for snapshots in lists:
        meta = SimpleNamespace(snapshots=snapshots)
        for sid in (1, 2, 25, 49, 100, 200, 300, 400, 0):
            assert snapshot_lookup.snapshot_by_id(meta, sid) is scan(snapshots, sid), sid


def test_the_metadata_json_fsync_overlaps_its_directories_fsyncs(
    lh: dd.Lakehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The commit waits for one round of concurrent fsyncs (metadata.json and the
    directories), not for the metadata.json's fsync and then the directories'; all of them
    still end before the catalog row changes."""
    lh.create_table("raw.t", items(range(0)), partition_by=["day(time)"])
    lh.append("raw.t", items(range(0, 10)))
    metadata_dir = os.path.dirname(lh.table("raw.t").metadata_location.removeprefix("file://"))
    dir_started = threading.Event()
    seen: dict[str, Any] = {"overlapped": None, "done": [], "at_update": None}
    real_fsync = fileio.fsync_path

    def fsync_path(path: str) -> None:
        if os.path.normpath(path) == metadata_dir:
            dir_started.set()
        if path.endswith(".metadata.json"):
            # Old code: the directories are only fsynced after this returns (never set).
            seen["overlapped"] = dir_started.wait(timeout=10)
        real_fsync(path)
        seen["done"].append(os.path.normpath(path))

    def at_update() -> None:
        seen["at_update"] = list(seen["done"])

    monkeypatch.setattr(fileio, "fsync_path", fsync_path)
    with on_catalog_update(at_update):
        lh.append("raw.t", items(range(10, 20)))
    assert seen["overlapped"] is True
    location = lh.table("raw.t").metadata_location.removeprefix("file://")
    assert {os.path.normpath(location), metadata_dir} <= set(seen["at_update"])
    assert sorted(lh.table("raw.t").scan().to_arrow().column("id").to_pylist()) == list(range(20))


def test_load_table_reads_the_row_like_pyiceberg(lh: dd.Lakehouse) -> None:
    """One prepared SELECT per load (not an ORM query built per call); the same table,
    views and other catalogs' rows left out, a missing table is NoSuchTableError."""
    from pyiceberg.catalog.sql import SqlCatalog
    from pyiceberg.exceptions import NoSuchTableError
    from sqlalchemy import event, text
    from sqlalchemy.orm import Session

    lh.create_table("t.items", items(range(5)))
    catalog: Any = lh.catalog
    with catalog.engine.begin() as conn:
        for name, catalog_name, kind in (("v", catalog.name, "VIEW"), ("x", "other", None)):
            conn.execute(
                text(
                    "INSERT INTO iceberg_tables (catalog_name, table_namespace, table_name, "
                    "metadata_location, iceberg_type) VALUES (:c, 't', :n, :m, :k)"
                ),
                {
                    "c": catalog_name,
                    "n": name,
                    "m": lh.table("t.items").metadata_location,
                    "k": kind,
                },
            )
    statements: list[str] = []
    orm: list[Any] = []
    event.listen(
        catalog.engine, "before_cursor_execute", lambda *a: statements.append(a[2]), named=False
    )
    record = orm.append  # one bound method: event.remove needs the same object
    event.listen(Session, "do_orm_execute", record)
    try:
        table = catalog.load_table(("t", "items"))
    finally:
        event.remove(Session, "do_orm_execute", record)
    assert len(statements) == 1 and "iceberg_type" in statements[0]
    assert orm == []  # no ORM query (built and compiled per call)
    theirs = SqlCatalog.load_table(catalog, ("t", "items"))
    assert table.metadata_location == theirs.metadata_location
    assert table.name() == theirs.name() and table.metadata == theirs.metadata
    for missing in (("t", "v"), ("t", "x"), ("t", "nope"), ("nope", "items")):
        with pytest.raises(NoSuchTableError, match=r"Table does not exist: "):
            catalog.load_table(missing)
        with pytest.raises(NoSuchTableError):
            SqlCatalog.load_table(catalog, missing)
    lh.append("t.items", items(range(5, 10)))  # the commit's own load finds the new row
    assert lh.table("t.items").scan().to_arrow().num_rows == 10
