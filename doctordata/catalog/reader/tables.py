"""pyiceberg Tables for the query planner, loaded without SqlCatalog or the Arrow FileIO.

Why: planning a new query needs a table's metadata and manifests, but opening pyiceberg's
SqlCatalog imports SQLAlchemy, and its FileIO (DurableFileIO, a PyArrowFileIO) imports
pyarrow.dataset and pandas: seconds of CPU before the first file is planned. Here the
metadata location comes from the catalog's row (sqlite3, catalog.py), the metadata JSON
is parsed by pyiceberg's own model, and local files are opened with ``open()``.

The result is a real pyiceberg ``Table``, so planning (partition and statistics pruning,
time travel, deletes, schemas) runs the very same pyiceberg code as on the SqlCatalog
path; only where the bytes come from differs. :class:`LocalReadIO` hands anything that is
not a local read (an S3 path, a write) to the DurableFileIO the catalog would have built,
created on first need, and reports a failed local read on an offline tier as
TierOfflineError, as DurableFileIO does. Anything unexpected raises Unsupported and the
caller loads the table through the catalog instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyiceberg.io import FileIO, InputFile, InputStream, OutputFile

from doctordata.catalog.reader.avro import Unsupported
from doctordata.catalog.reader.lite import local_path

if TYPE_CHECKING:
    from pyiceberg.table import Table

    from doctordata.catalog.reader.catalog import CatalogReader
    from doctordata.catalog.reader.metadata import TableMetadata
    from doctordata.config import Settings
    from doctordata.storage.tier import Tier


class LocalInputFile(InputFile):
    """A local file opened with ``open()``; a failed read on an offline tier is named."""

    def __init__(self, location: str, path: str, io: LocalReadIO) -> None:
        super().__init__(location)
        self._path = path
        self._io = io

    def __len__(self) -> int:
        try:
            return os.stat(self._path).st_size
        except OSError as exc:
            raise self._io.offline_error(self.location) or exc from exc

    def exists(self) -> bool:
        return os.path.isfile(self._path)

    def open(self, seekable: bool = True) -> InputStream:
        try:
            return open(self._path, "rb")  # the caller closes it
        except OSError as exc:
            raise self._io.offline_error(self.location) or exc from exc


class LocalReadIO(FileIO):
    """Local reads with the standard library; everything else through ``full()``."""

    def __init__(
        self,
        properties: Mapping[str, str],
        tiers: Mapping[str, Tier],
        root: Path,
        full: Callable[[], FileIO],
    ) -> None:
        super().__init__(dict(properties))
        self._tiers = tiers
        self._root = root
        self._make_full = full
        self._full: FileIO | None = None

    def full(self) -> FileIO:
        """The FileIO the catalog would have given the table (DurableFileIO), made once."""
        if self._full is None:
            self._full = self._make_full()
        return self._full

    def new_input(self, location: str) -> InputFile:
        path = local_path(location)
        if path is None:
            return self.full().new_input(location)
        return LocalInputFile(location, path, self)

    def new_output(self, location: str) -> OutputFile:
        return self.full().new_output(location)

    def delete(self, location: str | InputFile | OutputFile) -> None:
        self.full().delete(location)

    def offline_error(self, location: str) -> Exception | None:
        """The TierOfflineError for a failed read of ``location``, if its tier is offline."""
        from doctordata.storage.offline import diagnose

        return diagnose(self._tiers, self._root, location, f"reading {location}")


def load_table(
    reader: CatalogReader, name: str, settings: Settings, tiers: Mapping[str, Tier]
) -> Table:
    """The pyiceberg Table ``name`` ("ns.table") at the catalog's current metadata location.

    Raises Unsupported when the fast path does not apply (no such table, a remote or
    unreadable metadata file, metadata pyiceberg's model refuses): the caller then loads
    the table through the catalog, which raises the typed error if there is one."""
    location = reader.location(name)
    if location is None:
        raise Unsupported(f"no table {name!r}")
    return table_at(name, location, settings, tiers)


def table_at(
    name: str,
    location: str,
    settings: Settings,
    tiers: Mapping[str, Tier],
    meta: TableMetadata | None = None,
) -> Table:
    """The pyiceberg Table ``name`` read from the metadata file at ``location`` (``meta``:
    that file, parsed already)."""
    from doctordata.catalog.reader.metadata import TableMetadata

    raw = (meta or TableMetadata.load(name, location)).raw
    try:
        from pydantic import ValidationError
        from pyiceberg.table.metadata import TableMetadataUtil

        metadata = TableMetadataUtil.parse_obj(raw)
    except (ValidationError, ValueError, TypeError) as exc:
        raise Unsupported(f"{location}: {exc}") from None
    from pyiceberg.catalog.noop import NoopCatalog
    from pyiceberg.table import Table

    namespace, table = name.rsplit(".", 1)
    properties = dict(metadata.properties)

    def full() -> FileIO:
        # What SqlCatalog.load_table builds: catalog properties, then the table's own.
        from pyiceberg.io import load_file_io

        from doctordata.catalog.sql import catalog_properties

        merged = {**catalog_properties(settings, dict(tiers)), **properties}
        return load_file_io(merged, location)

    io = LocalReadIO(properties, tiers, settings.root, full)
    return Table(
        identifier=(*namespace.split("."), table),
        metadata=metadata,
        metadata_location=location,
        io=io,
        catalog=NoopCatalog(settings.catalog.name),
    )


def full_io(table: Any) -> Any:
    """The table's FileIO as the catalog path would have it (for pyarrow-based reads)."""
    io = table.io
    return io.full() if isinstance(io, LocalReadIO) else io
