"""ClickHouse results streamed block by block: chDB's streaming query, or a server's
ArrowStream response read as it arrives (engines/clickhouse.py's ``execute_batches``).

Imported only when a result is streamed. The engine hands in what a stream needs (its
client or chDB path, the settings, its error translation), so this module does not import
engines/clickhouse.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

# A failed query's exception -> the engine's typed error (ClickHouseEngine.query_error).
ErrorFor = Callable[[Exception], Exception]


class Tail:
    """A response body read through, keeping its last bytes: a server that fails mid-stream
    appends ``Code: N. DB::Exception: ...`` there."""

    _KEEP = 8192

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self._tail = b""
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size if size is not None and size >= 0 else None) or b""
        self._tail = (self._tail + data)[-self._KEEP :]
        return bytes(data)

    def error(self) -> str | None:
        text = self._tail.decode("utf-8", "replace")
        start = text.rfind("Code:")
        return text[start:].strip() if start >= 0 else None


def http_batches(
    client: Callable[[], Any], sql: str, settings: Mapping[str, Any], error: ErrorFor
) -> Iterator[pa.RecordBatch]:
    """A server's ArrowStream response to ``sql`` on the clickhouse-connect client that
    ``client()`` returns on the thread that reads the stream."""
    import pyarrow as pa
    from clickhouse_connect.driver.exceptions import ClickHouseError
    from urllib3.exceptions import HTTPError

    try:
        response = client().raw_stream(sql, settings=dict(settings), fmt="ArrowStream")
    except ClickHouseError as exc:
        raise error(exc) from exc
    body = Tail(response)
    try:
        reader = pa.ipc.open_stream(body)
        empty = True
        for batch in reader:
            empty = False
            yield batch
        if empty:
            yield pa.RecordBatch.from_pylist([], schema=reader.schema)
    except (pa.ArrowException, OSError, HTTPError) as exc:
        # A server that fails after sending rows appends its error to the body.
        raise error(RuntimeError(body.error() or str(exc))) from exc
    finally:
        response.close()


def chdb_batches(
    path: str, sql: str, settings: Mapping[str, Any], error: ErrorFor
) -> Iterator[pa.RecordBatch]:
    """``sql`` streamed by chDB at ``path`` on a handle of its own, with ``settings``
    (``readonly`` is set last: nothing can be SET after it)."""
    # clickhouse-connect reads an Arrow result from chDB whole; chDB's own streaming
    # query yields one Arrow file per ClickHouse block. A handle per stream: a stream
    # holds its handle, and readonly cannot be undone on one.
    import chdb
    import pyarrow as pa

    empty = True
    handle = chdb.connect(path)
    try:
        ordered = sorted(settings.items(), key=lambda item: item[0] == "readonly")
        for name, value in ordered:
            handle.query(f"SET {name} = {_literal(str(value))}")
        stream = handle.send_query(sql, "Arrow")
        try:
            for chunk in stream:
                data = chunk.bytes()
                if data:
                    block = pa.ipc.open_file(data)
                    for i in range(block.num_record_batches):
                        empty = False
                        yield block.get_batch(i)
        finally:
            stream.close()
        if empty:
            yield _no_rows(handle, sql)
    except RuntimeError as exc:  # chdb's ChdbError
        raise error(exc) from exc
    finally:
        handle.close()


def _no_rows(handle: Any, sql: str) -> pa.RecordBatch:
    """The columns of ``sql``'s empty result, without running it again (see
    :func:`header_query`), on the same handle and settings as the stream."""
    import pyarrow as pa

    try:
        header = handle.query(header_query(handle, sql), "Arrow").bytes()
    except RuntimeError:
        # A structure null() refuses (two columns of one name): run it whole, there are
        # no rows to hold.
        header = handle.query(sql, "Arrow").bytes()
    return pa.RecordBatch.from_pylist([], schema=pa.ipc.open_file(header).schema)


def header_query(handle: Any, sql: str, params: Mapping[str, str] | None = None) -> str:
    """A query with no rows and exactly the result columns of ``sql``, found on chDB
    ``handle`` without running ``sql``.

    chDB's streaming query sends no block for an empty result (ClickHouse writes a
    format's header when the output is finalised, which the stream drops). ``DESCRIBE``
    gives the result's names and ClickHouse types without reading data, and a ``null()``
    table of that structure has the same header in every format."""
    import pyarrow as pa

    described = handle.query(f"DESCRIBE TABLE ({sql})", "Arrow", params=dict(params or {}))
    columns = pa.ipc.open_file(described.bytes()).read_all()
    names = [_text(v) for v in columns.column(0).to_pylist()]
    types = [_text(v) for v in columns.column(1).to_pylist()]
    structure = ", ".join(f"{_quoted(n, '`')} {t}" for n, t in zip(names, types, strict=True))
    return f"SELECT * FROM null({_literal(structure)})"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _quoted(text: str, quote: str) -> str:
    """``text`` quoted for ClickHouse (backslash escapes, as engines/clickhouse.py writes
    its literals): ``'`` a string literal, a backtick an identifier."""
    return quote + text.replace("\\", "\\\\").replace(quote, "\\" + quote) + quote


def _literal(text: str) -> str:
    return _quoted(text, "'")
