"""A table's schema and identity from metadata.json, without pyiceberg or pydantic.

Why: a new query's planner needs the current schema (field ids, names, types) and a few
facts about the table's history; pyiceberg's Table brings pydantic and its whole model
(~0.2 s of CPU per process). :class:`LiteTable` answers those from the parsed JSON and
loads the real pyiceberg Table (``real()``) on first need: any attribute it does not have
is looked up on the real table, so code written for pyiceberg still works with it, only
slower. Types are :class:`LiteType`, spelled as pyiceberg's ``str(IcebergType)`` and with
the attributes the engines read (``is_primitive``, ``precision``, ``element_type``, ...).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit

from doctordata.catalog.reader.avro import Unsupported
from doctordata.catalog.reader.metadata import TableMetadata, type_string

_DECIMAL = re.compile(r"^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$")


def local_path(location: str) -> str | None:
    """The path pyiceberg's Arrow FileIO opens for a local location, else None.

    Spelled as PyArrowFileIO parses it (netloc + path, no unquoting), so both paths open
    the same file."""
    if location.startswith("/"):
        return location
    if location.startswith("file:"):
        parts = urlsplit(location)
        path = parts.netloc + parts.path
        return path if path.startswith("/") else None
    return None


@dataclass(frozen=True, eq=False)
class LiteField:
    """A field as pyiceberg's NestedField names its parts."""

    field_id: int
    name: str
    field_type: LiteType
    required: bool


@dataclass(frozen=True, eq=False)
class LiteType:
    """An Iceberg type: ``str()`` is pyiceberg's spelling of it."""

    text: str
    kind: str  # "primitive", "struct", "list" or "map"
    fields: tuple[LiteField, ...] = ()  # struct
    element_type: LiteType | None = None  # list
    key_type: LiteType | None = None  # map
    value_type: LiteType | None = None  # map
    precision: int = 0  # decimal
    scale: int = 0  # decimal

    def __str__(self) -> str:
        return self.text

    @property
    def is_primitive(self) -> bool:
        return self.kind == "primitive"

    @property
    def is_struct(self) -> bool:
        return self.kind == "struct"


def lite_type(raw: Any) -> LiteType:
    """An Iceberg JSON type -> LiteType (Unsupported for a type pyiceberg would refuse)."""
    text = type_string(raw)
    if isinstance(raw, str):
        m = _DECIMAL.match(raw)
        if m:
            return LiteType(text, "primitive", precision=int(m.group(1)), scale=int(m.group(2)))
        return LiteType(text, "primitive")
    kind = raw["type"]
    if kind == "struct":
        return LiteType(text, "struct", fields=tuple(lite_field(f) for f in raw["fields"]))
    if kind == "list":
        return LiteType(text, "list", element_type=lite_type(raw["element"]))
    return LiteType(text, "map", key_type=lite_type(raw["key"]), value_type=lite_type(raw["value"]))


def lite_field(raw: dict[str, Any]) -> LiteField:
    return LiteField(
        int(raw["id"]), str(raw["name"]), lite_type(raw["type"]), bool(raw["required"])
    )


@dataclass(frozen=True, eq=False)
class LiteSchema:
    schema_id: int
    fields: tuple[LiteField, ...]

    def find_field(self, name: str) -> LiteField:
        for f in self.fields:
            if f.name == name:
                return f
        raise ValueError(f"no field {name!r}")


def make_compatible_name(name: str) -> str:
    """The name pyiceberg writes a field under in Parquet/Avro (a valid Avro name).

    A name is valid when it starts with a letter or ``_`` and goes on with letters, digits
    and ``_`` (str.isalpha/isalnum, as pyiceberg tests them). Other characters become
    ``_x`` + their upper-case hex code point; a leading digit becomes ``_`` + the digit.
    tests/catalog/test_lite_tables.py checks it against pyiceberg's on odd names.
    """
    if not name:
        return name
    out = []
    for i, ch in enumerate(name):
        ok = ch == "_" or (ch.isalpha() if i == 0 else ch.isalnum())
        if ok:
            out.append(ch)
        elif ch.isdigit():
            out.append("_" + ch)
        else:
            out.append(f"_x{ord(ch):X}")
    return "".join(out)


def _millis(value: Any) -> int:
    """A time as_of in epoch milliseconds (naive times are UTC), as snapshots.py reads it."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise Unsupported(f"as_of={value!r} is no ISO time") from None
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if not isinstance(value, datetime):
        raise Unsupported(f"as_of={value!r}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


def _walk(fields: list[dict[str, Any]]) -> Iterator[tuple[int, str]]:
    """(field id, name) of every field, nested ones included (list elements, map keys and
    values are named as pyiceberg's index_by_id names them)."""
    stack: list[Any] = [f for f in reversed(fields)]
    while stack:
        f = stack.pop()
        yield int(f["id"]), str(f["name"])
        stack.extend(reversed(list(_children(f["type"]))))


def _children(t: Any) -> Iterator[dict[str, Any]]:
    if isinstance(t, str):
        return
    kind = t.get("type")
    if kind == "struct":
        yield from t["fields"]
    elif kind == "list":
        yield {"id": t["element-id"], "name": "element", "type": t["element"]}
    elif kind == "map":
        yield {"id": t["key-id"], "name": "key", "type": t["key"]}
        yield {"id": t["value-id"], "name": "value", "type": t["value"]}


class LiteTable:
    """Schema and identity of one table at one metadata file; the rest from ``real()``."""

    def __init__(self, name: str, meta: TableMetadata, load_real: Callable[[], Any]) -> None:
        self._name = name
        self.meta = meta
        self.metadata_location = meta.location
        self._load_real = load_real
        self._real: Any = None
        self._schema: LiteSchema | None = None

    def name(self) -> tuple[str, ...]:
        namespace, table = self._name.rsplit(".", 1)
        return (*namespace.split("."), table)

    def real(self) -> Any:
        """The pyiceberg Table (loaded once)."""
        if self._real is None:
            self._real = self._load_real()
        return self._real

    def __getattr__(self, item: str) -> Any:
        # Anything this class does not answer is pyiceberg's (time travel, scans, ...).
        if item.startswith("__"):
            raise AttributeError(item)
        return getattr(self.real(), item)

    def schema(self) -> LiteSchema:
        if self._schema is None:
            self._schema = self._schema_by_id(self.meta.raw.get("current-schema-id"))
        return self._schema

    def _schema_by_id(self, schema_id: Any) -> LiteSchema:
        for s in self.meta.raw.get("schemas", []):
            if s.get("schema-id") == schema_id:
                return LiteSchema(int(schema_id), tuple(lite_field(f) for f in s["fields"]))
        raise Unsupported(f"{self.metadata_location}: no schema {schema_id}")

    def schema_at(self, snapshot_id: int | None) -> LiteSchema:
        """The schema a scan of the snapshot reads (its own, as pyiceberg's projection)."""
        if snapshot_id is None:
            return self.schema()
        schema_id = self.snapshot(snapshot_id).get("schema-id")
        if schema_id is None or schema_id == self.meta.raw.get("current-schema-id"):
            return self.schema()
        return self._schema_by_id(schema_id)

    def snapshot(self, snapshot_id: int) -> dict[str, Any]:
        for snap in self.meta.raw.get("snapshots", []):
            if snap.get("snapshot-id") == snapshot_id:
                return dict(snap)
        raise Unsupported(f"{self.metadata_location}: no snapshot {snapshot_id}")

    def snapshot_for(self, as_of: Any) -> int | None:
        """catalog/snapshots.resolve_as_of where it finds a snapshot (None: the current
        one); Unsupported wherever that raises or might, which then names the error."""
        if as_of is None:
            return None
        raw = self.meta.raw
        known = {int(s["snapshot-id"]) for s in raw.get("snapshots", [])}
        if isinstance(as_of, bool):
            raise Unsupported("a boolean as_of")
        if isinstance(as_of, int) or (
            isinstance(as_of, str) and as_of.isdigit() and len(as_of) > 8
        ):
            if int(as_of) not in known:
                raise Unsupported(f"no snapshot {as_of}")
            return int(as_of)
        refs = self.meta.refs()
        if isinstance(as_of, str) and as_of in refs:
            return refs[as_of]
        millis = _millis(as_of)
        log = [e for e in raw.get("snapshot-log") or [] if int(e["timestamp-ms"]) <= millis]
        if not log or int(log[-1]["snapshot-id"]) not in known:
            raise Unsupported(f"no retained snapshot at {as_of!s}")
        return int(log[-1]["snapshot-id"])

    @property
    def schema_count(self) -> int:
        return len(self.meta.raw.get("schemas", []))

    @property
    def properties(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in (self.meta.raw.get("properties") or {}).items()}

    def renames(self) -> tuple[bool, bool]:
        """(a top-level field, a nested field) is stored under another name than now.

        As engines/scan.py's pyiceberg version: a field had another name in an earlier
        schema, or its name is not a valid Avro name (pyiceberg writes it sanitised)."""
        names: dict[int, str] = {}
        top = nested = False
        for schema in self.meta.raw.get("schemas", []):
            top_ids = {int(f["id"]) for f in schema["fields"]}
            for field_id, name in _walk(schema["fields"]):
                before = names.setdefault(field_id, name)
                if before != name or make_compatible_name(name) != name:
                    if field_id in top_ids:
                        top = True
                    else:
                        nested = True
        return top, nested


@dataclass
class Spec:
    """One partition spec: (field name, source field id, transform) per field."""

    spec_id: int
    fields: list[tuple[str, int, str]] = field(default_factory=list)


def specs(meta: TableMetadata) -> dict[int, Spec]:
    out: dict[int, Spec] = {}
    for raw in meta.raw.get("partition-specs", []):
        spec = Spec(int(raw["spec-id"]))
        for f in raw.get("fields", []):
            spec.fields.append((str(f["name"]), int(f["source-id"]), str(f["transform"])))
        out[spec.spec_id] = spec
    return out
