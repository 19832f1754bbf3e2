"""Rewrite the absolute file paths inside Iceberg's Avro files (manifests, manifest lists).

Iceberg stores absolute locations in three places: metadata.json (plain JSON), manifest
lists (``manifest_path``, field id 500) and manifests (``data_file.file_path``, id 100, and
v3's ``referenced_data_file``, id 143). Restoring a backup somewhere else means changing
exactly those strings and nothing else, so this module decodes each record generically with
the file's own writer schema (via pyiceberg's Avro reader/writer), replaces the path fields
by field id, and re-encodes with the same schema, codec and header metadata. Everything else
(stats, partition values, sequence numbers) passes through untouched, except for the
entries of position-delete files that were rewritten for the new place (delete_files.py):
their size, ``file_path`` bounds and column sizes describe the new file.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyiceberg.schema import Schema
    from pyiceberg.types import StructType

    from doctordata.backup.delete_files import RewrittenDelete

MANIFEST_PATH_ID = 500  # manifest list: manifest_path
MANIFEST_LENGTH_ID = 501  # manifest list: manifest_length (changes when a manifest is rewritten)
DATA_FILE_ID = 2  # manifest entry: data_file struct
FILE_PATH_ID = 100  # data_file.file_path
REFERENCED_DATA_FILE_ID = 143  # data_file.referenced_data_file (v3 deletion vectors)
STATUS_ID = 0  # manifest entry: status (2 = deleted)
CONTENT_ID = 134  # data_file.content (1 = position deletes)
FILE_FORMAT_ID = 101
FILE_SIZE_ID = 104
COLUMN_SIZES_ID = 108
LOWER_BOUNDS_ID = 125
UPPER_BOUNDS_ID = 128
POSITION_DELETES = 1

PathMapper = Callable[[str], str]
# Called with (new location, file format) for a live position-delete entry that no
# rewritten file describes; it raises if that file needed rewriting.
UnknownDelete = Callable[[str, str], None]


def _position(struct: StructType, field_id: int) -> int | None:
    for pos, field in enumerate(struct.fields):
        if field.field_id == field_id:
            return pos
    return None


def _memory_io() -> tuple[Any, Any]:
    """In-memory InputFile/OutputFile classes (pyiceberg's Avro code wants file objects)."""
    from pyiceberg.io import InputFile, InputStream, OutputFile, OutputStream

    class BytesInput(InputFile):
        def __init__(self, data: bytes) -> None:
            super().__init__("memory://avro")
            self._data = data

        def __len__(self) -> int:
            return len(self._data)

        def exists(self) -> bool:
            return True

        def open(self, seekable: bool = True) -> InputStream:
            return io.BytesIO(self._data)

    class _Capture(io.BytesIO):
        value = b""

        def close(self) -> None:
            self.value = self.getvalue()
            super().close()

    class BytesOutput(OutputFile):
        def __init__(self) -> None:
            super().__init__("memory://avro")
            self.stream = _Capture()

        def __len__(self) -> int:
            return len(self.stream.value)

        def exists(self) -> bool:
            return False

        def to_input_file(self) -> InputFile:
            return BytesInput(self.stream.value)

        def create(self, overwrite: bool = False) -> OutputStream:
            return self.stream

    return BytesInput, BytesOutput


def _schema_name(meta: Mapping[str, str]) -> str:
    import json

    return str(json.loads(meta["avro.schema"]).get("name", "record"))


def rewrite_avro(
    data: bytes,
    mapper: PathMapper,
    *,
    manifest_lengths: Mapping[str, int] | None = None,
    deletes: Mapping[str, RewrittenDelete] | None = None,
    unknown_delete: UnknownDelete | None = None,
) -> bytes:
    """Return ``data`` (an Iceberg manifest or manifest list) with every path mapped.

    ``manifest_lengths`` maps a *new* manifest path to its new size; a manifest list
    records each manifest's length, which changes when the manifest's paths change.
    ``deletes`` maps a *new* position-delete file location to what its entry must now say;
    ``unknown_delete`` is told of every live position-delete entry not in ``deletes``.
    """
    from pyiceberg.avro.file import AvroFile, AvroOutputFile

    bytes_input, bytes_output = _memory_io()
    with AvroFile[Any](bytes_input(data)) as reader:
        schema: Schema = reader.schema
        meta = dict(reader.header.meta)
        records = list(reader)
    struct = schema.as_struct()
    rewrite_record = _record_rewriter(struct, mapper, manifest_lengths or {})
    if deletes is not None or unknown_delete is not None:
        rewrite_record = _with_deletes(struct, rewrite_record, deletes or {}, unknown_delete)
    for record in records:
        rewrite_record(record)
    meta.pop("avro.schema", None)
    out = bytes_output()
    with AvroOutputFile[Any](
        out, schema, _schema_name(dict(reader.header.meta)), metadata=meta
    ) as w:
        # One block per file, as pyiceberg's own writers do for manifests of this size.
        if records:
            w.write_block(records)
    value: bytes = out.stream.value
    return value


def _record_rewriter(
    struct: StructType, mapper: PathMapper, lengths: Mapping[str, int]
) -> Callable[[Any], None]:
    from pyiceberg.types import StructType

    manifest_path = _position(struct, MANIFEST_PATH_ID)
    manifest_length = _position(struct, MANIFEST_LENGTH_ID)
    data_file = _position(struct, DATA_FILE_ID)
    inner: list[int] = []
    if data_file is not None:
        df_type = struct.fields[data_file].field_type
        assert isinstance(df_type, StructType)
        inner = [
            p
            for p in (
                _position(df_type, FILE_PATH_ID),
                _position(df_type, REFERENCED_DATA_FILE_ID),
            )
            if p is not None
        ]
    if manifest_path is None and data_file is None:
        raise ValueError("not an Iceberg manifest or manifest list (no path fields)")

    def rewrite(record: Any) -> None:
        if manifest_path is not None:
            new = mapper(record[manifest_path])
            record[manifest_path] = new
            if manifest_length is not None and new in lengths:
                record[manifest_length] = lengths[new]
        if data_file is not None:
            df = record[data_file]
            for pos in inner:
                if df[pos] is not None:
                    df[pos] = mapper(df[pos])

    return rewrite


def _with_deletes(
    struct: StructType,
    rewrite: Callable[[Any], None],
    deletes: Mapping[str, RewrittenDelete],
    unknown: UnknownDelete | None,
) -> Callable[[Any], None]:
    """``rewrite``, then the entry of a rewritten position-delete file describes it."""
    from pyiceberg.types import StructType

    data_file, status = _position(struct, DATA_FILE_ID), _position(struct, STATUS_ID)
    if data_file is None:
        return rewrite  # a manifest list
    df_type = struct.fields[data_file].field_type
    assert isinstance(df_type, StructType)
    at = {
        fid: _position(df_type, fid)
        for fid in (
            FILE_PATH_ID,
            CONTENT_ID,
            FILE_FORMAT_ID,
            FILE_SIZE_ID,
            COLUMN_SIZES_ID,
            LOWER_BOUNDS_ID,
            UPPER_BOUNDS_ID,
        )
    }
    if at[CONTENT_ID] is None:
        return rewrite  # a v1 manifest: data files only

    def entry(record: Any) -> None:
        rewrite(record)
        df = record[data_file]
        if df[at[CONTENT_ID]] != POSITION_DELETES:
            return
        path = df[at[FILE_PATH_ID]]
        new = deletes.get(path)
        if new is None:
            if unknown is not None and (status is None or record[status] != 2):
                fmt = at[FILE_FORMAT_ID]
                unknown(path, str(df[fmt]) if fmt is not None else "?")
            return
        _describe(df, at, new)

    return entry


def _describe(df: Any, at: Mapping[int, int | None], new: RewrittenDelete) -> None:
    from doctordata.backup.delete_files import PATH_FIELD_ID

    df[at[FILE_SIZE_ID]] = new.size
    sizes = at[COLUMN_SIZES_ID]
    if sizes is not None and df[sizes]:
        df[sizes] = {k: new.column_sizes.get(k, v) for k, v in df[sizes].items()}
    for fid, value in ((LOWER_BOUNDS_ID, new.lower), (UPPER_BOUNDS_ID, new.upper)):
        pos = at[fid]
        if pos is not None and df[pos] and PATH_FIELD_ID in df[pos] and value is not None:
            df[pos] = {**df[pos], PATH_FIELD_ID: value}


def avro_paths(data: bytes) -> list[str]:
    """Every path an Iceberg Avro file references (for listing and integrity checks)."""
    found: list[str] = []

    def collect(path: str) -> str:
        found.append(path)
        return path

    from pyiceberg.avro.file import AvroFile

    bytes_input, _ = _memory_io()
    with AvroFile[Any](bytes_input(data)) as reader:
        rewrite = _record_rewriter(reader.schema.as_struct(), collect, {})
        for record in reader:
            rewrite(record)
    return found


MANIFEST_CONTENT_ID = 517  # manifest list: content (0 data files, 1 delete files)


def delete_manifests(data: bytes) -> list[str]:
    """The paths of the delete-file manifests a manifest list names."""
    from pyiceberg.avro.file import AvroFile

    bytes_input, _ = _memory_io()
    with AvroFile[Any](bytes_input(data)) as reader:
        struct = reader.schema.as_struct()
        path, content = _position(struct, MANIFEST_PATH_ID), _position(struct, MANIFEST_CONTENT_ID)
        if path is None or content is None:
            return []
        return [str(r[path]) for r in reader if r[content] == 1]


def position_delete_entries(data: bytes) -> list[tuple[str, str]]:
    """(location, file format) of every live position-delete file a manifest lists."""
    from pyiceberg.avro.file import AvroFile
    from pyiceberg.types import StructType

    bytes_input, _ = _memory_io()
    with AvroFile[Any](bytes_input(data)) as reader:
        struct = reader.schema.as_struct()
        data_file, status = _position(struct, DATA_FILE_ID), _position(struct, STATUS_ID)
        if data_file is None:
            return []
        df_type = struct.fields[data_file].field_type
        assert isinstance(df_type, StructType)
        path, content = _position(df_type, FILE_PATH_ID), _position(df_type, CONTENT_ID)
        fmt = _position(df_type, FILE_FORMAT_ID)
        if path is None or content is None:
            return []
        return [
            (str(r[data_file][path]), str(r[data_file][fmt]) if fmt is not None else "?")
            for r in reader
            if r[data_file][content] == POSITION_DELETES and (status is None or r[status] != 2)
        ]
