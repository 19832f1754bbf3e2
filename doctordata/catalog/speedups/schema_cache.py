"""Convert and check an append's Arrow schema once per (table schema, Arrow schema).

An append of a 100-row table converted the same Arrow schema to an Iceberg schema five
times (pyiceberg 0.12's ``pyarrow_to_schema``: a visitor over every field, ~0.23 ms each
for three columns) and checked it against the table's schema twice (pyiceberg's
``_check_pyarrow_schema_compatible`` and our catalog.tables check): ~2 ms of CPU per
append (issue 18, branch appends4), the same answer each time.

Here the answers are kept in bounded LRU caches:

- ``pyarrow_to_schema``: keyed by the Arrow schema's IPC bytes (names, types,
  nullability, field and schema metadata, i.e. field ids: everything the conversion reads),
  the name mapping (by identity; it is a cached property of a table schema), the
  timestamp-downcast flag and the format version. The result is a pydantic model frozen
  by pyiceberg, so sharing it is safe.
- ``_check_pyarrow_schema_compatible``: only a *success* is kept, keyed by the table
  schema (by identity) and the same Arrow key; a failure is never cached, so a schema that
  does not fit is refused by pyiceberg's own code with its own error every time.
- ``sanitize_column_names`` (the Avro-safe names of the table schema, worked out by a
  visitor for every data file written): keyed by the table schema (by identity).
- ``compute_statistics_plan`` and ``parquet_path_to_id_mapping`` (which statistics
  each column gets, and the Parquet path of each field id: two schema visitors per data
  file, ~0.1 ms): keyed by the table schema (identity) and, for the plan, the table
  properties (by value); the callers only read them, and get a copy anyway.
- :class:`VerdictCache`: the same for our own check (catalog/tables.py).

Keys hold their objects (the table schema, the name mapping) in the cache entry, so an id
cannot be reused while its entry lives, and a hit is checked by identity. Schema
evolution makes a new schema object (and a new name mapping): the old entries just stop
being hit and age out. Only pyiceberg 0.12.x is patched; on any other version
``install()`` does nothing and pyiceberg's own functions run.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

_PATCHED_VERSION = "0.12."
MAX_ENTRIES = 256  # a few hundred (table schema, Arrow schema) pairs: a few MB at most
_state: dict[str, Any] = {}


def arrow_key(schema: Any) -> bytes:
    """Everything about an Arrow schema a conversion can read, as bytes (~3 us)."""
    return bytes(schema.serialize())


class VerdictCache:
    """A bounded, thread-safe LRU map whose entries keep their key objects alive."""

    def __init__(self, size: int = MAX_ENTRIES) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[Any, ...], tuple[tuple[Any, ...], Any]] = OrderedDict()

    def get(self, key: tuple[Any, ...], owners: tuple[Any, ...]) -> Any:
        """The value stored for ``key`` by the same ``owners`` objects, else None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or len(entry[0]) != len(owners):
                return None
            if any(a is not b for a, b in zip(entry[0], owners, strict=True)):
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: tuple[Any, ...], owners: tuple[Any, ...], value: Any) -> None:
        with self._lock:
            self._entries[key] = (owners, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


conversions = VerdictCache()
compatible = VerdictCache()
sanitized = VerdictCache()
plans = VerdictCache()


def pyarrow_to_schema(
    schema: Any,
    name_mapping: Any = None,
    downcast_ns_timestamp_to_us: bool = False,
    format_version: Any = None,
) -> Any:
    """pyiceberg's ``pyarrow_to_schema``, answered from the cache when it can be."""
    original = _state["pyarrow_to_schema"]
    kwargs: dict[str, Any] = {"downcast_ns_timestamp_to_us": downcast_ns_timestamp_to_us}
    if format_version is not None:
        kwargs["format_version"] = format_version
    key = (arrow_key(schema), id(name_mapping), bool(downcast_ns_timestamp_to_us), format_version)
    hit = conversions.get(key, (name_mapping,))
    if hit is not None:
        return hit
    result = original(schema, name_mapping=name_mapping, **kwargs)
    conversions.put(key, (name_mapping,), result)
    return result


def check_pyarrow_schema_compatible(
    requested_schema: Any,
    provided_schema: Any,
    downcast_ns_timestamp_to_us: bool = False,
    format_version: Any = None,
) -> None:
    """pyiceberg's ``_check_pyarrow_schema_compatible``; a success is remembered."""
    original = _state["check"]
    key = (
        id(requested_schema),
        arrow_key(provided_schema),
        bool(downcast_ns_timestamp_to_us),
        format_version,
    )
    if compatible.get(key, (requested_schema,)):
        return
    kwargs: dict[str, Any] = {"downcast_ns_timestamp_to_us": downcast_ns_timestamp_to_us}
    if format_version is not None:
        kwargs["format_version"] = format_version
    original(requested_schema, provided_schema, **kwargs)  # raises if it does not fit
    compatible.put(key, (requested_schema,), True)


def sanitize_column_names(schema: Any) -> Any:
    """pyiceberg's ``sanitize_column_names`` (a visitor over the table schema on every
    data file written), kept per table schema object."""
    key = ("sanitized", id(schema))
    hit = sanitized.get(key, (schema,))
    if hit is not None:
        return hit
    result = _state["sanitize"](schema)
    sanitized.put(key, (schema,), result)
    return result


def compute_statistics_plan(schema: Any, table_properties: Any) -> Any:
    """pyiceberg's ``compute_statistics_plan`` (per data file written), kept per table
    schema object and table properties; a shallow copy of the kept dict is returned."""
    props = frozenset(table_properties.items())
    key = ("plan", id(schema), props)
    hit = plans.get(key, (schema,))
    if hit is None:
        hit = _state["plan"](schema, table_properties)
        plans.put(key, (schema,), hit)
    return dict(hit)


def parquet_path_to_id_mapping(schema: Any) -> Any:
    """pyiceberg's ``parquet_path_to_id_mapping`` (per data file written), kept per table
    schema object; a copy of the kept dict is returned."""
    key = ("paths", id(schema))
    hit = plans.get(key, (schema,))
    if hit is None:
        hit = _state["paths"](schema)
        plans.put(key, (schema,), hit)
    return dict(hit)


def installed() -> bool:
    return bool(_state.get("installed"))


def install() -> bool:
    """Patch pyiceberg 0.12.x (idempotent); whether the patch is active."""
    if _state.get("installed"):
        return True
    import pyiceberg
    import pyiceberg.io.pyarrow as arrow_io

    if not pyiceberg.__version__.startswith(_PATCHED_VERSION):
        return False
    convert = getattr(arrow_io, "pyarrow_to_schema", None)
    check = getattr(arrow_io, "_check_pyarrow_schema_compatible", None)
    sanitize = getattr(arrow_io, "sanitize_column_names", None)
    plan = getattr(arrow_io, "compute_statistics_plan", None)
    paths = getattr(arrow_io, "parquet_path_to_id_mapping", None)
    if not all(callable(f) for f in (convert, check, sanitize, plan, paths)):
        return False
    _state["plan"] = plan
    _state["paths"] = paths
    arrow_io.compute_statistics_plan = compute_statistics_plan
    arrow_io.parquet_path_to_id_mapping = parquet_path_to_id_mapping
    _state["pyarrow_to_schema"] = convert
    _state["check"] = check
    _state["sanitize"] = sanitize
    arrow_io.pyarrow_to_schema = pyarrow_to_schema
    arrow_io._check_pyarrow_schema_compatible = check_pyarrow_schema_compatible
    arrow_io.sanitize_column_names = sanitize_column_names
    _state["installed"] = True
    return True


def originals() -> tuple[Any, Any]:
    """pyiceberg's own (pyarrow_to_schema, _check_pyarrow_schema_compatible), for tests."""
    import pyiceberg.io.pyarrow as arrow_io

    return (
        _state.get("pyarrow_to_schema", arrow_io.pyarrow_to_schema),
        _state.get("check", arrow_io._check_pyarrow_schema_compatible),
    )
