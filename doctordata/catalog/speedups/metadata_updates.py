"""Apply Iceberg metadata updates without pyiceberg 0.12's defensive deep copies.

pyiceberg 0.12's ``update_table_metadata`` ends with ``model_copy(deep=True)`` of the whole
table metadata, and ``Transaction.table_metadata`` calls it on every access (about 18
times per append, plus once more in the catalog commit). The metadata holds every
snapshot, so each append deep-copied O(snapshots) Python objects ~19 times: the commit
at append #300 took 14x the commit at #10, almost all of it in ``copy.deepcopy``.

The copy guards against nothing here: every metadata model is a frozen pydantic model,
the update handlers build new lists and dicts instead of editing their input, and
neither pyiceberg nor doctordata edits a metadata object's containers in place (the only
in-place write, ``construct_refs``, runs while a new object is being validated).
``install()`` therefore points the two callers that matter (``Transaction.table_metadata``
and ``Catalog._update_and_stage_table``) at :func:`apply_updates`, which runs the same
update steps and returns the result without the deep copy. Validated creation
(``enforce_validation=True``) still goes through pyiceberg's own function.

Only pyiceberg 0.12.x is patched; on any other version ``install()`` does nothing, so an
upgrade falls back to pyiceberg's behaviour until this is re-checked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyiceberg.table.metadata import TableMetadata
    from pyiceberg.table.update import TableUpdate

_PATCHED_VERSION = "0.12."
_state: dict[str, Any] = {}


def apply_updates(
    base_metadata: TableMetadata,
    updates: tuple[TableUpdate, ...],
    enforce_validation: bool = False,
    metadata_location: str | None = None,
) -> TableMetadata:
    """``update_table_metadata`` with the same signature and result, minus the deep copy.

    The result may share unchanged (frozen) parts with ``base_metadata``.
    """
    from datetime import datetime

    from pyiceberg.table.update import (
        _apply_table_update,
        _TableMetadataUpdateContext,
        _update_table_metadata_log,
    )
    from pyiceberg.utils.datetime import datetime_to_millis

    if enforce_validation:
        original = _state["original"]
        result: TableMetadata = original(
            base_metadata, updates, enforce_validation=True, metadata_location=metadata_location
        )
        return result
    context = _TableMetadataUpdateContext()
    metadata = base_metadata
    for update in updates:
        metadata = _apply_table_update(update, metadata, context)
    if context.has_changes():
        if metadata_location:
            metadata = _update_table_metadata_log(
                metadata, metadata_location, base_metadata.last_updated_ms
            )
        if metadata.last_updated_ms == base_metadata.last_updated_ms:
            now_ms = datetime_to_millis(datetime.now().astimezone())
            metadata = metadata.model_copy(update={"last_updated_ms": now_ms})
    # pyiceberg checks these after every update sequence; keep the same errors.
    metadata.spec().check_compatible(metadata.schema())
    metadata.sort_order().check_compatible(metadata.schema())
    return metadata


def _transaction_metadata(self: Any) -> TableMetadata:
    """Transaction.table_metadata, computed once per (base metadata, staged updates)."""
    base, updates = self._table.metadata, self._updates
    memo = getattr(self, "_doctordata_metadata_memo", None)
    if memo is not None and memo[0] is base and memo[1] is updates:
        cached: TableMetadata = memo[2]
        return cached
    metadata = apply_updates(base, updates)
    # Hold base and updates themselves (not their ids) so a recycled id can never match.
    self._doctordata_metadata_memo = (base, updates, metadata)
    return metadata


def installed() -> bool:
    return bool(_state.get("installed"))


def install() -> bool:
    """Patch pyiceberg 0.12.x (idempotent). Returns whether the patch is active."""
    if _state.get("installed"):
        return True
    import pyiceberg
    import pyiceberg.catalog as catalog_module
    import pyiceberg.table as table_module
    import pyiceberg.table.update as update_module

    if not pyiceberg.__version__.startswith(_PATCHED_VERSION):
        return False
    original = update_module.update_table_metadata
    if getattr(catalog_module, "update_table_metadata", None) is not original:
        return False  # pyiceberg changed how the catalog imports it: leave it alone
    _state["original"] = original
    catalog_module.update_table_metadata = apply_updates
    table_module.Transaction.table_metadata = property(_transaction_metadata)
    _state["installed"] = True
    return True
