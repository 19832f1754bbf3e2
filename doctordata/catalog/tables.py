"""Namespace and table operations on the pyiceberg catalog, with clear errors.

Each function validates names and input before touching storage, then calls pyiceberg;
nothing here re-implements what pyiceberg already does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from doctordata.catalog.commits import (
    commit_errors,
    filter_rows,
    guarded_append,
    redo_on_conflict,
)
from doctordata.catalog.data import normalize_schema, to_arrow
from doctordata.catalog.filters import where_to_expression
from doctordata.catalog.identifiers import check_namespace, parse_table_name
from doctordata.catalog.partitioning import build_spec
from doctordata.catalog.small_append import small_append
from doctordata.catalog.speedups.schema_cache import VerdictCache, arrow_key
from doctordata.errors import (
    AlreadyExistsError,
    DoctorDataError,
    InvalidArgumentError,
    NamespaceNotEmptyError,
    NamespaceNotFoundError,
    SchemaMismatchError,
    SnapshotNotFoundError,
    TableNotFoundError,
    suggest,
)

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.catalog import Catalog
    from pyiceberg.table import Table

    from doctordata.storage.tier import Tier


# Parquet writer settings of new tables, chosen by measurement against DuckLake (TPC-H SF 1
# loaded from Parquet, the 22 queries, bytes on disk; interleaved in each run; figures in
# benchmarks/results/ducklake.md, "Bulk load: the codec decision"). DuckLake writes Snappy
# in DuckDB's 122,880-row row groups; with the same layout a bulk load costs what
# DuckLake's does (0.94-1.07x in four runs), zstd level 1 1.10-1.28x for 29% fewer bytes
# (its COPY costs ~25% more CPU). Queries: 0.85-0.91x DuckLake's with Snappy, 0.89-0.95x
# with zstd. Only Snappy meets the three goals (load and queries <= 1.0x, bytes <= 1.1x
# DuckLake's). zstd stays one property away for capacity-bound tables (the NAS):
# ``properties={"write.parquet.compression-codec": "zstd"}`` (level 1 unless
# ``write.parquet.compression-level`` says otherwise, in both writers). 122,880 rows per
# row group: DuckDB splits a scan per row group (parallelism and min/max pruning: a point
# query on a sorted column reads 122,880 rows). Statistics (min/max/nulls per column
# chunk) are written for every column; DuckDB and ClickHouse both skip row groups with
# them. A table may override any of these (create_table(..., properties={...})).
PARQUET_DEFAULTS = {
    "write.parquet.row-group-limit": "122880",
    "write.parquet.compression-codec": "snappy",
}


def table_properties(commit_retries: int) -> dict[str, str]:
    """Properties every new table gets (the caller's own properties win).

    - enough commit retries for several writer processes;
    - manifest merging on appends: without it every append adds one manifest to the
      manifest list, which each later commit reads and rewrites (commit time grows with
      the number of appends, and so does scan planning). Iceberg's own defaults then
      merge once 100 manifests pile up (``commit.manifest.min-count-to-merge``); a
      manifest of 256+ entries is never rewritten (catalog/speedups/manifest_merge.py).
      Smaller ``commit.manifest.target-size-bytes`` merged more often, not less
      (benchmarks/results/ducklake.md, "Appends");
    - the metadata-log is already capped by pyiceberg's default
      ``write.metadata.previous-versions-max`` = 100; snapshots are never dropped here
      (time travel keeps working until the user expires them with ``lh.maintain()``);
    - the Parquet layout of :data:`PARQUET_DEFAULTS`.
    """
    return {
        **PARQUET_DEFAULTS,
        "commit.manifest-merge.enabled": "true",
        "commit.retry.num-retries": str(commit_retries),
        "commit.retry.min-wait-ms": "10",
        "commit.retry.max-wait-ms": "500",
        "commit.retry.total-timeout-ms": "600000",
    }


# -- namespaces ----------------------------------------------------------------------
def create_namespace(catalog: Catalog, name: str, *, exist_ok: bool = True) -> None:
    from pyiceberg.exceptions import NamespaceAlreadyExistsError

    check_namespace(name)
    try:
        catalog.create_namespace(name)
    except NamespaceAlreadyExistsError:
        if not exist_ok:
            raise AlreadyExistsError(f"namespace {name!r} already exists") from None


def list_namespaces(catalog: Catalog) -> list[str]:
    return sorted(".".join(ns) for ns in catalog.list_namespaces())


def drop_namespace(catalog: Catalog, name: str) -> None:
    from pyiceberg.exceptions import NoSuchNamespaceError

    check_namespace(name)
    try:
        tables = catalog.list_tables(name)
    except NoSuchNamespaceError:
        raise NamespaceNotFoundError(_no_namespace(catalog, name)) from None
    if tables:
        names = ", ".join(".".join(t) for t in tables[:10])
        raise NamespaceNotEmptyError(
            f"namespace {name!r} still holds {len(tables)} table(s): {names}. "
            "Drop them first with lh.drop_table(name) (`purge=True` also deletes their files)."
        )
    catalog.drop_namespace(name)


def _no_namespace(catalog: Catalog, name: str) -> str:
    existing = list_namespaces(catalog)
    return (
        f"namespace {name!r} does not exist.{suggest(name, existing)} "
        f"Existing: {', '.join(existing) or 'none'}; create it with lh.create_namespace({name!r})"
    )


# -- tables --------------------------------------------------------------------------
def list_tables(catalog: Catalog, namespace: str | None = None) -> list[str]:
    from pyiceberg.exceptions import NoSuchNamespaceError

    namespaces = [namespace] if namespace else list_namespaces(catalog)
    out: list[str] = []
    for ns in namespaces:
        check_namespace(ns)
        try:
            out.extend(".".join(t) for t in catalog.list_tables(ns))
        except NoSuchNamespaceError:
            raise NamespaceNotFoundError(_no_namespace(catalog, ns)) from None
    return sorted(out)


def load_table(catalog: Catalog, name: str) -> Table:
    from pyiceberg.exceptions import NoSuchTableError

    ns, tbl = parse_table_name(name)
    try:
        return catalog.load_table((ns, tbl))
    except NoSuchTableError:
        raise TableNotFoundError(no_table(catalog, name)) from None


def no_table(catalog: Catalog, name: str) -> str:
    try:
        existing = list_tables(catalog)
    except DoctorDataError:
        existing = []
    hint = suggest(name, existing) or suggest(name.split(".")[-1], existing)
    listing = ", ".join(existing[:20]) if existing else "none yet"
    return f"table {name!r} does not exist.{hint} Tables: {listing}"


def _iceberg_schema(arrow_schema: pa.Schema) -> Any:
    from pyiceberg.catalog import Catalog as _Catalog
    from pyiceberg.schema import assign_fresh_schema_ids

    try:
        # Arrow schemas carry no field ids; give them real ones so partition specs can
        # reference columns before the catalog assigns the final ids by name.
        return assign_fresh_schema_ids(
            _Catalog._convert_schema_if_needed(normalize_schema(arrow_schema))
        )
    except (ValueError, TypeError) as exc:
        raise SchemaMismatchError(
            f"cannot turn this Arrow schema into an Iceberg schema: {exc}"
        ) from None


def create_table(
    catalog: Catalog | Callable[[], Catalog],
    name: str,
    data_or_schema: Any,
    *,
    partition_by: Sequence[str] | None = None,
    sort_by: Sequence[str] | None = None,
    exist_ok: bool = False,
    properties: Mapping[str, str] | None = None,
    commit_retries: int = 30,
    tiers: Mapping[str, Tier] | None = None,
) -> Table:
    """Create ``ns.table`` from a pyarrow schema or from data (which is then appended).

    ``data_or_schema`` may be a Parquet file path: the table gets the file's schema and
    its rows, written as an append of the path writes them, in the same single commit
    that creates the table (catalog/first_write.py). ``sort_by``: the Iceberg sort order (``["time", "id DESC"]``, see catalog/sort_order.py)
    every write then honours within each file. The table gets a directory no other table
    uses (see :func:`new_table_location`); ``tiers`` are the lakehouse's tiers, checked for
    leftovers of dropped tables. ``catalog`` may be a function returning it, called once
    the arguments are checked (so a refused call creates no catalog)."""
    import os

    import pyarrow as pa
    from pyiceberg.exceptions import CommitFailedException, TableAlreadyExistsError
    from pyiceberg.schema import Schema

    from doctordata.catalog import first_write
    from doctordata.catalog.sort_order import build_sort_order, sort_for

    ns, tbl = parse_table_name(name)
    data = None
    path: str | None = None
    written: list[Any] = []
    if isinstance(data_or_schema, Schema):
        schema = data_or_schema
    elif isinstance(data_or_schema, pa.Schema):
        schema = _iceberg_schema(data_or_schema)
    elif first_write.is_path(data_or_schema):
        schema = _iceberg_schema(first_write.file_schema(name, data_or_schema))
        path = os.fspath(data_or_schema)
    else:
        data = to_arrow(data_or_schema)
        schema = _iceberg_schema(data.schema)
    if not schema.fields:
        raise SchemaMismatchError(
            f"table {name!r} would have no columns; give a schema or data with at least one"
        )
    spec = build_spec(schema, partition_by)
    order = build_sort_order(schema, sort_by)
    props = {**table_properties(commit_retries), **(properties or {})}
    if callable(catalog):
        catalog = catalog()
    new_namespace = ns not in list_namespaces(catalog)
    create_namespace(catalog, ns, exist_ok=True)
    try:
        if catalog.table_exists((ns, tbl)):
            raise TableAlreadyExistsError(name)
        location = new_table_location(catalog, ns, tbl, tiers)
        # One commit creates the table with its first rows: if writing them fails, the
        # catalog never lists the table (no empty table left behind).
        txn = catalog.create_table_transaction(
            (ns, tbl),
            schema=schema,
            partition_spec=spec,
            sort_order=order,
            properties=props,
            location=location,
        )
        if data is not None and data.num_rows:
            meta = txn.table_metadata
            txn.append(sort_for(meta, _conform_to(meta.schema(), data)))
        elif path is not None:
            written = first_write.write_first(txn, path, _cast, _conform)
        first_write.commit(txn, written, lambda: catalog.table_exists((ns, tbl)))
    except (TableAlreadyExistsError, CommitFailedException) as exc:
        if isinstance(exc, CommitFailedException) and "already exists" not in str(exc):
            raise
        if not exist_ok:
            raise AlreadyExistsError(
                f"table {name!r} already exists; pass exist_ok=True to reuse it, or "
                f"lh.append({name!r}, data) to add rows"
            ) from None
        table = catalog.load_table((ns, tbl))
        if path is not None:
            return append(table, path)
        return append(table, data) if data is not None and data.num_rows else table
    except BaseException:
        if new_namespace and not catalog.list_tables(ns):
            catalog.drop_namespace(ns)
        raise
    return catalog.load_table((ns, tbl))


def new_table_location(
    catalog: Catalog, ns: str, tbl: str, tiers: Mapping[str, Tier] | None
) -> str | None:
    """A directory for a new table that no other table uses (None: the catalog decides).

    The default is pyiceberg's ``<warehouse>/<ns>/<table>``. If any table of the catalog
    owns, contains or lies within it on any tier (a renamed table keeps its directory), or
    anything exists there on any tier (files a drop without purge left), the name gets a
    suffix: ``<table>-2``, ``<table>-3``, ... ('-' is not allowed in table names, so the
    suffix never collides with another table's default). If some table's metadata cannot
    be read (its directory is unknown), or a tier cannot be checked, a random suffix makes
    the directory unique instead.
    """
    import uuid

    from pyiceberg.catalog.sql import SqlCatalog

    from doctordata.catalog.locations import owned_dirs
    from doctordata.storage.locations import Canonicalizer, TierIndex, join

    warehouse = catalog.properties.get("warehouse")
    if not warehouse or not isinstance(catalog, SqlCatalog):
        return None  # e.g. a REST catalog: its server chooses locations
    if tiers is None:
        from doctordata.storage.tier import Tier

        tiers = {"warehouse": Tier("warehouse", warehouse)}
    base = catalog.load_namespace_properties(ns).get("location") or join(warehouse, ns)
    canon = Canonicalizer()
    index = TierIndex(tiers, canon)
    taken = owned_dirs(catalog, tiers, canon)
    if taken.unreadable:
        return join(base, f"{tbl}-{uuid.uuid4().hex[:12]}")
    for n in range(1, 1000):
        candidate = join(base, tbl if n == 1 else f"{tbl}-{n}")
        if taken.overlapping(canon.parts(candidate)) is not None:
            continue
        state = _on_disk(candidate, index)
        if state == "free":
            return candidate
        if state == "unknown":
            break
    return join(base, f"{tbl}-{uuid.uuid4().hex[:12]}")


def _on_disk(location: str, index: Any) -> str:
    """'used' if anything exists at ``location``'s relative path on some tier, 'free' if
    nothing does anywhere, 'unknown' if some tier could not be asked."""
    import os

    name, rel = index.locate(location)
    if name is None:
        scheme, path = index.canon.parts(location)
        if scheme != "file":
            return "unknown"
        return "used" if os.path.lexists(path) else "free"
    unknown = False
    for tier, (scheme, path) in index.each_tier(rel):
        try:
            exists = os.path.lexists(path) if scheme == "file" else tier.fs.exists(path)
        except OSError:
            unknown = True
            continue
        if exists:
            return "used"
    return "unknown" if unknown else "free"


def _schema_problems(table: Table, data: pa.Table) -> tuple[list[str], list[str], list[str]]:
    """(extra columns, missing required columns, columns with incompatible types)."""
    from pyiceberg.io.pyarrow import pyarrow_to_schema
    from pyiceberg.types import PrimitiveType

    schema = table.schema()
    names = {f.name for f in schema.fields}
    extra = [c for c in data.column_names if c not in names]
    missing = [f.name for f in schema.fields if f.required and f.name not in data.column_names]
    bad: list[str] = []
    for field in schema.fields:
        # Nested types are checked by pyiceberg itself when it writes.
        if field.name not in data.column_names or not isinstance(field.field_type, PrimitiveType):
            continue
        arrow_field = data.schema.field(field.name)
        try:
            import pyarrow as pa

            converted = (
                pyarrow_to_schema(
                    pa.schema([arrow_field]), name_mapping=_single_mapping(field.name)
                )
                .fields[0]
                .field_type
            )
        except (ValueError, TypeError):
            bad.append(f"{field.name} ({arrow_field.type} vs {field.field_type})")
            continue
        if (
            isinstance(converted, PrimitiveType)
            and isinstance(field.field_type, PrimitiveType)
            and converted != field.field_type
            and not _promotable(converted, field.field_type)
        ):
            bad.append(f"{field.name} (data {converted}, table {field.field_type})")
    return extra, missing, bad


def _single_mapping(name: str) -> Any:
    from pyiceberg.table.name_mapping import MappedField, NameMapping

    return NameMapping([MappedField(field_id=1, names=[name])])


def _promotable(src: Any, dst: Any) -> bool:
    from pyiceberg.types import (
        DoubleType,
        FloatType,
        IntegerType,
        LongType,
        StringType,
        TimestampType,
        TimestamptzType,
    )

    pairs = {
        (IntegerType, LongType),
        (FloatType, DoubleType),
        (TimestampType, TimestamptzType),
        (TimestamptzType, TimestampType),
        (StringType, StringType),
    }
    return (type(src), type(dst)) in pairs


# Arrow schemas known to fit a table schema (see _check_fits).
FITS = VerdictCache()


def _check_fits(table: Table, data: pa.Table, name: str, *, evolve: bool) -> Table:
    # Only a fit is remembered (per table schema object and Arrow schema): a mismatch is
    # worked out, and refused, every time (speedups/schema_cache.py).
    schema = table.schema()
    key = (id(schema), arrow_key(data.schema))
    if FITS.get(key, (schema,)):
        return table
    extra, missing, bad = _schema_problems(table, data)
    if not (extra or missing or bad):
        FITS.put(key, (schema,), True)
        return table
    problems = []
    if bad:
        problems.append(f"incompatible column types: {', '.join(bad)}")
    if missing:
        problems.append(f"missing required columns: {', '.join(missing)}")
    if extra and not evolve:
        problems.append(
            f"columns not in the table: {', '.join(extra)} "
            "(pass evolve=True to add them to the table schema)"
        )
    if problems:
        raise SchemaMismatchError(f"data does not fit table {name!r}: " + "; ".join(problems))
    if extra and evolve:
        with commit_errors(table, "adding columns"), table.update_schema() as update:
            update.union_by_name(normalize_schema(data.select(extra).schema))
        table = table.refresh()
    return table


def _name(table: Table) -> str:
    return ".".join(table.name())


def append(table: Table, data: Any, *, evolve: bool = False, branch: str | None = None) -> Table:
    """Append rows; evolve=True first adds columns the data has and the table lacks.

    ``branch``: commit to that branch (made with lh.branch()) instead of main. A
    RecordBatchReader or a path to a .parquet/.csv file is streamed in bounded memory
    (catalog/write.py), in one snapshot like any append."""
    from doctordata.catalog import write

    if write.is_stream(data):
        if branch is not None:
            raise InvalidArgumentError(
                "append(branch=...) takes a table or frame; a streamed source (reader or "
                "file path) is appended to main only: read it into a table first"
            )
        from doctordata.catalog.data import normalize

        reader = write.open_source(data, _arrow_schema(table.schema()))
        empty = normalize(reader.schema.empty_table())
        table = _check_fits(table, empty, _name(table), evolve=evolve)
        if write.use_duckdb(table, data):
            if write.append_duckdb(table, data, _cast, reader):
                return table
            reader = write.open_source(data, _arrow_schema(table.schema()))
        return write.append_stream(table, reader, _conform)
    arrow = to_arrow(data)
    if branch is not None:
        _check_branch(table, branch)
    table = _check_fits(table, arrow, _name(table), evolve=evolve)
    big = branch is None and write.use_duckdb(table, arrow)
    if big and write.append_duckdb(table, arrow, _cast):
        return table
    arrow = _conform(table, arrow)
    with small_append(arrow):
        if branch is None:
            # Appends never conflict; pyiceberg re-stages them on a moved head by itself.
            redo_on_conflict(table, lambda t: t.append(arrow), what="append")
        else:
            redo_on_conflict(table, lambda t: t.append(arrow, branch=branch), what="append")
    return table


def _check_branch(table: Table, branch: str) -> None:
    ref = table.metadata.refs.get(branch)
    kind = str(getattr(ref.snapshot_ref_type, "value", "")) if ref is not None else None
    if kind != "branch":
        raise SnapshotNotFoundError(
            f"table {_name(table)!r} has no branch {branch!r}"
            + (f" ({branch!r} is a {kind})" if kind else "")
            + f"; create it first with lh.branch({_name(table)!r}, {branch!r})"
        )


def _conform(table: Table, data: pa.Table) -> pa.Table:
    """Cast data columns to the table's Arrow types (int32 -> int64 etc.) and sort the
    rows by the table's sort order (each file written then holds sorted rows)."""
    from doctordata.catalog.sort_order import sort_for

    return sort_for(table, _conform_to(table.schema(), data))


def _cast(table: Table, data: pa.Table) -> pa.Table:
    """Cast data columns to the table's Arrow types, without sorting (the DuckDB writer
    sorts)."""
    return _conform_to(table.schema(), data)


def _arrow_schema(iceberg_schema: Any) -> pa.Schema:
    from pyiceberg.io.pyarrow import schema_to_pyarrow

    return schema_to_pyarrow(iceberg_schema, include_field_ids=False)


def _conform_to(iceberg_schema: Any, data: pa.Table) -> pa.Table:
    import pyarrow as pa

    target = _arrow_schema(iceberg_schema)
    fields = []
    for f, column in zip(data.schema, data.columns, strict=True):
        idx = target.get_field_index(f.name)
        if idx < 0:
            fields.append(f)
            continue
        want = target.field(idx)
        nullable = _nullable(f, column, want)
        if pa.types.is_integer(f.type) or pa.types.is_floating(f.type):
            fields.append(pa.field(f.name, want.type, nullable))
        elif pa.types.is_timestamp(f.type) and pa.types.is_timestamp(want.type):
            fields.append(pa.field(f.name, _timestamp_type(f, want), nullable))
        else:
            fields.append(f.with_nullable(nullable))
    schema = pa.schema(fields, metadata=data.schema.metadata)
    if not schema.equals(data.schema):
        try:
            data = data.cast(schema)
        except pa.ArrowInvalid as exc:
            raise SchemaMismatchError(
                f"data does not fit the table's column types: {exc}. Round or convert the "
                "column to the table's type (e.g. timestamps to microseconds) and append again"
            ) from None
    # Optional columns the data lacks are written as nulls (partition sources included).
    for field in target:
        if field.name not in data.column_names:
            data = data.append_column(
                pa.field(field.name, field.type, True), pa.nulls(data.num_rows, field.type)
            )
    return data


def _nullable(field: pa.Field, column: pa.ChunkedArray, want: pa.Field) -> bool:
    """A nullable data field fits a required column when it holds no nulls (as computed
    columns from pyarrow.compute always are nullable)."""
    if want.nullable or not field.nullable:
        return field.nullable
    if column.null_count:
        raise SchemaMismatchError(
            f"column {field.name!r} is required (NOT NULL) in the table but the data has "
            f"{column.null_count} null value(s) in it; fill them (pyarrow.compute.fill_null, "
            "pandas fillna) or drop those rows, then append again"
        )
    return False


def _timestamp_type(field: pa.Field, want: pa.Field) -> pa.DataType:
    """The type ``field``'s timestamps convert to for column ``want`` (same instant).

    Aware timestamps convert to a TIMESTAMPTZ column's UTC; naive ones cannot, because
    the zone they were meant in is unknown, and an aware one cannot go into a TIMESTAMP.
    """
    import pyarrow as pa

    have, target = field.type, want.type
    if (have.tz is None) != (target.tz is None):
        if have.tz is None:
            fix = ".dt.tz_localize('UTC') (or the zone they were recorded in)"
            what = "naive timestamps (no time zone)"
            kind = "TIMESTAMPTZ (with time zone)"
        else:
            fix = ".dt.tz_convert('UTC').dt.tz_localize(None)"
            what = f"time-zone-aware timestamps (tz={have.tz})"
            kind = "TIMESTAMP (without time zone)"
        raise SchemaMismatchError(
            f"column {field.name!r} is {kind} in the table but the data holds {what}; "
            f"convert the column first, e.g. in pandas df[{field.name!r}]{fix}"
        )
    return pa.timestamp(target.unit, tz=target.tz)


def overwrite(table: Table, data: Any, where: str | None = None) -> Table:
    """Replace all rows (or the rows matching ``where``) with ``data``, in one snapshot."""
    from pyiceberg.expressions import AlwaysTrue

    arrow = to_arrow(data)
    row_filter = where_to_expression(where, table.schema()) if where else AlwaysTrue()
    table = _check_fits(table, arrow, _name(table), evolve=False)
    arrow = _conform(table, arrow)
    # Serializable for the rows it replaces: pyiceberg fails the commit if data matching
    # the filter was added or removed since the read; it is then redone on the new head.
    redo_on_conflict(
        table, lambda t: t.overwrite(arrow, overwrite_filter=row_filter), what="overwrite"
    )
    return table


def delete(table: Table, where: str) -> Table:
    """Delete the rows matching ``where`` (use where="true" to delete every row).

    Serializable like :func:`overwrite`: rows matching ``where`` that a concurrent writer
    committed before this delete are deleted too (the delete is redone after them)."""
    row_filter = where_to_expression(where, table.schema())
    redo_on_conflict(table, lambda t: t.delete(delete_filter=row_filter), what="delete")
    return table


def _int_types() -> tuple[type, ...]:
    from pyiceberg.types import IntegerType, LongType

    return (IntegerType, LongType)


class UpsertResult(dict[str, int]):
    """{'rows_updated': n, 'rows_inserted': m}."""

    @property
    def rows_updated(self) -> int:
        return self["rows_updated"]

    @property
    def rows_inserted(self) -> int:
        return self["rows_inserted"]


def upsert(table: Table, data: Any, on: Sequence[str]) -> UpsertResult:
    """Insert new keys and replace rows whose keys exist, in one snapshot.

    Implemented as an overwrite filtered on the incoming keys (copy-on-write), which also
    works after column renames, where pyiceberg 0.12's own upsert fails.
    """
    import pyarrow.compute as pc

    if isinstance(on, str):
        on = [on]
    if not on:
        raise SchemaMismatchError("upsert needs key columns: on=['id']")
    name = _name(table)
    arrow = to_arrow(data)
    columns = {f.name for f in table.schema().fields}
    for key in on:
        if key not in columns:
            raise SchemaMismatchError(
                f"upsert key {key!r} is not a column of {name!r}.{suggest(key, columns)}"
            )
        if key not in arrow.column_names:
            raise SchemaMismatchError(f"upsert data has no key column {key!r}")
        if arrow.column(key).null_count:
            raise SchemaMismatchError(f"upsert key column {key!r} contains nulls")
    if arrow.num_rows == 0:
        return UpsertResult(rows_updated=0, rows_inserted=0)
    keys = arrow.select(list(on))
    if keys.group_by(list(on)).aggregate([]).num_rows != arrow.num_rows:
        raise SchemaMismatchError(
            f"upsert data has duplicate values in the key columns {list(on)}; deduplicate first"
        )
    table = _check_fits(table, arrow, name, evolve=False)
    if len(on) == 1 and isinstance(table.schema().find_field(on[0]).field_type, _int_types()):
        from doctordata.catalog import merge

        return UpsertResult(merge.upsert(table, _conform(table, arrow), on[0]))
    match = _key_match(on, keys)
    arrow = _conform(table, arrow)

    nan = any(_is_nan(v) for row in keys.to_pylist() for v in row.values())

    def once(t: Table) -> UpsertResult:
        if nan:  # Arrow's scan filter misses NaN rows (see commits.rows_added_since)
            existing = t.scan(selected_fields=tuple(on)).to_arrow()
            existing = filter_rows(existing, t.schema(), match)
        else:
            existing = t.scan(row_filter=match, selected_fields=tuple(on)).to_arrow()
        if len(on) == 1:
            updated = int(pc.sum(pc.is_in(existing.column(0), keys.column(0))).as_py() or 0)
        else:
            updated = existing.num_rows
        with t.transaction() as tx:
            if updated:
                tx.delete(match)
            # The filter covers every incoming key, so a concurrent insert of a "new" key
            # fails this commit (and the upsert is redone) instead of duplicating it.
            guarded_append(tx, arrow, match=match, columns=tuple(on))
        return UpsertResult(rows_updated=updated, rows_inserted=arrow.num_rows - updated)

    return redo_on_conflict(table, once, what="upsert")


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and value != value


def _key_match(on: Sequence[str], keys: pa.Table) -> Any:
    """The Iceberg filter selecting exactly the rows whose key is one of ``keys``.

    A NaN key matches a NaN key, as in DuckDB (``MERGE ... ON t.k = s.k`` updates the
    row whose k is NaN: DuckDB orders NaN as one value equal to itself)."""
    from pyiceberg import expressions as ie

    if len(on) == 1:
        values = keys.column(0).to_pylist()
        plain = {v for v in values if not _is_nan(v)}
        parts: list[Any] = [ie.In(on[0], plain)] if plain else []
        if len(plain) < len(values):
            parts.append(ie.IsNaN(on[0]))
        return parts[0] if len(parts) == 1 else ie.Or(*parts)

    def equal(column: str, value: Any) -> Any:
        return ie.IsNaN(column) if _is_nan(value) else ie.EqualTo(column, value)

    rows = keys.to_pylist()
    conjunctions = [ie.And(*[equal(k, r[k]) for k in on]) for r in rows]
    return ie.Or(*conjunctions) if len(conjunctions) > 1 else conjunctions[0]


def add_files(
    table: Table,
    paths: Sequence[str],
    *,
    tiers: Mapping[str, Tier] | None = None,
    catalog: Catalog | None = None,
) -> Table:
    """Register existing Parquet files, by their canonical locations.

    Refuses (before anything is committed): a file already in the table under any
    spelling (symlink, ``file://`` URI, ``..``), the same file twice, a missing file or a
    directory, a file outside every tier (DuckDB may only read below the tier roots; move
    or copy it below one first) and a file inside another table's directory (that table's
    maintenance owns it). ``tiers``/``catalog`` default to none (no tier checks).
    """
    from doctordata.errors import LocationError
    from doctordata.storage.locations import Canonicalizer, TierIndex, join

    if isinstance(paths, str):
        paths = [paths]
    paths = list(paths)
    name = _name(table)
    canon = Canonicalizer()
    spelled: dict[str, str] = {}  # canonical -> as given
    for p in paths:
        key = canon(p)
        if key in spelled:
            raise AlreadyExistsError(
                f"add_files got the same file twice: {spelled[key]!r} and {p!r} are both "
                f"{key}; pass it once"
            )
        spelled[key] = p
    present = {
        canon(task.file.file_path): task.file.file_path for task in table.scan().plan_files()
    }
    already = [f"{spelled[k]} (in the table as {present[k]})" for k in spelled if k in present]
    if already:
        raise AlreadyExistsError(
            f"these files are already in table {name!r}: {', '.join(already[:10])}; "
            "adding them again would duplicate their rows"
        )
    _check_local_files(spelled, name)
    if tiers is not None:
        index = TierIndex(tiers, canon)
        outside = [p for k, p in spelled.items() if index.tier_of(k) is None]
        if outside:
            roots = ", ".join(f"{t.name}={t.url}" for t in tiers.values())
            raise LocationError(
                f"add_files to {name!r}: {', '.join(outside[:10])} lies outside every tier "
                f"({roots}); queries may only read files below a tier root. Move or copy it "
                "below one (e.g. an imports/ directory of the hot tier), then add that path."
            )
        if catalog is not None:
            from doctordata.catalog.locations import table_dirs

            dirs = table_dirs(catalog, tiers, canon)
            for key, given in spelled.items():
                owner = dirs.owner(canon.parts(key), exclude=name)
                if owner is not None:
                    raise LocationError(
                        f"add_files to {name!r}: {given} lies inside the directory of table "
                        f"{owner!r}, whose maintenance may delete it. Copy it elsewhere below "
                        "a tier root first."
                    )
    register = list(spelled)
    if tiers is not None:
        # Spelled below the tier's configured root, as doctordata's writers spell files
        # (a root reached through a symlink keeps its configured name for the engines).
        index = TierIndex(tiers, canon)
        register = []
        for key in spelled:
            tier_name, rel = index.locate(key)
            register.append(join(tiers[tier_name].url, rel) if tier_name else key)
    try:
        table.add_files(file_paths=register)
    except ValueError as exc:
        raise SchemaMismatchError(f"add_files refused by Iceberg: {exc}") from None
    return table


def _check_local_files(spelled: Mapping[str, str], name: str) -> None:
    import os

    from doctordata.errors import LocationError
    from doctordata.storage.locations import split

    missing, dirs = [], []
    for key, given in spelled.items():
        scheme, path = split(key)
        if scheme != "file":
            continue
        if os.path.isdir(path):
            dirs.append(given)
        elif not os.path.isfile(path):
            missing.append(given)
    if dirs:
        raise LocationError(
            f"add_files to {name!r}: {', '.join(dirs[:10])} is a directory; pass the Parquet "
            "files in it one by one (e.g. sorted(glob.glob('dir/*.parquet')))"
        )
    if missing:
        raise SchemaMismatchError(f"add_files: no such file(s): {', '.join(missing[:10])}")


def drop_table(catalog: Catalog, name: str, *, purge: bool = False) -> None:
    from pyiceberg.exceptions import NoSuchTableError

    ns, tbl = parse_table_name(name)
    try:
        if purge:
            catalog.purge_table((ns, tbl))
        else:
            catalog.drop_table((ns, tbl))
    except NoSuchTableError:
        raise TableNotFoundError(no_table(catalog, name)) from None


def rename_table(catalog: Catalog, name: str, new_name: str) -> Table:
    from pyiceberg.exceptions import NoSuchTableError, TableAlreadyExistsError

    src = parse_table_name(name)
    dst = parse_table_name(new_name)
    create_namespace(catalog, dst[0], exist_ok=True)
    try:
        return catalog.rename_table(src, dst)
    except NoSuchTableError:
        raise TableNotFoundError(no_table(catalog, name)) from None
    except TableAlreadyExistsError:
        raise AlreadyExistsError(f"cannot rename {name!r}: {new_name!r} already exists") from None


def iceberg_schema(arrow_schema: pa.Schema) -> Any:
    """The Iceberg schema (fresh field ids) an Arrow schema would be stored as."""
    return _iceberg_schema(arrow_schema)
