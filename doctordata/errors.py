"""One exception hierarchy for everything a user can cause.

Every error names the thing, the offending value and the fix. Catch ``DoctorDataError``
to catch them all; each subclass also derives from the closest builtin (``ValueError``,
``LookupError``, ...) so generic handlers keep working.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class DoctorDataError(Exception):
    """Base class of every doctordata error."""


class ConfigError(DoctorDataError, ValueError):
    """doctordata.toml, an environment override or a connect() argument is invalid."""


class InvalidArgumentError(DoctorDataError, ValueError):
    """A Python argument has the wrong type or value (names the parameter and what fits)."""


class MissingDependencyError(DoctorDataError, ImportError):
    """An optional integration is used but its extra is not installed."""

    def __init__(self, module: str, extra: str, feature: str | None = None) -> None:
        what = feature or module
        super().__init__(
            f"{what} needs the Python package {module!r}, which is not installed. "
            f"Install it with: pip install 'doctordata[{extra}]'"
        )
        self.module = module
        self.extra = extra


class IdentifierError(DoctorDataError, ValueError):
    """A namespace or table name is not allowed."""


class NotFoundError(DoctorDataError, LookupError):
    """Something named by the user does not exist."""


class NamespaceNotFoundError(NotFoundError):
    pass


class TableNotFoundError(NotFoundError):
    pass


class SnapshotNotFoundError(NotFoundError):
    """A snapshot id, timestamp or tag does not resolve to a retained snapshot."""


class AlreadyExistsError(DoctorDataError, ValueError):
    pass


class NamespaceNotEmptyError(DoctorDataError, ValueError):
    pass


class SchemaMismatchError(DoctorDataError, ValueError):
    """Data does not fit the table's schema."""


class PartitionSpecError(DoctorDataError, ValueError):
    """A partition_by string cannot be parsed or does not fit the schema."""


class WhereClauseError(DoctorDataError, ValueError):
    """A ``where`` string cannot be turned into an Iceberg filter."""


class CatalogError(DoctorDataError, RuntimeError):
    """The catalog database cannot be reached or used."""


class CatalogAuthError(CatalogError):
    """The catalog database refused our credentials."""


class CommitConflictError(CatalogError):
    """A commit kept conflicting with concurrent writers after every retry."""


class CatalogUnavailableError(CatalogError):
    """The catalog database cannot be reached (server down, wrong host or port)."""


class EmptyCatalogError(CatalogError):
    """The catalog is empty (or unreadable) while the warehouse holds table data.

    Typical causes: a truncated catalog.db, a half-finished restore. The fix is
    ``doctordata restore`` from a backup, never creating a fresh catalog over the data."""


class StorageError(DoctorDataError, OSError):
    """A storage tier cannot be read or written."""


class LocationError(DoctorDataError, ValueError):
    """A path given by the user is in a place doctordata must refuse: outside every tier,
    inside a table's directory (where maintenance may delete it), or not a file."""


class TierUnavailableError(StorageError):
    """A tier failed a pre-flight check (missing, unmounted, not writable, bad credentials)."""


class TierNotFoundError(NotFoundError):
    """A tier name is not configured in [tiers]."""


class TierOfflineError(TierUnavailableError):
    """A tier that was used before is not there now (an unmounted NAS, an unreachable bucket)."""


class DataFileMissingError(StorageError, FileNotFoundError):
    """A data file a snapshot references is missing or unreadable on its tier."""


class ChecksumMismatchError(StorageError):
    """A copied file does not match its source."""


class DataCorruptionError(StorageError):
    """A data file's bytes differ from what doctordata recorded when it wrote them."""


class EngineError(DoctorDataError, RuntimeError):
    """A query engine failed to run a query."""


class QueryTimeoutError(EngineError, TimeoutError):
    """A query ran longer than engines.query_timeout (or the call's timeout=)."""


class QueryMemoryError(EngineError, MemoryError):
    """A query needed more memory than the engine's configured limit."""


class SQLParseError(DoctorDataError, ValueError):
    """User SQL could not be parsed."""


class UnsupportedSQLError(DoctorDataError, ValueError):
    """User SQL uses a construct doctordata or the target engine cannot run."""


class ReadOnlyViolationError(DoctorDataError, PermissionError):
    """User SQL tried to write, change settings or reach outside the lakehouse."""


class BackupError(DoctorDataError, RuntimeError):
    pass


class BackupNotFoundError(BackupError, LookupError):
    """No backup with that id (or no complete backup at all) on the target."""


class IntegrityError(DoctorDataError, RuntimeError):
    """A file is missing, has the wrong size or checksum, or the metadata chain is broken."""


class IngestError(DoctorDataError, RuntimeError):
    pass


class TransformError(DoctorDataError, RuntimeError):
    """A dbt invocation failed; ``failed_nodes`` names the models/tests that failed."""

    def __init__(self, message: str, failed_nodes: list[str] | None = None) -> None:
        super().__init__(message)
        self.failed_nodes = list(failed_nodes or [])


class SchedulerError(DoctorDataError, RuntimeError):
    """The Prefect API that schedules the daily flow is unreachable or did not start."""


def suggest(name: str, candidates: Iterable[str], n: int = 3) -> str:
    """Return ' Did you mean: a, b?' for close matches of ``name``, or ''."""
    close = difflib.get_close_matches(name, list(candidates), n=n, cutoff=0.5)
    return f" Did you mean: {', '.join(close)}?" if close else ""
