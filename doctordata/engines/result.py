"""Result: the rows of one query plus what it took to get them."""

from __future__ import annotations

import datetime as _dt
import os
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl
    import pyarrow as pa


@dataclass
class TableScanStats:
    """Planning figures for one table reference."""

    table: str
    alias: str
    snapshot_id: int | None
    # The pushed-down Iceberg row filter, as text ("AlwaysTrue()" when nothing was pushed).
    row_filter: str
    files_planned: int
    files_skipped: int
    bytes_planned: int
    delete_files: int
    planning_ms: float
    # "files" (planned Parquet files), "pyiceberg" (materialised to apply delete files)
    # or "serving-copy" (a fresh native copy made by publish()).
    source: str = "files"
    # Tiers holding the planned files (each must be online when the query runs).
    tiers: tuple[str, ...] = ()
    # Manifests read / listed by the fast planner (None: pyiceberg planned; it skips
    # manifests too, without counting them).
    manifests_read: int | None = None
    manifests_total: int | None = None


@dataclass
class QueryStats:
    """What the router did: engine, SQL it sent, files planned/skipped, time per phase."""

    engine: str
    sql: str = ""
    translated_sql: str = ""
    scans: list[TableScanStats] = field(default_factory=list)
    # Phase name -> milliseconds (parse, safety, resolve, plan, transpile, execute).
    timings_ms: dict[str, float] = field(default_factory=dict)
    rows: int = 0
    # True when the engine SQL came from the plan cache (no table changed since it was built).
    plan_cached: bool = False
    # The instant now()/current_date/current_timestamp were folded to, once for the whole
    # query (pruning and engine alike): 'YYYY-MM-DD HH:MM:SS.ffffff+00'; None if not called.
    now: str | None = None
    # engine='auto': why it picked this engine (engines/auto.py); empty otherwise.
    engine_reason: str = ""

    @property
    def files_planned(self) -> int:
        return sum(s.files_planned for s in self.scans)

    @property
    def files_skipped(self) -> int:
        return sum(s.files_skipped for s in self.scans)

    @property
    def bytes_planned(self) -> int:
        return sum(s.bytes_planned for s in self.scans)

    def as_dict(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "translated_sql": self.translated_sql,
            "files_planned": self.files_planned,
            "files_skipped": self.files_skipped,
            "bytes_planned": self.bytes_planned,
            "rows": self.rows,
            "plan_cached": self.plan_cached,
            "timings_ms": dict(self.timings_ms),
            "scans": [vars(s) for s in self.scans],
        }


class LazyRows(ABC):
    """Rows an engine still holds, converted on first read (engines/deferred.py)."""

    @property
    @abstractmethod
    def columns(self) -> list[str]: ...

    @property
    @abstractmethod
    def num_rows(self) -> int: ...

    @abstractmethod
    def rows(self) -> list[tuple[Any, ...]]:
        """The rows as result.python_rows gives them for the Arrow table."""

    @abstractmethod
    def arrow(self) -> pa.Table:
        """The Arrow table the engine's execute() returns for the same query."""


class Result:
    """Rows of a query. ``.arrow()``, ``.df()``, ``.pl()``, ``.fetchall()``; ``.stats``.

    A streaming result (``lh.sql(..., stream=True)``) runs when first read and can be read
    once batch by batch (``.record_batches()``, ``.to_reader()``, ``.to_parquet(path)``,
    ``.write_csv(path)``) without holding every row; ``.arrow()`` and the rest
    materialise it.
    """

    def __init__(
        self,
        table: pa.Table | LazyRows | None,
        stats: QueryStats,
        plan: str | None = None,
        *,
        batches: Iterator[pa.RecordBatch] | None = None,
        row_chunks: Callable[[], Iterator[Any]] | None = None,
    ) -> None:
        # A DuckDB result still in its cursor (engines/deferred.py): read on first use, as
        # Python rows for fetchall() without importing pyarrow where the values are equal.
        self._deferred = table if isinstance(table, LazyRows) else None
        self._table = None if isinstance(table, LazyRows) else table
        self._batches = batches
        # A streaming result's other way to be read (DuckDB's execute_row_chunks), for the
        # CLI preview: Python rows without pyarrow; not started unless preview_rows() asks.
        self._row_chunks = row_chunks
        self._stats = stats
        # Engine plan text when the query ran with explain=True.
        self.plan = plan

    @property
    def stats(self) -> QueryStats:
        """What the router did; ``rows`` is filled in once a deferred result is read."""
        if self._deferred is not None:
            self._stats.rows = self._deferred.num_rows
        return self._stats

    @stats.setter
    def stats(self, value: QueryStats) -> None:
        self._stats = value

    @property
    def streaming(self) -> bool:
        """True while the rows are still to be read from the engine."""
        return self._table is None and self._deferred is None

    def arrow(self) -> pa.Table:
        if self._table is None and self._deferred is not None:
            self._table = self._deferred.arrow()
        if self._table is None:
            import pyarrow as pa

            reader = self.to_reader()
            self._table = pa.Table.from_batches(list(reader), schema=reader.schema)
        return self._table

    def record_batches(self) -> Iterator[pa.RecordBatch]:
        """The rows as Arrow record batches; a streaming result can be read only once."""
        if self._table is not None or self._deferred is not None:
            return iter(self.arrow().to_batches())
        return (b for b in self._take() if b.num_rows)

    def preview_rows(self) -> tuple[list[str], list[str], Iterator[list[Any]]] | None:
        """For the CLI preview of a streaming result not read yet: (column names, Arrow
        type names, chunks of row tuples), the values Arrow's ``to_pylist`` gives, where
        every column's type allows (engines/deferred.py PREVIEW_TYPES). Else None, and the
        rows are read as Arrow batches (the query runs once either way)."""
        if self._row_chunks is None or self._batches is None:
            return None
        chunks = self._row_chunks()
        self._row_chunks = None
        header = next(chunks)
        if header is None:
            self._batches = chunks  # the same query's rest: Arrow batches
            return None
        self._batches = None  # read once
        names, types = header
        return names, types, chunks

    def _take(self) -> Iterator[pa.RecordBatch]:
        if self._batches is None:
            from doctordata.errors import InvalidArgumentError

            raise InvalidArgumentError(
                "this streaming result was already read; run the query again, or call "
                "lh.sql() without stream=True to keep the rows in memory"
            )
        batches, self._batches = self._batches, None
        return batches

    def to_reader(self) -> pa.RecordBatchReader:
        """A pyarrow RecordBatchReader over the rows (streams when the result streams)."""
        import itertools

        import pyarrow as pa

        if self._table is not None or self._deferred is not None:
            table = self.arrow()
            return pa.RecordBatchReader.from_batches(table.schema, iter(table.to_batches()))
        # An engine sends an empty result as one batch without rows: it still has columns.
        batches = self._take()
        schema = None
        for first in batches:
            schema = schema or first.schema
            if first.num_rows:
                rest = (b for b in batches if b.num_rows)
                return pa.RecordBatchReader.from_batches(schema, itertools.chain([first], rest))
        return pa.RecordBatchReader.from_batches(schema or pa.schema([]), iter(()))

    def to_parquet(self, path: str | os.PathLike[str], **options: Any) -> int:
        """Write the rows to one Parquet file batch by batch; returns the row count."""
        import pyarrow.parquet as pq

        reader = self.to_reader()
        rows = 0
        with pq.ParquetWriter(os.fspath(path), reader.schema, **options) as writer:
            for batch in reader:
                writer.write_batch(batch)
                rows += batch.num_rows
        return rows

    def write_csv(self, path: str | os.PathLike[str]) -> int:
        """Write the rows to a CSV file (with a header) batch by batch; returns the row count."""
        import pyarrow.csv as pcsv

        reader = self.to_reader()
        rows = 0
        with pcsv.CSVWriter(os.fspath(path), reader.schema) as writer:
            for batch in reader:
                writer.write_batch(batch)
                rows += batch.num_rows
        return rows

    def df(self) -> pd.DataFrame:
        return self.arrow().to_pandas()

    def pl(self) -> pl.DataFrame:
        try:
            import polars
        except ImportError as exc:
            from doctordata.errors import MissingDependencyError

            raise MissingDependencyError("polars", "dataframes", "Result.pl()") from exc
        out = polars.from_arrow(self.arrow())
        assert isinstance(out, polars.DataFrame)
        return out

    def fetchall(self) -> list[tuple[Any, ...]]:
        """Rows as tuples of the Python types DuckDB's own ``fetchall()`` returns."""
        if self._table is None and self._deferred is not None:
            return list(self._deferred.rows())
        return python_rows(self.arrow())

    @property
    def columns(self) -> list[str]:
        if self._table is None and self._deferred is not None:
            return self._deferred.columns
        return list(self.arrow().column_names)

    def __len__(self) -> int:
        if self._table is None and self._deferred is not None:
            return self._deferred.num_rows
        return self.arrow().num_rows

    def __repr__(self) -> str:
        if self.streaming:
            return f"Result(streaming, engine={self.stats.engine!r})"
        return (
            f"Result(rows={len(self)}, columns={self.columns}, "
            f"engine={self.stats.engine!r}, files_planned={self.stats.files_planned}, "
            f"files_skipped={self.stats.files_skipped})"
        )


# Arrow field metadata key naming the SQL type an engine computed, where Arrow alone loses it
# (DuckDB exports HUGEINT as decimal128(38, 0) and UUID as a string).
SQL_TYPE_KEY = b"doctordata.sql_type"

_BY_SQL_TYPE: dict[str, Callable[[Any], Any]] = {
    "HUGEINT": int,
    "UHUGEINT": int,
    "UUID": uuid.UUID,
}


def with_sql_types(data: Any, description: Any) -> Any:
    """``data`` (an Arrow table or batch) with the SQL types Arrow loses recorded per field.

    ``description`` is the DB-API cursor description (name, type, ...) of the same result.
    """
    if not description:
        return data
    fields = []
    changed = False
    for field_, row in zip(data.schema, description, strict=False):
        sql_type = str(row[1])
        if sql_type.removesuffix("[]") in _BY_SQL_TYPE:
            meta = dict(field_.metadata or {})
            meta[SQL_TYPE_KEY] = sql_type.encode()
            field_ = field_.with_metadata(meta)
            changed = True
        fields.append(field_)
    if not changed:
        return data
    import pyarrow as pa

    return data.cast(pa.schema(fields, metadata=data.schema.metadata))


def python_rows(table: pa.Table) -> list[tuple[Any, ...]]:
    """The rows of ``table`` as tuples, each value the Python type DuckDB would return.

    Arrow's ``to_pylist`` differs from DuckDB's ``fetchall`` for a few types: HUGEINT
    (``sum(BIGINT)``) comes back as Decimal, UUID as str, INTERVAL as MonthDayNano and MAP
    as a list of pairs. Each column gets a converter chosen once from its type.
    """
    columns = []
    for field_, column in zip(table.schema, table.columns, strict=True):
        values = column.to_pylist()
        convert = _converter(field_.type, _sql_type(field_))
        if convert is not None:
            values = [None if v is None else convert(v) for v in values]
        columns.append(values)
    return list(zip(*columns, strict=True)) if columns else []


def _sql_type(field_: pa.Field) -> str | None:
    meta = field_.metadata or {}
    raw = meta.get(SQL_TYPE_KEY)
    return raw.decode() if raw else None


def _converter(arrow_type: pa.DataType, sql_type: str | None) -> Callable[[Any], Any] | None:
    import pyarrow as pa

    if sql_type in _BY_SQL_TYPE:
        return _BY_SQL_TYPE[sql_type]
    if pa.types.is_interval(arrow_type):
        return _interval
    if pa.types.is_map(arrow_type):
        key = _converter(arrow_type.key_type, None) or _same
        item = _converter(arrow_type.item_type, None) or _same
        return lambda pairs: {key(k): None if v is None else item(v) for k, v in pairs}
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        inner = _converter(arrow_type.value_type, _element_type(sql_type))
        if inner is not None:
            return lambda items: [None if v is None else inner(v) for v in items]
    return None


def _element_type(sql_type: str | None) -> str | None:
    return sql_type[:-2] if sql_type and sql_type.endswith("[]") else None


def _same(value: Any) -> Any:
    return value


def _interval(value: Any) -> _dt.timedelta:
    # DuckDB's fetchall counts a month as 30 days, as its own interval arithmetic does.
    return _dt.timedelta(
        days=value.months * 30 + value.days, microseconds=value.nanoseconds // 1000
    )
