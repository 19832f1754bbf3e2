"""Write metadata.json without re-serializing every snapshot on every commit.

A metadata.json lists every retained snapshot, and pyiceberg turns each snapshot's
summary into JSON through a Python serializer: at 1,000 snapshots that was ~14 ms of an
append's ~50 ms commit, and the only part still growing with the table's history.

Snapshots are frozen and the same objects are carried from one metadata version to the
next (see metadata_updates.py and metadata_cache.py), so :class:`MetadataWriter`
remembers each snapshot's JSON by object and only serializes the new one. The rest of
the document is still pydantic's own output: the metadata is dumped with an empty
snapshot list and the cached fragments are put in its place, so the bytes are exactly
what pyiceberg's ``ToOutputFile.table_metadata`` writes (tests compare them). Format v1
tables (whose snapshots are rewritten while serializing) and any unexpected shape take
pyiceberg's path.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyiceberg.io import FileIO
    from pyiceberg.table.metadata import TableMetadata

_EMPTY = '"snapshots":[]'
MAX_TABLES = 16  # tables whose snapshot JSON is kept (one entry per snapshot)


class MetadataWriter:
    """Serializes metadata.json; keeps the JSON of the snapshots it last wrote."""

    def __init__(self) -> None:
        # table uuid -> id(snapshot) -> (snapshot, exclude_none, its JSON); holding the
        # snapshot itself keeps its id from being reused while the entry exists.
        self._tables: OrderedDict[str, dict[int, tuple[Any, bool, str]]] = OrderedDict()
        self._lock = threading.Lock()

    def to_json(self, metadata: TableMetadata) -> str:
        """The metadata.json text, identical to pyiceberg's."""
        from pyiceberg.utils.config import Config

        # pyiceberg writes None as -1 for current-snapshot-id under this legacy flag.
        exclude_none = not Config().get_bool("legacy-current-snapshot-id")
        if metadata.format_version < 2 or not metadata.snapshots:
            return metadata.model_dump_json(exclude_none=exclude_none)
        shell = metadata.model_copy(update={"snapshots": []}).model_dump_json(
            exclude_none=exclude_none
        )
        if shell.count(_EMPTY) != 1:
            return metadata.model_dump_json(exclude_none=exclude_none)
        key = str(metadata.table_uuid)
        with self._lock:
            known = self._tables.pop(key, {})
        fragments: dict[int, tuple[Any, bool, str]] = {}
        parts = []
        for snapshot in metadata.snapshots:
            entry = known.get(id(snapshot))
            if entry is None or entry[0] is not snapshot or entry[1] != exclude_none:
                text = snapshot.model_dump_json(exclude_none=exclude_none)
                entry = (snapshot, exclude_none, text)
            fragments[id(snapshot)] = entry
            parts.append(entry[2])
        with self._lock:
            self._tables[key] = fragments  # expired snapshots drop out here
            while len(self._tables) > MAX_TABLES:
                self._tables.popitem(last=False)
        return shell.replace(_EMPTY, '"snapshots":[' + ",".join(parts) + "]", 1)

    def write(self, metadata: TableMetadata, io: FileIO, location: str) -> None:
        """What ``Catalog._write_metadata`` does (create, never overwrite; gzip by name)."""
        from pyiceberg.serializers import Compressor

        data = self.to_json(metadata).encode("utf-8")
        data = Compressor.get_compressor(location).bytes_compressor()(data)
        with io.new_output(location).create(overwrite=False) as stream:
            stream.write(data)
