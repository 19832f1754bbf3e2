"""Partition spec strings: ``"col"``, ``"day(time)"``, ``"bucket(16, id)"``, ``"truncate(4, s)"``.

The transform names follow Iceberg's own: identity, year, month, day, hour, bucket[N],
truncate[W]. Each string is checked against the schema before anything is written.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from doctordata.errors import PartitionSpecError, suggest

if TYPE_CHECKING:
    from pyiceberg.partitioning import PartitionSpec
    from pyiceberg.schema import Schema
    from pyiceberg.transforms import Transform

FORMS = (
    "'col', 'identity(col)', 'year(col)', 'month(col)', 'day(col)', 'hour(col)', "
    "'bucket(N, col)', 'truncate(W, col)'"
)
# Used with fullmatch: "$" would also match before a trailing newline.
_CALL = re.compile(r"\s*([a-z_]+)\s*\(\s*(.*?)\s*\)\s*", re.IGNORECASE | re.DOTALL)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DIGITS = re.compile(r"[0-9]+")  # ASCII only: str.isdigit() also accepts "²"
_MAX_PARAM = 2**31 - 1


def parse_transform(text: str) -> tuple[Transform[object, object], str]:
    """'bucket(16, id)' -> (BucketTransform(16), 'id')."""
    from pyiceberg.transforms import (
        BucketTransform,
        DayTransform,
        HourTransform,
        IdentityTransform,
        MonthTransform,
        TruncateTransform,
        YearTransform,
    )

    if not isinstance(text, str):
        raise PartitionSpecError(
            f"partition_by entry {text!r} is a {type(text).__name__}, not a string; "
            f"allowed forms: {FORMS}"
        )
    if not text.strip():
        raise PartitionSpecError(f"partition_by entry {text!r} is empty; allowed forms: {FORMS}")
    stripped = text.strip()
    if _NAME.fullmatch(stripped):
        return IdentityTransform(), stripped
    m = _CALL.fullmatch(stripped)
    if not m:
        raise PartitionSpecError(
            f"partition_by entry {text!r} cannot be parsed; allowed forms: {FORMS}"
        )
    func, args = m.group(1).lower(), [a.strip() for a in m.group(2).split(",")]
    simple = {
        "identity": IdentityTransform,
        "year": YearTransform,
        "years": YearTransform,
        "month": MonthTransform,
        "months": MonthTransform,
        "day": DayTransform,
        "days": DayTransform,
        "hour": HourTransform,
        "hours": HourTransform,
    }
    if func in simple:
        if len(args) != 1 or not _NAME.fullmatch(args[0]):
            raise PartitionSpecError(
                f"{text!r}: {func}() takes one column name; e.g. '{func}(time)'"
            )
        return simple[func](), args[0]
    if func in ("bucket", "truncate"):
        if len(args) != 2 or not _DIGITS.fullmatch(args[0]) or not _NAME.fullmatch(args[1]):
            raise PartitionSpecError(
                f"{text!r}: {func}() takes a positive number and a column, e.g. '{func}(16, id)'"
            )
        n = int(args[0])
        if not 0 < n <= _MAX_PARAM:
            raise PartitionSpecError(
                f"{text!r}: the number must be between 1 and {_MAX_PARAM} (an Iceberg int)"
            )
        return (BucketTransform(n) if func == "bucket" else TruncateTransform(n)), args[1]
    raise PartitionSpecError(
        f"partition_by entry {text!r}: unknown transform {func!r}; allowed forms: {FORMS}"
    )


def field_name(transform: Transform[object, object], column: str) -> str:
    from pyiceberg.transforms import BucketTransform, IdentityTransform, TruncateTransform

    if isinstance(transform, IdentityTransform):
        return column
    if isinstance(transform, BucketTransform):
        return f"{column}_bucket_{transform.num_buckets}"
    if isinstance(transform, TruncateTransform):
        return f"{column}_trunc_{transform.width}"
    return f"{column}_{transform!s}"


def build_spec(schema: Schema, partition_by: Sequence[str] | None) -> PartitionSpec:
    """A PartitionSpec for ``schema`` from spec strings, checked against column types."""
    from pyiceberg.partitioning import UNPARTITIONED_PARTITION_SPEC, PartitionField, PartitionSpec

    if not partition_by:
        return UNPARTITIONED_PARTITION_SPEC
    if isinstance(partition_by, str):
        partition_by = [partition_by]
    if not isinstance(partition_by, list | tuple):
        raise PartitionSpecError(
            f"partition_by = {partition_by!r}: expected a list of spec strings, "
            f"e.g. ['day(time)', 'bucket(16, id)']; allowed forms: {FORMS}"
        )
    fields = []
    seen: set[str] = set()
    names = [f.name for f in schema.fields]
    for i, text in enumerate(partition_by):
        transform, column = parse_transform(text)
        try:
            source = schema.find_field(column)
        except ValueError:
            raise PartitionSpecError(
                f"partition_by entry {text!r}: no column {column!r} in the schema."
                f"{suggest(column, names)} Columns: {', '.join(names)}"
            ) from None
        if not transform.can_transform(source.field_type):
            raise PartitionSpecError(
                f"partition_by entry {text!r}: {transform} cannot apply to column {column!r} "
                f"of type {source.field_type}"
            )
        name = field_name(transform, column)
        if name in seen:
            raise PartitionSpecError(
                f"partition_by entry {text!r} repeats partition field {name!r}"
            )
        seen.add(name)
        fields.append(
            PartitionField(
                source_id=source.field_id, field_id=1000 + i, transform=transform, name=name
            )
        )
    return PartitionSpec(*fields)


def evolve(table: Any, *, add: Sequence[str] = (), remove: Sequence[str] = ()) -> Any:
    """Add or remove partition fields in one commit; old files keep their old spec."""
    schema = table.schema()
    current = {f.name for f in table.spec().fields}
    parsed_add = []
    for text in add:
        transform, column = parse_transform(text)
        build_spec(schema, [text])  # validates column and type
        if field_name(transform, column) in current:
            raise PartitionSpecError(f"table is already partitioned by {text!r}")
        parsed_add.append((column, transform, field_name(transform, column)))
    drop_names = []
    for text in remove:
        transform, column = parse_transform(text)
        fname = field_name(transform, column)
        if fname not in current:
            raise PartitionSpecError(
                f"cannot remove {text!r}: not a partition field; current: {', '.join(sorted(current)) or 'none'}"
            )
        drop_names.append(fname)
    with table.update_spec() as update:
        for column, transform, fname in parsed_add:
            update.add_field(column, transform, fname)
        for fname in drop_names:
            update.remove_field(fname)
    return table.refresh()


def spec_strings(spec: PartitionSpec, schema: Schema) -> list[str]:
    """The spec as the strings build_spec takes: ``["month(time)", "bucket(16, id)"]``.

    The inverse of build_spec, so describe shows what create_table was given (pyiceberg's
    own text names the source by field id: ``month(2)``).
    """
    out = []
    for field in spec.fields:
        column = schema.find_column_name(field.source_id) or f"<field {field.source_id}>"
        name, _, param = str(field.transform).partition("[")
        if name == "identity":
            out.append(column)
        elif param:
            out.append(f"{name}({param.rstrip(']')}, {column})")
        else:
            out.append(f"{name}({column})")
    return out
