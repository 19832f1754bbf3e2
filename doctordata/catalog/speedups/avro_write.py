"""Write manifests and manifest lists without rebuilding pyiceberg's Avro writer per file.

Every append writes a one-entry manifest and a manifest list through pyiceberg's
pure-Python Avro writer (~3 ms of the ~13 ms append, benchmarks/results/ducklake.md,
"Appends"): per file it builds the manifest-entry schema for the partition spec, resolves a
writer tree from it (a schema visitor), converts the schema to Avro JSON for the header, and
then encodes each record through a tree of writer objects, one method call per value and a
stream write per byte. Here, on pyiceberg 0.12.x only:

- the manifest-entry schemas are kept per (format version, partition type), so the same
  Schema objects come back for the same spec;
- the writer tree and the header's Avro schema JSON are kept per (file schema, record
  schema, schema name), by identity (the manifest-list schemas are pyiceberg constants);
- each writer tree is compiled once into nested closures that append to one bytearray, a
  node for each of pyiceberg's writer classes doing exactly what its ``write`` does (writer
  classes this module does not know run their own ``write`` on a BinaryEncoder).

The bytes written are those pyiceberg writes (tests/catalog/test_avro_write.py compares
them for many manifest shapes). On any other pyiceberg version ``install()`` does nothing.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

_PATCHED_VERSION = "0.12."
_state: dict[str, Any] = {}
_lock = threading.Lock()
MAX_SCHEMAS = 64  # distinct (file schema, record schema) pairs kept
_schemas: dict[tuple[Any, ...], Any] = {}  # (version, partition type) -> entry schema
_writers: dict[tuple[int, int, str], tuple[Any, ...]] = {}

Encode = Callable[[bytearray, Any], None]


def _write_long(out: bytearray, integer: int) -> None:
    """BinaryEncoder.write_int: zig-zag, then 7 bits a byte."""
    datum = (integer << 1) ^ (integer >> 63)
    while (datum & ~0x7F) != 0:
        out.append((datum & 0x7F) | 0x80)
        datum >>= 7
    out.append(datum)


class _Sink:
    """An output stream appending to a bytearray (for writers run as they are)."""

    def __init__(self, out: bytearray) -> None:
        self.out = out

    def write(self, b: bytes) -> None:
        self.out += b


def compile_writer(writer: Any) -> Encode:
    """A function writing what ``writer.write`` writes, appending to a bytearray."""
    from pyiceberg.avro import STRUCT_DOUBLE, STRUCT_FLOAT
    from pyiceberg.avro import writer as w
    from pyiceberg.avro.encoder import BinaryEncoder
    from pyiceberg.typedef import Record

    record_getitem = Record.__getitem__
    kind = type(writer)
    if kind in (
        w.IntegerWriter,
        w.DateWriter,
        w.TimeWriter,
        w.TimestampWriter,
        w.TimestampNanoWriter,
        w.TimestamptzWriter,
        w.TimestamptzNanoWriter,
    ):
        return _write_long
    if kind is w.BooleanWriter:

        def boolean(out: bytearray, val: Any) -> None:
            out.append(1 if val else 0)

        return boolean
    if kind is w.StringWriter:

        def utf8(out: bytearray, val: Any) -> None:
            b = val.encode("utf-8")
            _write_long(out, len(b))
            out += b

        return utf8
    if kind is w.BinaryWriter:

        def binary(out: bytearray, val: Any) -> None:
            _write_long(out, len(val))
            out += val

        return binary
    if kind is w.FloatWriter:
        pack_float = STRUCT_FLOAT.pack

        def float_(out: bytearray, val: Any) -> None:
            out += pack_float(val)

        return float_
    if kind is w.DoubleWriter:
        pack_double = STRUCT_DOUBLE.pack

        def double(out: bytearray, val: Any) -> None:
            out += pack_double(val)

        return double
    if kind is w.OptionWriter:
        inner = compile_writer(writer.option)

        def option(out: bytearray, val: Any) -> None:
            if val is not None:
                out.append(2)  # write_int(1)
                inner(out, val)
            else:
                out.append(0)

        return option
    if kind is w.StructWriter:
        fields = tuple((pos, compile_writer(fw)) for pos, fw in writer.field_writers)

        def struct(out: bytearray, val: Any) -> None:
            # A Record's values straight from its list (what its __getitem__ returns).
            data = val._data if getattr(type(val), "__getitem__", None) is record_getitem else val
            for pos, fn in fields:
                fn(out, data[pos] if pos is not None else None)

        return struct
    if kind is w.ListWriter:
        element = compile_writer(writer.element_writer)

        def list_(out: bytearray, val: Any) -> None:
            _write_long(out, len(val))
            for v in val:
                element(out, v)
            if len(val) > 0:
                out.append(0)

        return list_
    if kind is w.MapWriter:
        key, value = compile_writer(writer.key_writer), compile_writer(writer.value_writer)

        def map_(out: bytearray, val: Any) -> None:
            _write_long(out, len(val))
            for k, v in val.items():
                key(out, k)
                value(out, v)
            if len(val) > 0:
                out.append(0)

        return map_
    if kind is w.DefaultWriter:
        inner, default = compile_writer(writer.writer), writer.value

        def default_(out: bytearray, _: Any) -> None:
            inner(out, default)

        return default_
    if kind is w.UnknownWriter:

        def nothing(out: bytearray, _: Any) -> None:
            return None

        return nothing

    # Fixed, UUID, decimal and any other writer: its own code, on an encoder over ``out``.
    def as_is(out: bytearray, val: Any) -> None:
        writer.write(BinaryEncoder(_Sink(out)), val)

    return as_is


def _compiled(file_schema: Any, record_schema: Any, schema_name: str) -> tuple[Any, ...]:
    """(writer, compiled writer, header schema JSON) for these schemas, built once."""
    key = (id(file_schema), id(record_schema), schema_name)
    with _lock:
        hit = _writers.get(key)
    if hit is not None and hit[0] is file_schema and hit[1] is record_schema:
        return hit[2:]
    import json

    from pyiceberg.avro.resolver import construct_writer, resolve_writer
    from pyiceberg.utils.schema_conversion import AvroSchemaConversion

    if record_schema is None:
        writer = construct_writer(file_schema=file_schema)
    else:
        writer = resolve_writer(record_schema=record_schema, file_schema=file_schema)
    converted = AvroSchemaConversion().iceberg_to_avro(file_schema, schema_name=schema_name)
    built = (file_schema, record_schema, writer, compile_writer(writer), json.dumps(converted))
    with _lock:
        if len(_writers) >= MAX_SCHEMAS:
            _writers.clear()  # the objects kept (by identity) die with their entries
        _writers[key] = built
    return built[2:]


def _entry_schema(format_version: int, partition_type: Any) -> Any:
    """pyiceberg's manifest-entry schema for this partition type, the same object each time."""
    from pyiceberg.manifest import data_file_with_partition, manifest_entry_schema_with_data_file

    key = (format_version, partition_type)
    with _lock:
        hit = _schemas.get(key)
    if hit is None:
        data_file = data_file_with_partition(
            format_version=format_version, partition_type=partition_type
        )
        hit = manifest_entry_schema_with_data_file(
            format_version=format_version, data_file=data_file
        )
        with _lock:
            if len(_schemas) >= MAX_SCHEMAS:
                _schemas.clear()
            _schemas[key] = hit
    return hit


def install() -> bool:
    """Patch pyiceberg's Avro output file and manifest writer once; whether it is active."""
    if "installed" in _state:
        return bool(_state["installed"])
    import pyiceberg
    from pyiceberg import manifest
    from pyiceberg.avro import file as avro_file

    active = pyiceberg.__version__.startswith(_PATCHED_VERSION)
    if active:
        _install(avro_file, manifest)
    _state["installed"] = active
    return active


def _install(avro_file: Any, manifest: Any) -> None:
    from pyiceberg.avro.resolver import construct_writer
    from pyiceberg.table import TableProperties

    output = avro_file.AvroOutputFile
    meta_encode = compile_writer(construct_writer(avro_file.META_SCHEMA))
    codec_key, schema_key = avro_file.AVRO_CODEC_KEY, avro_file._SCHEMA_KEY
    to_avro = avro_file.CODEC_MAPPING_ICEBERG_TO_AVRO
    header_class, magic = avro_file.AvroFileHeader, avro_file.MAGIC

    def __init__(
        self: Any,
        output_file: Any,
        file_schema: Any,
        schema_name: str,
        record_schema: Any = None,
        metadata: dict[str, str] = avro_file.EMPTY_DICT,
    ) -> None:
        self.output_file = output_file
        self.file_schema = file_schema
        self.schema_name = schema_name
        self.sync_bytes = os.urandom(avro_file.SYNC_SIZE)
        self.writer, self._dd_encode, self._dd_json = _compiled(
            file_schema, record_schema, schema_name
        )
        self.metadata = metadata

    def _write_header(self: Any) -> None:
        codec_name = self.metadata.get(codec_key, TableProperties.WRITE_AVRO_COMPRESSION_DEFAULT)
        if avro_codec_name := to_avro.get(codec_name):
            codec_name = avro_codec_name
        meta = {**self.metadata, schema_key: self._dd_json, codec_key: codec_name}
        out = bytearray()
        meta_encode(out, header_class(magic, meta, self.sync_bytes))
        self.encoder.write(bytes(out))

    def write_block(self: Any, objects: list[Any]) -> None:
        encode = self._dd_encode
        block = bytearray()
        for obj in objects:
            encode(block, obj)
        content = bytes(block)
        out = bytearray()
        _write_long(out, len(objects))
        if codec := self.compression_codec():
            compressed, length = codec.compress(content)
            _write_long(out, length)
            out += compressed
        else:
            _write_long(out, len(content))
            out += content
        out += self.sync_bytes
        self.encoder.write(bytes(out))

    def _with_partition(self: Any, format_version: Any) -> Any:
        return _entry_schema(format_version, self._spec.partition_type(self._schema))

    patches = [
        (output, "__init__", __init__),
        (output, "_write_header", _write_header),
        (output, "write_block", write_block),
        (manifest.ManifestWriter, "_with_partition", _with_partition),
    ]
    _state["originals"] = [(owner, name, owner.__dict__[name]) for owner, name, _ in patches]
    for owner, name, function in patches:
        setattr(owner, name, function)


def originals() -> list[tuple[Any, str, Any]]:
    """(class, attribute, pyiceberg's own function) for each patch installed (tests compare
    the bytes both write)."""
    return list(_state.get("originals", ()))
