"""Planned data files: an engine reads every one of them whole, or the query fails naming it.

Why this module exists: ClickHouse reads a local file list as one glob
(``file('/d/{a,b}')``), and a glob silently skips paths that match nothing, so a deleted
file or an unmounted NAS returned part of the rows with no error. Three walls:

1. Before an engine runs, also for a plan taken from the plan cache, every planned local
   file is stat'ed once: missing, unreadable or not a regular file ->
   ``DataFileMissingError``; a size other than the manifest's ``file_size_in_bytes`` ->
   ``DataCorruptionError`` (a truncated or replaced file).
2. S3 files are not HEADed at plan time (a round trip per file; a scan of thousands of
   files would wait on thousands of requests). ClickHouse's ``s3()`` expands ``{a,b}``
   into explicit keys and fails on a missing one, DuckDB fails too, and ClickHouse runs
   with the settings that make a missing or empty file an error (``FILE_READ_SETTINGS``
   in clickhouse.py). A file of the wrong size with an intact footer is not noticed
   there; ``verify`` finds it.
3. Engine errors about a file are translated (per-engine patterns, kept as data on each
   engine class) into the typed errors above, naming the file and its tier. A decoding
   error that names no file (DuckDB's thrift errors) is pinned to its file by reading
   the footers of the query's planned files (only on that error path).
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from doctordata.errors import DataCorruptionError, DataFileMissingError, StorageError
from doctordata.storage.locations import tier_of

if TYPE_CHECKING:
    from doctordata.storage.tier import Tier

# How many offending files a message lists by name.
_NAMED = 3
_HINT = (
    "Run `doctordata verify` to list the table's damaged files, and restore them from a "
    "backup (`doctordata restore`)."
)


@dataclass(frozen=True)
class PlannedFile:
    """One data file a query reads, as the table's manifest describes it."""

    table: str
    path: str  # as the manifest spells it (file:///..., /..., s3://...)
    size: int  # file_size_in_bytes


@dataclass(frozen=True)
class FileErrorPattern:
    """An engine's error text about one data file.

    The regex captures ``path`` (a full path or URL; a bare ``bucket/key`` is read as
    S3) or ``bucket`` and ``key``; a pattern with neither names no file.
    """

    regex: re.Pattern[str]
    # True: the file is not there or cannot be opened; False: its bytes cannot be decoded.
    missing: bool


def local_file(path: str) -> str | None:
    """The local filesystem path of a planned file, or None for object storage."""
    if path.startswith("file:///"):
        return path[7:]  # the common spelling; urlsplit costs more than the stat
    if path.startswith("file:"):
        return urlsplit(path).path
    return path if path.startswith("/") else None


def check_files(files: Iterable[PlannedFile], tiers: Mapping[str, Tier]) -> None:
    """Raise unless every planned local file exists with its manifest size (one stat each)."""
    missing: list[tuple[PlannedFile, str]] = []
    resized: list[tuple[PlannedFile, int]] = []
    for planned in files:
        path = local_file(planned.path)
        if path is None:
            continue  # object storage: the engines' own errors (see the module docstring)
        try:
            st = os.stat(path)
        except OSError as exc:
            missing.append((planned, exc.strerror or type(exc).__name__))
            continue
        if not stat.S_ISREG(st.st_mode):
            missing.append((planned, "not a regular file"))
        elif st.st_size != planned.size:
            resized.append((planned, st.st_size))
    if missing:
        from doctordata.storage.offline import diagnose

        offline = diagnose(tiers, None, missing[0][0].path, f"reading table {missing[0][0].table}")
        raise offline or _missing_error(missing, tiers)
    if resized:
        raise _resized_error(resized, tiers)


def _missing_error(
    missing: Sequence[tuple[PlannedFile, str]], tiers: Mapping[str, Tier]
) -> DataFileMissingError:
    first, reason = missing[0]
    tier = tier_of(first.path, tiers)
    more = _more(missing)
    return DataFileMissingError(
        f"data file {first.path} of table {first.table} is missing or unreadable "
        f"{_where(tier)}: {reason}.{more} {_offline_hint(tier)}"
    )


def _resized_error(
    resized: Sequence[tuple[PlannedFile, int]], tiers: Mapping[str, Tier]
) -> DataCorruptionError:
    first, actual = resized[0]
    more = _more(resized)
    return DataCorruptionError(
        f"data file {first.path} of table {first.table} {_where(tier_of(first.path, tiers))} "
        f"has {actual} bytes, but the table's manifest records {first.size}: it was "
        f"truncated or replaced, and reading it would return wrong rows.{more} {_HINT}"
    )


def _more(items: Sequence[tuple[PlannedFile, Any]]) -> str:
    if len(items) == 1:
        return ""
    others = ", ".join(f.path for f, _ in items[1 : 1 + _NAMED])
    rest = len(items) - 1 - _NAMED
    return f" Also: {others}" + (f" and {rest} more." if rest > 0 else ".")


def _where(tier: Tier | None) -> str:
    if tier is None:
        return "(outside every configured tier)"
    return f"on tier {tier.name!r} ({tier.url})"


def _offline_hint(tier: Tier | None) -> str:
    if tier is not None and tier.is_local:
        try:
            empty = not any(os.scandir(tier.root))
        except OSError:
            empty = True
        if empty:
            return (
                f"Tier {tier.name!r}'s root {tier.root} is missing or empty: if it is a mount "
                "point (a NAS), mount it and retry."
            )
    return _HINT


# -- engine errors ----------------------------------------------------------------------
def engine_error(
    engine: str, message: str, patterns: Iterable[FileErrorPattern], tiers: Mapping[str, Tier]
) -> StorageError | None:
    """The typed error for an engine failure about a data file, or None if it is not one."""
    for pattern in patterns:
        match = pattern.regex.search(message)
        if match is None:
            continue
        path = _matched_path(match)
        detail = _first_line(message)
        if path is None:
            return DataCorruptionError(
                f"{engine} could not decode a data file of this query: {detail}. {_HINT}"
            )
        tier = tier_of(path, tiers)
        if pattern.missing:
            return DataFileMissingError(
                f"{engine} could not read data file {path} {_where(tier)}: it is missing or "
                f"unreadable ({detail}). {_offline_hint(tier)}"
            )
        return DataCorruptionError(
            f"data file {path} {_where(tier)} is damaged: {engine} could not decode it "
            f"({detail}). {_HINT}"
        )
    return None


def _matched_path(match: re.Match[str]) -> str | None:
    groups = match.groupdict()
    if groups.get("bucket") and groups.get("key"):
        return f"s3://{groups['bucket']}/{groups['key'].lstrip('/')}"
    path = groups.get("path")
    if not path:
        return None
    path = path.strip()
    if "://" in path or path.startswith("/"):
        return path
    return f"s3://{path}"  # ClickHouse names an S3 object as bucket/key


def _first_line(message: str) -> str:
    return message.strip().splitlines()[0].rstrip(". ") if message.strip() else message


def pin_down(
    exc: DataCorruptionError, files: Sequence[PlannedFile], tiers: Mapping[str, Tier]
) -> DataCorruptionError | None:
    """A decoding error that named no file, pinned to the planned files whose footer fails.

    None when ``exc`` already names a planned file, or no footer fails to read.
    """
    text = str(exc)
    if not files or any(f.path in text or (local_file(f.path) or "\0") in text for f in files):
        return None
    damaged: list[tuple[PlannedFile, str]] = []
    for planned in files:
        reason = _footer_problem(planned, tiers)
        if reason is not None:
            damaged.append((planned, reason))
            if len(damaged) > _NAMED:
                break
    if not damaged:
        return None
    first, reason = damaged[0]
    more = _more(damaged)
    return DataCorruptionError(
        f"data file {first.path} of table {first.table} {_where(tier_of(first.path, tiers))} "
        f"is damaged: its Parquet footer cannot be read ({reason}).{more} {_HINT}"
    )


def _footer_problem(planned: PlannedFile, tiers: Mapping[str, Tier]) -> str | None:
    import pyarrow.parquet as pq

    path = local_file(planned.path)
    try:
        with read_errors(f"data file {planned.path}"):
            if path is not None:
                pq.ParquetFile(path)
                return None
            tier = tier_of(planned.path, tiers)
            if tier is None:
                return None
            with tier.fs.open(tier.fs_path(planned.path), "rb") as fh:
                pq.ParquetFile(fh)
    except DataFileMissingError:
        return "the file is missing"
    except DataCorruptionError as exc:
        return _first_line(str(exc.__cause__ or exc))
    return None


@contextmanager
def read_errors(subject: str) -> Iterator[None]:
    """pyarrow's errors reading a data file -> DataFileMissingError / DataCorruptionError.

    Only decoding failures count as damage: a network or permission error says nothing
    about the file's bytes and propagates unchanged.
    """
    import pyarrow as pa

    try:
        yield
    except FileNotFoundError as exc:
        raise DataFileMissingError(f"{subject} is missing: {exc}. {_HINT}") from exc
    except (OSError, pa.ArrowInvalid) as exc:
        if not isinstance(exc, pa.ArrowInvalid) and not _DECODING.search(str(exc)):
            raise
        raise DataCorruptionError(f"{subject} is damaged: {exc}. {_HINT}") from exc


_DECODING = re.compile(r"thrift|magic bytes|footer|parquet|too small|corrupt", re.IGNORECASE)
