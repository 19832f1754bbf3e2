"""A pyiceberg FileIO that makes local files durable before the catalog pointer moves.

pyiceberg writes data files, manifests and metadata.json through ``new_output``; our
streams hash each data file (its checksum is recorded, catalog/checksums.py) and fsync
the file (and its directory) on close, so a power cut after a commit can
never leave the catalog pointing at a truncated file. Object stores need no fsync: an
upload is durable once it completes. S3 paths are read and written with the endpoint and
keys of the tier that owns their bucket.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from pyiceberg.io import OutputStream
from pyiceberg.io.pyarrow import PyArrowFile, PyArrowFileIO

from doctordata.storage.local_copy import fsync_path


class _SyncingStream:
    """Forwards to pyarrow's stream; hashes what passes through, fsyncs a local file and
    its directory on close, then records a data file's checksum (catalog/checksums.py)."""

    def __init__(self, stream: Any, path: str | None, location: str, uri: str | None) -> None:
        self._stream = stream
        self._path = path  # None: an object store, durable once the upload completes
        self._location = location
        self._uri = uri
        self._digest = hashlib.sha256() if uri is not None else None
        self._size = 0

    def write(self, data: bytes) -> int:
        if self._digest is not None:
            self._digest.update(data)
            self._size += len(data)
        return int(self._stream.write(data))

    def tell(self) -> int:
        return int(self._stream.tell())

    def flush(self) -> None:
        self._stream.flush()

    @property
    def closed(self) -> bool:
        return bool(self._stream.closed)

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        if self._stream.closed:
            return
        self._stream.close()
        if self._path is not None:
            fsync_path(self._path)
            fsync_path(os.path.dirname(self._path) or ".")
        if self._digest is not None:
            from doctordata.catalog.checksums import record_written

            record_written(self._uri, self._location, self._size, self._digest.hexdigest())

    def __enter__(self) -> _SyncingStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _DurableFile(PyArrowFile):
    checksum_uri: str | None = None  # the catalog that records checksums of data files

    def create(self, overwrite: bool = False) -> OutputStream:
        stream = super().create(overwrite=overwrite)
        local = self._path if self._path.startswith("/") else None
        uri = self.checksum_uri if self.location.endswith(".parquet") else None
        if local is None and uri is None:
            return stream
        return _SyncingStream(stream, local, self.location, uri)


class _TierAwareFile(PyArrowFile):
    """A file to read; a failed open on an offline tier raises TierOfflineError."""

    _io: DurableFileIO

    def open(self, seekable: bool = True) -> Any:
        try:
            return super().open(seekable=seekable)
        except OSError as exc:
            offline = self._io.offline_error(self.location)
            if offline is None:
                raise
            raise offline from exc

    def __len__(self) -> int:
        try:
            return super().__len__()
        except OSError as exc:
            offline = self._io.offline_error(self.location)
            if offline is None:
                raise
            raise offline from exc


# Catalog properties "doctordata.bucket.<bucket>.<s3 property>" override the s3.* defaults
# for paths in that bucket (see catalog.sql.catalog_properties).
BUCKET_PREFIX = "doctordata.bucket."
# The configured tiers (JSON) and the lake root: a failed read is checked against them.
TIERS_PROPERTY = "doctordata.tiers"
ROOT_PROPERTY = "doctordata.root"


class DurableFileIO(PyArrowFileIO):
    """pyarrow FileIO with durable local writes and per-bucket S3 endpoints/keys."""

    def _initialize_fs(self, scheme: str, netloc: str | None = None) -> Any:
        if scheme in {"s3", "s3a", "s3n"} and netloc:
            prefix = f"{BUCKET_PREFIX}{netloc}."
            own = {k[len(prefix) :]: v for k, v in self.properties.items() if k.startswith(prefix)}
            if own:
                # A plain pyarrow FileIO with this bucket's settings builds its filesystem.
                return PyArrowFileIO({**self.properties, **own})._initialize_fs(scheme, netloc)
        return super()._initialize_fs(scheme, netloc)

    def new_input(self, location: str) -> PyArrowFile:
        plain = super().new_input(location)
        if TIERS_PROPERTY not in self.properties:
            return plain
        checked = _TierAwareFile(
            location=location,
            path=plain._path,
            fs=plain._filesystem,
            buffer_size=plain._buffer_size,
        )
        checked._io = self
        return checked

    def offline_error(self, location: str) -> Exception | None:
        """The TierOfflineError for a failed read of ``location``, if its tier is offline."""
        import json
        from pathlib import Path

        from doctordata.storage.offline import diagnose
        from doctordata.storage.tier import Tier

        tiers = {t["name"]: Tier(**t) for t in json.loads(self.properties[TIERS_PROPERTY])}
        return diagnose(
            tiers, Path(self.properties[ROOT_PROPERTY]), location, f"reading {location}"
        )

    def new_output(self, location: str) -> PyArrowFile:
        plain = super().new_output(location)
        out = _DurableFile(
            location=location,
            path=plain._path,
            fs=plain._filesystem,
            buffer_size=plain._buffer_size,
        )
        out.checksum_uri = self.properties.get("uri")
        return out
