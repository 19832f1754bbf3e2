"""ClickHouse's Arrow output, given the Arrow types DuckDB returns for the same SQL types.

ClickHouse writes every ``DateTime64`` as a zoned Arrow timestamp: a column without a time
zone (DuckDB's TIMESTAMP) gets the server's zone attached, so it would read back as an
aware datetime; and ``DateTime`` is written as a plain ``uint32`` of seconds. Arrow alone
cannot tell a naive column from one zoned in the server's zone, so the ClickHouse types
(``DESCRIBE TABLE (query)``) decide, and only when the result holds a type that may need
it (:func:`needs_types`). Everything else passes through unchanged.

A zoned column (DuckDB's TIMESTAMPTZ) carries DuckDB's session ``TimeZone`` as its Arrow
zone, whatever zone ClickHouse wrote: DuckDB has no per-column zone, it labels every
TIMESTAMPTZ with the session's (``Etc/UTC`` on a machine set to UTC, ``Europe/Berlin``
under ``TZ=Europe/Berlin``). Arrow stores UTC instants either way, so only the label
changes; Python values, Parquet and CSV then come out as DuckDB writes them.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

# A named Tuple element ("name Type"): an identifier followed by whitespace and a type.
_NAMED = re.compile(r"^\s*(?:`(?:[^`\\]|\\.)*`|\"(?:[^\"\\]|\\.)*\"|[A-Za-z_]\w*)\s+(?=\S)")

_ZONES: dict[str | None, str] = {}
_ZONES_LOCK = threading.Lock()


def duckdb_time_zone() -> str:
    """The ``TimeZone`` a new DuckDB connection of this process gets (the ``TZ``
    environment variable, else the system zone): the zone DuckDB labels TIMESTAMPTZ with.
    Asked of DuckDB itself, once per ``TZ`` value, and only when a result has a zoned
    column."""
    key = os.environ.get("TZ")
    with _ZONES_LOCK:
        zone = _ZONES.get(key)
        if zone is None:
            import duckdb

            con = duckdb.connect(":memory:", config={"enable_external_access": False})
            try:
                row = con.execute("SELECT current_setting('TimeZone')").fetchone()
            finally:
                con.close()
            zone = _ZONES[key] = str(row[0]) if row else "UTC"
    return zone


# The zones in which DuckDB's session computes as in UTC (its name for UTC varies with the
# machine: Etc/UTC, UTC, ...); ClickHouse's session is UTC.
UTC_ZONES = frozenset(
    {"UTC", "Etc/UTC", "GMT", "Etc/GMT", "UCT", "Etc/UCT", "Universal", "Etc/Universal"}
    | {"Zulu", "Etc/Zulu", "Etc/GMT+0", "Etc/GMT-0", "Etc/GMT0", "GMT0", "GMT+0", "GMT-0"}
)


def clickhouse_zone() -> str:
    """The zone ClickHouse gives a TIMESTAMPTZ value (``DateTime64(6, '<zone>')``): DuckDB's
    session zone, so that ClickHouse computes hour(), CAST(... AS DATE), date_trunc, text
    and string comparisons in it as DuckDB does; ``UTC`` where DuckDB's zone is UTC."""
    zone = duckdb_time_zone()
    return "UTC" if zone in UTC_ZONES else zone


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


def target_type(arrow_type: pa.DataType, ch_type: str, zone: str, *, stage: int = 2) -> pa.DataType:
    """The Arrow type DuckDB gives for ClickHouse type ``ch_type`` written as ``arrow_type``;
    ``zone`` is DuckDB's session zone (:func:`duckdb_time_zone`), the label of every
    TIMESTAMPTZ.

    Arrow casts a ``DateTime`` (``uint32`` seconds) to DuckDB's ``timestamp[us]`` in steps:
    ``stage`` 0 gives ``int64``, 1 ``timestamp[s]``, 2 (the default) ``timestamp[us]``.
    """
    import pyarrow as pa

    name, args = split_type(ch_type)
    if name in ("Nullable", "LowCardinality") and len(args) == 1:
        return target_type(arrow_type, args[0], zone, stage=stage)
    if name == "DateTime64" and pa.types.is_timestamp(arrow_type):
        # A zone in the type makes it DuckDB's TIMESTAMPTZ; without one ClickHouse attached
        # the server's, which DuckDB's TIMESTAMP does not have. DuckDB computes in
        # microseconds (TIMESTAMP) or nanoseconds (TIMESTAMP_NS), never seconds.
        unit = "ns" if arrow_type.unit == "ns" else "us"
        return pa.timestamp(unit, tz=zone if len(args) > 1 else None)
    if name == "DateTime" and pa.types.is_uint32(arrow_type):
        if stage == 0:
            return pa.int64()
        return pa.timestamp("s" if stage == 1 else "us", tz=zone if args else None)
    if name == "Array" and len(args) == 1 and pa.types.is_list(arrow_type):
        item = arrow_type.value_field
        return pa.list_(item.with_type(target_type(item.type, args[0], zone, stage=stage)))
    if name == "Map" and len(args) == 2 and pa.types.is_map(arrow_type):
        key = target_type(arrow_type.key_type, args[0], zone, stage=stage)
        return pa.map_(
            key,
            arrow_type.item_field.with_type(
                target_type(arrow_type.item_type, args[1], zone, stage=stage)
            ),
        )
    if name == "Tuple" and pa.types.is_struct(arrow_type) and len(args) == arrow_type.num_fields:
        fields = [arrow_type.field(i) for i in range(arrow_type.num_fields)]
        return pa.struct(
            [
                f.with_type(target_type(f.type, _NAMED.sub("", arg), zone, stage=stage))
                for f, arg in zip(fields, args, strict=True)
            ]
        )
    return arrow_type


def duckdb_fields(arrow_type: pa.DataType) -> pa.DataType:
    """``arrow_type`` with DuckDB's nested fields: a list's item is a nullable field named
    ``l`` (ClickHouse: ``item``, not null where its elements are not Nullable), and struct
    fields and map values are nullable. Only field metadata changes: a cast copies no data.
    """
    import pyarrow as pa

    if pa.types.is_large_list(arrow_type) or pa.types.is_list(arrow_type):
        item = duckdb_fields(arrow_type.value_type)
        if pa.types.is_large_list(arrow_type):
            return pa.large_list(pa.field("l", item))
        return pa.list_(pa.field("l", item))
    if pa.types.is_map(arrow_type):
        value = arrow_type.item_field
        return pa.map_(
            arrow_type.key_field.with_type(duckdb_fields(arrow_type.key_type)),
            value.with_type(duckdb_fields(value.type)).with_nullable(True),
        )
    if pa.types.is_struct(arrow_type):
        fields = [arrow_type.field(i) for i in range(arrow_type.num_fields)]
        return pa.struct([f.with_type(duckdb_fields(f.type)).with_nullable(True) for f in fields])
    return arrow_type


def plan(schema: pa.Schema, describe: Callable[[], list[str]]) -> tuple[pa.Schema, ...]:
    """The schemas to cast batches of ``schema`` through, in order, to get DuckDB's types
    (none when nothing changes). ``describe`` returns the ClickHouse type of each result
    column; it is called only when the schema holds a type that may need it."""
    import pyarrow as pa

    fields = pa.schema(
        [f.with_type(duckdb_fields(f.type)) for f in schema], metadata=schema.metadata
    )
    # Compared as text too: Arrow's equality ignores a list's item field name ("item" from
    # ClickHouse, "l" on DuckDB), which only the cast renames.
    same = fields.equals(schema) and str(fields) == str(schema)
    steps: list[pa.Schema] = [] if same else [fields]
    schema = fields
    if not any(needs_types(f.type) for f in schema):
        return tuple(steps)
    ch_types = describe()
    if len(ch_types) != len(schema):
        return tuple(steps)
    zone = duckdb_time_zone()
    for stage in (0, 1, 2):
        step = pa.schema(
            [
                f.with_type(target_type(f.type, t, zone, stage=stage))
                for f, t in zip(schema, ch_types, strict=True)
            ],
            metadata=schema.metadata,
        )
        last = (steps or [schema])[-1]
        if not step.equals(last) or str(step) != str(last):
            steps.append(step)
    return tuple(steps)


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
