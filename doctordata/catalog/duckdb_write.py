"""Large appends written by DuckDB's parallel Parquet writer, committed as Iceberg DataFiles.

Why: DuckDB reads files written by DuckDB faster than files written by pyarrow (TPC-H Q1:
1.0 s vs 1.75 s CPU over the same rows), and a bulk load through pyarrow waits ~55% on its
single-threaded encoder. DuckDB reads the input (a Parquet path: in parallel) and writes
with all cores. pyiceberg's ``add_files`` refuses files that carry field ids, so the
DataFiles are built here with pyiceberg's own statistics helpers and committed in one
fast/merge append (catalog/write.py), exactly as a pyiceberg write would commit them.

How a write stays what every other write is:

- field ids: ``COPY ... (FIELD_IDS {...})`` carries the table's ids, nested ones included,
  so every reader maps columns by id (renames keep working);
- types: every column is CAST to the table's DuckDB type; Arrow inputs are first cast by
  the same pyarrow conversion as every other append (``conform``), so a lossy cast fails
  the same way;
- partitions: ``PARTITION_BY`` on one computed column per partition field that groups the
  rows exactly as the Iceberg transform does (identity, year, month, day, hour, truncate
  of integers). A file's partition value is the transform of its first row, computed by
  pyiceberg; a check at commit refuses a file whose row-group bounds span two partition
  values, so a wrong grouping can never be committed. Other transforms (bucket) and sort
  orders with transforms use the pyarrow writer;
- sort order: ``ORDER BY`` in the COPY; DuckDB keeps that order within each file;
- durability: each file is fsync'd with its directories and its sha256 recorded like
  DurableFileIO does for pyarrow's writes (``verify --deep`` checks it). An
  unpartitioned write's files are hashed while DuckDB writes them (checksums.GrowingFiles:
  DuckDB only appends), not read back afterwards: lineitem's 207 MB cost ~200 ms of wall
  clock after the COPY (sha256 ~135 ms CPU on one core), now ~20 ms;
- required columns: a null in one is found in the written statistics and refused;
- failure: the files live in one directory per write under the table's data location; a
  failure before the commit removes it; a crash leaves files no snapshot references, which
  orphan cleanup (lh.maintain) removes once past its safety age.

Only tables on a local tier take this path (DuckDB would need the S3 tier's endpoint and
keys); S3 tables keep the pyarrow writer.
"""

from __future__ import annotations

import atexit
import itertools
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from doctordata.errors import SchemaMismatchError, StorageError

if TYPE_CHECKING:
    import duckdb
    from pyiceberg.manifest import DataFile
    from pyiceberg.schema import Schema
    from pyiceberg.table import Table
    from pyiceberg.types import IcebergType

# Arrow tables (and frames) of at least this many rows take the DuckDB writer; a Parquet
# path always does. Measured (5 columns: 2 ints, a double, 2 strings; median of 3,
# interleaved, 2 shared cores): 100k rows 354 ms DuckDB vs 307 ms pyarrow, 300k 1.12 s vs
# 1.78 s, 1M 3.0 s vs 5.2 s. Below ~200k rows DuckDB's fixed cost (a connection, the
# COPY plan, reading the footers back) eats the gain.
MIN_ROWS = 200_000
# DuckDB's buffer pool for the process's writes (it spills past it): a bulk load's peak memory stays
# flat with the input's size (tests/catalog/test_stream_append.py measures it).
MEMORY_LIMIT = "1GB"
ENABLED = True  # tests of the pyarrow streaming path switch it off
TRANSFORMS = {"identity", "year", "month", "day", "hour", "truncate", "void"}
# Threads that fsync, hash and read the footers of one write's files: fsync mostly waits
# on the disk, so more threads than cores overlap a partitioned load's many files.
POST_WRITE_THREADS = 8
ZSTD_DEFAULT_LEVEL = "1"  # pyarrow's (pa.Codec.default_compression_level("zstd"))
_FILE_SIZE = 512 * 1024 * 1024  # Iceberg's write.target-file-size-bytes default


class OutOfMemory(Exception):
    """DuckDB could not write within MEMORY_LIMIT (a partitioned write keeps a writer open
    per partition: thousands of partitions in one load do not fit). Nothing was written;
    the caller falls back to the pyarrow writer."""


def unsupported(table: Table) -> str | None:
    """Why ``table`` cannot take the DuckDB writer, or None if it can."""
    from pyiceberg.io.pyarrow import sanitize_column_names

    if not ENABLED:
        return "switched off"
    if local_dir(table.location()) is None:
        return "the table is not on a local tier"
    schema = table.schema()
    if sanitize_column_names(schema) != schema:
        return "column names pyiceberg rewrites in Parquet"
    for field in schema.fields:
        if duckdb_type(field.field_type) is None:
            return f"column {field.name!r} of type {field.field_type}"
    for pf in table.spec().fields:
        if _partition_expr(pf, schema) is None:
            return f"partition transform {pf.transform}"
    if table.spec().fields and not table.sort_order().is_unsorted:
        # DuckDB's PARTITION_BY does not keep the ORDER BY within each file (1.5.5).
        return "a partitioned table with a sort order"
    for sf in table.sort_order().fields:
        if str(sf.transform) != "identity":
            return f"sort transform {sf.transform}"
        if schema.find_column_name(sf.source_id) not in {f.name for f in schema.fields}:
            return "a sort key inside a struct"
    return None


def local_dir(location: str) -> str | None:
    """The local path of a ``file://`` or plain absolute location; None for object stores."""
    if location.startswith("file://"):
        return location[len("file://") :]
    return location if location.startswith("/") else None


def duckdb_type(t: IcebergType) -> str | None:
    """DuckDB's spelling of an Iceberg type (None: a type this writer leaves to pyarrow)."""
    from pyiceberg import types as it

    simple: dict[type, str] = {
        it.BooleanType: "BOOLEAN",
        it.IntegerType: "INTEGER",
        it.LongType: "BIGINT",
        it.FloatType: "FLOAT",
        it.DoubleType: "DOUBLE",
        it.DateType: "DATE",
        it.TimeType: "TIME",
        it.TimestampType: "TIMESTAMP",
        it.TimestamptzType: "TIMESTAMPTZ",
        it.StringType: "VARCHAR",
        it.BinaryType: "BLOB",
        it.UUIDType: "UUID",
    }
    if type(t) in simple:
        return simple[type(t)]
    if isinstance(t, it.DecimalType):
        return f"DECIMAL({t.precision}, {t.scale})"
    if isinstance(t, it.ListType):
        inner = duckdb_type(t.element_type)
        return None if inner is None else f"{inner}[]"
    if isinstance(t, it.MapType):
        k, v = duckdb_type(t.key_type), duckdb_type(t.value_type)
        return None if k is None or v is None else f"MAP({k}, {v})"
    if isinstance(t, it.StructType):
        parts = []
        for f in t.fields:
            inner = duckdb_type(f.field_type)
            if inner is None:
                return None
            parts.append(f"{_quote(f.name)} {inner}")
        return f"STRUCT({', '.join(parts)})"
    return None  # fixed[n] (DuckDB writes BLOB as variable length), nanosecond timestamps


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def field_ids(schema: Schema) -> str:
    """The ``FIELD_IDS`` option value: ``{a: 1, s: {__duckdb_field_id: 2, x: 3}, ...}``."""
    return "{" + ", ".join(_ids(f.name, f.field_id, f.field_type) for f in schema.fields) + "}"


def _ids(name: str, field_id: int, t: IcebergType) -> str:
    from pyiceberg import types as it

    key = _quote(name)
    if isinstance(t, it.ListType):
        inner = [_ids("element", t.element_id, t.element_type)]
    elif isinstance(t, it.MapType):
        inner = [_ids("key", t.key_id, t.key_type), _ids("value", t.value_id, t.value_type)]
    elif isinstance(t, it.StructType):
        inner = [_ids(f.name, f.field_id, f.field_type) for f in t.fields]
    else:
        return f"{key}: {field_id}"
    return f"{key}: {{__duckdb_field_id: {field_id}, {', '.join(inner)}}}"


def _partition_expr(pf: Any, schema: Schema) -> str | None:
    """A DuckDB expression that groups rows exactly as partition field ``pf`` does (its
    value need not equal Iceberg's: only the grouping matters), or None if unsupported.
    Values that would make awkward directory names are grouped by their md5."""
    from pyiceberg import types as it

    transform = str(pf.transform)
    name = schema.find_column_name(pf.source_id)
    if name is None or name not in {f.name for f in schema.fields}:
        return None  # a source inside a struct
    source = schema.find_field(pf.source_id).field_type
    col = _quote(name)
    if transform == "void":
        return "NULL"
    if transform == "identity":
        if isinstance(source, (it.IntegerType, it.LongType, it.BooleanType)):
            return col
        if isinstance(source, (it.ListType, it.MapType, it.StructType)):
            return None
        return f"md5(CAST({col} AS VARCHAR))"
    temporal = (it.DateType, it.TimestampType, it.TimestamptzType)
    if transform in {"year", "month", "day"} and isinstance(source, temporal):
        # TimeZone is UTC on the writer's connection: Iceberg's transforms are in UTC.
        return f"strftime(date_trunc('{transform}', {col}), '%Y%m%d')"
    if transform == "hour" and isinstance(source, (it.TimestampType, it.TimestamptzType)):
        return f"strftime(date_trunc('hour', {col}), '%Y%m%d%H')"
    if transform.startswith("truncate[") and isinstance(source, (it.IntegerType, it.LongType)):
        width = int(transform[len("truncate[") : -1])
        return f"({col} - ((({col} % {width}) + {width}) % {width}))"
    return None


def _sort_clause(table: Table) -> str:
    schema = table.schema()
    terms = []
    for sf in table.sort_order().fields:
        col = _quote(str(schema.find_column_name(sf.source_id)))
        direction = "DESC" if sf.direction.value == "desc" else "ASC"
        nulls = "NULLS FIRST" if sf.null_order.value == "nulls-first" else "NULLS LAST"
        terms.append(f"{col} {direction} {nulls}")
    return f" ORDER BY {', '.join(terms)}" if terms else ""


def _select(table: Table, columns: list[str]) -> str:
    """Every table column, cast to its type; a column the input lacks is NULL."""
    present = set(columns)
    out = []
    for f in table.schema().fields:
        t = duckdb_type(f.field_type)
        value = _quote(f.name) if f.name in present else "NULL"
        out.append(f"CAST({value} AS {t}) AS {_quote(f.name)}")
    return ", ".join(out)


def _options(table: Table, partitions: list[str], filename: str) -> str:
    from pyiceberg.table import TableProperties

    props = table.properties
    rows = int(
        props.get(
            TableProperties.PARQUET_ROW_GROUP_LIMIT, TableProperties.PARQUET_ROW_GROUP_LIMIT_DEFAULT
        )
    )
    codec = props.get(TableProperties.PARQUET_COMPRESSION, "zstd").lower()
    # pyarrow's default zstd level is 1, DuckDB's 3: without a level in the properties
    # both writers use pyarrow's, so a table's files do not depend on which one wrote them.
    level = props.get(TableProperties.PARQUET_COMPRESSION_LEVEL) or ZSTD_DEFAULT_LEVEL
    size = int(props.get("write.target-file-size-bytes", str(_FILE_SIZE)))
    opts = [
        "FORMAT parquet",
        f"FIELD_IDS {field_ids(table.schema())}",
        f"ROW_GROUP_SIZE {rows}",
        f"COMPRESSION {codec}",
    ]
    if level and codec == "zstd":
        opts.append(f"COMPRESSION_LEVEL {int(level)}")
    if partitions:  # DuckDB cannot also split by size here: one file per partition
        cols = ", ".join(f"__dd_p{i}" for i in range(len(partitions)))
        opts += [f"PARTITION_BY ({cols})", f"FILENAME_PATTERN {_string(filename)}"]
    elif _split_by_size(table):
        opts += [f"FILE_SIZE_BYTES {size}", f"FILENAME_PATTERN {_string(filename)}"]
    return ", ".join(opts)


def _split_by_size(table: Table) -> bool:
    """Splitting by size writes row groups out of the ORDER BY's order (DuckDB 1.5.5): a
    sorted, unpartitioned table gets one file per append instead."""
    return not table.spec().fields and table.sort_order().is_unsorted


class _Writer:
    """The process's DuckDB database for writes, opened once. A new database per write
    cost 35-50 ms of a 10,000-row Parquet append's 110-120 ms (connect, buffer pool,
    spill directory, close; measured under load). Each write gets its own cursor (a
    connection to the same database, safe to use from its thread, with its own
    registered input). Keyed by the process id (a forked child never touches its
    parent's) and MEMORY_LIMIT; no cached input (external file cache off); spills to its
    own temporary directory, removed at exit. The price: after a 6M-row load the process
    keeps ~65 MiB more resident than with the database closed (the allocator is flushed
    down to 8 MB after each task); the peak is unchanged.
    """

    lock = threading.Lock()
    current: tuple[int, str, duckdb.DuckDBPyConnection, str] | None = None
    at_exit = False

    @classmethod
    def cursor(cls) -> duckdb.DuckDBPyConnection:
        import duckdb

        with cls.lock:
            key = (os.getpid(), MEMORY_LIMIT)
            if cls.current is None or cls.current[:2] != key:
                if cls.current is not None and cls.current[0] == key[0]:
                    cls._close()  # MEMORY_LIMIT changed (tests)
                spill = tempfile.mkdtemp(prefix="dd-duckdb-spill-")
                config: dict[str, str | bool | int | float | list[str]] = {
                    "temp_directory": spill,
                    "memory_limit": MEMORY_LIMIT,
                    "enable_external_file_cache": False,
                    "allocator_flush_threshold": "8MB",
                }
                cls.current = (*key, duckdb.connect(config=config), spill)
                if not cls.at_exit:
                    atexit.register(cls.close)
                    cls.at_exit = True
            con = cls.current[2].cursor()
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")
        return con

    @classmethod
    def close(cls) -> None:
        with cls.lock:
            if cls.current is not None and cls.current[0] == os.getpid():
                cls._close()

    @classmethod
    def _close(cls) -> None:
        assert cls.current is not None
        _pid, _limit, con, spill = cls.current
        cls.current = None
        con.close()
        shutil.rmtree(spill, ignore_errors=True)


def write_files(
    table: Table,
    source: Any,
    columns: list[str],
    *,
    on_written: Callable[[str], None] | None = None,
) -> list[DataFile]:
    """Write ``source`` (a Parquet path, or an Arrow table/reader already conformed) into
    the table's data location; returns the DataFiles, not committed. On failure nothing is
    left behind. ``on_written(dir)``: a test hook, called once the files are on disk."""
    import pyarrow as pa

    data_dir = _data_dir(table)
    target = f"{data_dir}/dd-{uuid.uuid4()}"
    schema = table.schema()
    partitions = [str(_partition_expr(pf, schema)) for pf in table.spec().fields]
    select = _select(table, columns)
    if partitions:
        select += ", " + ", ".join(f"{p} AS __dd_p{i}" for i, p in enumerate(partitions))
    try:
        from doctordata.catalog.checksums import GrowingFiles
        from doctordata.storage.local_copy import make_dirs

        created = make_dirs(target)  # data_dir gains target (and so on up, if new)
        one_file = not partitions and not _split_by_size(table)
        dest = f"{target}/part-0.parquet" if one_file else target
        con = _Writer.cursor()
        # An unpartitioned write's files (all in target) are hashed as DuckDB writes them.
        following = None if partitions else GrowingFiles(target).start()
        try:
            if isinstance(source, (pa.Table, pa.RecordBatchReader)):
                con.register("dd_source", source)
                frm = "dd_source"
            else:
                frm = f"read_parquet({_string(os.fspath(source))})"
            sql = (
                f"COPY (SELECT {select} FROM {frm}{_sort_clause(table)}) TO {_string(dest)} "
                f"({_options(table, partitions, 'part-{i}')})"
            )
            con.execute(sql)
        except BaseException:
            if following is not None:
                following.stop()
            raise
        finally:
            con.close()
        hashed = {} if following is None else following.finish()
        if on_written is not None:
            on_written(target)
        return _data_files(table, target, created, hashed)
    except BaseException as exc:
        shutil.rmtree(target, ignore_errors=True)
        import duckdb

        if isinstance(exc, duckdb.OutOfMemoryException):
            raise OutOfMemory(str(exc)) from None
        if isinstance(exc, duckdb.Error):
            raise _typed(table, exc) from None
        raise


def _typed(table: Table, exc: Exception) -> Exception:
    import duckdb

    name = ".".join(table.name())
    if isinstance(exc, (duckdb.ConversionException, duckdb.BinderException)):
        return SchemaMismatchError(
            f"cannot append to {name!r}: the data does not convert to the table's types "
            f"({exc}); convert the column and append again"
        )
    if isinstance(exc, duckdb.IOException):
        return StorageError(f"writing data files of {name!r} failed: {exc}")
    return SchemaMismatchError(f"cannot append to {name!r}: {exc}")


def _data_dir(table: Table) -> str:
    from pyiceberg.table.locations import load_location_provider

    provider = load_location_provider(table.location(), table.properties)
    location = provider.new_data_location("x").rsplit("/", 1)[0]
    path = local_dir(location)
    if path is None:
        raise StorageError(f"{location!r} is not local; the DuckDB writer needs a local tier")
    return path


def _written(target: str) -> Iterator[str]:
    for folder, _dirs, names in os.walk(target):
        for n in sorted(names):
            if n.endswith(".parquet"):
                yield os.path.join(folder, n)


def _data_files(
    table: Table, target: str, created: list[str], hashed: dict[str, tuple[str, int]]
) -> list[DataFile]:
    """fsync, checksum and describe every file under ``target`` (one write); ``hashed``:
    the (sha256, size) of files already hashed while DuckDB wrote them.

    The three run in parallel threads, every file at once (the hashing only for files not
    in ``hashed``: a partitioned write's): fsync waits on the disk while
    sha256 (hashlib) and the footer reads (pyarrow) run without the GIL, so a load pays
    about the longest of them, not their sum, and a partitioned load's hundreds of fsyncs
    overlap. Every file and directory is fsync'd, and every checksum recorded, before this
    returns, i.e. before the commit can reference a file: every directory under ``target``
    (all new, DuckDB's partition directories nest), ``target`` and ``created`` (the
    directories that gained ``target`` or a new ancestor of it)."""
    from doctordata.catalog.checksums import record_all_written
    from doctordata.storage.local_copy import fsync_path

    location = table.location()
    prefix = location[: len(location) - len(local_dir(location) or "")]  # "file://" or ""
    paths = list(_written(target))
    dirs = {folder for folder, _dirs, _names in os.walk(target)} | {target, *created}
    pool = ThreadPoolExecutor(max_workers=POST_WRITE_THREADS, thread_name_prefix="dd-durable")
    try:
        synced = [pool.submit(fsync_path, d) for d in dirs if os.path.isdir(d)]
        sums: list[Future[tuple[str, int]] | None] = []
        described = []
        for path in paths:
            synced.append(pool.submit(fsync_path, path))
            sums.append(pool.submit(_sha256, path) if path not in hashed else None)
            described.append(pool.submit(_describe, table, path, prefix + path))
        for future in synced:
            future.result()
        out = [future.result() for future in described]
        checksums = [
            hashed[p] if f is None else f.result() for p, f in zip(paths, sums, strict=True)
        ]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    for path, f, (_sha, size) in zip(paths, out, checksums, strict=True):
        if size != f.file_size_in_bytes:  # nobody else writes under target
            raise StorageError(
                f"{path} changed while it was checksummed ({f.file_size_in_bytes} bytes, then "
                f"{size}); nothing was committed. Please report this as a bug."
            )
    record_all_written(
        table.io.properties.get("uri"),
        [(f.file_path, size, sha) for f, (sha, size) in zip(out, checksums, strict=True)],
    )
    return out


def _sha256(path: str) -> tuple[str, int]:
    """(sha256 hex, size), read in 1 MiB blocks: a memory map of a large file would count
    its whole size into the process's resident memory."""
    import hashlib

    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def _describe(table: Table, path: str, location: str) -> DataFile:
    """The DataFile of one written file: pyiceberg's statistics from its footer, the
    partition from its first row, checked against every row group's bounds."""
    import pyarrow.parquet as pq
    from pyiceberg.io.pyarrow import (
        compute_statistics_plan,
        data_file_statistics_from_parquet_metadata,
        parquet_path_to_id_mapping,
    )
    from pyiceberg.manifest import DataFile, DataFileContent, FileFormat
    from pyiceberg.typedef import Record

    schema = table.schema()
    size = os.stat(path).st_size
    pf = pq.ParquetFile(path)
    stats = data_file_statistics_from_parquet_metadata(
        parquet_metadata=pf.metadata,
        stats_columns=compute_statistics_plan(schema, table.properties),
        parquet_column_mapping=parquet_path_to_id_mapping(schema),
    )
    _check_required(table, stats.null_value_counts)
    _check_sorted(table, pf, path)
    partition = _partition(table, pf, path) if table.spec().fields else Record()
    return DataFile.from_args(
        content=DataFileContent.DATA,
        file_path=location,
        file_format=FileFormat.PARQUET,
        partition=partition,
        file_size_in_bytes=size,
        sort_order_id=None,
        spec_id=table.metadata.default_spec_id,
        equality_ids=None,
        key_metadata=None,
        **stats.to_serialized_dict(),
    )


def _check_sorted(table: Table, pf: Any, path: str) -> None:
    """Refuse a file whose row groups are out of the sort order's first key (by their
    bounds): DuckDB sorts within a row group, and some COPY options lose the order
    between them."""
    order = table.sort_order()
    if order.is_unsorted or pf.metadata.num_row_groups < 2:
        return
    first = order.fields[0]
    name = str(table.schema().find_column_name(first.source_id))
    leaf = next(
        (i for i in range(pf.metadata.num_columns) if pf.metadata.schema.column(i).path == name),
        None,
    )
    if leaf is None:
        return
    bounds = []
    for g in range(pf.metadata.num_row_groups):
        st = pf.metadata.row_group(g).column(leaf).statistics
        if st is None or not st.has_min_max:
            continue  # all nulls: they sort to one end, the bounds of the others hold
        bounds.append((st.min, st.max))
    if first.direction.value == "desc":
        bounds.reverse()
    if any(prev[1] > nxt[0] for prev, nxt in itertools.pairwise(bounds)):
        raise StorageError(
            f"the DuckDB writer wrote {path} with row groups out of the sort order on "
            f"{name!r}; nothing was committed. Please report this as a bug."
        )


def _check_required(table: Table, nulls: dict[int, int]) -> None:
    for f in table.schema().fields:
        if f.required and nulls.get(f.field_id, 0):
            raise SchemaMismatchError(
                f"column {f.name!r} is required (NOT NULL) in table "
                f"{'.'.join(table.name())!r} but the data has {nulls[f.field_id]} null "
                "value(s) in it; fill them or drop those rows, then append again"
            )


def _partition(table: Table, pf: Any, path: str) -> Any:
    from pyiceberg.partitioning import PartitionFieldValue, PartitionKey

    schema, spec = table.schema(), table.spec()
    names = sorted({str(schema.find_column_name(f.source_id)) for f in spec.fields})
    first = pf.read_row_group(0, columns=names).slice(0, 1)
    values = []
    for field in spec.fields:
        name = str(schema.find_column_name(field.source_id))
        source = schema.find_field(field.source_id).field_type
        transform = field.transform.pyarrow_transform(source)
        value = transform(first.column(name)).to_pylist()[0]
        _check_one_partition(pf, path, name, transform, value)
        values.append(PartitionFieldValue(field=field, value=value))
    return PartitionKey(field_values=values, partition_spec=spec, schema=schema).partition


def _check_one_partition(pf: Any, path: str, name: str, transform: Any, value: Any) -> None:
    """Refuse a file whose rows span two partition values (by its row groups' bounds)."""
    import pyarrow as pa

    index = pf.schema_arrow.get_field_index(name)
    leaf = next(
        i for i in range(pf.metadata.num_columns) if pf.metadata.schema.column(i).path == name
    )
    column_type = pf.schema_arrow.field(index).type
    if pa.types.is_string(column_type) or pa.types.is_binary(column_type):
        return  # grouped by md5 of the exact value; bounds may be truncated
    for g in range(pf.metadata.num_row_groups):
        st = pf.metadata.row_group(g).column(leaf).statistics
        if st is None or not st.has_min_max:
            continue
        bounds = pa.array([st.min, st.max]).cast(column_type)
        got = set(transform(bounds).to_pylist())
        if got != {value}:
            raise StorageError(
                f"the DuckDB writer put rows of partitions {sorted(map(str, got))} of column "
                f"{name!r} into one file ({path}); nothing was committed. Please "
                "report this as a bug."
            )
