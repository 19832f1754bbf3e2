"""Iceberg sort orders: parse ``sort_by=["time", "id DESC"]`` and sort rows before a write.

Why: DuckDB and ClickHouse skip a Parquet row group when its min/max statistics exclude a
predicate. Rows written in the table's sort order give each row group a narrow range of
the sort columns, so a point or range query on them reads a few row groups instead of
all. Every writer of doctordata (append, overwrite, upsert, compaction) sorts the rows of
each file it writes with :func:`sort_rows`; the mover copies files byte for byte, so a
moved file keeps its order.

A sort term is ``"<column> [ASC|DESC] [NULLS FIRST|NULLS LAST]"``; the default is DuckDB's
``ASC NULLS LAST``. A sort order written by another engine may use transforms
(``day(time)``, ``bucket(16, id)``): rows are then sorted by the transformed value.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from doctordata.errors import SchemaMismatchError, suggest

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.schema import Schema
    from pyiceberg.table import Table
    from pyiceberg.table.sorting import SortOrder

_TERM = re.compile(
    r"^\s*(?P<column>[A-Za-z_][\w.]*|\"[^\"]+\")"
    r"(?:\s+(?P<direction>asc|desc))?"
    r"(?:\s+nulls\s+(?P<nulls>first|last))?\s*$",
    re.IGNORECASE,
)
FORM = "'<column> [ASC|DESC] [NULLS FIRST|NULLS LAST]', e.g. sort_by=['time', 'id DESC']"


def parse_term(term: str, schema: Schema) -> tuple[str, bool, bool]:
    """``"id DESC NULLS FIRST"`` -> (column, descending, nulls_first), checked against
    ``schema``; a SchemaMismatchError names the term, the columns and the form."""
    from pyiceberg.types import PrimitiveType

    match = _TERM.match(term) if isinstance(term, str) else None
    if match is None:
        raise SchemaMismatchError(f"sort term {term!r} is not of the form {FORM}")
    column = match["column"].strip('"')
    names = [f.name for f in schema.fields]
    try:
        field = schema.find_field(column)
    except ValueError:
        raise SchemaMismatchError(
            f"sort term {term!r}: {column!r} is not a column.{suggest(column, names)} "
            f"Columns: {', '.join(names)}"
        ) from None
    if not isinstance(field.field_type, PrimitiveType):
        raise SchemaMismatchError(
            f"sort term {term!r}: column {column!r} is {field.field_type}; "
            "only primitive columns (numbers, strings, dates, timestamps) can be sort keys"
        )
    descending = (match["direction"] or "asc").lower() == "desc"
    nulls_first = (match["nulls"] or "last").lower() == "first"
    return column, descending, nulls_first


def build_sort_order(schema: Schema, sort_by: Sequence[str] | None) -> SortOrder:
    """The Iceberg SortOrder for ``sort_by`` (empty or None: unsorted)."""
    from pyiceberg.table.sorting import (
        UNSORTED_SORT_ORDER,
        NullOrder,
        SortDirection,
        SortField,
        SortOrder,
    )
    from pyiceberg.transforms import IdentityTransform

    if isinstance(sort_by, str):
        sort_by = [sort_by]
    if not sort_by:
        return UNSORTED_SORT_ORDER
    fields = []
    seen: set[str] = set()
    for term in sort_by:
        column, descending, nulls_first = parse_term(term, schema)
        if column in seen:
            raise SchemaMismatchError(f"sort_by names column {column!r} twice; name it once")
        seen.add(column)
        fields.append(
            SortField(
                source_id=schema.find_field(column).field_id,
                transform=IdentityTransform(),
                direction=SortDirection.DESC if descending else SortDirection.ASC,
                null_order=NullOrder.NULLS_FIRST if nulls_first else NullOrder.NULLS_LAST,
            )
        )
    return SortOrder(*fields)


def set_sort_order(table: Table, sort_by: Sequence[str] | None) -> Table:
    """Make ``sort_by`` the table's sort order (None or []: unsorted). Files written
    before keep their order until compaction rewrites them."""
    from doctordata.catalog.commits import commit_errors

    order = build_sort_order(table.schema(), sort_by)
    with commit_errors(table, "setting the sort order"), table.update_sort_order() as update:
        for f in order.fields:
            name = table.schema().find_column_name(f.source_id)
            add = update.desc if f.direction.value == "desc" else update.asc
            add(name, f.transform, f.null_order)
    return table.refresh()


def describe(table: Table) -> list[str]:
    """The table's sort order as sort terms (``["time ASC NULLS LAST", ...]``)."""
    schema = table.schema()
    out = []
    for f in table.sort_order().fields:
        name = schema.find_column_name(f.source_id)
        term = name if str(f.transform) == "identity" else f"{f.transform}({name})"
        nulls = "FIRST" if f.null_order.value == "nulls-first" else "LAST"
        out.append(f"{term} {f.direction.value.upper()} NULLS {nulls}")
    return out


def sort_rows(data: pa.Table, order: SortOrder, schema: Schema) -> pa.Table:
    """``data`` in ``order`` (unchanged if the order is unsorted or names a column the
    data lacks: such a column is all nulls in every row written)."""
    import pyarrow.compute as pc

    if order.is_unsorted or data.num_rows < 2:
        return data
    keys: list[tuple[str, str, str]] = []
    extra: dict[str, Any] = {}
    for i, f in enumerate(order.fields):
        name = schema.find_column_name(f.source_id)
        if name is None or name not in data.column_names:
            continue
        column = data.column(name)
        if str(f.transform) != "identity":
            source = schema.find_field(f.source_id).field_type
            column = f.transform.pyarrow_transform(source)(column)
            name = f"__sort_key_{i}"
            extra[name] = column
        direction = "descending" if f.direction.value == "desc" else "ascending"
        nulls = "at_start" if f.null_order.value == "nulls-first" else "at_end"
        keys.append((name, direction, nulls))
    if not keys:
        return data
    keyed = data
    for name, column in extra.items():
        keyed = keyed.append_column(name, column)
    indices = pc.sort_indices(keyed, sort_keys=keys)
    return data.take(indices)


def sort_for(table_or_metadata: Any, data: pa.Table) -> pa.Table:
    """``data`` sorted by the current sort order of a Table or TableMetadata."""
    order = table_or_metadata.sort_order()
    if order.is_unsorted:
        return data
    return sort_rows(data, order, table_or_metadata.schema())
