"""The pyiceberg 0.12 commit speed-ups: same metadata as pyiceberg, never stale, bounded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import doctordata as dd
from doctordata.catalog.speedups import metadata_updates
from doctordata.catalog.speedups.metadata_cache import MetadataCache
from tests.catalog.data import items


def _comparable(metadata: Any) -> dict[str, Any]:
    """Metadata as a dict, minus the wall-clock stamps the update sets itself."""
    dumped: dict[str, Any] = metadata.model_dump()
    dumped.pop("last_updated_ms", None)
    for entry in dumped.get("metadata_log", []):
        entry.pop("timestamp_ms", None)
    return dumped


@pytest.fixture
def table(lh: dd.Lakehouse) -> Any:
    lh.create_table("t.items", items(range(10)), partition_by=["day(time)"])
    lh.append("t.items", items(range(10, 20)))
    return lh.table("t.items")


def test_connect_installs_the_patch_on_this_pyiceberg(lh: dd.Lakehouse) -> None:
    import pyiceberg
    from pyiceberg.catalog.sql import SqlCatalog

    lh.tables()  # opens the catalog
    assert pyiceberg.__version__.startswith("0.12.")
    assert metadata_updates.installed()
    assert isinstance(lh.catalog, SqlCatalog) and hasattr(lh.catalog, "metadata_cache")


def test_same_metadata_as_pyiceberg_for_staged_updates(table: Any) -> None:
    import pyarrow as pa

    original = metadata_updates._state["original"]
    tx = table.transaction()
    tx.set_properties({"owner": "tests"})
    tx.append(
        pa.table(
            {
                "id": pa.array([99], pa.int64()),
                "time": pa.array([None], pa.timestamp("us")),
                "type": ["x"],
                "score": pa.array([1], pa.int32()),
            }
        )
    )
    with tx.update_schema() as update:
        update.add_column("extra", _string())
    updates = tx._updates
    assert len(updates) >= 4  # properties, snapshot, ref, schema
    ours = metadata_updates.apply_updates(table.metadata, updates)
    theirs = original(table.metadata, updates)
    assert _comparable(ours) == _comparable(theirs)
    location = table.metadata_location
    ours = metadata_updates.apply_updates(table.metadata, updates, metadata_location=location)
    theirs = original(table.metadata, updates, metadata_location=location)
    assert _comparable(ours) == _comparable(theirs)
    assert ours.metadata_log[-1].metadata_file == location


def _string() -> Any:
    from pyiceberg.types import StringType

    return StringType()


def test_no_updates_returns_the_base_unchanged(table: Any) -> None:
    assert metadata_updates.apply_updates(table.metadata, ()) == table.metadata


def test_incompatible_spec_raises_like_pyiceberg(table: Any) -> None:
    from pyiceberg.schema import Schema
    from pyiceberg.table.update import AddSchemaUpdate, SetCurrentSchemaUpdate

    current = table.schema()
    # A schema without the partition source column `time`.
    fields = [f for f in current.fields if f.name != "time"]
    updates = (
        AddSchemaUpdate(schema=Schema(*fields, schema_id=current.schema_id + 1)),
        SetCurrentSchemaUpdate(schema_id=-1),
    )
    original = metadata_updates._state["original"]
    with pytest.raises(Exception) as theirs:
        original(table.metadata, updates)
    with pytest.raises(type(theirs.value)):
        metadata_updates.apply_updates(table.metadata, updates)


def test_transaction_metadata_memoized_per_state_and_base_untouched(table: Any) -> None:
    base = table.metadata
    before = base.model_dump()
    tx = table.transaction()
    first = tx.table_metadata
    assert tx.table_metadata is first  # same state: computed once
    tx.set_properties({"a": "1"})
    second = tx.table_metadata
    assert second is not first and second.properties["a"] == "1"
    assert "a" not in table.metadata.properties
    tx.commit_transaction()
    assert table.metadata is not base and table.metadata.properties["a"] == "1"
    assert base.model_dump() == before  # the metadata the updates started from is untouched


def test_install_refuses_other_pyiceberg_versions(monkeypatch: pytest.MonkeyPatch) -> None:
    import pyiceberg

    monkeypatch.setattr(metadata_updates, "_state", {})
    monkeypatch.setattr(pyiceberg, "__version__", "0.13.0")
    assert metadata_updates.install() is False
    assert not metadata_updates.installed()


# -- the parsed-metadata cache --------------------------------------------------------
def test_load_reuses_the_parsed_file(lh: dd.Lakehouse) -> None:
    lh.create_table("t.items", items(range(10)))
    a, b = lh.table("t.items"), lh.table("t.items")
    assert a is not b and a.metadata is b.metadata
    lh.append("t.items", items(range(10, 20)))
    c = lh.table("t.items")
    assert c.metadata_location != a.metadata_location
    assert c.scan().to_arrow().num_rows == 20


def test_commits_by_another_catalog_are_seen(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    with dd.connect(root) as one, dd.connect(root) as two:
        one.create_table("t.items", items(range(10)))
        assert two.table("t.items").scan().to_arrow().num_rows == 10
        one.append("t.items", items(range(10, 15)))
        assert two.table("t.items").scan().to_arrow().num_rows == 15
        two.append("t.items", items(range(15, 17)))
        assert one.table("t.items").scan().to_arrow().num_rows == 17


def test_a_metadata_file_replaced_in_place_is_parsed_again(lh: dd.Lakehouse) -> None:
    lh.create_table("t.items", items(range(10)))
    location = lh.table("t.items").metadata_location
    path = Path(location.removeprefix("file://"))
    path.write_text("{ not json")
    with pytest.raises(Exception) as err:
        lh.table("t.items")
    assert "json" in str(err.value).lower() or "metadata" in str(err.value).lower()


def test_cache_is_bounded_and_skips_remote_files(tmp_path: Path) -> None:
    cache = MetadataCache(max_entries=2)
    files = []
    for i in range(3):
        f = tmp_path / f"{i}.metadata.json"
        f.write_text("{}")
        files.append(f"file://{f}")
        cache.put(files[-1], object())  # type: ignore[arg-type]
    assert len(cache) == 2
    assert cache.get(files[0]) is None  # least recently used went first
    assert cache.get(files[2]) is not None
    cache.put("s3://bucket/t/metadata/1.metadata.json", object())  # type: ignore[arg-type]
    assert cache.get("s3://bucket/t/metadata/1.metadata.json") is None
    Path(files[2].removeprefix("file://")).unlink()
    assert cache.get(files[2]) is None  # gone: never served from memory


# -- manifest merging on append ---------------------------------------------------------
def test_appends_merge_manifests_and_keep_time_travel(lh: dd.Lakehouse) -> None:
    lh.create_table(
        "t.items",
        items(range(5)),
        properties={"commit.manifest.min-count-to-merge": "4"},
    )
    table = lh.table("t.items")
    assert table.properties["commit.manifest-merge.enabled"] == "true"
    first = table.current_snapshot().snapshot_id
    for i in range(1, 12):
        lh.append("t.items", items(range(5 * i, 5 * i + 5)))
    table = lh.table("t.items")
    manifests = table.current_snapshot().manifests(table.io)
    assert len(manifests) < 4  # without merging: 12, one per append
    assert table.scan().to_arrow().num_rows == 60
    assert sorted(table.scan().to_arrow().column("id").to_pylist()) == list(range(60))
    assert len(table.metadata.snapshots) == 12  # nothing expired behind the user's back
    assert table.scan(snapshot_id=first).to_arrow().num_rows == 5


# -- metadata.json writing ----------------------------------------------------------------
@pytest.mark.parametrize("legacy", [False, True])
def test_metadata_json_is_byte_identical_to_pyiceberg(
    lh: dd.Lakehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, legacy: bool
) -> None:
    from pyiceberg.serializers import ToOutputFile

    from doctordata.catalog.speedups.metadata_json import MetadataWriter

    if legacy:
        monkeypatch.setenv("PYICEBERG_LEGACY_CURRENT_SNAPSHOT_ID", "true")
    lh.create_table("t.items", items(range(5)), partition_by=["day(time)"])
    for i in range(1, 4):
        lh.append("t.items", items(range(5 * i, 5 * i + 5)))
    table = lh.table("t.items")
    table.manage_snapshots().create_tag(table.metadata.snapshots[1].snapshot_id, "v1").commit()
    with table.update_schema() as update:
        update.add_column("extra", _string())
    lh.delete("t.items", "id < 3")
    table = lh.table("t.items")
    assert len(table.metadata.snapshots) >= 5
    writer = MetadataWriter()
    for metadata in (table.metadata, table.metadata, table.metadata.model_copy()):
        ours, theirs = tmp_path / "ours.metadata.json", tmp_path / "theirs.metadata.json"
        ours.unlink(missing_ok=True)
        theirs.unlink(missing_ok=True)
        writer.write(metadata, table.io, str(ours))
        ToOutputFile.table_metadata(metadata, table.io.new_output(str(theirs)))
        assert ours.read_bytes() == theirs.read_bytes()
    assert (str(table.metadata.table_uuid), not legacy) in writer._tables  # the fast path
    gz = tmp_path / "x.gz.metadata.json"
    writer.write(table.metadata, table.io, str(gz))
    assert gz.read_bytes()[:2] == b"\x1f\x8b"  # gzip by file name, like pyiceberg
    with pytest.raises(FileExistsError):
        writer.write(table.metadata, table.io, str(gz))  # never overwrites


def test_committed_metadata_reads_back(lh: dd.Lakehouse) -> None:
    from pyiceberg.serializers import FromInputFile

    lh.create_table("t.items", items(range(5)))
    for i in range(1, 6):
        lh.append("t.items", items(range(5 * i, 5 * i + 5)))
    table = lh.table("t.items")
    parsed = FromInputFile.table_metadata(table.io.new_input(table.metadata_location))
    assert parsed == table.metadata
    assert [s.snapshot_id for s in parsed.snapshots] == [
        s.snapshot_id for s in table.metadata.snapshots
    ]


def test_cache_is_bounded_by_the_snapshots_it_holds(tmp_path: Path) -> None:
    """Many small tables all fit (one maintain() over 60 tables parses each file once);
    a few large ones push older entries out."""
    from types import SimpleNamespace

    cache = MetadataCache(max_entries=100, max_snapshots=50)
    files = []
    for i in range(4):
        f = tmp_path / f"{i}.metadata.json"
        f.write_text("{}")
        files.append(f"file://{f}")
        cache.put(files[-1], SimpleNamespace(snapshots=[None] * 20))  # type: ignore[arg-type]
    assert len(cache) == 2  # 2 x (1 + 20) <= 50 < 3 x 21
    assert cache.get(files[1]) is None and cache.get(files[3]) is not None
    cache.put(files[3], SimpleNamespace(snapshots=[None] * 20))  # type: ignore[arg-type]
    assert len(cache) == 2  # replacing an entry does not count it twice
    assert len(MetadataCache()) == 0
    small = MetadataCache()
    for i in range(60):
        f = tmp_path / f"small-{i}.metadata.json"
        f.write_text("{}")
        small.put(f"file://{f}", SimpleNamespace(snapshots=[None] * 10))  # type: ignore[arg-type]
    assert len(small) == 60
