"""The HackerNews tables' explicit types and the item schema contract.

Every fetched item goes through :class:`ItemContract`: it becomes a row of
``hackernews.items``, a rejection (raw JSON + reason, for ``hackernews.rejected_items``)
or "missing" (the API's ``null`` for an id without an item). Fields the contract does not
know yet are accepted as new columns (schema evolution) with a type inferred from the
first value, and reported; a later value of another type is a rejection, not a crash.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

NAMESPACE = "hackernews"
ITEMS = f"{NAMESPACE}.items"
REJECTED = f"{NAMESPACE}.rejected_items"
LISTS = f"{NAMESPACE}.lists"

ITEM_TYPES = frozenset({"story", "comment", "job", "poll", "pollopt"})

# Known item fields -> kind. Kinds map to Arrow types below; ``time`` is Unix seconds in
# the API and a UTC timestamp (microseconds, no zone) in the table.
ITEM_FIELDS: dict[str, str] = {
    "id": "int",
    "type": "str",
    "by": "str",
    "time": "time",
    "text": "str",
    "url": "str",
    "title": "str",
    "parent": "int",
    "poll": "int",
    "kids": "ints",
    "parts": "ints",
    "score": "int",
    "descendants": "int",
    "deleted": "bool",
    "dead": "bool",
}
# Flags the API omits when false; stored as false so `WHERE NOT dead` works.
FLAGS = ("deleted", "dead")
_MAX_TIME = 2**40  # seconds; rejects millisecond timestamps and garbage
_FIELD_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")


def arrow_type(kind: str) -> pa.DataType:
    import pyarrow as pa

    return {
        "int": pa.int64(),
        "str": pa.string(),
        "time": pa.timestamp("us"),
        "ints": pa.list_(pa.int64()),
        "bool": pa.bool_(),
        "float": pa.float64(),
        "json": pa.string(),
    }[kind]


def items_schema(extra: dict[str, str] | None = None) -> pa.Schema:
    """Arrow schema of hackernews.items (known fields, then extra fields in order)."""
    import pyarrow as pa

    fields = [pa.field("id", pa.int64(), nullable=False)]
    fields += [
        pa.field(name, arrow_type(kind)) for name, kind in ITEM_FIELDS.items() if name != "id"
    ]
    fields += [pa.field(name, arrow_type(kind)) for name, kind in (extra or {}).items()]
    return pa.schema(fields)


def rejected_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema(
        [
            pa.field("id", pa.int64(), nullable=False),  # the id we asked the API for
            pa.field("raw", pa.string()),  # the body exactly as received
            pa.field("reason", pa.string()),
            pa.field("fetched_at", pa.timestamp("us")),
        ]
    )


def lists_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema(
        [
            pa.field("list", pa.string(), nullable=False),  # "topstories", ...
            pa.field("position", pa.int32(), nullable=False),  # 0 = first on the page
            pa.field("item_id", pa.int64(), nullable=False),
            pa.field("fetched_at", pa.timestamp("us"), nullable=False),
        ]
    )


def kind_of_arrow(t: pa.DataType) -> str:
    """The contract kind of an existing table column (for fields added by earlier runs)."""
    import pyarrow as pa

    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_floating(t):
        return "float"
    if pa.types.is_timestamp(t):
        return "time"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return "ints"
    return "json" if not pa.types.is_string(t) else "str"


def utc_now() -> datetime:
    """Naive UTC "now", microsecond precision, as stored in the timestamp columns."""
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class ItemContract:
    """Validates raw API items; remembers fields added by schema evolution."""

    # Fields beyond ITEM_FIELDS already in the table (from earlier runs) -> kind.
    extra: dict[str, str] = field(default_factory=dict)
    # Fields first seen in this run -> kind (reported as schema evolution).
    new_fields: dict[str, str] = field(default_factory=dict)

    def check(self, requested_id: int, value: Any) -> tuple[dict[str, Any] | None, str | None]:
        """(row, None) for a valid item, (None, reason) for a rejection, (None, None)
        when the API has no item for the id."""
        if value is None:
            return None, None
        if not isinstance(value, dict):
            return None, f"expected a JSON object or null, got {type(value).__name__}"
        row: dict[str, Any] = {flag: False for flag in FLAGS}
        for key, val in value.items():
            kind = ITEM_FIELDS.get(key) or self.extra.get(key) or self.new_fields.get(key)
            if kind is None:
                if not _FIELD_NAME.match(key):
                    return None, f"field name {key!r} is not a valid column name"
                if val is None:
                    continue
                kind = _infer(val)
                self.new_fields[key] = kind
            if val is None:
                row[key] = None
                continue
            problem = _check_value(kind, val)
            if problem:
                return None, f"field {key!r}: {problem} (got {json.dumps(val)[:80]})"
            row[key] = json.dumps(val, ensure_ascii=False) if kind == "json" else val
        if row.get("id") != requested_id:
            return None, f"field 'id' is {value.get('id')!r}, expected {requested_id}"
        if row.get("type") not in ITEM_TYPES:
            return None, (
                f"field 'type' is {value.get('type')!r}, expected one of "
                f"{', '.join(sorted(ITEM_TYPES))}"
            )
        return row, None

    def columns(self) -> dict[str, str]:
        return {**self.extra, **self.new_fields}

    def to_arrow(self, rows: list[dict[str, Any]]) -> pa.Table:
        """Rows from :meth:`check` -> an Arrow table with the explicit column types."""
        import pyarrow as pa
        import pyarrow.compute as pc

        extra = self.columns()
        schema = items_schema(extra)
        times = [row.pop("time", None) for row in rows]
        staging = pa.schema(
            [f if f.name != "time" else pa.field("time", pa.int64()) for f in schema]
        )
        table = pa.Table.from_pylist(rows, schema=staging)
        seconds = pa.array(times, pa.int64())
        # Seconds -> microseconds without a Python datetime per row.
        micros = pc.multiply(seconds, pa.scalar(1_000_000, pa.int64()))
        index = schema.get_field_index("time")
        return table.set_column(index, schema.field("time"), micros.cast(pa.timestamp("us")))


def _infer(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int) and -(2**63) <= value < 2**63:
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, list) and value and all(_is_int(v) for v in value):
        return "ints"
    return "json"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63


def _check_value(kind: str, value: Any) -> str | None:
    if kind == "int":
        return None if _is_int(value) else "expected an integer"
    if kind == "str":
        return None if isinstance(value, str) else "expected a string"
    if kind == "bool":
        return None if isinstance(value, bool) else "expected true or false"
    if kind == "float":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return None if ok else "expected a number"
    if kind == "time":
        if not _is_int(value) or not 0 <= value < _MAX_TIME:
            return "expected Unix seconds (a non-negative integer)"
        return None
    if kind == "ints":
        if not isinstance(value, list) or not all(_is_int(v) for v in value):
            return "expected a list of integers"
        return None
    return None  # "json": anything goes, stored as its JSON text
