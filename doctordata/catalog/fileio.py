"""A pyiceberg FileIO that makes local files durable before the catalog pointer moves.

pyiceberg writes data files, manifests and metadata.json through ``new_output``; our
streams fsync the file (and its directory) on close, so a power cut after a commit can
never leave the catalog pointing at a truncated file. Object stores need no fsync: an
upload is durable once it completes. S3 paths are read and written with the endpoint and
keys of the tier that owns their bucket.
"""

from __future__ import annotations

import os
from typing import Any

from pyiceberg.io import OutputStream
from pyiceberg.io.pyarrow import PyArrowFile, PyArrowFileIO


def fsync_path(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _SyncingStream:
    """Forwards to pyarrow's stream; fsyncs the file and its directory on close."""

    def __init__(self, stream: Any, path: str) -> None:
        self._stream = stream
        self._path = path

    def write(self, data: bytes) -> int:
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
        fsync_path(self._path)
        fsync_path(os.path.dirname(self._path) or ".")

    def __enter__(self) -> _SyncingStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _DurableFile(PyArrowFile):
    def create(self, overwrite: bool = False) -> OutputStream:
        stream = super().create(overwrite=overwrite)
        if self._path.startswith("/"):
            return _SyncingStream(stream, self._path)
        return stream


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
        return _DurableFile(
            location=location,
            path=plain._path,
            fs=plain._filesystem,
            buffer_size=plain._buffer_size,
        )
