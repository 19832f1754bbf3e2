"""Turn user data (pyarrow, pandas, polars) into Arrow that Iceberg accepts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from doctordata.errors import SchemaMismatchError

if TYPE_CHECKING:
    import pyarrow as pa

ACCEPTED = "a pyarrow Table or RecordBatchReader, a pandas DataFrame or a polars DataFrame"


def to_arrow(data: Any) -> pa.Table:
    """Any supported data -> pyarrow.Table with Iceberg-friendly types."""
    import pyarrow as pa

    if isinstance(data, pa.Table):
        table = data
    elif isinstance(data, pa.RecordBatchReader):
        table = data.read_all()
    elif isinstance(data, pa.RecordBatch):
        table = pa.Table.from_batches([data])
    elif type(data).__module__.startswith("pandas"):
        table = pa.Table.from_pandas(data, preserve_index=False)
    elif type(data).__module__.startswith("polars"):
        table = data.to_arrow()
    elif hasattr(data, "__arrow_c_stream__"):
        table = pa.table(data)
    else:
        raise SchemaMismatchError(
            f"cannot write data of type {type(data).__name__}; pass {ACCEPTED}"
        )
    return normalize(table)


def normalize_type(t: pa.DataType) -> pa.DataType:
    """Map Arrow types Iceberg lacks to the nearest Iceberg-backed type."""
    import pyarrow as pa

    if pa.types.is_timestamp(t) and (t.unit != "us" or t.tz not in (None, "UTC")):
        # Iceberg's timestamptz holds UTC instants: any zone converts (the same instant).
        return pa.timestamp("us", tz=None if t.tz is None else "UTC")
    if pa.types.is_uint8(t) or pa.types.is_uint16(t) or pa.types.is_int8(t) or pa.types.is_int16(t):
        return pa.int32()
    if pa.types.is_uint32(t):
        return pa.int64()
    if pa.types.is_uint64(t):
        return pa.int64()
    if pa.types.is_float16(t):
        return pa.float32()
    if pa.types.is_dictionary(t):
        return normalize_type(t.value_type)
    if pa.types.is_string_view(t):
        return pa.large_string()
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        inner = normalize_type(t.value_type)
        return pa.list_(pa.field(t.value_field.name, inner, t.value_field.nullable))
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, normalize_type(f.type), f.nullable) for f in t])
    if pa.types.is_date64(t):
        return pa.date32()
    return t


def normalize_schema(schema: pa.Schema) -> pa.Schema:
    import pyarrow as pa

    return pa.schema(
        [pa.field(f.name, normalize_type(f.type), f.nullable, f.metadata) for f in schema]
    )


def normalize(table: pa.Table) -> pa.Table:
    """Cast to :func:`normalize_schema`, refusing any value the Iceberg type cannot hold.

    uint64 (and uint32 -> long, etc.) is cast when every value fits; a value above
    2**63 - 1 is a SchemaMismatchError naming the column, never a wrapped number."""
    import pyarrow as pa

    target = normalize_schema(table.schema)
    if target.equals(table.schema):
        return table
    try:
        return table.cast(target, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise _cast_error(table, target, exc) from None


def _cast_error(table: pa.Table, target: pa.Schema, exc: Exception) -> SchemaMismatchError:
    import pyarrow as pa
    import pyarrow.compute as pc

    for field, want in zip(table.schema, target, strict=True):
        if field.type == want.type:
            continue
        try:
            table.column(field.name).cast(want.type, safe=True)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
        else:
            continue
        hint = ""
        if pa.types.is_unsigned_integer(field.type):
            top = pc.max(table.column(field.name)).as_py()
            hint = (
                f" (its largest value, {top}, is above {want.type}'s maximum "
                f"{2**63 - 1 if pa.types.is_int64(want.type) else 2**31 - 1}); "
                "Iceberg has no unsigned integers: cast the column to decimal128(20, 0) "
                "or to string before writing"
            )
        return SchemaMismatchError(
            f"column {field.name!r} of type {field.type} cannot be stored as {want.type}"
            f"{hint or f': {exc}'}"
        )
    return SchemaMismatchError(f"cannot convert the data to Iceberg types: {exc}")
