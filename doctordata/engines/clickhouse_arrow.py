"""ClickHouse's Arrow output, given the Arrow types DuckDB returns for the same SQL types.

ClickHouse writes every ``DateTime64`` as a zoned Arrow timestamp: a column without a time
zone (DuckDB's TIMESTAMP) gets the server's zone attached, so it would read back as an
aware datetime; and ``DateTime`` is written as a plain ``uint32`` of seconds. Arrow alone
cannot tell a naive column from one zoned in the server's zone, so the ClickHouse types
(``DESCRIBE TABLE (query)``) decide, and only when the result holds a type that may need
it (:func:`needs_types`). Everything else passes through unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

# A named Tuple element ("name Type"): an identifier followed by whitespace and a type.
_NAMED = re.compile(r"^\s*(?:`(?:[^`\\]|\\.)*`|\"(?:[^\"\\]|\\.)*\"|[A-Za-z_]\w*)\s+(?=\S)")


def split_type(ch_type: str) -> tuple[str, list[str]]:
    """``"Map(String, Array(DateTime64(6)))"`` -> ``("Map", ["String", "Array(DateTime64(6))"])``.

    Arguments are split at top-level commas; quoted strings may hold any character.
    """
    text = ch_type.strip()
    open_at = text.find("(")
    if open_at < 0 or not text.endswith(")"):
        return text, []
    name, body = text[:open_at].strip(), text[open_at + 1 : -1]
    args: list[str] = []
    depth, start, quote, i = 0, 0, "", 0
    while i < len(body):
        ch = body[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "'`\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            args.append(body[start:i].strip())
            start = i + 1
        i += 1
    if body.strip():
        args.append(body[start:].strip())
    return name, args


def _unquote(arg: str) -> str:
    return arg.strip()[1:-1].replace("\\'", "'").replace("\\\\", "\\")


def needs_types(arrow_type: pa.DataType) -> bool:
    """True if ``arrow_type`` may stand for a ClickHouse type Arrow renders differently
    from DuckDB (a zoned timestamp, or ``uint32`` that may be a ``DateTime``)."""
    import pyarrow as pa

    if pa.types.is_timestamp(arrow_type):
        return arrow_type.tz is not None
    if pa.types.is_uint32(arrow_type):
        return True
    if pa.types.is_map(arrow_type):
        return needs_types(arrow_type.key_type) or needs_types(arrow_type.item_type)
    return any(needs_types(arrow_type.field(i).type) for i in range(arrow_type.num_fields))


def target_type(arrow_type: pa.DataType, ch_type: str, *, seconds: bool = True) -> pa.DataType:
    """The Arrow type DuckDB gives for ClickHouse type ``ch_type`` written as ``arrow_type``.

    ``seconds=False`` gives the intermediate type of the two-step cast for ``DateTime``
    (Arrow casts ``uint32`` to ``int64`` and ``int64`` to a timestamp, not directly).
    """
    import pyarrow as pa

    name, args = split_type(ch_type)
    if name in ("Nullable", "LowCardinality") and len(args) == 1:
        return target_type(arrow_type, args[0], seconds=seconds)
    if name == "DateTime64" and pa.types.is_timestamp(arrow_type):
        # A zone in the type is the column's own; without one ClickHouse attached the
        # server's, which DuckDB's TIMESTAMP does not have.
        return arrow_type if len(args) > 1 else pa.timestamp(arrow_type.unit)
    if name == "DateTime" and pa.types.is_uint32(arrow_type):
        if not seconds:
            return pa.int64()
        return pa.timestamp("s", tz=_unquote(args[0]) if args else None)
    if name == "Array" and len(args) == 1 and pa.types.is_list(arrow_type):
        item = arrow_type.value_field
        return pa.list_(item.with_type(target_type(item.type, args[0], seconds=seconds)))
    if name == "Map" and len(args) == 2 and pa.types.is_map(arrow_type):
        key = target_type(arrow_type.key_type, args[0], seconds=seconds)
        return pa.map_(
            key,
            arrow_type.item_field.with_type(
                target_type(arrow_type.item_type, args[1], seconds=seconds)
            ),
        )
    if name == "Tuple" and pa.types.is_struct(arrow_type) and len(args) == arrow_type.num_fields:
        fields = [arrow_type.field(i) for i in range(arrow_type.num_fields)]
        return pa.struct(
            [
                f.with_type(target_type(f.type, _NAMED.sub("", arg), seconds=seconds))
                for f, arg in zip(fields, args, strict=True)
            ]
        )
    return arrow_type


def target_schemas(schema: pa.Schema, ch_types: list[str]) -> tuple[pa.Schema, pa.Schema] | None:
    """(intermediate, final) schemas to cast ``schema`` to; None when nothing changes."""
    import pyarrow as pa

    if len(ch_types) != len(schema):
        return None
    final = pa.schema(
        [f.with_type(target_type(f.type, t)) for f, t in zip(schema, ch_types, strict=True)],
        metadata=schema.metadata,
    )
    if final.equals(schema):
        return None
    middle = pa.schema(
        [
            f.with_type(target_type(f.type, t, seconds=False))
            for f, t in zip(schema, ch_types, strict=True)
        ],
        metadata=schema.metadata,
    )
    return middle, final


def plan(schema: pa.Schema, describe: Callable[[], list[str]]) -> tuple[pa.Schema, ...]:
    """The schemas to cast batches of ``schema`` through to get DuckDB's types (empty when
    none is needed). ``describe`` returns the ClickHouse type of each result column; it is
    called only when the schema holds a type that may need it."""
    if not any(needs_types(f.type) for f in schema):
        return ()
    schemas = target_schemas(schema, describe())
    if schemas is None:
        return ()
    middle, final = schemas
    return (final,) if middle.equals(schema) else (middle, final)


def cast(batch: pa.RecordBatch, schemas: tuple[pa.Schema, ...]) -> pa.RecordBatch:
    for schema in schemas:
        batch = batch.cast(schema)
    return batch


def conform_batches(
    batches: Iterable[pa.RecordBatch], describe: Callable[[], list[str]]
) -> Iterator[pa.RecordBatch]:
    """``batches`` with DuckDB's types; ``describe`` is asked once, at the first batch."""
    schemas: tuple[pa.Schema, ...] | None = None
    for batch in batches:
        if schemas is None:
            schemas = plan(batch.schema, describe)
        yield cast(batch, schemas)


def conform_table(table: pa.Table, describe: Callable[[], list[str]]) -> pa.Table:
    """``table`` with DuckDB's types (see :func:`plan`)."""
    schemas = plan(table.schema, describe)
    for schema in schemas:
        table = table.cast(schema)
    return table
