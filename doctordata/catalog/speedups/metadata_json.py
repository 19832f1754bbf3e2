"""Write metadata.json without re-serializing every snapshot on every commit.

A metadata.json lists every retained snapshot and the snapshot log, and pyiceberg turns
each of them into JSON through a Python serializer: at 1,000 snapshots that was ~14 ms of
an append's ~50 ms commit, and the only part still growing with the table's history.

Snapshots and snapshot-log entries are frozen and the same objects are carried from one
metadata version to the next (see metadata_updates.py and metadata_cache.py), so
:class:`MetadataWriter` keeps, per table, the JSON text of the two lists it last wrote.
An append's lists are the previous ones plus one new entry (checked by object identity,
a pointer comparison per entry): the new entry is serialized and appended to the kept
text, so nothing is done per old snapshot any more (issue 18, branch appends3: the
per-snapshot lookups of the previous version cost ~2 ms of CPU per append at 1,000
snapshots). Any other change (expiry, a rollback, metadata parsed afresh) rebuilds the
text from the fragments of the entries it still knows. The rest of the document is still
pydantic's own output: the metadata is dumped with both lists empty and the texts are put
in their place, so the bytes are exactly what pyiceberg's ``ToOutputFile.table_metadata``
writes (tests compare them). Format v1 tables (whose snapshots are rewritten while
serializing) and any unexpected shape take pyiceberg's path.
"""

from __future__ import annotations

import operator
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyiceberg.io import FileIO
    from pyiceberg.table.metadata import TableMetadata

# field name -> the JSON key pydantic writes for it (an empty list dumps as KEY:[]).
_ARRAYS = {"snapshots": '"snapshots":', "snapshot_log": '"snapshot-log":'}
MAX_TABLES = 16  # tables whose JSON text is kept


class ArrayText:
    """The JSON text (UTF-8) of a list of frozen models, with the entries it was made from.

    Kept as one growing buffer: an append adds its entry's bytes at the end (amortised
    O(1)) and the file is written from the buffer, so the ~650 KiB of old snapshots are
    neither joined nor encoded again on each commit."""

    def __init__(self) -> None:
        self.items: list[Any] = []  # strong references: an id() seen here is not reused
        self.texts: list[bytes] = []
        self.joined = bytearray()

    def render(self, items: Sequence[Any], dump: Callable[[Any], str]) -> bytearray:
        """The text of ``items`` (valid until the next call)."""
        kept = len(self.items)
        if kept <= len(items) and all(map(operator.is_, self.items, items)):
            for item in items[kept:]:  # the common case: appended
                text = dump(item).encode("utf-8")
                if self.joined:
                    self.joined += b","
                self.joined += text
                self.items.append(item)
                self.texts.append(text)
            return self.joined
        known = {id(item): text for item, text in zip(self.items, self.texts, strict=True)}
        self.texts = [known.get(id(item)) or dump(item).encode("utf-8") for item in items]
        self.items = list(items)
        self.joined = bytearray(b",".join(self.texts))
        return self.joined


class MetadataWriter:
    """Serializes metadata.json; keeps the JSON of the lists it last wrote per table."""

    def __init__(self) -> None:
        # (table uuid, exclude_none) -> field -> its kept text.
        self._tables: OrderedDict[tuple[str, bool], dict[str, ArrayText]] = OrderedDict()
        self._lock = threading.Lock()

    def to_json(self, metadata: TableMetadata) -> str:
        """The metadata.json text, identical to pyiceberg's."""
        parts, release = self._parts(metadata)
        try:
            return b"".join(parts).decode("utf-8")
        finally:
            release()

    def _parts(self, metadata: TableMetadata) -> tuple[list[bytes | bytearray], Callable[[], None]]:
        """The document's bytes in pieces, and what to call once they are written: the
        kept texts are lent out, so another writer of the same table meanwhile starts its
        own (correct, only slower) instead of changing them under this one."""
        from pyiceberg.utils.config import Config

        # pyiceberg writes None as -1 for current-snapshot-id under this legacy flag.
        exclude_none = not Config().get_bool("legacy-current-snapshot-id")

        def whole() -> tuple[list[bytes | bytearray], Callable[[], None]]:
            return [metadata.model_dump_json(exclude_none=exclude_none).encode("utf-8")], _nothing

        if metadata.format_version < 2 or not metadata.snapshots:
            return whole()
        shell = metadata.model_copy(update={name: [] for name in _ARRAYS}).model_dump_json(
            exclude_none=exclude_none
        )
        if any(shell.count(key + "[]") != 1 for key in _ARRAYS.values()):
            return whole()
        key = (str(metadata.table_uuid), exclude_none)
        with self._lock:
            arrays = self._tables.pop(key, None) or {name: ArrayText() for name in _ARRAYS}

        def dump(model: Any) -> str:
            return str(model.model_dump_json(exclude_none=exclude_none))

        texts = {name: arrays[name].render(getattr(metadata, name), dump) for name in _ARRAYS}

        def release() -> None:
            with self._lock:
                self._tables[key] = arrays
                while len(self._tables) > MAX_TABLES:
                    self._tables.popitem(last=False)

        # The shell's text before, between and after the two empty lists.
        order = sorted(_ARRAYS, key=lambda name: shell.index(_ARRAYS[name] + "[]"))
        parts: list[bytes | bytearray] = []
        rest = shell
        for name in order:
            head, rest = rest.split(_ARRAYS[name] + "[]", 1)
            parts += [(head + _ARRAYS[name] + "[").encode("utf-8"), texts[name], b"]"]
        parts.append(rest.encode("utf-8"))
        return parts, release

    def write(self, metadata: TableMetadata, io: FileIO, location: str) -> None:
        """What ``Catalog._write_metadata`` does (create, never overwrite; gzip by name)."""
        from pyiceberg.serializers import Compressor, NoopCompressor

        compressor = Compressor.get_compressor(location)
        parts, release = self._parts(metadata)
        try:
            if not isinstance(compressor, NoopCompressor):  # gzip: the whole document
                parts = [compressor.bytes_compressor()(b"".join(parts))]
            with io.new_output(location).create(overwrite=False) as stream:
                for part in parts:
                    stream.write(part)
        finally:
            release()


def _nothing() -> None:
    return None
