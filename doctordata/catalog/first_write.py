"""A table created from a Parquet file in ONE catalog commit: ``create_table(name, path)``.

Why: loading a file into a new table took two Iceberg commits, ``create_table`` (schema,
spec, properties) and then the append (the data), each writing a metadata.json and
swapping the catalog pointer (~10-20 ms each on a quiet box, x every table of a bulk
load). DuckLake's ``CREATE TABLE ... AS SELECT`` is one transaction; this is the same:
the schema is read from the file's footer, the files are written against the staged
(not yet committed) table, and the create transaction commits the table together with
its first snapshot. If writing fails, nothing is committed and the catalog never lists
the table.

The files are written exactly as :func:`doctordata.catalog.tables.append` of the same
path writes them: DuckDB's writer (catalog/duckdb_write.py: field ids, casts, sort
order, partitions, sha256 recorded, fsync'd) when the table fits it, else pyarrow's
streaming writer in bounded memory (catalog/write.py). Only Parquet paths are taken: a
CSV has no schema to create a table from.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from doctordata.errors import SchemaMismatchError

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.manifest import DataFile
    from pyiceberg.table import Table, Transaction

log = logging.getLogger(__name__)

SUFFIXES = (".parquet", ".parq")


def is_path(data: Any) -> bool:
    """True for a file path (str or PathLike): create_table reads its schema and rows."""
    return isinstance(data, (str, os.PathLike))


def file_schema(name: str, data: Any) -> pa.Schema:
    """The Arrow schema of the Parquet file ``data`` (its footer only), normalized to the
    types Iceberg has; a typed error names the path and the fix otherwise."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from doctordata.catalog.data import normalize_schema

    path = os.fspath(data)
    if not path.lower().endswith(SUFFIXES):
        raise SchemaMismatchError(
            f"cannot create table {name!r} from {path!r}: a file path must be a Parquet file "
            "(.parquet); for a CSV, create the table with a pyarrow schema and then "
            f"lh.append({name!r}, {path!r})"
        )
    if not os.path.isfile(path):
        raise SchemaMismatchError(f"cannot create table {name!r} from {path!r}: no such file")
    try:
        return normalize_schema(pq.read_schema(path))
    except (pa.ArrowException, OSError) as exc:
        raise SchemaMismatchError(
            f"cannot create table {name!r} from {path!r}: not a readable Parquet file ({exc})"
        ) from None


def write_first(txn: Transaction, path: str, cast: Any, conform: Any) -> list[DataFile]:
    """Write the rows of ``path`` for the table a create transaction stages, and add
    them to the transaction as its first snapshot (committed with the table by
    ``txn.commit_transaction()``). Returns the files written (the caller deletes them
    if the commit certainly failed). ``cast``/``conform``: catalog/tables.py's
    conversions (cast only / cast and sort), the same every append applies."""
    import pyarrow.parquet as pq

    staged: Table = txn._table  # the StagedTable: metadata, location and FileIO
    if not pq.ParquetFile(path).metadata.num_rows:
        return []
    written = _write(staged, path, cast, conform)
    if not written:
        return written
    try:
        from doctordata.catalog.write import _check_canonical

        _check_canonical(staged, written)
        with txn.update_snapshot().fast_append() as producer:
            for f in written:
                producer.append_data_file(f)
    except BaseException:
        delete(staged, written)
        raise
    return written


def _write(staged: Table, path: str, cast: Any, conform: Any) -> list[DataFile]:
    from doctordata.catalog import duckdb_write, write

    reader = write.open_source(path, _arrow_schema(staged))
    if write.use_duckdb(staged, path):
        if write._needs_cast(staged, reader.schema, cast):
            failed: list[BaseException] = []
            source: Any = write._conformed(staged, reader, cast, failed)
            columns = source.schema.names
        else:
            failed, source, columns = [], path, reader.schema.names
        try:
            return duckdb_write.write_files(staged, source, columns)
        except duckdb_write.OutOfMemory as exc:
            log.info("DuckDB writer out of memory (%s); writing with pyarrow", exc)
            reader = write.open_source(path, _arrow_schema(staged))
        except Exception:
            if failed:  # the input failed (DuckDB wraps it): raise the input's own error
                raise failed[0] from None
            raise
    return _write_pyarrow(staged, reader, conform)


def _write_pyarrow(staged: Table, reader: pa.RecordBatchReader, conform: Any) -> list[DataFile]:
    """catalog/write.py's streaming writer, one chunk at a time, without its commit."""
    import itertools

    from doctordata.catalog import write
    from doctordata.catalog.data import normalize

    write_uuid, counter = uuid.uuid4(), itertools.count(0)
    written: list[DataFile] = []
    try:
        for chunk in write.chunks(reader, write.CHUNK_BYTES):
            written += write.write_chunk(
                staged, conform(staged, normalize(chunk)), write_uuid, counter
            )
    except BaseException:
        delete(staged, written)
        raise
    return written


def _arrow_schema(table: Table) -> pa.Schema:
    from pyiceberg.io.pyarrow import schema_to_pyarrow

    return schema_to_pyarrow(table.schema(), include_field_ids=False)


def commit(txn: Transaction, written: list[DataFile], exists: Callable[[], bool]) -> None:
    """Commit the create transaction; if it certainly did not land (the table does not
    exist afterwards, or another process created it first), delete ``written``. When the
    catalog cannot tell, the files stay: orphan cleanup removes them if unreferenced."""
    from pyiceberg.exceptions import CommitFailedException, TableAlreadyExistsError

    try:
        txn.commit_transaction()
    except BaseException as exc:
        if written:
            lost = isinstance(exc, (TableAlreadyExistsError, CommitFailedException))
            if not lost:
                try:
                    lost = not exists()
                except Exception:  # the catalog is unreachable: cannot tell
                    lost = False
            if lost:
                delete(txn._table, written)
        raise


def delete(table: Table, files: list[DataFile]) -> None:
    """Remove written files no snapshot references (a create that did not commit)."""
    for f in files:
        try:
            table.io.delete(f.file_path)
        except OSError:
            continue
