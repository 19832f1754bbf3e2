"""Scan planning: one Iceberg table reference -> the data files an engine must read.

pyiceberg's ``plan_files`` does the pruning (partition + column statistics) with the
pushed-down row filter; engines/fast_scan.py builds the same ScanPlan without pyiceberg
for the common scans (no delete files, DuckDB) and hands everything else to plan_scan. The plan carries the field-id schema so engines can read renamed
and added columns correctly, and it never hides delete files: a table whose planned
files have deletes is materialised through pyiceberg (which applies them) instead.

Every planned file is checked before an engine sees the plan (datafiles.check_files): a
missing or resized local file fails the query instead of being skipped by a glob.

Column names that are not valid Avro names (``user-id``, ``first name``, ``a.b``) are
stored in the Parquet files under pyiceberg's sanitised name (``user_x2Did``): for the
engines, which match Parquet columns by name, that is a rename, and it is handled as one
(per-file names from the footers' field ids).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from doctordata.engines.caches import BoundedCache, cache
from doctordata.engines.datafiles import PlannedFile, check_files, read_errors

if TYPE_CHECKING:
    from pyiceberg.expressions import BooleanExpression
    from pyiceberg.table import Table
    from pyiceberg.types import IcebergType

    from doctordata.storage.tier import Tier


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
    # The table only ever had one schema and no name mapping: every file holds the current
    # columns under their current names and types, so engines may read by name, which keeps
    # their file statistics (DuckDB's join ordering needs them).
    uniform: bool = False
    # Read through pyiceberg into a scratch file (deletes applied / nested renames).
    materialised: bool = False
    # Number of delete files applied through the pyiceberg fallback.
    delete_files: int = 0
    planning_ms: float = 0.0
    # pyiceberg FileIO that can open the files (footer reads for name-matching engines).
    io: Any = field(default=None, repr=False)
    # Physical name -> field id for files written without field ids (add_files); a
    # non-empty mapping means some files may lack ids and need footer reads.
    name_mapping: dict[str, int] = field(default_factory=dict)
    # The table's data files this plan reads, with their manifest sizes (checked before
    # every run; for a materialised plan, the files pyiceberg read).
    sources: tuple[PlannedFile, ...] = ()
    # Manifests of the snapshot read / listed (the fast planner skips manifests by their
    # partition summaries); None where pyiceberg planned.
    manifests_read: int | None = None
    manifests_total: int | None = None

    @property
    def needs_footers(self) -> bool:
        """Files may not match the current schema by field id alone."""
        return self.has_field_ids and bool(self.name_mapping)

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


def _name_mapping_if_set(table: Table) -> dict[str, int]:
    # pyiceberg writes field ids; only tables with an explicit name mapping (add_files of
    # foreign files) can hold files without them.
    if "schema.name-mapping.default" not in table.metadata.properties:
        return {}
    return name_mapping_of(table)


def _renames(table: Table) -> tuple[bool, bool]:
    """(a top-level column, a field inside a struct/list/map) is stored under another name.

    Either it had another name in an older schema, or its name is not a valid Avro name
    and pyiceberg wrote it sanitised (``user-id`` -> ``user_x2Did``). Engines map
    top-level columns by field id (or per-file names) but cast nested values by name, so
    tables with nested renames are read through pyiceberg, which follows the ids down.
    """
    key = table.metadata_location or ""
    cached = _RENAMES.get(key) if key else None
    if cached is not None:
        return cached
    from pyiceberg.schema import index_by_id, make_compatible_name

    names: dict[int, str] = {}
    top = nested = False
    for schema in table.metadata.schemas:
        top_ids = {f.field_id for f in schema.fields}
        for field_id, found in index_by_id(schema).items():
            before = names.setdefault(field_id, found.name)
            stored = make_compatible_name(found.name) if found.name else found.name
            if before != found.name or stored != found.name:
                if field_id in top_ids:
                    top = True
                else:
                    nested = True
    if key:
        _RENAMES.put(key, (top, nested))
    return top, nested


# metadata location -> _renames(); a metadata file never changes.
_RENAMES: BoundedCache[str, tuple[bool, bool]] = cache("renames", 512)


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
    tiers: Mapping[str, Tier] | None = None,
) -> ScanPlan:
    """Plan the files of ``table`` (at ``snapshot_id``) that may hold rows passing the filter.

    Raises DataFileMissingError / DataCorruptionError when a planned local file is missing
    or has another size than its manifest records (``tiers`` name its tier).
    """
    from pyiceberg.expressions import AlwaysTrue

    started = time.perf_counter()
    scan = table.scan(
        row_filter=row_filter if row_filter is not None else AlwaysTrue(),
        snapshot_id=snapshot_id,
        case_sensitive=False,
    )
    schema = scan.projection()
    # A manifest list is immutable, so its plan for a given filter can be reused. Keyed by
    # its path, not the snapshot id: a restored copy has the same ids but other paths.
    snap = (
        table.metadata.snapshot_by_id(snapshot_id)
        if snapshot_id is not None
        else table.metadata.current_snapshot()
    )
    manifest_list = snap.manifest_list if snap is not None else None
    key = (manifest_list or "", str(row_filter), str(table.metadata.table_uuid))
    cached = _PLAN_CACHE.get(key) if manifest_list else None
    if cached is None:
        tasks = list(scan.plan_files())
        deletes = sum(len(t.delete_files) for t in tasks)
        files = tuple(t.file.file_path for t in tasks)
        sizes = tuple(t.file.file_size_in_bytes for t in tasks)
        cached = (files, sizes, sum(sizes), deletes, _total_files(table, snapshot_id))
        if manifest_list and not deletes:
            _PLAN_CACHE.put(key, cached)
    files, sizes, size, deletes, total = cached
    # A cached plan is a list of names: whether the files are still there is checked anew.
    sources = tuple(PlannedFile(name, f, s) for f, s in zip(files, sizes, strict=True))
    check_files(sources, tiers or {})
    renamed, nested_renamed = _renames(table)
    mapping = _name_mapping_if_set(table)
    plan = ScanPlan(
        table=name,
        snapshot_id=snapshot_id,
        columns=_columns(schema),
        files=files,
        files_total=total,
        bytes_planned=size,
        renamed=renamed,
        delete_files=deletes,
        io=table.io,
        name_mapping=mapping,
        uniform=len(table.metadata.schemas) == 1 and not mapping and not renamed,
        sources=sources,
    )
    if deletes or nested_renamed:
        # Engines read plain Parquet and would silently ignore the deletes (or misread
        # renamed nested fields): let pyiceberg read and hand the engine the result.
        plan.files = (_materialise(name, scan, tmp_dir),)
        plan.has_field_ids = False
        plan.renamed = False
        plan.uniform = False
        plan.materialised = True
    plan.planning_ms = (time.perf_counter() - started) * 1000
    return plan


# (manifest list path, row filter text, table uuid)
#   -> (files, their sizes, bytes, deletes, total files)
_PLAN_CACHE: BoundedCache[
    tuple[str, str, str], tuple[tuple[str, ...], tuple[int, ...], int, int, int]
] = cache("file plans", 512)


def _materialise(name: str, scan: Any, tmp_dir: Path) -> str:
    import pyarrow.parquet as pq

    tmp_dir.mkdir(parents=True, exist_ok=True)
    target = tmp_dir / f"pyiceberg-read-{uuid.uuid4().hex}.parquet"
    with read_errors(f"a data file of table {name}"):
        rows = scan.to_arrow()
    pq.write_table(rows, target)
    return str(target)


@dataclass(frozen=True)
class FileGroup:
    """Data files that share one physical layout."""

    # Field id -> column name as written in these files.
    names: dict[int, str]
    files: list[str]
    # The files carry Parquet field ids (False: matched through the table's name mapping).
    has_field_ids: bool


# path -> (has field ids, ((field id, physical name), ...)); ids None when absent.
_FOOTER_CACHE: BoundedCache[str, tuple[bool, tuple[tuple[int | None, str], ...]]] = cache(
    "parquet footers", 100_000
)


def _footer(path: str, io: Any) -> tuple[bool, tuple[tuple[int | None, str], ...]]:
    # Data files are immutable, so a footer read once is valid forever.
    cached = _FOOTER_CACHE.get(path)
    if cached is not None:
        return cached
    import pyarrow.parquet as pq

    with read_errors(f"data file {path}"), io.new_input(path).open() as fh:
        arrow_schema = pq.ParquetFile(fh).schema_arrow
    pairs: list[tuple[int | None, str]] = []
    for f in arrow_schema:
        raw = (f.metadata or {}).get(b"PARQUET:field_id")
        pairs.append((int(raw) if raw is not None else None, f.name))
    result = (any(i is not None for i, _ in pairs), tuple(pairs))
    _FOOTER_CACHE.put(path, result)
    return result


def group_files(plan: ScanPlan) -> list[FileGroup]:
    """Files grouped by physical layout: field id -> name as written (footer reads, cached).

    Files without field ids (added with add_files from foreign writers) are mapped through
    the table's name mapping; a column the mapping cannot place is absent (reads as NULL).
    """
    groups: dict[tuple[bool, tuple[tuple[int, str], ...]], list[str]] = {}
    for path in plan.files:
        has_ids, pairs = _footer(path, plan.io)
        if has_ids:
            names = tuple((i, n) for i, n in pairs if i is not None)
        else:
            names = tuple(
                (plan.name_mapping[n.lower()], n)
                for _, n in pairs
                if n.lower() in plan.name_mapping
            )
        groups.setdefault((has_ids, names), []).append(path)
    return [FileGroup(dict(k[1]), v, k[0]) for k, v in groups.items()]


def name_mapping_of(table: Table) -> dict[str, int]:
    """Lower-case physical name -> field id from the table's name mapping (top level)."""
    mapping = table.name_mapping()
    out: dict[str, int] = {}
    if mapping is None:
        return out
    for mapped in mapping:
        for alias in mapped.names:
            out.setdefault(alias.lower(), mapped.field_id)
    return out
