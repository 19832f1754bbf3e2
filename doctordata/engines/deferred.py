"""A finished DuckDB result kept in its cursor until read: Python rows without pyarrow.

Why: DuckDB's ``cursor.execute`` runs the query to the end (the result is materialised in
DuckDB); converting it to Arrow imports pyarrow and numpy (about a fifth of a second of
CPU per process) even when the caller only wants ``fetchall()``. A :class:`DeferredRows`
converts on first read instead: to Python rows with DuckDB's own ``fetchall`` when every
column's type is in :data:`PYTHON_TYPES` (where that gives exactly the values the Arrow
path gives, see result.python_rows), to Arrow otherwise or when Arrow is asked for first.
Rows read first and Arrow wanted later are turned into the Arrow table DuckDB would have
produced (its schema comes from DuckDB itself). tests/engines/test_deferred_rows.py
compares both paths over a table of every type.

The query's time limit, memory limit and data-file errors all apply in ``execute``, where
the query runs; reading the result afterwards only converts values.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from doctordata.engines.result import LazyRows, python_rows, with_sql_types

if TYPE_CHECKING:
    import pyarrow as pa

# DuckDB type names whose fetchall() values equal python_rows() of the Arrow result, at the
# top level of a column. TIMESTAMPTZ (another tzinfo class), TIMESTAMP_NS (pandas
# Timestamp via Arrow), INTERVAL (no months in a timedelta, so no way back to Arrow),
# fixed-size ARRAY (tuple vs list), ENUM (Arrow dictionary), JSON and the rest go through
# Arrow, as before.
PLAIN_TYPES = frozenset(
    {
        "BOOLEAN",
        "TINYINT",
        "SMALLINT",
        "INTEGER",
        "BIGINT",
        "UTINYINT",
        "USMALLINT",
        "UINTEGER",
        "UBIGINT",
        "FLOAT",
        "DOUBLE",
        "VARCHAR",
        "BLOB",
        "DATE",
        "TIME",
        "TIMESTAMP",
        "TIMESTAMP_S",
        "TIMESTAMP_MS",
    }
)
# Converted by python_rows at the top level and in lists (result._BY_SQL_TYPE), so allowed
# there but not inside a struct or map, where the Arrow path leaves Decimal/str.
TOP_LEVEL_TYPES = frozenset({"HUGEINT", "UHUGEINT", "UUID"})


def python_ok(sql_type: Any, top: bool = True) -> bool:
    """True if ``sql_type`` (a DuckDBPyType from a cursor description) reads the same as
    Python rows and through Arrow (see PLAIN_TYPES)."""
    text = str(sql_type)
    if text in PLAIN_TYPES or (top and text in TOP_LEVEL_TYPES):
        return True
    kind = getattr(sql_type, "id", None)
    if kind == "decimal":
        return True
    if kind == "list":
        # UUIDs in a list of the column convert (python_rows), not in a nested list; a
        # HUGEINT in a list is left out (rows_to_arrow rebuilds only top-level ones).
        return all(
            python_ok(child, top and getattr(child, "id", None) != "list")
            and str(child) not in ("HUGEINT", "UHUGEINT")
            for _, child in sql_type.children
        )
    if kind in ("struct", "map"):
        return all(python_ok(child, False) for _, child in sql_type.children)
    return False


# Top-level DuckDB type -> the Arrow type's name DuckDB exports it as, for the types whose
# Python row value prints (commands/output.py cell()) as Arrow's own value does.
PREVIEW_TYPES = {
    "BOOLEAN": "bool",
    "TINYINT": "int8",
    "SMALLINT": "int16",
    "INTEGER": "int32",
    "BIGINT": "int64",
    "UTINYINT": "uint8",
    "USMALLINT": "uint16",
    "UINTEGER": "uint32",
    "UBIGINT": "uint64",
    "FLOAT": "float",
    "DOUBLE": "double",
    "VARCHAR": "string",
    "BLOB": "binary",
    "DATE": "date32[day]",
    "TIME": "time64[us]",
    "TIMESTAMP": "timestamp[us]",
    "TIMESTAMP_S": "timestamp[s]",
    "TIMESTAMP_MS": "timestamp[ms]",
    "HUGEINT": "decimal128(38, 0)",
    "UUID": "string",
}


def preview_types(description: Sequence[Any] | None) -> list[str] | None:
    """Arrow type names of the columns if all are PREVIEW_TYPES (or DECIMAL), else None."""
    if not description:
        return None
    out = []
    for d in description:
        text = str(d[1])
        if getattr(d[1], "id", None) == "decimal":
            width, scale = text[len("DECIMAL(") : -1].split(",")
            out.append(f"decimal128({int(width)}, {int(scale)})")
        elif text in PREVIEW_TYPES:
            out.append(PREVIEW_TYPES[text])
        else:
            return None
    return out


class DeferredRows(LazyRows):
    """A query result still in its DuckDB cursor; converted once, on first read."""

    def __init__(
        self,
        cursor: Any,
        description: Sequence[Any] | None,
        arrow_of: Callable[[Any, Any], pa.Table],
        on_error: Callable[[Exception], Exception],
    ) -> None:
        self._cursor: Any = cursor
        self._description = list(description or [])
        self._arrow_of = arrow_of  # (cursor, description) -> the Arrow table of today
        self._on_error = on_error  # a DuckDB error -> the engine's typed error
        self._lock = threading.Lock()
        self._rows: list[tuple[Any, ...]] | None = None
        self._table: pa.Table | None = None
        self._failed: Exception | None = None  # raised again on every later read
        self.python = bool(self._description) and all(python_ok(d[1]) for d in self._description)

    @property
    def columns(self) -> list[str]:
        return [str(d[0]) for d in self._description]

    def settle(self, arrow: bool = False) -> None:
        """Read the result out of DuckDB (as Arrow if ``arrow`` or if Python rows would
        differ) and release the cursor. Later calls do nothing."""
        import duckdb

        with self._lock:
            if self._cursor is None:
                if self._failed is not None:
                    raise self._failed
                return
            cursor, self._cursor = self._cursor, None
            try:
                if arrow or not self.python:
                    self._table = self._arrow_of(cursor, self._description)
                else:
                    self._rows = cursor.fetchall()
            except duckdb.Error as exc:
                self._failed = self._on_error(exc)
                raise self._failed from exc
            finally:
                cursor.close()

    def rows(self) -> list[tuple[Any, ...]]:
        """The rows as DuckDB's fetchall types (result.python_rows of the Arrow table)."""
        self.settle()
        if self._rows is None:
            assert self._table is not None
            self._rows = python_rows(self._table)
        return self._rows

    def arrow(self) -> pa.Table:
        """The Arrow table ``DuckDBEngine.execute`` returns for the same query."""
        self.settle(arrow=True)
        if self._table is None:
            assert self._rows is not None
            self._table = rows_to_arrow(self._rows, self._description)
        return self._table

    @property
    def num_rows(self) -> int:
        self.settle()
        return len(self._rows) if self._rows is not None else self._table.num_rows  # type: ignore[union-attr]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def rows_to_arrow(rows: list[tuple[Any, ...]], description: Sequence[Any]) -> pa.Table:
    """The Arrow table DuckDB would have exported for ``rows`` (all of PYTHON types).

    The schema is DuckDB's own export of the same column types (a query over NULLs on a
    private in-memory connection, so a closed engine does not matter)."""
    import duckdb
    import pyarrow as pa

    select = ", ".join(f"NULL::{d[1]} AS {_quote(str(d[0]))}" for d in description)
    con = duckdb.connect()
    try:
        schema = con.execute(f"SELECT {select} LIMIT 0").to_arrow_table().schema
    finally:
        con.close()
    arrays = []
    for i, (field, column) in enumerate(zip(schema, description, strict=True)):
        values = [row[i] for row in rows]
        if str(column[1]).startswith("UUID"):  # UUID, UUID[], UUID[][] ...
            values = [_uuid_text(v) for v in values]
        if str(column[1]) in ("HUGEINT", "UHUGEINT"):
            arrays.append(_decimal128_of_ints(values, field.type))
        else:
            arrays.append(pa.array(values, type=field.type))
    table = pa.Table.from_arrays(arrays, schema=schema)
    return with_sql_types(table, description)


def _uuid_text(value: Any) -> Any:
    # DuckDB exports UUID as text; fetchall gives uuid.UUID (also inside a list).
    if value is None:
        return None
    if isinstance(value, list):
        return [_uuid_text(v) for v in value]
    return str(value)


def _decimal128_of_ints(values: list[Any], type_: Any) -> Any:
    """DuckDB's export of HUGEINT: its 128-bit integers as decimal128(38, 0) storage, also
    the 39-digit ones pyarrow's own conversion refuses."""
    import pyarrow as pa

    data = b"".join((v or 0).to_bytes(16, "little", signed=True) for v in values)
    if all(v is not None for v in values):
        return pa.Array.from_buffers(type_, len(values), [None, pa.py_buffer(data)])
    bits = bytearray((len(values) + 7) // 8)
    for i, v in enumerate(values):
        if v is not None:
            bits[i // 8] |= 1 << (i % 8)
    nulls = len(values) - sum(v is not None for v in values)
    return pa.Array.from_buffers(
        type_, len(values), [pa.py_buffer(bytes(bits)), pa.py_buffer(data)], null_count=nulls
    )
