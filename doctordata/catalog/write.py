"""Streaming bulk load: append a RecordBatchReader, or a Parquet or CSV file, in bounded RAM.

The input is read in chunks of about ``CHUNK_BYTES`` of Arrow memory. Each chunk is cast to
the table's types, sorted by the table's sort order and written as data files (one per
partition it touches) while the next chunk is read; at most ``IN_FLIGHT`` chunks are held
at once, so peak memory does not grow with the input. All files are committed in ONE
snapshot at the end: a failure before the commit leaves no visible trace (the files
written so far are deleted). The commit only adds files, so a conflicting concurrent
commit is retried with the same files; the input stream is never read twice.

Why not pyiceberg's own RecordBatchReader append: it refuses partitioned tables (0.12)
and neither sorts nor overlaps reading with writing. Files are written by pyiceberg's
``_dataframe_to_data_files`` (what its own append calls), through the table's FileIO, so
they are fsynced and checksummed like every other write.

Peak memory is about IN_FLIGHT + 1 chunks plus their casts: 1,346 / 1,368 MiB for 1x / 3x
TPC-H SF 1 lineitem from a Parquet path (benchmarks/results/ducklake.md). Smaller chunks
use less but write smaller files (one per chunk and partition) until compaction merges
them.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from doctordata.errors import CommitConflictError, SchemaMismatchError, StorageError

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.manifest import DataFile
    from pyiceberg.table import Table

# Arrow bytes per chunk: big enough for row groups of write.parquet.row-group-limit rows
# on wide tables, small enough that IN_FLIGHT chunks fit a 8 GB box next to the engines.
CHUNK_BYTES = 256 * 1024 * 1024
IN_FLIGHT = 2
SUFFIXES = {".parquet": "parquet", ".parq": "parquet", ".csv": "csv", ".csv.gz": "csv"}


def is_stream(data: Any) -> bool:
    """True for the inputs :func:`append_stream` takes (a reader or a file path)."""
    import pyarrow as pa

    return isinstance(data, (pa.RecordBatchReader, str, os.PathLike))


def open_source(data: Any, target: pa.Schema) -> pa.RecordBatchReader:
    """A RecordBatchReader over ``data``; a CSV's columns are parsed as the table's types."""
    import pyarrow as pa

    if isinstance(data, pa.RecordBatchReader):
        return data
    path = os.fspath(data)
    kind = next((k for s, k in SUFFIXES.items() if path.lower().endswith(s)), None)
    if kind is None:
        raise SchemaMismatchError(
            f"cannot append {path!r}: a file path must end in .parquet or .csv (.csv.gz); "
            "for other formats pass a pyarrow RecordBatchReader"
        )
    if not os.path.isfile(path):
        raise SchemaMismatchError(f"cannot append {path!r}: no such file")
    try:
        if kind == "parquet":
            import pyarrow.parquet as pq

            pf = pq.ParquetFile(path)
            return pa.RecordBatchReader.from_batches(pf.schema_arrow, _row_groups(pf))
        import pyarrow.csv as pcsv

        return pcsv.open_csv(
            path,
            read_options=pcsv.ReadOptions(block_size=16 * 1024 * 1024),
            convert_options=pcsv.ConvertOptions(column_types={f.name: f.type for f in target}),
        )
    except pa.ArrowException as exc:
        raise SchemaMismatchError(f"cannot read {path!r} as {kind}: {exc}") from None


def _row_groups(pf: Any) -> Iterator[pa.RecordBatch]:
    """The batches of a Parquet file, one row group at a time: ``iter_batches`` over the
    whole file pre-buffers every row group it was asked for, so memory grew with the file."""
    for group in range(pf.num_row_groups):
        yield from pf.iter_batches(batch_size=64 * 1024, row_groups=[group])


def chunks(reader: pa.RecordBatchReader, chunk_bytes: int) -> Iterator[pa.Table]:
    """Tables of about ``chunk_bytes`` each, in input order; a file that turns out to be
    unreadable midway (a bad CSV value) is a SchemaMismatchError."""
    import pyarrow as pa

    pending: list[pa.RecordBatch] = []
    size = 0
    batches = iter(reader)
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            break
        except pa.ArrowException as exc:
            raise SchemaMismatchError(f"cannot read the input to append: {exc}") from None
        if not batch.num_rows:
            continue
        pending.append(batch)
        size += batch.nbytes
        if size >= chunk_bytes:
            yield pa.Table.from_batches(pending)
            pending, size = [], 0
    if pending:
        yield pa.Table.from_batches(pending)


def write_chunk(
    table: Table, data: pa.Table, write_uuid: uuid.UUID, counter: Any
) -> list[DataFile]:
    """Data files for one prepared chunk (cast and sorted), not yet committed."""
    import pyarrow as pa
    from pyiceberg.io.pyarrow import _dataframe_to_data_files

    files = list(
        _dataframe_to_data_files(
            table_metadata=table.metadata,
            df=data,
            io=table.io,
            write_uuid=write_uuid,
            counter=counter,
        )
    )
    del data
    # The allocator keeps freed chunks for reuse; variable-size string buffers then pile
    # up and peak RSS grows with the input. Hand them back after each chunk.
    pa.default_memory_pool().release_unused()
    return files


def append_stream(
    table: Table,
    reader: pa.RecordBatchReader,
    prepare: Any,
    *,
    chunk_bytes: int | None = None,
) -> Table:
    """Append the batches of ``reader`` (see :func:`open_source`) in one snapshot.

    ``prepare(table, chunk) -> chunk``: the casts and sort every write applies
    (catalog/tables.py); the caller has checked ``reader.schema`` against the table.
    """
    import itertools

    from doctordata.catalog.data import normalize

    write_uuid = uuid.uuid4()
    counter = itertools.count(0)
    written: list[DataFile] = []
    futures: list[Future[list[DataFile]]] = []
    try:
        with ThreadPoolExecutor(max_workers=IN_FLIGHT, thread_name_prefix="dd-write") as pool:
            for chunk in chunks(reader, chunk_bytes or CHUNK_BYTES):
                prepared = prepare(table, normalize(chunk))
                while len(futures) >= IN_FLIGHT:
                    written += futures.pop(0).result()
                futures.append(pool.submit(write_chunk, table, prepared, write_uuid, counter))
                del chunk, prepared
            while futures:
                written += futures.pop(0).result()
        _check_canonical(table, written)
    except BaseException:
        for future in futures:  # the pool has finished them: collect what they wrote
            try:
                written += future.result()
            except BaseException:
                continue
        _delete(table, written)
        raise
    commit_written(table, written)
    return table


def _check_canonical(table: Table, written: list[DataFile]) -> None:
    from doctordata.storage.locations import is_lexically_canonical

    bad = [f.file_path for f in written if not is_lexically_canonical(f.file_path)]
    if bad:
        raise StorageError(
            f"an append to {'.'.join(table.name())!r} produced a non-canonical "
            f"location ({bad[0]}); nothing was committed. Please report this as a bug."
        )


def commit_written(table: Table, written: list[DataFile]) -> None:
    """Commit files written but not yet referenced, in one snapshot; a conflict retries
    with the same files, a certain failure deletes them."""
    from doctordata.catalog.commits import redo_on_conflict

    if not written:
        return
    try:
        redo_on_conflict(table, lambda t: _commit(t, written), what="append")
    except CommitConflictError:
        _delete(table, written)  # certainly not committed
        raise
    # Any other failure may have happened after the catalog took the commit: the
    # files stay (orphan cleanup removes them if no snapshot references them).


def use_duckdb(table: Table, data: Any) -> bool:
    """True when ``data`` is large enough and ``table`` fits the DuckDB writer
    (catalog/duckdb_write.py): a .parquet path, or MIN_ROWS rows of Arrow.

    A RecordBatchReader keeps the pyarrow streaming writer: DuckDB's scan of a Python
    reader grew the process's peak memory with the input (+221 MiB for 256 MiB of input,
    +739 MiB for 1 GiB, memory_limit notwithstanding), and bounded memory is that path's
    promise."""
    import pyarrow as pa

    from doctordata.catalog import duckdb_write

    if isinstance(data, pa.Table):
        big = data.num_rows >= duckdb_write.MIN_ROWS
    elif isinstance(data, pa.RecordBatchReader):
        big = False
    else:
        big = os.fspath(data).lower().endswith((".parquet", ".parq"))
    return big and duckdb_write.unsupported(table) is None


def append_duckdb(
    table: Table, data: Any, conform: Any, reader: pa.RecordBatchReader | None = None
) -> bool:
    """Append ``data`` (see :func:`use_duckdb`; ``reader``: :func:`open_source` of a
    path) with DuckDB's writer, in one snapshot. False: DuckDB ran out of memory and
    nothing was written (the caller writes with pyarrow instead; ``reader`` may have
    been read).

    ``conform(table, arrow) -> arrow``: the casts every append applies (no sort: DuckDB
    sorts). A Parquet file whose columns need only lossless casts is read by DuckDB itself
    (in parallel); anything else passes through ``conform`` batch by batch first.
    """
    import pyarrow as pa

    from doctordata.catalog import duckdb_write

    failed: list[BaseException] = []
    if reader is None:
        source: Any = conform(table, data)
        columns = source.schema.names
    elif isinstance(data, pa.RecordBatchReader) or _needs_cast(table, reader.schema, conform):
        source = _conformed(table, reader, conform, failed)
        columns = source.schema.names
    else:
        source, columns = os.fspath(data), reader.schema.names
    try:
        written = duckdb_write.write_files(table, source, columns)
    except duckdb_write.OutOfMemory as exc:
        log.info("DuckDB writer out of memory (%s); writing with pyarrow", exc)
        return False
    except Exception:
        if failed:  # the input failed (DuckDB wraps it): raise the input's own error
            raise failed[0] from None
        raise
    try:
        _check_canonical(table, written)
    except BaseException:
        _delete(table, written)
        raise
    commit_written(table, written)
    return True


def _needs_cast(table: Table, schema: pa.Schema, conform: Any) -> bool:
    """True unless every column of ``schema`` converts to the table's type losslessly in
    SQL (same type, or a wider integer or float)."""
    import pyarrow as pa

    want = conform(table, schema.empty_table()).schema
    for field in schema:
        if field.name not in want.names:
            continue
        target = want.field(field.name).type
        if field.type.equals(target):
            continue
        widening = (pa.types.is_integer(field.type) and pa.types.is_integer(target)) or (
            pa.types.is_floating(field.type) and pa.types.is_floating(target)
        )
        if not widening or target.bit_width < field.type.bit_width:
            return True
        if pa.types.is_unsigned_integer(field.type):
            return True
    return False


def _conformed(
    table: Table, reader: pa.RecordBatchReader, conform: Any, failed: list[BaseException]
) -> pa.RecordBatchReader:
    """``reader``'s batches cast by ``conform``; an error of the input is kept in
    ``failed`` (DuckDB, which pulls the batches, re-raises it as its own error)."""
    import pyarrow as pa

    from doctordata.catalog.data import normalize

    schema = conform(table, normalize(reader.schema.empty_table())).schema

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            for chunk in chunks(reader, 1):  # batch by batch, empty ones skipped
                yield from conform(table, normalize(chunk)).cast(schema).to_batches()
        except BaseException as exc:
            failed.append(exc)
            raise

    return pa.RecordBatchReader.from_batches(schema, batches())


def _delete(table: Table, files: list[DataFile]) -> None:
    """Remove files no snapshot references (now, rather than at orphan cleanup)."""
    for f in files:
        try:
            table.io.delete(f.file_path)
        except OSError:
            continue


def _commit(table: Table, files: list[DataFile]) -> None:
    from pyiceberg.table import TableProperties
    from pyiceberg.utils.properties import property_as_bool

    merge = property_as_bool(
        table.properties,
        TableProperties.MANIFEST_MERGE_ENABLED,
        TableProperties.MANIFEST_MERGE_ENABLED_DEFAULT,
    )
    with table.transaction() as tx:
        snapshot = tx.update_snapshot()
        with snapshot.merge_append() if merge else snapshot.fast_append() as producer:
            for f in files:
                producer.append_data_file(f)
