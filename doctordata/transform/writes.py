"""Write built dbt models to Iceberg: streamed, incremental where dbt was, with lineage.

A full build replaces the mart in one commit (delete every file, append the new rows);
an incremental run appends only its new rows (``append``) or replaces only the rows whose
``unique_key`` it rebuilt (``delete+insert`` / ``merge``; ``rebuild_keys`` also deletes the
rebuilt keys that have no new row). Rows are read from dbt's DuckDB
database as a RecordBatchReader and appended in chunks inside one transaction, so a mart
larger than memory is never held whole. Every snapshot written carries the lineage
properties below, which ``doctordata describe`` shows.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from doctordata.catalog.lineage import (
    AS_OF_PROPERTY,
    INVOCATION_PROPERTY,
    MODEL_PROPERTY,
    SOURCES_PROPERTY,
)
from doctordata.errors import SchemaMismatchError

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.table import Table

# Snapshot summary properties of every mart snapshot written by dbt.
# Rows per Parquet file appended (one chunk of the stream in memory at a time).
CHUNK_ROWS = 1_000_000
READ_BATCH_ROWS = 122_880

ReaderFactory = Callable[[], "pa.RecordBatchReader"]


def lineage(
    invocation_id: str | None, sources: Mapping[str, int | None], as_of: Any, mode: str
) -> dict[str, str]:
    """The snapshot summary properties recording where a mart snapshot came from."""
    props = {
        SOURCES_PROPERTY: json.dumps(
            {t: sid for t, sid in sorted(sources.items())}, separators=(",", ":")
        ),
        MODEL_PROPERTY: mode,
    }
    if invocation_id:
        props[INVOCATION_PROPERTY] = invocation_id
    if as_of is not None:
        props[AS_OF_PROPERTY] = str(as_of)
    return props


def chunks(reader: pa.RecordBatchReader, rows: int | None = None) -> Iterator[pa.Table]:
    """Arrow tables of about ``rows`` (CHUNK_ROWS) rows each, normalised to Iceberg types."""
    import pyarrow as pa

    rows = rows or CHUNK_ROWS
    from doctordata.catalog.data import normalize

    batches: list[pa.RecordBatch] = []
    held = 0
    for batch in reader:
        batches.append(batch)
        held += batch.num_rows
        if held >= rows:
            yield normalize(pa.Table.from_batches(batches, schema=reader.schema))
            batches, held = [], 0
    if batches:
        yield normalize(pa.Table.from_batches(batches, schema=reader.schema))


def _arrow_types(table: Table) -> dict[str, Any]:
    from pyiceberg.io.pyarrow import schema_to_pyarrow

    return {f.name: f.type for f in schema_to_pyarrow(table.schema(), include_field_ids=False)}


def _fits(table: Table, schema: pa.Schema) -> bool:
    from doctordata.catalog.data import normalize_schema

    wanted = {f.name: f.type for f in normalize_schema(schema)}
    have = _arrow_types(table)
    return list(wanted) == list(have) and all(
        have[n] == t or (str(have[n]), str(t)) in _SAME for n, t in wanted.items()
    )


# Arrow types that name the same Iceberg type.
_SAME = {("large_string", "string"), ("string", "large_string")}


@dataclass(frozen=True)
class Layout:
    """How a mart's Iceberg table is laid out (the model's ``iceberg_partition_by``)."""

    partition_by: tuple[str, ...] = ()

    @property
    def properties(self) -> dict[str, str]:
        return {PARTITION_PROPERTY: json.dumps(list(self.partition_by))}

    def matches(self, table: Table) -> bool:
        recorded = table.properties.get(PARTITION_PROPERTY)
        if recorded is None:  # made before layouts were recorded: unpartitioned
            return not self.partition_by
        return tuple(json.loads(recorded)) == self.partition_by


# Table property recording the partition specs a mart was created with.
PARTITION_PROPERTY = "doctordata.dbt.partition-by"


def _create(lh: Any, name: str, empty: pa.Table, layout: Layout) -> Table:
    return lh.create_table(
        name,
        empty,
        partition_by=list(layout.partition_by) or None,
        properties=layout.properties,
    )


def _prepared(
    lh: Any, name: str, schema: pa.Schema, *, replace: bool, layout: Layout | None = None
) -> Table:
    """The Iceberg table for ``name``, created (or, for a full build whose columns or
    partitioning changed, recreated: a mart is derived data) to match ``schema``."""
    import pyarrow as pa

    from doctordata.catalog.data import normalize_schema
    from doctordata.errors import AlreadyExistsError, NotFoundError

    layout = layout or Layout()
    empty = pa.Table.from_batches([], schema=normalize_schema(schema))
    try:
        table = lh.table(name)
    except NotFoundError:
        lh.create_namespace(name.split(".", 1)[0])
        try:
            return _create(lh, name, empty, layout)
        except AlreadyExistsError:
            table = lh.table(name)  # another dbt thread created it first
    if _fits(table, schema) and (not replace or layout.matches(table)):
        return table
    if not replace:
        raise SchemaMismatchError(
            f"incremental model {name!r} now has the columns {schema.names} but the Iceberg "
            f"table has {list(_arrow_types(table))}; rebuild it with `--full-refresh`"
        )
    lh.drop_table(name, purge=False)
    return _create(lh, name, empty, layout)


class _Replayable:
    """The stream of rows, opened again for each commit attempt (a redo re-reads)."""

    def __init__(self, factory: ReaderFactory) -> None:
        self.factory = factory
        self.first: pa.RecordBatchReader | None = factory()
        self.schema = self.first.schema

    def next(self) -> pa.RecordBatchReader:
        reader, self.first = self.first, None
        return reader if reader is not None else self.factory()


def replace(
    lh: Any,
    name: str,
    rows: ReaderFactory,
    props: Mapping[str, str],
    layout: Layout | None = None,
) -> int:
    """Replace every row of ``name`` with the stream, in one commit; returns the rows."""
    return _write(lh, name, rows, props, layout, replace=True)


def append(
    lh: Any,
    name: str,
    rows: ReaderFactory,
    props: Mapping[str, str],
    layout: Layout | None = None,
) -> int:
    """Append the stream to ``name`` in one commit; returns the rows."""
    return _write(lh, name, rows, props, layout, replace=False)


def _write(
    lh: Any,
    name: str,
    rows: ReaderFactory,
    props: Mapping[str, str],
    layout: Layout | None,
    *,
    replace: bool,
) -> int:
    from pyiceberg.expressions import AlwaysTrue

    from doctordata.catalog.commits import redo_on_conflict

    readers = _Replayable(rows)
    table = _prepared(lh, name, readers.schema, replace=replace, layout=layout)

    def once(t: Table) -> int:
        count = 0
        with t.transaction() as tx:
            if replace and t.metadata.current_snapshot_id is not None:
                tx.delete(AlwaysTrue(), snapshot_properties=dict(props))
            for chunk in chunks(readers.next()):
                tx.append(chunk, snapshot_properties=dict(props))
                count += chunk.num_rows
        return count

    what = f"dbt build of {name}" if replace else f"dbt incremental append to {name}"
    return redo_on_conflict(table, once, what=what)


def upsert(
    lh: Any,
    name: str,
    rows: ReaderFactory,
    keys: Sequence[str],
    props: Mapping[str, str],
    layout: Layout | None = None,
    *,
    unique: bool = True,
    rebuilt: ReaderFactory | None = None,
) -> int:
    """Delete the rows of ``name`` whose ``keys`` the stream holds and append the stream,
    in one commit (files without those keys are not rewritten); returns the rows.

    Only the key columns are held in memory; the rows are streamed twice (keys, then
    the append). ``unique=False`` is dbt's ``delete+insert``: several new rows may share
    a key (a day and its top stories); ``merge`` needs one row per key. ``rebuilt``
    streams more keys to delete, held or not by the new rows: every key the run rebuilt
    (the ``rebuild_keys`` strategy), so a key left without rows loses its old ones.
    """
    from doctordata.catalog.commits import redo_on_conflict

    readers = _Replayable(rows)
    table = _prepared(lh, name, readers.schema, replace=False, layout=layout)
    found = _key_values(name, readers.next(), keys, unique)
    if rebuilt is not None:
        found |= _rebuilt_keys(name, rebuilt(), keys)
    if not found:
        return 0
    match = key_filter(found, keys)

    def once(t: Table) -> int:
        count = 0
        with t.transaction() as tx:
            if t.metadata.current_snapshot_id is not None:
                tx.delete(match, snapshot_properties=dict(props))
            for chunk in chunks(readers.next()):
                tx.append(chunk, snapshot_properties=dict(props))
                count += chunk.num_rows
        return count

    return redo_on_conflict(table, once, what=f"dbt incremental upsert into {name}")


def _key_values(
    name: str, reader: pa.RecordBatchReader, keys: Sequence[str], unique: bool
) -> set[tuple[Any, ...]]:
    """The distinct key values of the stream, checked: every key a column, never null,
    and with ``unique`` at most one row per key."""
    import pyarrow as pa

    _check_columns(name, reader.schema, keys, "unique_key")
    parts, rows = [], 0
    for batch in reader:
        part = pa.Table.from_batches([batch]).select(list(keys))
        if any(part.column(k).null_count for k in keys):
            raise SchemaMismatchError(
                f"unique_key {list(keys)} of model {name!r} is null in some new rows; "
                "a key must identify each row"
            )
        rows += part.num_rows
        parts.append(part.group_by(list(keys)).aggregate([]))
    if not rows:
        return set()
    found = pa.concat_tables(parts).group_by(list(keys)).aggregate([])
    if unique and found.num_rows != rows:
        raise SchemaMismatchError(
            f"model {name!r} built several rows with the same unique_key {list(keys)}; "
            "make the key unique, use incremental_strategy='delete+insert' (which replaces "
            "every row of a key) or drop unique_key to append"
        )
    return _tuples(found, keys)


def _rebuilt_keys(
    name: str, reader: pa.RecordBatchReader, keys: Sequence[str]
) -> set[tuple[Any, ...]]:
    """The distinct non-null keys of a stream of rebuilt keys (no row has a null key)."""
    import pyarrow as pa

    _check_columns(name, reader.schema, keys, "rebuilt_keys")
    found: set[tuple[Any, ...]] = set()
    for batch in reader:
        part = pa.Table.from_batches([batch]).select(list(keys)).drop_null()
        found |= _tuples(part.group_by(list(keys)).aggregate([]), keys)
    return found


def _check_columns(name: str, schema: pa.Schema, keys: Sequence[str], what: str) -> None:
    for key in keys:
        if key not in schema.names:
            raise SchemaMismatchError(
                f"unique_key {key!r} of model {name!r} is not one of its {what} columns "
                f"{schema.names}; fix the model's config"
            )


def _tuples(data: pa.Table, keys: Sequence[str]) -> set[tuple[Any, ...]]:
    columns = [data.column(k).to_pylist() for k in keys]
    return set(zip(*columns, strict=True))


def key_filter(values: Collection[tuple[Any, ...]], keys: Sequence[str]) -> Any:
    """A pyiceberg expression true for exactly the key values (tuples, in ``keys``
    order)."""
    from functools import reduce

    from pyiceberg.expressions import And, EqualTo, In, Or

    if len(keys) == 1:
        return In(keys[0], {v[0] for v in values})
    terms = [reduce(And, [EqualTo(k, v) for k, v in zip(keys, row, strict=True)]) for row in values]
    return reduce(Or, terms)
