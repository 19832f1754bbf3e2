"""Rewrite the absolute file paths inside Iceberg's Avro files (manifests, manifest lists).

Iceberg stores absolute locations in three places: metadata.json (plain JSON), manifest
lists (``manifest_path``, field id 500) and manifests (``data_file.file_path``, id 100, and
v3's ``referenced_data_file``, id 143). Restoring a backup somewhere else means changing
exactly those strings and nothing else, so this module decodes each record generically with
the file's own writer schema (via pyiceberg's Avro reader/writer), replaces the path fields
by field id, and re-encodes with the same schema, codec and header metadata. Everything else
(stats, partition values, sequence numbers) passes through untouched.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyiceberg.schema import Schema
    from pyiceberg.types import StructType

MANIFEST_PATH_ID = 500  # manifest list: manifest_path
MANIFEST_LENGTH_ID = 501  # manifest list: manifest_length (changes when a manifest is rewritten)
DATA_FILE_ID = 2  # manifest entry: data_file struct
FILE_PATH_ID = 100  # data_file.file_path
REFERENCED_DATA_FILE_ID = 143  # data_file.referenced_data_file (v3 deletion vectors)

PathMapper = Callable[[str], str]


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
) -> bytes:
    """Return ``data`` (an Iceberg manifest or manifest list) with every path mapped.

    ``manifest_lengths`` maps a *new* manifest path to its new size; a manifest list
    records each manifest's length, which changes when the manifest's paths change.
    """
    from pyiceberg.avro.file import AvroFile, AvroOutputFile

    bytes_input, bytes_output = _memory_io()
    with AvroFile[Any](bytes_input(data)) as reader:
        schema: Schema = reader.schema
        meta = dict(reader.header.meta)
        records = list(reader)
    struct = schema.as_struct()
    rewrite_record = _record_rewriter(struct, mapper, manifest_lengths or {})
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
