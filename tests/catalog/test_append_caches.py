"""What a small append no longer recomputes (issue 18, branch appends4): the Arrow -> Iceberg
schema conversion and fit verdicts, pyiceberg's Config, the written files' sizes, and the
thread hand-offs. Each cache is checked against a change of what it was computed from."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import doctordata as dd
from doctordata.catalog import fileio, small_append
from doctordata.catalog.speedups import config_cache, inline_executor, schema_cache
from doctordata.errors import SchemaMismatchError
from tests.catalog.data import items


def _items_table(lh: dd.Lakehouse) -> None:
    lh.create_table("raw.t", items(range(0)).schema, partition_by=["day(time)"])
    lh.append("raw.t", items(range(0, 10)))


# -- schema conversion and fit verdicts ---------------------------------------------------
def test_a_mismatching_schema_is_still_refused_after_a_cached_fit(lh: dd.Lakehouse) -> None:
    _items_table(lh)
    lh.append("raw.t", items(range(10, 20)))  # the same Arrow schema again: a cache hit
    bad = items(range(20, 30)).set_column(
        3, "score", pa.array([str(i) for i in range(10)], pa.string())
    )
    with pytest.raises(SchemaMismatchError, match="score"):
        lh.append("raw.t", bad)
    extra = items(range(20, 30)).append_column("extra", pa.array([1] * 10, pa.int64()))
    with pytest.raises(SchemaMismatchError, match="extra"):
        lh.append("raw.t", extra)
    # pyiceberg's own check, straight on its Table, after its cached success.
    table = lh.table("raw.t")
    with pytest.raises(ValueError, match="extra"):
        table.append(extra)
    assert lh.table("raw.t").scan().to_arrow().num_rows == 20


def test_the_fit_is_worked_out_again_after_schema_evolution(lh: dd.Lakehouse) -> None:
    """Data that fit before a rename does not fit after it: a verdict kept per Arrow
    schema alone (not per table schema) would let it through."""
    _items_table(lh)
    lh.append("raw.t", items(range(10, 20)))
    with lh.table("raw.t").update_schema() as update:
        update.rename_column("score", "points")
    with pytest.raises(SchemaMismatchError, match="score"):
        lh.append("raw.t", items(range(20, 30)))
    renamed = items(range(20, 30)).rename_columns(["id", "time", "type", "points"])
    lh.append("raw.t", renamed)
    rows = lh.sql("SELECT sum(points) AS s, count(*) AS n FROM raw.t").fetchall()
    assert rows == [(sum(i % 17 for i in range(30)), 30)]


def test_evolve_adds_the_column_and_later_appends_fit(lh: dd.Lakehouse) -> None:
    _items_table(lh)
    extra = items(range(10, 20)).append_column("extra", pa.array(list(range(10)), pa.int64()))
    lh.append("raw.t", extra, evolve=True)
    lh.append("raw.t", extra)  # fits the evolved schema now
    lh.append("raw.t", items(range(20, 30)))  # so does data without the new column
    got = lh.sql("SELECT count(extra) AS e, count(*) AS n FROM raw.t").fetchall()
    assert got == [(20, 40)]


def _id_field(name: str, type_: pa.DataType, field_id: int) -> pa.Field:
    return pa.field(name, type_, metadata={b"PARQUET:field_id": str(field_id).encode()})


def test_the_conversion_cache_keys_on_field_ids_and_the_name_mapping() -> None:
    """Same names and types, different field ids (Arrow field metadata) or another name
    mapping: each converts as pyiceberg converts it, whatever was asked before."""
    from pyiceberg.schema import Schema
    from pyiceberg.types import LongType, NestedField, StringType

    assert schema_cache.install()
    convert, _ = schema_cache.originals()
    plain = pa.schema([pa.field("a", pa.int64()), pa.field("b", pa.string())])
    ids_12 = pa.schema([_id_field("a", pa.int64(), 1), _id_field("b", pa.string(), 2)])
    ids_73 = pa.schema([_id_field("a", pa.int64(), 7), _id_field("b", pa.string(), 3)])
    table_a = Schema(
        NestedField(1, "a", LongType(), required=False),
        NestedField(2, "b", StringType(), required=False),
    )
    table_b = Schema(
        NestedField(5, "a", LongType(), required=False),
        NestedField(9, "b", StringType(), required=False),
    )
    for _ in range(2):
        for arrow, mapping in (
            (plain, table_a.name_mapping),
            (plain, table_b.name_mapping),
            (ids_12, None),
            (ids_73, None),
            (ids_73, table_a.name_mapping),
        ):
            got = schema_cache.pyarrow_to_schema(arrow, name_mapping=mapping)
            assert got == convert(arrow, name_mapping=mapping)
    with pytest.raises(ValueError):  # no ids and no mapping: pyiceberg's error, not cached
        schema_cache.pyarrow_to_schema(plain)


def test_a_failed_compatibility_check_is_never_cached() -> None:
    from pyiceberg.schema import Schema
    from pyiceberg.types import LongType, NestedField

    assert schema_cache.install()
    table = Schema(NestedField(1, "a", LongType(), required=True))
    good = pa.schema([pa.field("a", pa.int64(), nullable=False)])
    bad = pa.schema([pa.field("a", pa.string(), nullable=False)])
    for _ in range(2):
        with pytest.raises(ValueError):
            schema_cache.check_pyarrow_schema_compatible(table, bad)
        schema_cache.check_pyarrow_schema_compatible(table, good)


def test_the_verdict_cache_is_bounded_and_checks_its_owners() -> None:
    cache = schema_cache.VerdictCache(size=3)
    owners = [object() for _ in range(5)]
    for i, owner in enumerate(owners):
        cache.put((i,), (owner,), i)
    assert len(cache) == 3
    assert cache.get((0,), (owners[0],)) is None  # evicted (least recently used)
    assert cache.get((4,), (owners[4],)) == 4
    assert cache.get((4,), (object(),)) is None  # same key, another object: not a hit


def test_sanitized_names_follow_the_table_schema(lh: dd.Lakehouse) -> None:
    """Column names that are not Avro names are sanitized per table schema: a rename
    to another such name is written under the new name."""
    from pyiceberg.schema import sanitize_column_names

    data = pa.table({"id": pa.array([1, 2], pa.int64()), "my col": pa.array([1.0, 2.0])})
    lh.create_table("raw.odd", data)
    lh.append("raw.odd", data)
    table = lh.table("raw.odd")
    assert schema_cache.sanitize_column_names(table.schema()) == sanitize_column_names(
        table.schema()
    )
    with table.update_schema() as update:
        update.rename_column("my col", "your-col")
    renamed = data.rename_columns(["id", "your-col"])
    lh.append("raw.odd", renamed)
    table = lh.table("raw.odd")
    assert schema_cache.sanitize_column_names(table.schema()) == sanitize_column_names(
        table.schema()
    )
    got = table.scan().to_arrow()
    assert got.column_names == ["id", "your-col"]
    assert sorted(got.column("your-col").to_pylist()) == [1.0, 1.0, 1.0, 2.0, 2.0, 2.0]


# -- pyiceberg's Config --------------------------------------------------------------------
def test_config_follows_environment_and_file_changes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import pyiceberg.io.pyarrow as arrow_io

    assert config_cache.install()
    key = "downcast-ns-timestamp-to-us-on-write"
    monkeypatch.delenv("PYICEBERG_DOWNCAST_NS_TIMESTAMP_TO_US_ON_WRITE", raising=False)
    monkeypatch.setenv("PYICEBERG_HOME", str(tmp_path))
    assert arrow_io.Config().get_bool(key) is None
    assert arrow_io.Config() is arrow_io.Config()  # unchanged sources: the same object
    monkeypatch.setenv("PYICEBERG_DOWNCAST_NS_TIMESTAMP_TO_US_ON_WRITE", "true")
    assert arrow_io.Config().get_bool(key) is True
    monkeypatch.delenv("PYICEBERG_DOWNCAST_NS_TIMESTAMP_TO_US_ON_WRITE")
    assert arrow_io.Config().get_bool(key) is None
    yaml = tmp_path / ".pyiceberg.yaml"
    yaml.write_text("max-workers: 3\n")
    assert arrow_io.Config().get_int("max-workers") == 3
    yaml.write_text("max-workers: 17\n")
    os.utime(yaml, ns=(1, 1))  # a rewrite within one mtime tick: the size differs
    assert arrow_io.Config().get_int("max-workers") == 17
    yaml.unlink()
    assert arrow_io.Config().get_int("max-workers") is None


# -- written sizes -------------------------------------------------------------------------
def test_data_file_sizes_in_the_manifests_are_the_sizes_on_disk(lh: dd.Lakehouse) -> None:
    _items_table(lh)
    for start in (10, 20, 30):
        lh.append("raw.t", items(range(start, start + 10)))
    table = lh.table("raw.t")
    tasks = list(table.scan().plan_files())
    assert len(tasks) >= 4
    for task in tasks:
        path = task.file.file_path.removeprefix("file://")
        assert task.file.file_size_in_bytes == os.path.getsize(path)
    for manifest in table.current_snapshot().manifests(table.io):
        path = manifest.manifest_path.removeprefix("file://")
        assert manifest.manifest_length == os.path.getsize(path)


def test_a_durable_files_length_is_what_was_written(tmp_path: Path) -> None:
    io = fileio.DurableFileIO()
    out = io.new_output(str(tmp_path / "a" / "x.avro"))
    with out.create() as stream:
        stream.write(b"x" * 1234)
    fileio.flush_pending()
    assert len(out) == 1234 == os.path.getsize(tmp_path / "a" / "x.avro")
    other = io.new_output(str(tmp_path / "a" / "y.avro"))
    (tmp_path / "a" / "y.avro").write_bytes(b"yy")  # written by someone else: a stat
    assert len(other) == 2


# -- who runs pyiceberg's pool work --------------------------------------------------------
@pytest.fixture
def writer_threads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The thread that created each data file."""
    names: list[str] = []
    real = fileio._DurableFile.create

    def create(self: Any, overwrite: bool = False) -> Any:
        if self.location.endswith(".parquet"):
            names.append(threading.current_thread().name)
        return real(self, overwrite=overwrite)

    monkeypatch.setattr(fileio._DurableFile, "create", create)
    return names


def test_a_small_append_writes_on_the_calling_thread(
    lh: dd.Lakehouse, writer_threads: list[str]
) -> None:
    _items_table(lh)
    writer_threads.clear()
    lh.append("raw.t", items(range(10, 30)))  # 20 rows over 6 days: 6 files
    assert writer_threads == [threading.current_thread().name] * 6
    assert not inline_executor.active()


def test_a_large_append_keeps_the_pool(
    lh: dd.Lakehouse, writer_threads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _items_table(lh)
    monkeypatch.setattr(small_append, "INLINE_BYTES", 0)
    writer_threads.clear()
    lh.append("raw.t", items(range(10, 30)))
    assert len(writer_threads) == 6
    assert threading.current_thread().name not in writer_threads
    assert lh.table("raw.t").scan().to_arrow().num_rows == 30


def test_the_inline_executor_hands_back_results_and_errors_as_a_pool_does() -> None:
    from pyiceberg.utils.concurrent import ExecutorFactory

    assert inline_executor.install()
    pool = ExecutorFactory.get_or_create()
    assert not isinstance(pool, inline_executor.InlineExecutor)
    with inline_executor.inline():
        executor = ExecutorFactory.get_or_create()
        assert isinstance(executor, inline_executor.InlineExecutor)
        seen: list[str] = []
        other = threading.Thread(
            target=lambda: seen.append(type(ExecutorFactory.get_or_create()).__name__)
        )
        other.start()
        other.join()
        assert seen == [type(pool).__name__]  # another thread keeps the pool
        assert list(executor.map(lambda x: x * 2, [1, 2, 3])) == [2, 4, 6]
        failed = executor.submit(lambda: 1 / 0)
        assert isinstance(failed.exception(), ZeroDivisionError)
        with pytest.raises(ZeroDivisionError):
            list(executor.map(lambda x: 1 / x, [1, 0]))
    assert ExecutorFactory.get_or_create() is pool


# -- the catalog commit's compare-and-swap -------------------------------------------------
_OTHER_WRITER = """
import sys
import doctordata as dd
from tests.catalog.data import items
with dd.connect(sys.argv[1]) as lh:
    lh.append("raw.t", items(range(100, 110)))
"""


def test_a_commit_whose_base_moved_is_refused_and_redone(lh: dd.Lakehouse) -> None:
    """Another process commits between our read of the catalog row and our UPDATE: the
    UPDATE must match no row (its WHERE names our base's metadata location), the append is
    redone on the new head, and neither append is lost."""
    import subprocess
    import sys

    _items_table(lh)
    catalog = lh.table("raw.t").catalog
    real = type(catalog)._write_metadata
    calls: list[str] = []

    def write_then_race(self: Any, metadata: Any, io: Any, metadata_path: str) -> None:
        real(self, metadata, io, metadata_path)
        calls.append(metadata_path)
        if len(calls) == 1:
            subprocess.run(
                [sys.executable, "-c", _OTHER_WRITER, str(lh.root)],
                check=True,
                env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
            )

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(type(catalog), "_write_metadata", write_then_race)
        lh.append("raw.t", items(range(10, 20)))
    assert len(calls) == 2  # refused once, then committed on the other writer's snapshot
    ids = sorted(lh.table("raw.t").scan().to_arrow().column("id").to_pylist())
    assert ids == [*range(20), *range(100, 110)]


def test_statistics_plans_follow_schema_and_metrics_properties(lh: dd.Lakehouse) -> None:
    """Which statistics a data file gets depends on the table properties and the schema:
    a changed metrics mode applies to the next file written."""
    from pyiceberg.io import pyarrow as arrow_io

    _items_table(lh)
    table = lh.table("raw.t")
    plan, paths = arrow_io.compute_statistics_plan, arrow_io.parquet_path_to_id_mapping
    assert plan is schema_cache.compute_statistics_plan
    original_plan = schema_cache._state["plan"]
    for props in (table.properties, {**table.properties, "write.metadata.metrics.default": "none"}):
        ours, theirs = plan(table.schema(), props), original_plan(table.schema(), props)
        assert {k: (v.mode, v.column_name) for k, v in ours.items()} == {
            k: (v.mode, v.column_name) for k, v in theirs.items()
        }
    assert paths(table.schema()) == schema_cache._state["paths"](table.schema())
    with table.transaction() as tx:
        tx.set_properties({"write.metadata.metrics.column.type": "none"})
    lh.append("raw.t", items(range(100, 110)))
    table = lh.table("raw.t")
    type_id = table.schema().find_field("type").field_id
    id_id = table.schema().find_field("id").field_id
    before = [t.file for t in table.scan(row_filter="id < 100").plan_files()]
    after = [t.file for t in table.scan(row_filter="id >= 100").plan_files()]
    assert before and after
    assert all(type_id in (f.lower_bounds or {}) for f in before)
    for data_file in after:
        assert type_id not in (data_file.lower_bounds or {})
        assert id_id in (data_file.lower_bounds or {})
