"""A ClickHouse-HTTP endpoint backed by chDB, on loopback: `doctordata dev clickhouse`.

For trying dbt-clickhouse (or any clickhouse-connect client) on one box without a
ClickHouse server: it implements the part of ClickHouse's HTTP interface that
clickhouse-connect, and dbt-clickhouse through it, uses: GET/POST with the query in the
``query`` parameter, the body or both (INSERT data in the body), ``database``,
``default_format``, ``session_id``, ``param_<name>`` bind parameters, every other
parameter as a query setting, gzip/deflate/zstd/lz4 request bodies, ``X-ClickHouse-*``
response headers and errors as HTTP 500 with ClickHouse's ``Code: N. DB::Exception: ...``
text. The SQL engine is the real ClickHouse engine (chDB); what is missing is a server's
users, access control, replication and concurrency: hence loopback only, never a host
another machine can reach. The tests' loopback ClickHouse server is this endpoint.

chDB hosts one database path per process, so the endpoint runs in a process of its own
when the caller also uses chDB.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import os
import re
import socket
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from doctordata.errors import InvalidArgumentError

# The endpoint has no authentication: it binds to these addresses only.
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

# URL parameters that steer the HTTP layer; every other parameter is a query setting.
TRANSPORT_PARAMS = frozenset(
    {
        "query",
        "database",
        "default_format",
        "user",
        "password",
        "query_id",
        "quota_key",
        "session_id",
        "session_timeout",
        "session_check",
        "compress",
        "decompress",
        "buffer_size",
        "wait_end_of_query",
        "client_protocol_version",
        "role",
        "send_progress_in_http_headers",
        "http_headers_progress_interval_ms",
        "enable_http_compression",
        "http_zlib_compression_level",
        "add_http_cors_header",
    }
)

# Output formats a SELECT is streamed in: each chDB block is a valid piece of the whole
# (no global header or footer), except Arrow's, which _ArrowEncoder joins into one Arrow
# stream (ArrowStream) or file (Arrow, what clickhouse-connect's query_arrow asks for).
STREAMED_FORMATS = frozenset(
    {"Native", "RowBinary", "TabSeparated", "TSV", "CSV", "JSONEachRow", "ArrowStream", "Arrow"}
)
# A response held back until its query has finished (wait_end_of_query=1, which
# clickhouse-connect sends with every non-streaming query, so that an error is an HTTP 500
# rather than the end of a body) is kept in memory up to this size, then in a temporary
# file, as a server buffers it: the endpoint never holds a large result in memory.
HOLD_IN_MEMORY_BYTES = 4 << 20
# Block sizes of a streamed response unless the request sets its own: ClickHouse's
# defaults (65,409 rows) keep several blocks of wide rows in flight in chDB (a 4M-row
# result of 208-byte rows held ~270 MB above the start; 16,384 rows ~100 MB).
STREAM_BLOCKS = {"max_block_size": "16384", "max_joined_block_size_rows": "16384"}
SEND_BYTES = 1 << 20  # per chunk of a held response

_FORMAT = re.compile(r"\bFORMAT\s+(\w+)\s*;?\s*$", re.IGNORECASE)
_INSERT_FORMAT = re.compile(r"^\s*(INSERT\s+INTO\s+.*?)\s+FORMAT\s+(\w+)\s*$", re.I | re.S)
_BODY_INSERT = re.compile(rb"^\s*(INSERT\s+INTO\s+[^\n]*?\s+FORMAT\s+\w+)[ \t]*\r?\n", re.I)
_CODE = re.compile(r"Code:\s*(\d+)")
# chDB's refusal to stream a statement that returns no result set.
_NOT_STREAMABLE = "Streaming query is not supported"
_SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _decompress(body: bytes, encoding: str | None) -> bytes:
    if not encoding or not body:
        return body
    from clickhouse_connect.driver._backend.httpcommon import decompress_response

    return bytes(decompress_response(body, encoding))


class _ArrowEncoder:
    """Arrow IPC files (one per chDB block) -> the bytes of one Arrow IPC stream, or of one
    Arrow IPC file (``file``: its footer, which indexes every batch, comes at the end)."""

    def __init__(self, *, file: bool = False) -> None:
        self._sink = _Drain()
        self._writer: Any = None
        self._file = file

    def __call__(self, block: bytes) -> bytes:
        import pyarrow as pa

        if not block:
            return b""
        reader = pa.ipc.open_file(block)
        if self._writer is None:
            # LZ4, as ClickHouse compresses Arrow output by default.
            options = pa.ipc.IpcWriteOptions(compression="lz4")
            new = pa.ipc.new_file if self._file else pa.ipc.new_stream
            self._writer = new(self._sink, reader.schema, options=options)
        for i in range(reader.num_record_batches):
            self._writer.write_batch(reader.get_batch(i))
        return self._sink.take()

    def finish(self) -> bytes:
        if self._writer is not None:
            self._writer.close()
        return self._sink.take()


class _Drain(io.RawIOBase):
    """A write-only file whose bytes are taken out as they come (tell() keeps counting)."""

    def __init__(self) -> None:
        super().__init__()
        self._parts: list[bytes] = []
        self._pos = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._parts.append(chunk)
        self._pos += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._pos

    def take(self) -> bytes:
        data, self._parts = b"".join(self._parts), []
        return data


class ChdbService:
    """Executes HTTP requests on one chDB engine, one handle per session or request."""

    def __init__(self, path: str) -> None:
        import chdb

        self.path = os.path.realpath(path)
        os.makedirs(self.path, exist_ok=True)
        self._chdb = chdb
        self._root = chdb.connect(self.path)  # keeps the engine alive between requests
        self._sessions: dict[str, Any] = {}
        # One query at a time per session, as on a server: its lock is held until the
        # query's response has been read (a stream's last block), not only until it starts.
        self._session_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self.version = self._root.query("SELECT version()", "TabSeparated").bytes().decode()
        self.version = self.version.strip()

    def _handle(self, session_id: str | None) -> tuple[Any, bool]:
        if session_id:
            with self._lock:
                if session_id not in self._sessions:
                    self._sessions[session_id] = self._chdb.connect(self.path)
                return self._sessions[session_id], False
        return self._chdb.connect(self.path), True

    def _acquire(self, session_id: str) -> threading.Lock:
        """The session's lock, taken; a session already running a query is an error, as a
        server says (a client waiting for it could be the one reading its stream)."""
        with self._lock:
            lock = self._session_locks.setdefault(session_id, threading.Lock())
        if not lock.acquire(blocking=False):
            raise RuntimeError(
                f"Code: 373. DB::Exception: Session {session_id} is locked by a concurrent "
                "client. (SESSION_IS_LOCKED)"
            )
        return lock

    def run(
        self, params: dict[str, str], body: bytes
    ) -> tuple[bytes, Iterator[bytes] | None, str, dict[str, str]]:
        """(first body bytes, the rest or None, format, extra headers); raises RuntimeError
        with ClickHouse's text. A SELECT in a streamable format is read from chDB block by
        block, as a server sends it, so neither side holds the whole result."""
        query = params.get("query", "")
        fmt = params.get("default_format", "TabSeparated")
        bind = {k[6:]: v for k, v in params.items() if k.startswith("param_")}
        settings = {
            k: v
            for k, v in params.items()
            if k not in TRANSPORT_PARAMS and not k.startswith("param_")
        }
        sql, infile = self._statement(query, body)
        trailing = _FORMAT.search(sql) if infile is None else None
        if trailing:
            fmt = trailing.group(1)
        session = params.get("session_id")
        # Per-request settings apply to that request only (as on a server). readonly
        # cannot be undone on a handle, so such requests get a handle of their own.
        if "readonly" in settings:
            session = None
        # Only session handles are shared between requests: a session's lock is held until
        # its response ends; a request's own handle runs (and streams) without a lock.
        streamed = infile is None and fmt in STREAMED_FORMATS
        if streamed and trailing:
            # chDB streams in the format it is given; a FORMAT clause would override it
            # (and ArrowStream is read from chDB as Arrow blocks).
            sql = sql[: trailing.start()]
        if streamed:
            settings = {**STREAM_BLOCKS, **settings}
        lock = self._acquire(session) if session else None
        handed_over = False
        try:
            handle, temporary = self._handle(session)
            restore: dict[str, str] = {}
            try:
                self._prepare(handle, params, settings, restore, temporary)
                streaming = (
                    self._stream(handle, sql, fmt, bind, restore, temporary) if streamed else None
                )
                if streaming is not None:
                    # The handle, settings and session stay until the stream ends.
                    temporary, restore = False, {}
                    first, rest = streaming
                    if lock is not None:
                        rest = _Ending(rest, lock.release)
                        handed_over = True
                    if params.get("wait_end_of_query") == "1":
                        return b"", _held(first, rest), fmt, {}
                    return first, rest, fmt, {}
                result = handle.query(sql, fmt, params=bind)
                data = result.bytes() or b""
                summary = {
                    "read_rows": str(result.rows_read()),
                    "read_bytes": str(result.bytes_read()),
                    "written_rows": "0",
                    "written_bytes": "0",
                    "total_rows_to_read": "0",
                    "result_rows": "0",
                    "result_bytes": str(len(data)),
                    "elapsed_ns": str(int(result.elapsed() * 1e9)),
                }
            finally:
                self._release(handle, restore, temporary)
                if infile:
                    os.unlink(infile)
        finally:
            if lock is not None and not handed_over:
                lock.release()
        return data, None, fmt, {"X-ClickHouse-Summary": json.dumps(summary)}

    @staticmethod
    def _prepare(
        handle: Any,
        params: dict[str, str],
        settings: dict[str, str],
        restore: dict[str, str],
        temporary: bool,
    ) -> None:
        if params.get("database"):
            handle.query(f"USE `{params['database'].replace('`', '')}`")
        readonly = settings.pop("readonly", None)
        ordered = [*settings.items(), *([("readonly", readonly)] if readonly else [])]
        for name, value in ordered:
            if not _SETTING_NAME.match(name):
                raise RuntimeError(
                    f"Code: 115. DB::Exception: Unknown setting {name}. (UNKNOWN_SETTING)"
                )
            if not temporary:
                old = handle.query(f"SELECT getSetting({_quote(name)})", "TabSeparated")
                restore[name] = old.bytes().decode().rstrip("\n")
            handle.query(f"SET {name} = {_quote(value)}")

    @staticmethod
    def _release(handle: Any, restore: dict[str, str], temporary: bool) -> None:
        for name, value in restore.items():
            handle.query(f"SET {name} = {_quote(value)}")
        if temporary:
            handle.close()

    def _stream(
        self,
        handle: Any,
        sql: str,
        fmt: str,
        bind: dict[str, str],
        restore: dict[str, str],
        temporary: bool,
    ) -> tuple[bytes, Iterator[bytes]] | None:
        """None for a statement that cannot stream, else the first block's bytes (errors before any row are still an HTTP 500) and the
        rest. chDB's ArrowStream blocks each carry a schema, so Arrow blocks are rewritten
        as one stream."""
        try:
            stream = handle.send_query(sql, "Arrow" if fmt == "ArrowStream" else fmt, params=bind)
        except RuntimeError as exc:
            if _NOT_STREAMABLE not in str(exc):
                raise
            return None  # a statement chDB runs only whole (DDL, INSERT, SET, ...)
        encode = _ArrowEncoder(file=fmt == "Arrow") if fmt.startswith("Arrow") else None
        chunks = (c.bytes() for c in stream)
        first = next(chunks, None)
        if first is None:
            # No block: an empty result, whose format may still have a header (Arrow's
            # schema), found without running the query again.
            stream.close()
            try:
                empty = _no_rows(handle, sql, fmt, bind)
            finally:
                self._release(handle, restore, temporary)
            return empty, iter(())

        def rest() -> Iterator[bytes]:
            try:
                for chunk in chunks:
                    yield encode(chunk) if encode is not None else chunk
                if encode is not None:
                    yield encode.finish()
            finally:
                stream.close()
                self._release(handle, restore, temporary)

        return (encode(first) if encode is not None else first), rest()

    @staticmethod
    def _statement(query: str, body: bytes) -> tuple[str, str | None]:
        """The SQL to run and, for INSERT ... FORMAT with data, the temp file holding it."""
        header, data = query, body
        if not query:
            in_body = _BODY_INSERT.match(body)
            if not in_body:
                return body.decode(), None
            header, data = in_body.group(1).decode(), body[in_body.end() :]
        elif not body:
            return query, None
        match = _INSERT_FORMAT.match(header)
        if not match:
            return f"{query}\n{body.decode()}", None
        fd, infile = tempfile.mkstemp(prefix="chhttp-", suffix=".bin")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return f"{match.group(1)} FROM INFILE {_quote(infile)} FORMAT {match.group(2)}", infile

    def close(self) -> None:
        with self._lock:
            for handle in self._sessions.values():
                handle.close()
            self._sessions.clear()
            self._root.close()


def _no_rows(handle: Any, sql: str, fmt: str, bind: dict[str, str]) -> bytes:
    """The body of ``sql``'s empty result in ``fmt`` (a header, for Arrow its schema)."""
    from doctordata.engines.clickhouse_stream import header_query

    try:
        return bytes(handle.query(header_query(handle, sql, bind), fmt).bytes() or b"")
    except RuntimeError:
        # Not a query DESCRIBE takes (SHOW, EXISTS, ...) or columns null() cannot hold (two
        # of one name): run it whole, there are no rows.
        return bytes(handle.query(sql, fmt, params=bind).bytes() or b"")


class _Ending:
    """``chunks``, then ``done()``: called once, when they end, fail or are closed, even
    unread (a session's lock must not outlive a response that was never sent)."""

    def __init__(self, chunks: Iterator[bytes], done: Callable[[], None]) -> None:
        self._chunks: Iterator[bytes] | None = chunks
        self._done: Callable[[], None] | None = done

    def __iter__(self) -> _Ending:
        return self

    def __next__(self) -> bytes:
        if self._chunks is None:
            raise StopIteration
        try:
            return next(self._chunks)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        chunks, done, self._chunks, self._done = self._chunks, self._done, None, None
        try:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        finally:
            if done is not None:
                done()


def _held(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    """The whole response read now, held in memory up to HOLD_IN_MEMORY_BYTES and in a
    temporary file beyond, then sent in pieces. A failure raises here, before anything
    is sent (an HTTP 500)."""
    # Closed by send() once sent (or dropped), or below on a failure.
    spool = tempfile.SpooledTemporaryFile(max_size=HOLD_IN_MEMORY_BYTES, prefix="chhttp-")  # noqa: SIM115
    try:
        spool.write(first)  # in memory: the stream below has started when a write can fail
        for chunk in rest:
            spool.write(chunk)
        spool.seek(0)
    except BaseException:
        close = getattr(rest, "close", None)
        if close is not None:
            close()  # ends chDB's stream and releases its handle
        spool.close()
        raise

    def send() -> Iterator[bytes]:
        with spool:
            while piece := spool.read(SEND_BYTES):
                yield piece

    return send()


def make_handler(service: ChdbService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            pass

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _serve(self, body: bytes) -> None:
            parts = urlsplit(self.path)
            params = dict(parse_qsl(parts.query, keep_blank_values=True))
            if parts.path in ("/ping", "/") and not params.get("query") and not body:
                self._send(200, b"Ok.\n", {"Content-Type": "text/html; charset=UTF-8"})
                return
            query_id = params.get("query_id") or str(uuid.uuid4())
            common = {
                "X-ClickHouse-Query-Id": query_id,
                "X-ClickHouse-Server-Display-Name": "doctordata-chdb-loopback",
                "X-ClickHouse-Timezone": "UTC",
            }
            try:
                data, rest, fmt, extra = service.run(params, body)
            except Exception as exc:
                text = str(exc)
                start = text.find("Code:")
                text = text[start:] if start >= 0 else f"Code: 1000. DB::Exception: {text}"
                code = _CODE.search(text)
                headers = {
                    **common,
                    "Content-Type": "text/plain; charset=UTF-8",
                    "X-ClickHouse-Exception-Code": code.group(1) if code else "1000",
                }
                self._send(500, f"{text} (version {service.version})\n".encode(), headers)
                return
            headers = {
                **common,
                **extra,
                "X-ClickHouse-Format": fmt,
                "Content-Type": "application/octet-stream"
                if fmt in ("Native", "Arrow", "ArrowStream", "Parquet", "RowBinary")
                else "text/plain; charset=UTF-8",
            }
            if rest is None:
                self._send(200, data, headers)
            else:
                self._send_chunked(headers, data, rest)

        def _send_chunked(
            self, headers: dict[str, str], first: bytes, rest: Iterator[bytes]
        ) -> None:
            try:
                self.send_response(200)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for chunk in itertools.chain([first], rest):
                    if chunk:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except Exception as exc:
                # As a server does: the error text ends the body (no format parses it as
                # rows), where a client finds the code.
                text = str(exc)
                start = text.find("Code:")
                message = b"\n" + (text[start:] if start >= 0 else text).encode() + b"\n"
                with contextlib.suppress(OSError):
                    self.wfile.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(message), message))
                self.close_connection = True
                return
            finally:
                close = getattr(rest, "close", None)
                if close is not None:
                    close()
            self.wfile.write(b"0\r\n\r\n")

        def _read_chunked(self) -> bytes:
            # clickhouse-connect streams INSERT data with chunked transfer encoding.
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()

        def do_GET(self) -> None:
            self._serve(b"")

        def do_POST(self) -> None:
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                raw = self._read_chunked()
            else:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
            self._serve(_decompress(raw, self.headers.get("Content-Encoding")))

    return Handler


def serve(
    path: str | os.PathLike[str], port: int = 0, host: str = "127.0.0.1"
) -> tuple[ThreadingHTTPServer, ChdbService]:
    """Start the endpoint on ``host`` (loopback only) in a background thread; this process
    hosts chDB. Raises InvalidArgumentError for any other host, OSError if the port is
    taken."""
    if host not in LOOPBACK_HOSTS:
        raise InvalidArgumentError(
            f"host {host!r}: the chDB ClickHouse-HTTP endpoint has no authentication and "
            f"listens on loopback only; use one of {', '.join(sorted(LOOPBACK_HOSTS))} "
            "(for other machines, run a real ClickHouse server)"
        )
    server_class = _IPv6Server if ":" in host else ThreadingHTTPServer
    # Bind first: a taken port fails before chDB creates anything under ``path``.
    server = server_class((host, port), BaseHTTPRequestHandler)
    try:
        service = ChdbService(str(path))
    except BaseException:
        server.server_close()
        raise
    server.RequestHandlerClass = make_handler(service)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="clickhouse-http", daemon=True).start()
    return server, service


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6
