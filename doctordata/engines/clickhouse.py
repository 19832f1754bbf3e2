"""The ClickHouse engine, always through clickhouse-connect.

``chdb://<path>`` runs ClickHouse embedded (chDB, one database path per process);
``http(s)://user:password@host:port/db`` reaches a server. Iceberg files are read with the
``file()`` / ``s3()`` table functions over the router's planned file list, with an explicit
structure so added columns read as NULL; renamed columns are mapped per file from the
Parquet footers' field ids (ClickHouse matches Parquet columns by name).
"""

from __future__ import annotations

import gc
import os
import posixpath
import re
import threading
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from doctordata.engines.base import Capabilities, Engine
from doctordata.engines.clickhouse_arrow import clickhouse_zone, conform_batches, conform_table
from doctordata.engines.clickhouse_semantics import session_settings
from doctordata.engines.datafiles import FileErrorPattern, engine_error
from doctordata.engines.scan import ScanColumn, ScanPlan, group_files, local_path
from doctordata.errors import (
    EngineError,
    MissingDependencyError,
    QueryMemoryError,
    QueryTimeoutError,
    UnsupportedSQLError,
)
from doctordata.storage.locations import tier_of

if TYPE_CHECKING:
    import pyarrow as pa

    from doctordata.engines.base import QueryHost

# Iceberg primitive type name -> ClickHouse type.
TYPE_MAP: dict[str, str] = {
    "boolean": "Bool",
    "int": "Int32",
    "long": "Int64",
    "float": "Float32",
    "double": "Float64",
    "date": "Date32",
    "time": "Time64(6)",
    "timestamp": "DateTime64(6)",
    "timestamptz": "DateTime64(6, 'UTC')",
    "timestamp_ns": "DateTime64(9)",
    "timestamptz_ns": "DateTime64(9, 'UTC')",
    "string": "String",
    "uuid": "UUID",
    "binary": "String",
}

# A missing or empty data file is an error, never "no rows" (s3_skip_empty_files is on
# by default). A *local* file missing from a file('{a,b}') glob is still skipped by
# ClickHouse; the router stats those first (engines/datafiles.py).
FILE_READ_SETTINGS: dict[str, Any] = {
    "s3_skip_empty_files": 0,
    "s3_ignore_file_doesnt_exist": 0,
    "s3_throw_on_zero_files_match": 1,
    "engine_file_skip_empty_files": 0,
    "engine_file_empty_if_not_exists": 0,
    # A column's values come from the file. With hive partitioning on (ClickHouse's
    # default), a file under data/type=null/ read its `type` column as the path's text:
    # NULL became 'null', an escaped value its escaped form (DuckDB: hive_partitioning=false).
    "use_hive_partitioning": 0,
}
# Settings for every user query: standard SQL NULL semantics for outer joins, and
# readonly=2 (reads and SET-less settings only; table functions allowed for file lists).
READ_SETTINGS: dict[str, Any] = {"readonly": 2, **session_settings(), **FILE_READ_SETTINGS}
# Arrow output as clickhouse-connect's query_arrow asks for it (String as Arrow string).
ARROW_SETTINGS: dict[str, Any] = {"output_format_arrow_string_as_string": 1}
# Rows per block of a streamed result (and of a join's output, which has its own limit).
# ClickHouse's defaults (65,409) keep several blocks of wide rows in flight: 4M rows of
# 208 bytes from a cross join peaked ~250 MB above the start streamed on chDB, 16,384 rows
# ~85 MB, at the same speed (measured on 2 cores; materialised: ~950 MB).
STREAM_BLOCK_ROWS = 16384
STREAM_SETTINGS: dict[str, Any] = {
    **ARROW_SETTINGS,
    "max_block_size": STREAM_BLOCK_ROWS,
    "max_joined_block_size_rows": STREAM_BLOCK_ROWS,
}
# Settings for doctordata's own statements (publish).
WRITE_SETTINGS: dict[str, Any] = {**session_settings(), **FILE_READ_SETTINGS}

# ClickHouse's errors about one data file (see engines/datafiles.py); S3 objects are
# named as bucket/key.
FILE_ERRORS: tuple[FileErrorPattern, ...] = (
    FileErrorPattern(re.compile(r"File (?P<path>/\S+?) doesn't exist"), missing=True),
    FileErrorPattern(re.compile(r"Cannot open file (?P<path>/\S+?), errno"), missing=True),
    FileErrorPattern(
        re.compile(
            r"(?:404|NoSuchKey|NOT_FOUND)[^\n]*?while reading '(?P<key>[^']+)' "
            r"in bucket '(?P<bucket>[^']+)'"
        ),
        missing=True,
    ),
    FileErrorPattern(
        re.compile(
            r"\(in file/uri (?P<path>[^)]+)\)[^\n]*\((?:INCORRECT_DATA|CANNOT_READ_ALL_DATA)"
        ),
        missing=False,
    ),
)

# ClickHouse error codes that mean a limit stopped the query.
_TIMEOUT_CODES = frozenset({159, 160})  # TIMEOUT_EXCEEDED, TOO_SLOW
_MEMORY_CODES = frozenset({241, 173})  # MEMORY_LIMIT_EXCEEDED, CANNOT_ALLOCATE_MEMORY
_CODE = re.compile(r"Code:\s*(\d+)")

# Characters with glob meaning in ClickHouse file()/s3() paths.
_GLOB_CHARS = set("{}*?,")

# Table comment marking a serving copy made by publish(), followed by the snapshot id.
SERVING_COMMENT = "doctordata:snapshot="

# chDB's refusal to open a second database path in this process.
_OTHER_CHDB_PATH = "EmbeddedServer already initialized with path"

# Databases that are ClickHouse's own, never user serving tables.
_SYSTEM_DATABASES = ("system", "INFORMATION_SCHEMA", "information_schema")


_ZONED = {"timestamptz": 6, "timestamptz_ns": 9}  # Iceberg type -> DateTime64 precision


def clickhouse_type(iceberg_type: Any, *, nullable: bool = True, zone: str | None = None) -> str:
    """Iceberg type -> ClickHouse type text; ``nullable`` wraps primitives in Nullable().

    A TIMESTAMPTZ is a ``DateTime64`` in ``zone``, by default DuckDB's session zone
    (:func:`~doctordata.engines.clickhouse_arrow.clickhouse_zone`)."""
    from pyiceberg.types import DecimalType, FixedType, ListType, MapType, StructType

    if isinstance(iceberg_type, ListType):
        return f"Array({clickhouse_type(iceberg_type.element_type, zone=zone)})"
    if isinstance(iceberg_type, MapType):
        key = clickhouse_type(iceberg_type.key_type, nullable=False, zone=zone)
        return f"Map({key}, {clickhouse_type(iceberg_type.value_type, zone=zone)})"
    if isinstance(iceberg_type, StructType):
        fields = ", ".join(
            f"{_ident(f.name)} {clickhouse_type(f.field_type, zone=zone)}"
            for f in iceberg_type.fields
        )
        return f"Tuple({fields})"
    if isinstance(iceberg_type, DecimalType):
        base = f"Decimal({iceberg_type.precision}, {iceberg_type.scale})"
    elif isinstance(iceberg_type, FixedType):
        base = f"FixedString({len(iceberg_type)})"
    else:
        key = str(iceberg_type)
        if key not in TYPE_MAP:
            raise UnsupportedSQLError(f"Iceberg type {key} has no ClickHouse mapping yet")
        base = TYPE_MAP[key]
        if key in _ZONED:
            # A TIMESTAMPTZ reads in DuckDB's session zone: ClickHouse computes hour(),
            # toDate(), date_trunc and formatDateTime in a value's own zone (the session
            # stays UTC for naive TIMESTAMPs). The instants are the file's either way.
            base = f"DateTime64({_ZONED[key]}, {_lit(zone or clickhouse_zone())})"
    return f"Nullable({base})" if nullable else base


# Cached: the same column names and file paths are rendered for every query.
@lru_cache(maxsize=65536)
def _ident(name: str) -> str:
    from sqlglot import exp  # only when SQL is built: a cached plan runs without sqlglot

    return exp.to_identifier(name, quoted=True).sql("clickhouse")


def _has_zone(iceberg_type: Any) -> bool:
    """Whether ``iceberg_type`` is or holds a TIMESTAMPTZ."""
    if str(iceberg_type) in _ZONED:
        return True
    children = [getattr(iceberg_type, a, None) for a in ("element_type", "key_type", "value_type")]
    children += [f.field_type for f in getattr(iceberg_type, "fields", ())]
    return any(c is not None and _has_zone(c) for c in children)


def _lit(value: str) -> str:
    """A ClickHouse string literal. Written here, not by sqlglot: settings and file paths are
    quoted on every run, including a cached plan's, which must not load the parser."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _structure(columns: list[tuple[str, ScanColumn]]) -> str:
    return ", ".join(f"{_ident(name)} {clickhouse_type(c.type)}" for name, c in columns)


def file_glob(paths: list[str]) -> tuple[str, str]:
    """(common prefix, "{rel1,rel2}") for a file list; one path needs no braces."""
    for p in paths:
        if _GLOB_CHARS & set(p):
            raise UnsupportedSQLError(
                f"data file {p!r} contains a ClickHouse glob character ({{ }} * ? ,); "
                "query this table with engine='duckdb'"
            )
    if len(paths) == 1:
        return paths[0], ""
    prefix = posixpath.commonpath(paths).rstrip("/") + "/"
    rels = ",".join(p[len(prefix) :] for p in paths)
    return prefix, "{" + rels + "}"


class ClickHouseEngine(Engine):
    """ClickHouse via clickhouse-connect: embedded chDB or an HTTP(S) server."""

    name: ClassVar[str] = "clickhouse"
    dialect: ClassVar[str] = "clickhouse"
    capabilities: ClassVar[Capabilities] = Capabilities(streaming=True, native_tables=True)

    def __init__(self, lh: QueryHost) -> None:
        super().__init__(lh)
        self.url = lh.settings.clickhouse_url
        self.embedded = self.url.startswith("chdb:")
        self._local = threading.local()
        self._clients: list[Any] = []
        self._lock = threading.Lock()
        self._closed = False
        # Quoted secret literals inlined into s3() calls; redact() hides them.
        self._secrets: set[str] = set()
        self.client()  # fail now, with a clear message, if the target is unusable

    # -- connections -----------------------------------------------------------------
    def client(self, *, read_only: bool = True) -> Any:
        """This thread's clickhouse-connect client (one reader and one writer per thread).

        Settings are fixed per client rather than per query: chDB applies per-query
        settings with SET and cannot undo readonly, so a shared client would stay readonly.
        """
        key = "reader" if read_only else "writer"
        cached = getattr(self._local, key, None)
        if cached is not None:
            return cached
        with self._lock:
            if self._closed:
                raise EngineError("the ClickHouse engine is closed; open the lakehouse again")
            client = self._connect(READ_SETTINGS if read_only else WRITE_SETTINGS)
            self._clients.append(client)
        setattr(self._local, key, client)
        return client

    def _connect(self, settings: Mapping[str, Any]) -> Any:
        try:
            import clickhouse_connect
            from clickhouse_connect.driver.exceptions import ClickHouseError
        except ImportError as exc:
            raise MissingDependencyError(
                "clickhouse_connect", "clickhouse", "the ClickHouse engine"
            ) from exc
        try:
            if self.embedded:
                path = self.chdb_path()
                os.makedirs(path, exist_ok=True)
                try:
                    return clickhouse_connect.get_client(
                        dsn=f"chdb://{path}", settings=dict(settings)
                    )
                except ClickHouseError as exc:
                    if _OTHER_CHDB_PATH not in str(exc):
                        raise
                # chDB stays at another path while any handle on it is open. A Lakehouse
                # dropped without close() holds its handles until the garbage collector
                # breaks its reference cycle (engine <-> lakehouse), at a moment that
                # depends on allocations: collect now, so that the answer does not.
                gc.collect()
                return clickhouse_connect.get_client(dsn=f"chdb://{path}", settings=dict(settings))
            return clickhouse_connect.get_client(
                dsn=self.url, compress=False, settings=dict(settings)
            )
        except ImportError as exc:
            raise MissingDependencyError("chdb", "clickhouse", "embedded ClickHouse") from exc
        except ClickHouseError as exc:
            hint = (
                "chDB hosts one database path per process: close the other Lakehouse using "
                "chDB first, or point engines.clickhouse at the same chdb:// path"
                if self.embedded
                else "check engines.clickhouse (http://user:password@host:8123/db) and that "
                "the server is running"
            )
            raise EngineError(
                f"cannot open ClickHouse at {self._safe_url()}: {exc}. {hint}"
            ) from exc

    def _safe_url(self) -> str:
        from doctordata.config import mask_url

        return mask_url(self.url) or ""

    # -- execution -------------------------------------------------------------------
    def execute(
        self, sql: str, *, read_only: bool = True, timeout: float | None = None
    ) -> pa.Table:
        from clickhouse_connect.driver.exceptions import ClickHouseError

        # Sent with every query: chDB applies query settings with SET, which would
        # otherwise carry one query's limits over to the next on this thread's client.
        limits = self.limits(timeout) if read_only else {}
        try:
            table = self.client(read_only=read_only).query_arrow(sql, settings=limits)
        except ClickHouseError as exc:
            raise self.query_error(exc, limits) from exc
        return conform_table(table, lambda: self.result_types(sql, read_only=read_only))

    def execute_batches(
        self, sql: str, *, timeout: float | None = None
    ) -> Iterator[pa.RecordBatch]:
        """Stream the result block by block: chDB's streaming query on a handle of its own,
        a server's ArrowStream response read as it arrives. An empty result is one batch
        without rows (its columns)."""
        from doctordata.engines.clickhouse_stream import chdb_batches, http_batches

        limits = self.limits(timeout)

        def error(exc: Exception) -> Exception:
            return self.query_error(exc, limits)

        if self.embedded:
            settings = {**READ_SETTINGS, **STREAM_SETTINGS, **limits}
            batches = chdb_batches(self.chdb_path(), sql, settings, error)
        else:
            batches = http_batches(self.client, sql, {**limits, **STREAM_SETTINGS}, error)
        return conform_batches(batches, lambda: self.result_types(sql))

    def chdb_path(self) -> str:
        path = urlsplit(self.url).path or str(self.lh.root / "clickhouse")
        # chDB compares engine paths literally (clickhouse-connect normalises them too).
        return os.path.realpath(path)

    def result_types(self, sql: str, *, read_only: bool = True) -> list[str]:
        """The ClickHouse type of each result column of ``sql`` (no rows are read)."""
        from clickhouse_connect.driver.exceptions import ClickHouseError

        limits = self.limits() if read_only else {}
        try:
            table = self.client(read_only=read_only).query_arrow(
                f"DESCRIBE TABLE ({sql})", settings=limits
            )
        except ClickHouseError as exc:
            raise self.query_error(exc, limits) from exc
        types = table.column(1).to_pylist()
        return [t.decode() if isinstance(t, bytes) else str(t) for t in types]

    def limits(self, timeout: float | None = None) -> dict[str, Any]:
        """max_execution_time and max_memory_usage for one user query (0 = no limit)."""
        from doctordata.config import memory_limit_bytes

        memory = self.lh.settings.engines.clickhouse_memory_limit
        return {
            "max_execution_time": self.query_timeout(timeout),
            "max_memory_usage": 0 if memory.strip() == "0" else memory_limit_bytes(memory),
        }

    def query_error(self, exc: Exception, limits: Mapping[str, Any]) -> Exception:
        """The typed error for a failed query: timeout, memory, or anything else."""
        match = _CODE.search(str(exc))
        code = int(match.group(1)) if match else None
        if code in _TIMEOUT_CODES:
            return QueryTimeoutError(
                f"the query ran longer than {limits.get('max_execution_time', 0):g} s on "
                "ClickHouse and was stopped (max_execution_time); raise "
                "engines.query_timeout in doctordata.toml (0 = no limit) or pass "
                "lh.sql(..., timeout=SECONDS) / `doctordata sql --timeout SECONDS`"
            )
        if code in _MEMORY_CODES:
            limit = self.lh.settings.engines.clickhouse_memory_limit
            return QueryMemoryError(
                f"the query needed more memory than ClickHouse's limit "
                f"(engines.clickhouse_memory_limit = {limit!r}, max_memory_usage) and was "
                "stopped. Raise engines.clickhouse_memory_limit in doctordata.toml (a size "
                "such as '8GB' or a share of RAM such as '40%'), or make the query hold "
                f"less at once. ClickHouse said: {str(exc).strip()[:300]}"
            )
        return self._failure(exc)

    def _failure(self, exc: Exception) -> Exception:
        """The typed error for a failed statement (a data file's name and tier if it is one)."""
        text = str(exc)
        return engine_error("ClickHouse", text, FILE_ERRORS, self.lh.tiers) or EngineError(
            f"ClickHouse failed: {text}"
        )

    def command(self, sql: str, settings: Mapping[str, Any] | None = None) -> Any:
        """Run a statement that returns no rows (DDL, INSERT ... SELECT) as doctordata."""
        from clickhouse_connect.driver.exceptions import ClickHouseError

        try:
            return self.client(read_only=False).command(sql, settings=dict(settings or {}))
        except ClickHouseError as exc:
            raise self._failure(exc) from exc

    def redact(self, sql: str) -> str:
        for secret in self._secrets:
            sql = sql.replace(secret, "'***'")
        return sql

    def explain(self, sql: str, *, timeout: float | None = None) -> str:
        table = self.execute(f"EXPLAIN {sql}", timeout=timeout)
        return "\n".join(str(v) for v in table.column(0).to_pylist())

    def native_tables(self) -> set[str]:
        systems = ", ".join(_lit(d) for d in _SYSTEM_DATABASES)
        table = self.execute(
            f"SELECT database, name FROM system.tables WHERE database NOT IN ({systems})"
        )
        dbs, names = table.column(0).to_pylist(), table.column(1).to_pylist()
        return {f"{d}.{n}".lower() for d, n in zip(dbs, names, strict=True)}

    # -- serving copies (publish) ---------------------------------------------------
    def serving_copies(self) -> dict[str, int]:
        table = self.execute(
            "SELECT database, name, comment FROM system.tables "
            f"WHERE startsWith(comment, {_lit(SERVING_COMMENT)})"
        )
        out: dict[str, int] = {}
        for db, name, comment in zip(*(c.to_pylist() for c in table.columns), strict=True):
            try:
                out[f"{db}.{name}".lower()] = int(comment[len(SERVING_COMMENT) :])
            except ValueError:
                continue
        return out

    def publish(self, name: str, plan: ScanPlan, snapshot_id: int) -> int:
        namespace, table = name.rsplit(".", 1)
        db = _ident(namespace)
        target = f"{db}.{_ident(table)}"
        staging = f"{db}.{_ident(table + '__dd_staging')}"
        # TIMESTAMPTZ columns are stored in UTC, whatever this process's zone: a reader
        # relabels them in its own (serving_scan).
        columns = ", ".join(
            f"{_ident(c.name)} {clickhouse_type(c.type, zone='UTC')}" for c in plan.columns
        )
        comment = _lit(f"{SERVING_COMMENT}{snapshot_id}")
        self.command(f"CREATE DATABASE IF NOT EXISTS {db}")
        self.command(f"DROP TABLE IF EXISTS {staging}")
        self.command(
            f"CREATE TABLE {staging} ({columns}) ENGINE = MergeTree ORDER BY tuple() "
            f"COMMENT {comment}"
        )
        names = ", ".join(_ident(c.name) for c in plan.columns)
        self.command(f"INSERT INTO {staging} ({names}) SELECT {names} FROM {self.scan(plan)}")
        exists = (
            self.execute(
                f"SELECT count() FROM system.tables WHERE database = {_lit(namespace)} "
                f"AND name = {_lit(table)}"
            )
            .column(0)[0]
            .as_py()
        )
        # Readers see either the old or the new copy, never a half-filled one.
        if exists:
            self.command(f"EXCHANGE TABLES {staging} AND {target}")
            self.command(f"DROP TABLE {staging}")
        else:
            self.command(f"RENAME TABLE {staging} TO {target}")
        rows = self.execute(f"SELECT count() FROM {target}").column(0)[0].as_py()
        return int(rows)

    def serving_scan(self, table: str, schema: Any) -> str:
        zoned = [f for f in schema.fields if _has_zone(f.field_type)]
        if not zoned or clickhouse_zone() == "UTC":
            return table
        # A copy holds its TIMESTAMPTZ columns in UTC (or in the zone of the process that
        # published it): the same instants, relabelled in DuckDB's session zone.
        replaced = ", ".join(
            f"CAST({_ident(f.name)} AS {clickhouse_type(f.field_type)}) AS {_ident(f.name)}"
            for f in zoned
        )
        return f"(SELECT * REPLACE ({replaced}) FROM {table})"

    # -- scans -----------------------------------------------------------------------
    def scan(self, plan: ScanPlan) -> str:
        if not plan.files:
            # Typed, without a value: CAST(NULL AS ...) fails for Array, Map and Tuple.
            cols = ", ".join(
                f"defaultValueOfTypeName({_lit(clickhouse_type(c.type))}) AS {_ident(c.name)}"
                for c in plan.columns
            )
            return f"(SELECT {cols} WHERE 0)"
        if plan.has_field_ids and (plan.renamed or plan.needs_footers):
            groups = [(g.names, g.files) for g in group_files(plan)]
        else:
            groups = [({c.field_id: c.name for c in plan.columns}, list(plan.files))]
        parts = [self._scan_group(plan, names, files) for names, files in groups]
        return "(" + " UNION ALL ".join(parts) + ")"

    def _scan_group(self, plan: ScanPlan, names: dict[int, str], files: list[str]) -> str:
        present = [(names[c.field_id], c) for c in plan.columns if c.field_id in names]
        select = []
        for c in plan.columns:
            if c.field_id in names:
                select.append(f"{_ident(names[c.field_id])} AS {_ident(c.name)}")
            else:
                select.append(f"CAST(NULL AS {clickhouse_type(c.type)}) AS {_ident(c.name)}")
        source = self._table_function(files, _structure(present))
        return f"SELECT {', '.join(select)} FROM {source}"

    def _table_function(self, files: list[str], structure: str) -> str:
        paths = [local_path(f) for f in files]
        local = [p for p in paths if p.startswith("/")]
        remote = [p for p in paths if not p.startswith("/")]
        sources = []
        if local:
            prefix, rest = file_glob(local)
            sources.append(f"file({_lit(prefix + rest)}, 'Parquet', {_lit(structure)})")
        # One s3() call per tier: a table may be spread over several buckets/endpoints.
        by_tier: dict[str, list[str]] = {}
        for p in remote:
            tier = tier_of(p, self.lh.tiers)
            if tier is None:
                raise UnsupportedSQLError(
                    f"data file {p!r} is in no configured tier; add its location to [tiers]"
                )
            by_tier.setdefault(tier.name, []).append(p)
        sources.extend(self._s3_function(group, structure) for group in by_tier.values())
        if len(sources) == 1:
            return sources[0]
        return "(" + " UNION ALL ".join(f"SELECT * FROM {s}" for s in sources) + ")"

    def _s3_function(self, paths: list[str], structure: str) -> str:
        tier = tier_of(paths[0], self.lh.tiers)
        if tier is None:
            raise UnsupportedSQLError(
                f"data file {paths[0]!r} is in no configured tier; add its location to [tiers]"
            )
        keys = [urlsplit(p) for p in paths]
        prefix, rest = file_glob([f"{k.netloc}{k.path}" for k in keys])
        endpoint = tier.endpoint or f"https://s3.{tier.region or 'us-east-1'}.amazonaws.com"
        url = endpoint.rstrip("/") + "/" + prefix + rest
        opts = tier.storage_options()
        creds = ""
        if opts.get("key"):
            self._secrets.add(_lit(opts["secret"]))
            creds = f", {_lit(opts['key'])}, {_lit(opts['secret'])}"
        return f"s3({_lit(url)}{creds}, 'Parquet', {_lit(structure)})"

    def close(self) -> None:
        with self._lock:
            self._closed = True
            clients, self._clients = self._clients, []
        for client in clients:
            client.close()
        self._local = threading.local()
