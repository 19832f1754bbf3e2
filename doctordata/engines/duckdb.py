"""The embedded DuckDB engine.

Reads planned Iceberg files with ``read_parquet([...], schema=MAP {field_id: {...}})`` so
columns are matched by Iceberg field id: renamed columns read under their new name, added
columns read as NULL from older files. The connection is sandboxed: external access is
off except for the lakehouse tiers, and its configuration is locked.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import threading
import time
import weakref
from collections.abc import Iterator
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar

from doctordata.engines.base import Capabilities, Engine
from doctordata.engines.datafiles import FileErrorPattern, engine_error
from doctordata.engines.result import with_sql_types
from doctordata.engines.scan import ScanColumn, ScanPlan, group_files, local_path
from doctordata.errors import (
    EngineError,
    QueryMemoryError,
    QueryTimeoutError,
    UnsupportedSQLError,
)

if TYPE_CHECKING:
    import pyarrow as pa

    from doctordata.engines.base import QueryHost
    from doctordata.engines.deferred import DeferredRows

# Iceberg primitive type name -> DuckDB type.
TYPE_MAP: dict[str, str] = {
    "boolean": "BOOLEAN",
    "int": "INTEGER",
    "long": "BIGINT",
    "float": "FLOAT",
    "double": "DOUBLE",
    "date": "DATE",
    "time": "TIME",
    "timestamp": "TIMESTAMP",
    "timestamptz": "TIMESTAMPTZ",
    "timestamp_ns": "TIMESTAMP_NS",
    "timestamptz_ns": "TIMESTAMPTZ",
    "string": "VARCHAR",
    "uuid": "UUID",
    "binary": "BLOB",
}


def duckdb_type(iceberg_type: Any) -> str:
    """Iceberg type -> DuckDB type text (nested types included).

    Read from the type's spelling and attributes, which pyiceberg's types and the fast
    planner's (catalog/reader/lite.py) share, so planning needs no pyiceberg import."""
    key = str(iceberg_type)
    if key in TYPE_MAP:
        return TYPE_MAP[key]
    if key.startswith("decimal("):
        return f"DECIMAL({iceberg_type.precision},{iceberg_type.scale})"
    if key.startswith("fixed["):
        return "BLOB"
    if key.startswith("list<"):
        return f"{duckdb_type(iceberg_type.element_type)}[]"
    if key.startswith("map<"):
        return f"MAP({duckdb_type(iceberg_type.key_type)}, {duckdb_type(iceberg_type.value_type)})"
    if key.startswith("struct<"):
        fields = ", ".join(
            f"{_ident(f.name)} {duckdb_type(f.field_type)}" for f in iceberg_type.fields
        )
        return f"STRUCT({fields})"
    raise UnsupportedSQLError(f"Iceberg type {key} has no DuckDB mapping yet")


# Cached: the same column names and file paths are rendered for every query. DuckDB's
# quoting rules, written out so that running a cached plan needs no sqlglot (a test
# checks they agree with sqlglot's duckdb generator).
@lru_cache(maxsize=65536)
def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@lru_cache(maxsize=65536)
def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# DuckDB's errors about one data file (see engines/datafiles.py). Its thrift decoding
# errors name no file; the router pins those down from the planned files' footers.
FILE_ERRORS: tuple[FileErrorPattern, ...] = (
    FileErrorPattern(re.compile(r'No files found that match the pattern "(?P<path>[^"]+)"'), True),
    FileErrorPattern(re.compile(r'Cannot open file "(?P<path>[^"]+)"'), missing=True),
    FileErrorPattern(
        re.compile(r"HTTP \w+ error (?:reading|on) '(?P<path>[^']+)'[^\n]*\(HTTP 404"), True
    ),
    FileErrorPattern(re.compile(r"No magic bytes found at end of file '(?P<path>[^']+)'"), False),
    FileErrorPattern(re.compile(r"File '(?P<path>[^']+)' too small to be a Parquet file"), False),
    FileErrorPattern(re.compile(r"Footer length error in file '(?P<path>[^']+)'"), False),
    FileErrorPattern(re.compile(r"Invalid Input Error:[^\n]*in file '(?P<path>[^']+)'"), False),
    FileErrorPattern(
        re.compile(r"^(?:Variable-length int over|TProtocolException|[^\n]*[Tt]hrift)"), False
    ),
)


# Rows per streamed batch (60 DuckDB vectors): small enough to keep a stream's memory flat.
STREAM_BATCH_ROWS = 122_880


class DuckDBEngine(Engine):
    """Embedded DuckDB; one database per Lakehouse, one cursor per call (thread-safe)."""

    name: ClassVar[str] = "duckdb"
    dialect: ClassVar[str] = "duckdb"
    capabilities: ClassVar[Capabilities] = Capabilities(
        streaming=True, field_id_reads=True, sandboxed=True, fast_planning=True
    )

    def __init__(self, lh: QueryHost) -> None:
        super().__init__(lh)
        import duckdb

        cfg = lh.settings.engines
        config: dict[str, Any] = {}
        if cfg.duckdb_threads:
            config["threads"] = cfg.duckdb_threads
        if cfg.duckdb_memory_limit and cfg.duckdb_memory_limit.strip() != "0":
            from doctordata.config import memory_limit_bytes

            config["memory_limit"] = f"{memory_limit_bytes(cfg.duckdb_memory_limit)}B"
        self._con = duckdb.connect(":memory:", config=config)
        self._lock = threading.Lock()
        self._closed = False
        # Results returned but not read yet (their cursors); read before the connection goes.
        self._unread: weakref.WeakSet[DeferredRows] = weakref.WeakSet()
        try:
            self._prepare_storage()
            self._sandbox()
        except Exception:
            self._con.close()
            raise

    # -- setup -----------------------------------------------------------------------
    def _prepare_storage(self) -> None:
        from doctordata.engines.extensions import load_extension

        remote = [t for t in self.lh.tiers.values() if not t.is_local]
        if not remote:
            return
        load_extension(self._con, "httpfs")
        for tier in remote:
            self._con.execute(s3_secret_sql(tier))

    def allowed_directories(self) -> list[str]:
        """Where user SQL may read: the tiers and the router's scratch directory."""
        dirs = [
            t.root.rstrip("/") + "/" if t.is_local else t.url.rstrip("/") + "/"
            for t in self.lh.tiers.values()
        ]
        dirs.append(str(scratch_root(self.lh)) + "/")
        return dirs

    def _sandbox(self) -> None:
        scratch_root(self.lh).mkdir(parents=True, exist_ok=True)
        dirs = ", ".join(_lit(d) for d in self.allowed_directories())
        self._con.execute(f"SET allowed_directories = [{dirs}]")
        self._con.execute("SET enable_external_access = false")
        self._con.execute("SET autoinstall_known_extensions = false")
        self._con.execute("SET autoload_known_extensions = false")
        self._con.execute("SET lock_configuration = true")

    # -- execution -------------------------------------------------------------------
    def _cursor(self) -> Any:
        with self._lock:
            if self._closed:
                raise EngineError("the DuckDB engine is closed; open the lakehouse again")
            return self._con.cursor()

    def execute(
        self, sql: str, *, read_only: bool = True, timeout: float | None = None
    ) -> pa.Table:
        import duckdb

        limit = self.query_timeout(timeout)
        cur = self._cursor()
        try:
            with _Deadline(cur, limit) as deadline:
                try:
                    relation = cur.execute(sql)
                    return with_sql_types(relation.to_arrow_table(), relation.description)
                except duckdb.Error as exc:
                    raise self._error(exc, deadline) from exc
        finally:
            cur.close()

    def execute_result(self, sql: str, *, timeout: float | None = None) -> DeferredRows:
        """Run ``sql`` to the end; its rows stay in DuckDB until first read (deferred.py).

        The query runs here, under the time limit, so a timeout, the memory limit and a
        data file's error are raised here as by execute()."""
        import duckdb

        from doctordata.engines.deferred import DeferredRows

        limit = self.query_timeout(timeout)
        cur = self._cursor()
        try:
            with _Deadline(cur, limit) as deadline:
                try:
                    cur.execute(sql)
                except duckdb.Error as exc:
                    raise self._error(exc, deadline) from exc
            rows = DeferredRows(cur, cur.description, _arrow_of, self._failure)
        except BaseException:
            cur.close()
            raise
        with self._lock:
            if self._closed:  # closed while it ran: read it now, the connection is gone
                rows.settle()
            else:
                self._unread.add(rows)
        return rows

    def _failure(self, exc: Exception) -> Exception:
        """The typed error for a failed query (a data file's name and tier if it is one)."""
        text = str(exc)
        return engine_error("DuckDB", text, FILE_ERRORS, self.lh.tiers) or EngineError(
            f"DuckDB failed: {text}"
        )

    def execute_batches(
        self, sql: str, *, timeout: float | None = None
    ) -> Iterator[pa.RecordBatch]:
        yield from self._stream(sql, timeout, rows=False)

    def execute_row_chunks(self, sql: str, *, timeout: float | None = None) -> Iterator[Any]:
        """A stream for the CLI preview: first ``(columns, arrow_type_names)`` when every
        column reads as Python rows exactly as its Arrow batch would (deferred.preview_type),
        then lists of row tuples; otherwise first None, then Arrow batches as
        execute_batches() yields them (the same query, run once)."""
        yield from self._stream(sql, timeout, rows=True)

    def _stream(self, sql: str, timeout: float | None, *, rows: bool) -> Iterator[Any]:
        import duckdb

        from doctordata.engines.deferred import preview_types

        limit = self.query_timeout(timeout)
        cur = self._cursor()
        try:
            with _Deadline(cur, limit) as deadline:
                try:
                    relation = cur.execute(sql)
                    description = relation.description
                    types = preview_types(description) if rows else None
                    if rows:
                        yield None if types is None else ([str(d[0]) for d in description], types)
                    if types is not None:
                        while chunk := relation.fetchmany(STREAM_BATCH_ROWS):
                            yield chunk
                    else:
                        yield from _arrow_batches(relation, description)
                except duckdb.Error as exc:
                    raise self._error(exc, deadline) from exc
        finally:
            cur.close()

    def _error(self, exc: Exception, deadline: _Deadline) -> Exception:
        """The typed error for a failed query: timeout, memory, or anything else."""
        import duckdb

        if isinstance(exc, duckdb.InterruptException) and deadline.expired:
            return QueryTimeoutError(
                f"the query ran longer than {deadline.seconds:g} s on DuckDB and was "
                "stopped; raise engines.query_timeout in doctordata.toml (0 = no limit) or "
                "pass lh.sql(..., timeout=SECONDS) / `doctordata sql --timeout SECONDS`"
            )
        if isinstance(exc, duckdb.OutOfMemoryException):
            limit = self.lh.settings.engines.duckdb_memory_limit
            return QueryMemoryError(
                f"the query needed more memory than DuckDB's limit "
                f"(engines.duckdb_memory_limit = {limit!r}) and was stopped: "
                f"{str(exc).splitlines()[0]}. Raise engines.duckdb_memory_limit in "
                "doctordata.toml (a size such as '8GB' or a share of RAM such as '40%'), "
                "or make the query hold less at once (filter, aggregate earlier)"
            )
        return self._failure(exc)

    def explain(self, sql: str, *, timeout: float | None = None) -> str:
        table = self.execute(f"EXPLAIN {sql}", timeout=timeout)
        return "\n".join(str(v) for v in table.column("explain_value").to_pylist())

    def scan(self, plan: ScanPlan) -> str:
        if not plan.files:
            cols = ", ".join(_cast("NULL", c) for c in plan.columns)
            return f"(SELECT {cols} WHERE false)"
        if not plan.has_field_ids:
            names = ", ".join(_ident(c.name) for c in plan.columns)
            return f"(SELECT {names} FROM {_read(plan.files)})"
        if plan.uniform:
            return f"(SELECT {_by_name_columns(plan)} FROM {_read(plan.files)})"
        by_name = _groups_readable_by_name(plan)
        if not plan.needs_footers and not by_name:
            return f"(SELECT * FROM {_by_field_id(plan, plan.files)})"
        # Evolved schema (or files without field ids): one read per physical layout, each
        # by the names its files use. Reading by name keeps DuckDB's cardinality estimates.
        parts = []
        for group in group_files(plan):
            if group.has_field_ids and not by_name:
                parts.append(f"SELECT * FROM {_by_field_id(plan, group.files)}")
                continue
            cols = ", ".join(
                _cast(_ident(group.names[c.field_id]) if c.field_id in group.names else "NULL", c)
                for c in plan.columns
            )
            parts.append(f"SELECT {cols} FROM {_read(group.files)}")
        return "(" + " UNION ALL BY NAME ".join(parts) + ")"

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            unread = list(self._unread)
        for rows in unread:  # results already returned stay readable after close
            # A failure is kept in the result and raised when it is read.
            with contextlib.suppress(Exception):
                rows.settle()
        self._con.close()


def _arrow_batches(relation: Any, description: Any) -> Iterator[pa.RecordBatch]:
    import pyarrow as pa

    # DuckDB's default is a million rows per batch: hundreds of MB of wide rows.
    reader = relation.to_arrow_reader(STREAM_BATCH_ROWS)
    empty = True
    for batch in reader:
        empty = False
        yield with_sql_types(batch, description)
    if empty:  # no rows, but the columns still count (Result.to_reader)
        empty_batch = pa.RecordBatch.from_pylist([], schema=reader.schema)
        yield with_sql_types(empty_batch, description)


def _arrow_of(cursor: Any, description: Any) -> pa.Table:
    """A finished cursor's rows as execute() returns them."""
    return with_sql_types(cursor.to_arrow_table(), description)


class _Deadline:
    """Interrupts a DuckDB cursor ``seconds`` after entry (0 = never), from the watchdog.

    The lock keeps the interrupt from racing the cursor's close: once the block is left the
    watchdog can no longer touch the cursor, and ``expired`` tells a timeout from other
    interrupts.
    """

    def __init__(self, cursor: Any, seconds: float) -> None:
        self.cursor = cursor
        self.seconds = seconds
        self.at = 0.0
        self.expired = False
        self._done = False
        self._lock = threading.Lock()

    def __enter__(self) -> _Deadline:
        if self.seconds > 0:
            self.at = time.monotonic() + self.seconds
            _watchdog().add(self)
        return self

    def fire(self) -> None:
        with self._lock:
            if not self._done:
                self.expired = True
                self.cursor.interrupt()

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._done = True
        if self.seconds > 0:  # never while holding self._lock (the watchdog nests the other way)
            _watchdog().remove(self)


class _Watchdog:
    """One thread per process that fires the deadlines of running queries.

    A thread per query (threading.Timer) cost a thread start per call: on a loaded box the
    caller waited milliseconds for it to be scheduled, more than a small query runs.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._active: dict[int, _Deadline] = {}
        self._wake_at = math.inf
        self._thread: threading.Thread | None = None

    def add(self, deadline: _Deadline) -> None:
        with self._cond:
            self._active[id(deadline)] = deadline
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="doctordata-duckdb-deadlines", daemon=True
                )
                self._thread.start()
            if deadline.at < self._wake_at:
                self._cond.notify()

    def remove(self, deadline: _Deadline) -> None:
        with self._cond:
            self._active.pop(id(deadline), None)

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                for key, deadline in list(self._active.items()):
                    if deadline.at <= now:
                        del self._active[key]
                        deadline.fire()
                self._wake_at = min((d.at for d in self._active.values()), default=math.inf)
                self._cond.wait(None if self._wake_at == math.inf else self._wake_at - now)


_WATCHDOG: list[_Watchdog] = []


def _watchdog() -> _Watchdog:
    if not _WATCHDOG:
        with _WATCHDOG_LOCK:
            if not _WATCHDOG:
                _WATCHDOG.append(_Watchdog())
    return _WATCHDOG[0]


_WATCHDOG_LOCK = threading.Lock()
# A forked child has no watchdog thread (and maybe a held lock): it starts its own.
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_WATCHDOG.clear)


def _files(files: Any) -> str:
    return _file_list(tuple(files))


@lru_cache(maxsize=1024)
def _file_list(files: tuple[str, ...]) -> str:
    # Plans are cached per manifest list, so the same tuple is rendered query after query.
    return ", ".join(_lit(local_path(f)) for f in files)


# Iceberg types DuckDB reads from Parquet as exactly duckdb_type(); others get a cast.
_NATIVE_READ = frozenset(
    ("boolean", "int", "long", "float", "double", "date", "string", "timestamp", "timestamptz")
)


def _cast(source: str, column: ScanColumn) -> str:
    """``source`` (a column or NULL) as the Iceberg column's DuckDB type and name."""
    return f"CAST({source} AS {duckdb_type(column.type)}) AS {_ident(column.name)}"


def _by_name_columns(plan: ScanPlan) -> str:
    # Reading by name (not with schema=MAP) keeps DuckDB's Parquet cardinality estimates;
    # with schema= every scan is estimated at ~0 rows and joins are ordered badly (TPC-H
    # Q05 at SF 1: 13x slower). Only used when the files match the schema (plan.uniform).
    cols = []
    for c in plan.columns:
        name = _ident(c.name)
        if str(c.type) in _NATIVE_READ or str(c.type).startswith("decimal("):
            cols.append(name)
        else:
            cols.append(_cast(name, c))
    return ", ".join(cols)


# Above this many files, reading every footer in Python (once per file and process)
# costs more than the better join order gains; such scans use schema=MAP.
_FOOTER_GROUPING_MAX_FILES = 2000


def _groups_readable_by_name(plan: ScanPlan) -> bool:
    """Evolved top-level primitive columns can be read per layout by name and cast.

    Nested columns keep the field-id read: a struct's inner fields may have been renamed,
    and a by-name cast would not follow them.
    """
    return (
        plan.has_field_ids
        and len(plan.files) <= _FOOTER_GROUPING_MAX_FILES
        and all(c.type.is_primitive for c in plan.columns)
    )


def _by_field_id(plan: ScanPlan, files: Any) -> str:
    schema = ", ".join(
        f"{c.field_id}: {{name: {_lit(c.name)}, type: {_lit(duckdb_type(c.type))}, "
        "default_value: NULL}"
        for c in plan.columns
    )
    return f"read_parquet([{_files(files)}], hive_partitioning = false, schema = MAP {{{schema}}})"


def _read(files: Any) -> str:
    # Iceberg paths look like Hive partitions (.../k=1/...); DuckDB would otherwise turn
    # those path parts into columns and override the file's own typed column with them.
    return f"read_parquet([{_files(files)}], hive_partitioning = false)"


def scratch_root(lh: QueryHost) -> Any:
    """Per-lakehouse scratch space for materialised scans (inside the sandbox)."""
    return lh.root / ".tmp"


def s3_secret_sql(tier: Any) -> str:
    from urllib.parse import urlsplit

    opts = tier.storage_options()
    parts = ["TYPE s3", f"SCOPE {_lit(tier.url.rstrip('/') + '/')}"]
    if opts.get("key"):
        parts += [f"KEY_ID {_lit(opts['key'])}", f"SECRET {_lit(opts['secret'])}"]
    if tier.endpoint:
        ep = urlsplit(tier.endpoint)
        parts += [
            f"ENDPOINT {_lit(ep.netloc)}",
            "URL_STYLE 'path'",
            f"USE_SSL {'true' if ep.scheme == 'https' else 'false'}",
        ]
    parts.append(f"REGION {_lit(tier.region or 'us-east-1')}")
    name = _ident(f"dd_tier_{tier.name}")
    return f"CREATE OR REPLACE SECRET {name} ({', '.join(parts)})"
