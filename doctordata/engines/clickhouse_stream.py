"""ClickHouse results streamed block by block: chDB's streaming query, or a server's
ArrowStream response read as it arrives (engines/clickhouse.py's ``execute_batches``).

Imported only when a result is streamed; the engine's types and settings come from
engines/clickhouse.py.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from doctordata.engines.clickhouse import READ_SETTINGS, STREAM_SETTINGS, _lit

if TYPE_CHECKING:
    import pyarrow as pa

    from doctordata.engines.clickhouse import ClickHouseEngine


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
    eng: ClickHouseEngine, sql: str, limits: Mapping[str, Any]
) -> Iterator[pa.RecordBatch]:
    import pyarrow as pa
    from clickhouse_connect.driver.exceptions import ClickHouseError
    from urllib3.exceptions import HTTPError

    settings = {**limits, **STREAM_SETTINGS}
    try:
        response = eng.client().raw_stream(sql, settings=settings, fmt="ArrowStream")
    except ClickHouseError as exc:
        raise eng.query_error(exc, limits) from exc
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
        raise eng.query_error(RuntimeError(body.error() or str(exc)), limits) from exc
    finally:
        response.close()


def chdb_batches(
    eng: ClickHouseEngine, sql: str, limits: Mapping[str, Any]
) -> Iterator[pa.RecordBatch]:
    # clickhouse-connect reads an Arrow result from chDB whole; chDB's own streaming
    # query yields one Arrow file per ClickHouse block. A handle per stream: a stream
    # holds its handle, and readonly cannot be undone on one.
    import chdb
    import pyarrow as pa

    empty = True
    handle = chdb.connect(eng.chdb_path())
    try:
        settings = {**READ_SETTINGS, **STREAM_SETTINGS, **limits}
        readonly = settings.pop("readonly")
        for name, value in [*settings.items(), ("readonly", readonly)]:
            handle.query(f"SET {name} = {_lit(str(value))}")
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
    except RuntimeError as exc:  # chdb's ChdbError
        raise eng.query_error(exc, limits) from exc
    finally:
        handle.close()
    if empty:
        # chDB streams no block for an empty result: its columns come from the query
        # run whole (there are no rows to hold).
        table = eng.execute(sql, timeout=limits["max_execution_time"])
        yield pa.RecordBatch.from_pylist([], schema=table.schema)
