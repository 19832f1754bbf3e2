"""Scan planning: one Iceberg table reference -> the data files an engine must read.

pyiceberg's ``plan_files`` does the pruning (partition + column statistics) with the
pushed-down row filter. The plan carries the field-id schema so engines can read renamed
and added columns correctly, and it never hides delete files: a table whose planned
files have deletes is materialised through pyiceberg (which applies them) instead.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from pyiceberg.expressions import BooleanExpression
    from pyiceberg.table import Table
    from pyiceberg.types import IcebergType


@dataclass(frozen=True)
class ScanColumn:
    """One top-level column of the scanned schema."""

    field_id: int
    name: str
    type: IcebergType
    required: bool


@dataclass
class ScanPlan:
    """What an engine needs to read one table reference."""

    table: str
    snapshot_id: int | None
    columns: tuple[ScanColumn, ...]
    # Data files to read, as pyiceberg reports them (file:///..., /..., s3://...).
    files: tuple[str, ...]
    files_total: int
    bytes_planned: int
    # Files carry Iceberg field ids; False for pyiceberg-materialised fallback files.
    has_field_ids: bool = True
    # Some field was called something else in an older schema (files may use old names).
    renamed: bool = False
    # Number of delete files applied through the pyiceberg fallback.
    delete_files: int = 0
    planning_ms: float = 0.0
    # pyiceberg FileIO that can open the files (footer reads for name-matching engines).
    io: Any = field(default=None, repr=False)

    @property
    def files_skipped(self) -> int:
        return max(self.files_total - len(self.files), 0)


def local_path(uri: str) -> str:
    """file:///a/b -> /a/b; other URIs unchanged."""
    if uri.startswith("file:"):
        return urlsplit(uri).path
    return uri


def _columns(schema: Any) -> tuple[ScanColumn, ...]:
    return tuple(ScanColumn(f.field_id, f.name, f.field_type, f.required) for f in schema.fields)


def _was_renamed(table: Table) -> bool:
    names: dict[int, str] = {}
    for schema in table.metadata.schemas:
        for f in schema.fields:
            if names.setdefault(f.field_id, f.name) != f.name:
                return True
    return False


def _total_files(table: Table, snapshot_id: int | None) -> int:
    snap = (
        table.metadata.snapshot_by_id(snapshot_id)
        if snapshot_id is not None
        else table.metadata.current_snapshot()
    )
    if snap is None:
        return 0
    summary = snap.summary
    value = summary.additional_properties.get("total-data-files") if summary else None
    if value is not None:
        return int(value)
    return sum(1 for _ in table.scan(snapshot_id=snap.snapshot_id).plan_files())


def plan_scan(
    name: str,
    table: Table,
    row_filter: BooleanExpression | None,
    snapshot_id: int | None,
    tmp_dir: Path,
) -> ScanPlan:
    """Plan the files of ``table`` (at ``snapshot_id``) that may hold rows passing the filter."""
    from pyiceberg.expressions import AlwaysTrue

    started = time.perf_counter()
    scan = table.scan(
        row_filter=row_filter if row_filter is not None else AlwaysTrue(),
        snapshot_id=snapshot_id,
        case_sensitive=False,
    )
    schema = scan.projection()
    # A snapshot never changes, so its plan for a given filter can be reused.
    effective = snapshot_id if snapshot_id is not None else table.metadata.current_snapshot_id
    key = (str(table.metadata.table_uuid), effective, str(row_filter))
    cached = _PLAN_CACHE.get(key) if effective is not None else None
    if cached is None:
        tasks = list(scan.plan_files())
        deletes = sum(len(t.delete_files) for t in tasks)
        files = tuple(t.file.file_path for t in tasks)
        size = sum(t.file.file_size_in_bytes for t in tasks)
        cached = (files, size, deletes, _total_files(table, snapshot_id))
        if effective is not None and not deletes:
            if len(_PLAN_CACHE) >= _PLAN_CACHE_SIZE:
                _PLAN_CACHE.pop(next(iter(_PLAN_CACHE)))
            _PLAN_CACHE[key] = cached
    files, size, deletes, total = cached
    plan = ScanPlan(
        table=name,
        snapshot_id=snapshot_id,
        columns=_columns(schema),
        files=files,
        files_total=total,
        bytes_planned=size,
        renamed=_was_renamed(table),
        delete_files=deletes,
        io=table.io,
    )
    if deletes:
        # Engines read plain Parquet and would silently ignore the deletes: let pyiceberg
        # apply them and hand the engine the result instead.
        plan.files = (_materialise(scan, tmp_dir),)
        plan.has_field_ids = False
        plan.renamed = False
    plan.planning_ms = (time.perf_counter() - started) * 1000
    return plan


# (table uuid, snapshot id, row filter text) -> (files, bytes, delete files, total files)
_PLAN_CACHE: dict[tuple[str, int, str], tuple[tuple[str, ...], int, int, int]] = {}
_PLAN_CACHE_SIZE = 512


def _materialise(scan: Any, tmp_dir: Path) -> str:
    import pyarrow.parquet as pq

    tmp_dir.mkdir(parents=True, exist_ok=True)
    target = tmp_dir / f"deletes-applied-{uuid.uuid4().hex}.parquet"
    pq.write_table(scan.to_arrow(), target)
    return str(target)


_FOOTER_CACHE: dict[str, tuple[tuple[int, str], ...]] = {}


def _footer_names(path: str, io: Any) -> tuple[tuple[int, str], ...]:
    # Data files are immutable, so a footer read once is valid forever.
    cached = _FOOTER_CACHE.get(path)
    if cached is not None:
        return cached
    import pyarrow.parquet as pq

    with io.new_input(path).open() as fh:
        arrow_schema = pq.ParquetFile(fh).schema_arrow
    pairs = []
    for f in arrow_schema:
        meta = f.metadata or {}
        raw = meta.get(b"PARQUET:field_id")
        if raw is not None:
            pairs.append((int(raw), f.name))
    result = tuple(pairs)
    if len(_FOOTER_CACHE) > 100_000:
        _FOOTER_CACHE.clear()
    _FOOTER_CACHE[path] = result
    return result


def group_by_physical_names(plan: ScanPlan) -> list[tuple[dict[int, str], list[str]]]:
    """Files grouped by their own field-id -> name mapping (for name-matching engines)."""
    groups: dict[tuple[tuple[int, str], ...], list[str]] = {}
    for path in plan.files:
        groups.setdefault(_footer_names(path, plan.io), []).append(path)
    return [(dict(k), v) for k, v in groups.items()]
