"""Make a table carry a real position-delete file, as a merge-on-read writer (Spark,
Trino, ...) would: pyiceberg itself only deletes by rewriting files (copy-on-write)."""

from __future__ import annotations

import uuid
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.manifest import (
    DataFile,
    DataFileContent,
    FileFormat,
    ManifestContent,
    ManifestEntry,
    ManifestEntryStatus,
    ManifestFile,
    ManifestWriterV2,
)
from pyiceberg.table import Table
from pyiceberg.table.snapshots import Operation
from pyiceberg.table.update.snapshot import _FastAppendFiles

_POS_SCHEMA = pa.schema(
    [
        pa.field("file_path", pa.string(), False, {b"PARQUET:field_id": b"2147483546"}),
        pa.field("pos", pa.int64(), False, {b"PARQUET:field_id": b"2147483545"}),
    ]
)


class _DeleteManifestWriter(ManifestWriterV2):
    def content(self) -> ManifestContent:
        return ManifestContent.DELETES

    @property
    def _meta(self) -> dict[str, str]:
        return {**super()._meta, "content": "deletes"}


def add_position_deletes(
    table: Table,
    target: DataFile,
    positions: list[int],
    *,
    bounds: bool = False,
    named: str | None = None,
    schema: pa.Schema = _POS_SCHEMA,
    directory: str | None = None,
) -> str:
    """Commit a position-delete file removing ``positions`` of ``target``; returns its path.

    ``bounds``: record the file_path/pos bounds in the manifest entry, as Java writers do
    (pyiceberg then indexes the file by the data file it names). ``named``: the
    ``file_path`` value written (default: the target's location). ``schema``: the file's.
    ``directory``: where the delete file goes (default: next to the target)."""
    folder = directory or target.file_path.rsplit("/", 1)[0]
    path = folder + f"/00000-deletes-{uuid.uuid4()}.parquet"
    value = target.file_path if named is None else named
    rows = pa.Table.from_arrays(
        [pa.array([value] * len(positions)), pa.array(positions)], schema=schema
    )
    with table.io.new_output(path).create() as out:
        pq.write_table(rows, out)
    extra: dict[str, Any] = {}
    if bounds:
        lower = {2147483546: value.encode(), 2147483545: min(positions).to_bytes(8, "little")}
        upper = {2147483546: value.encode(), 2147483545: max(positions).to_bytes(8, "little")}
        extra = {"lower_bounds": lower, "upper_bounds": upper}
    delete_file = DataFile.from_args(
        content=DataFileContent.POSITION_DELETES,
        file_path=path,
        file_format=FileFormat.PARQUET,
        partition=target.partition,
        record_count=len(positions),
        file_size_in_bytes=len(table.io.new_input(path)),
        **extra,
    )
    delete_file.spec_id = target.spec_id
    commit_delete_file(table, delete_file)
    return path


def add_equality_deletes(table: Table, target: DataFile, column: str, values: list[Any]) -> str:
    """Commit an equality-delete file removing the rows whose ``column`` is in ``values``
    (in ``target``'s partition); returns its path."""
    field = table.schema().find_field(column)
    path = target.file_path.rsplit("/", 1)[0] + f"/00000-eq-deletes-{uuid.uuid4()}.parquet"
    rows = pa.table(
        {column: values},
        schema=pa.schema(
            [pa.field(column, pa.int64(), False, {b"PARQUET:field_id": str(field.field_id)})]
        ),
    )
    with table.io.new_output(path).create() as out:
        pq.write_table(rows, out)
    delete_file = DataFile.from_args(
        content=DataFileContent.EQUALITY_DELETES,
        file_path=path,
        file_format=FileFormat.PARQUET,
        partition=target.partition,
        record_count=len(values),
        file_size_in_bytes=len(table.io.new_input(path)),
        equality_ids=[field.field_id],
    )
    delete_file.spec_id = target.spec_id
    commit_delete_file(table, delete_file)
    return path


def commit_delete_file(table: Table, delete_file: DataFile) -> None:
    """Commit ``delete_file`` in a delete manifest of its own (one new snapshot)."""

    class _AddDeletes(_FastAppendFiles):
        def _process_manifests(self, manifests: list[ManifestFile]) -> list[ManifestFile]:
            writer = _DeleteManifestWriter(
                self.spec(delete_file.spec_id),
                self.schema(),
                self.new_manifest_output(),
                self._snapshot_id,
                self._compression,
            )
            with writer:
                writer.add(
                    ManifestEntry.from_args(
                        status=ManifestEntryStatus.ADDED,
                        snapshot_id=self._snapshot_id,
                        sequence_number=None,
                        file_sequence_number=None,
                        data_file=delete_file,
                    )
                )
            return [*manifests, writer.to_manifest_file()]

    tx = table.transaction()
    producer: Any = _AddDeletes(operation=Operation.DELETE, transaction=tx, io=table.io)
    producer.commit()
    tx.commit_transaction()
