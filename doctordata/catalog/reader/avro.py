"""A small Avro object-container reader for Iceberg manifests and manifest lists.

pyiceberg's reader pulls in its whole type system (pydantic models, strictyaml config)
before it decodes a byte; a read-only command needs a few fields of a few records. This
decodes any Avro schema generically into dicts (records), lists, dicts (maps) and Python
scalars, for the codecs pyiceberg writes: null and deflate (zstandard when the module is
installed). Anything else raises :class:`UnsupportedAvro` and the caller falls back to
pyiceberg.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterator
from typing import Any

MAGIC = b"Obj\x01"
_SYNC_SIZE = 16


class Unsupported(Exception):
    """The fast reader cannot answer this; take the pyiceberg path."""


class UnsupportedAvro(Exception):
    """This reader cannot decode the file (codec, schema); use pyiceberg's reader."""


class _Decoder:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def long(self) -> int:
        data, pos = self.data, self.pos
        b = data[pos]
        pos += 1
        n = b & 0x7F
        shift = 7
        while b & 0x80:
            b = data[pos]
            pos += 1
            n |= (b & 0x7F) << shift
            shift += 7
        self.pos = pos
        return (n >> 1) ^ -(n & 1)

    def read(self, size: int) -> bytes:
        if size < 0 or self.pos + size > len(self.data):
            raise UnsupportedAvro("truncated Avro data")
        out = self.data[self.pos : self.pos + size]
        self.pos += size
        return out

    def value(self, schema: Any, names: dict[str, Any]) -> Any:
        if isinstance(schema, str):
            return self._primitive(schema, names)
        if isinstance(schema, list):  # a union: the branch index, then the value
            return self.value(schema[self.long()], names)
        kind = schema["type"]
        if kind == "record":
            names[schema["name"]] = schema
            return {f["name"]: self.value(f["type"], names) for f in schema["fields"]}
        if kind == "array":
            return list(self._blocks(lambda: self.value(schema["items"], names)))
        if kind == "map":
            return dict(self._blocks(lambda: (self._string(), self.value(schema["values"], names))))
        if kind == "fixed":
            names[schema["name"]] = schema
            return self.read(schema["size"])
        if kind == "enum":
            return schema["symbols"][self.long()]
        return self._primitive(kind, names)  # {"type": "long", "logicalType": ...}

    def _blocks(self, item: Any) -> Iterator[Any]:
        while True:
            count = self.long()
            if count == 0:
                return
            if count < 0:  # a block with its byte size: the count is negated
                count = -count
                self.long()
            for _ in range(count):
                yield item()

    def _string(self) -> str:
        return self.read(self.long()).decode("utf-8")

    def _primitive(self, kind: str, names: dict[str, Any]) -> Any:
        if kind in ("long", "int"):
            return self.long()
        if kind == "string":
            return self._string()
        if kind == "null":
            return None
        if kind == "boolean":
            return self.read(1) != b"\x00"
        if kind == "bytes":
            return self.read(self.long())
        if kind == "double":
            return struct.unpack("<d", self.read(8))[0]
        if kind == "float":
            return struct.unpack("<f", self.read(4))[0]
        if kind in names:
            return self.value(names[kind], names)
        raise UnsupportedAvro(f"unknown Avro type {kind!r}")


def _decompress(codec: str, block: bytes) -> bytes:
    if codec == "null":
        return block
    if codec == "deflate":
        return zlib.decompress(block, -15)
    if codec == "zstandard":
        try:
            import zstandard
        except ImportError:
            raise UnsupportedAvro("zstandard codec without the zstandard module") from None
        return bytes(zstandard.ZstdDecompressor().decompressobj().decompress(block))
    raise UnsupportedAvro(f"Avro codec {codec!r}")


def read_container(data: bytes) -> tuple[dict[str, str], Iterator[dict[str, Any]]]:
    """The file's metadata (avro.schema, Iceberg keys) and an iterator over its records."""
    if data[:4] != MAGIC:
        raise UnsupportedAvro("not an Avro object container file")
    dec = _Decoder(data)
    dec.pos = 4
    header_schema = {"type": "map", "values": "bytes"}
    meta = {k: v.decode("utf-8") for k, v in dec.value(header_schema, {}).items()}
    sync = dec.read(_SYNC_SIZE)
    schema = json.loads(meta["avro.schema"])
    codec = meta.get("avro.codec", "null")

    def records() -> Iterator[dict[str, Any]]:
        while dec.pos < len(data):
            count = dec.long()
            block = _Decoder(_decompress(codec, dec.read(dec.long())))
            if dec.read(_SYNC_SIZE) != sync:
                raise UnsupportedAvro("Avro sync marker mismatch (a damaged file)")
            names: dict[str, Any] = {}
            for _ in range(count):
                yield block.value(schema, names)

    return meta, records()
