"""Commits that stay serializable under concurrent writers, and typed commit errors.

pyiceberg 0.12 commits by compare-and-swap on the catalog's metadata pointer. When the
swap fails because another writer committed first, it re-stages the same plan on the new
head (``commit.retry.*`` table properties) after re-validating the commit window: for an
overwrite or delete, no data file added since the read snapshot may match its filter
(bounds only), and the files it replaces must still be live. A *stale plan is never
re-applied over conflicting data*: validation raises ``ValidationException`` instead.

What pyiceberg lacks, and this module adds:

- an append that is validated too (:func:`guarded_append`): the rows an upsert inserts are
  new only as of its read snapshot, so if a concurrent commit added rows with any of
  those keys, committing the plan would duplicate keys. On a retry the files added in the
  window are checked by their bounds, then by their rows (a file whose bounds span a key
  but holds none is no conflict);
- :func:`redo_on_conflict`: a conflict found at commit re-runs the whole operation (read,
  plan, write, commit) against the new head, a bounded number of times; the operation
  then serializes after the writer it conflicted with. Nothing acknowledged is lost: a
  conflict guarantees the failed attempt never landed, and the redo reads every commit
  that did;
- :func:`commit_errors`: pyiceberg's ``CommitFailedException`` / ``ValidationException``
  become :class:`~doctordata.errors.CommitConflictError` naming the table and the fix.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from doctordata.errors import CommitConflictError

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.table import Table, Transaction

T = TypeVar("T")

# Whole-operation attempts. Each attempt already includes pyiceberg's own swap retries;
# a redo is needed only when another writer touched the same rows, so with N concurrent
# writers on the same keys N attempts always suffice (one of them commits each time).
ATTEMPTS = 12


def conflict_types() -> tuple[type[Exception], ...]:
    """The pyiceberg exceptions that mean "a concurrent commit won; nothing of ours landed"."""
    from pyiceberg.exceptions import CommitFailedException, ValidationException

    return (CommitFailedException, ValidationException)


def _table_name(table: Any) -> str:
    name = table.name() if callable(getattr(table, "name", None)) else table
    return ".".join(name) if isinstance(name, tuple) else str(name)


def conflict_error(table: Any, what: str, cause: BaseException, attempts: int = 1) -> Exception:
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    return CommitConflictError(
        f"{what} on table {_table_name(table)!r} conflicted with concurrent commits{tries} "
        f"({type(cause).__name__}: {str(cause)[:300]}); nothing of it was committed. Run it "
        "again (it will read the other writers' data), or have fewer writers change the "
        "same rows at once."
    )


@contextmanager
def commit_errors(table: Any, what: str) -> Iterator[None]:
    """Turn pyiceberg's concurrent-commit exceptions raised inside into CommitConflictError."""
    try:
        yield
    except conflict_types() as exc:
        raise conflict_error(table, what, exc) from None


def redo_on_conflict(
    table: Table, operation: Callable[[Table], T], *, what: str, attempts: int | None = None
) -> T:
    """``operation(table)``; when its commit conflicts, reload the table and run it again.

    ``operation`` must read everything it plans from the table it is given (so a redo
    re-reads), and its input must be replayable (an Arrow table, not a stream).
    """
    conflicts = conflict_types()
    attempts = ATTEMPTS if attempts is None else attempts
    last: BaseException | None = None
    for attempt in range(attempts):
        if attempt:
            # Writers that conflicted at once would otherwise redo in lock-step.
            time.sleep(random.uniform(0, 0.005 * 2 ** min(attempt, 6)))
            table.refresh()
        try:
            return operation(table)
        except conflicts as exc:
            last = exc
    assert last is not None
    raise conflict_error(table, what, last, attempts) from None


def rows_added_since(
    table: Table,
    base: Any,
    head: Any,
    match: Any,
    columns: tuple[str, ...],
    keys: pa.Table | None = None,
) -> bool:
    """Whether a data file added after snapshot ``base`` (up to ``head``) holds a row
    matching ``match`` and, if ``keys`` is given, whose ``columns`` are one of its rows.

    Bounds first (manifests only), then the rows (``columns`` only) of the files left."""
    from pyiceberg.expressions import AlwaysTrue
    from pyiceberg.io.pyarrow import ArrowScan
    from pyiceberg.table import FileScanTask
    from pyiceberg.table.update.validate import _added_data_files

    entries = list(_added_data_files(table, head, match, None, base))
    if not entries:
        return False
    schema = table.schema()
    # Filtered here, not by the scan: Arrow prunes is_nan by Parquet min/max (which
    # skip NaN), so a scan filtered on a NaN key misses the very rows we look for.
    scan = ArrowScan(
        table_metadata=table.metadata,
        io=table.io,
        projected_schema=schema.select(*columns),
        row_filter=AlwaysTrue(),
    )
    for entry in entries:
        try:
            rows = filter_rows(scan.to_table([FileScanTask(entry.data_file)]), schema, match)
        except (OSError, ValueError):
            return True  # cannot read it: assume the worst, the caller redoes
        if keys is not None and rows.num_rows:
            rows = rows.select(list(columns)).join(
                keys.select(list(columns)), list(columns), join_type="left semi"
            )
        if rows.num_rows:
            return True
    return False


def filter_rows(rows: pa.Table, schema: Any, match: Any) -> pa.Table:
    """``rows`` filtered in memory by the Iceberg expression ``match``."""
    from pyiceberg.expressions.visitors import bind
    from pyiceberg.io.pyarrow import expression_to_pyarrow

    if rows.num_rows == 0:
        return rows
    return rows.filter(expression_to_pyarrow(bind(schema, match, case_sensitive=True)))


def guarded_append(
    tx: Transaction,
    data: pa.Table,
    *,
    match: Any,
    columns: tuple[str, ...],
    keys: pa.Table | None = None,
    properties: Mapping[str, str] | None = None,
    volatile: tuple[str, ...] = (),
) -> None:
    """Stage an append of ``data`` in ``tx`` that fails to commit (ValidationException) if
    a concurrent commit added rows matching ``match`` (and ``keys``: see
    :func:`rows_added_since`) since ``tx`` began.

    ``volatile``: snapshot properties computed from the read snapshot; they are dropped
    when the commit lands on a newer head (they may be stale there).
    """
    from pyiceberg.io.pyarrow import _check_pyarrow_schema_compatible, _dataframe_to_data_files
    from pyiceberg.table import TableProperties
    from pyiceberg.utils.properties import property_as_bool

    # The check Transaction.append makes (required columns without nulls, types).
    _check_pyarrow_schema_compatible(
        tx.table_metadata.schema(),
        provided_schema=data.schema,
        format_version=tx.table_metadata.format_version,
    )
    merge = property_as_bool(
        tx.table_metadata.properties,
        TableProperties.MANIFEST_MERGE_ENABLED,
        TableProperties.MANIFEST_MERGE_ENABLED_DEFAULT,
    )
    producer = _guarded_class(merge)(
        operation=_append_operation(),
        transaction=tx,
        io=tx._table.io,
        snapshot_properties=dict(properties or {}),
    )
    producer.guard = (match, columns, keys, volatile)
    with producer:
        for data_file in _dataframe_to_data_files(
            table_metadata=tx.table_metadata,
            write_uuid=producer.commit_uuid,
            df=data,
            io=tx._table.io,
        ):
            producer.append_data_file(data_file)


def _append_operation() -> Any:
    from pyiceberg.table.snapshots import Operation

    return Operation.APPEND


_classes: dict[bool, type] = {}


def _guarded_class(merge: bool) -> type:
    """pyiceberg's merge or fast append producer, with a key-set validation on retries."""
    if merge in _classes:
        return _classes[merge]
    from pyiceberg.exceptions import ValidationException
    from pyiceberg.table.update.snapshot import _FastAppendFiles, _MergeAppendFiles

    base: type = _MergeAppendFiles if merge else _FastAppendFiles

    class _GuardedAppend(base):
        guard: tuple[Any, tuple[str, ...], pa.Table | None, tuple[str, ...]]

        def _validate_concurrency(self) -> None:
            window = self._commit_window
            if window is None or window.is_empty() or window.head is None:
                return
            match, columns, keys, volatile = self.guard
            props: dict[str, str] = getattr(self, "snapshot_properties", {})
            self.snapshot_properties = {k: v for k, v in props.items() if k not in volatile}
            table = self._transaction._table
            if rows_added_since(table, window.base, window.head, match, columns, keys):
                raise ValidationException(
                    "rows with the keys being written were added by a concurrent commit"
                )

        def _clean_all_uncommitted(self) -> None:
            # pyiceberg calls this only when the commit did not land (CommitFailed or
            # Validation exception); our data files are then garbage, not orphans to age.
            super()._clean_all_uncommitted()
            for data_file in self._added_data_files:
                with contextlib.suppress(OSError):  # else orphan cleanup removes it later
                    self._io.delete(data_file.file_path)

    _classes[merge] = _GuardedAppend
    return _GuardedAppend
