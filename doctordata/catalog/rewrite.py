"""One snapshot that replaces data files by equivalent ones (moves, compaction).

pyiceberg's overwrite producer validates like a row-level overwrite: under its default
serializable isolation, *any* data file appended meanwhile fails the commit, so a mover
or a compaction would never finish on a table with a steady trickle of appends. A file
rewrite changes no rows, so (like Iceberg's RewriteFiles in Java) it only needs the
replaced files to still be live and no new delete files to apply to them.

It also drops manifests that hold no live file. pyiceberg's overwrite keeps every
manifest it finds no file to remove from, including the previous commit's manifest of
DELETED entries, so each move or compaction left one more dead manifest that every later
commit and scan planning read again (18 after 9 round trips between two tiers).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyiceberg.manifest import DataFile
    from pyiceberg.table import Table

OPERATION_PROPERTY = "doctordata.operation"


def producer_class_base() -> type:
    from pyiceberg.table.update.snapshot import _OverwriteFiles
    from pyiceberg.table.update.validate import (
        _validate_data_files_exist,
        _validate_no_new_deletes_for_data_files,
    )

    class _RewriteFiles(_OverwriteFiles):
        def _existing_manifests(self) -> list[Any]:
            # A manifest with no ADDED or EXISTING entry references no live file of this
            # snapshot (its DELETED entries belong to earlier commits): leave it out.
            return [
                m
                for m in super()._existing_manifests()
                if m.has_added_files() or m.has_existing_files()
            ]

        def _validate_concurrency(self) -> None:
            window = self._commit_window
            if window is None or window.is_empty() or window.head is None:
                return
            table = self._transaction._table
            if self._deleted_data_files:
                _validate_data_files_exist(
                    table, window.head, self._deleted_data_files, window.base
                )
                _validate_no_new_deletes_for_data_files(
                    table, window.head, None, self._deleted_data_files, window.base
                )

    return _RewriteFiles


class StagedRewrite:
    """A rewrite whose manifests and manifest list are written but not yet committed.

    Nothing references them until :meth:`commit` swaps the catalog pointer, so staging
    can run while the new files are still being written (the mover copies and stages at
    the same time); :meth:`discard` deletes what staging wrote. If another commit lands
    in between, pyiceberg's retry re-validates and re-stages against the new head.
    """

    def __init__(self, tx: Any, producer: Any) -> None:
        self._tx = tx
        self._producer = producer

    def commit(self) -> Table:
        from doctordata.catalog.commits import commit_errors

        operation = self._producer.snapshot_properties.get(OPERATION_PROPERTY, "file rewrite")
        with commit_errors(self._tx._table, operation):
            table: Table = self._tx.commit_transaction()
        return table

    def discard(self) -> None:
        """Delete the staged manifests and manifest list (the catalog never saw them)."""
        self._producer._clean_all_uncommitted()


def stage_rewrite(
    table: Table,
    removed: Iterable[DataFile],
    added: Iterable[DataFile],
    *,
    operation: str,
    properties: Mapping[str, str] | None = None,
    producer_class: type | None = None,
) -> StagedRewrite:
    """Write the manifests of one snapshot removing ``removed`` and adding ``added``.

    ``producer_class``: a subclass of :func:`producer_class_base` that writes them differently."""
    from pyiceberg.table.snapshots import Operation

    tx = table.transaction()
    props = {OPERATION_PROPERTY: operation[:200], **(properties or {})}
    producer = (producer_class or producer_class_base())(
        operation=Operation.OVERWRITE, transaction=tx, io=table.io, snapshot_properties=props
    )
    with producer:
        for f in removed:
            producer.delete_data_file(f)
        for f in added:
            producer.append_data_file(f)
    return StagedRewrite(tx, producer)


def rewrite_files(
    table: Table,
    removed: Iterable[DataFile],
    added: Iterable[DataFile],
    *,
    operation: str,
    properties: Mapping[str, str] | None = None,
    before_commit: object = None,
) -> Table:
    """Commit one snapshot removing ``removed`` and adding ``added`` (same rows)."""
    staged = stage_rewrite(table, removed, added, operation=operation, properties=properties)
    if callable(before_commit):
        before_commit()
    return staged.commit()
