"""The loopback ClickHouse-HTTP endpoint speaks enough of the protocol for clickhouse-connect."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest

pytestmark = pytest.mark.clickhouse


SERVERS = ["loopback"] + (["real"] if os.environ.get("DOCTORDATA_TEST_CLICKHOUSE_URL") else [])


@pytest.fixture(params=SERVERS)
def server_url(request: pytest.FixtureRequest) -> str:
    """The loopback endpoint, and a real server too when DOCTORDATA_TEST_CLICKHOUSE_URL is set."""
    name = "clickhouse_http_url" if request.param == "loopback" else "clickhouse_server_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
def client(server_url: str) -> Iterator[Any]:
    import clickhouse_connect

    c = clickhouse_connect.get_client(dsn=server_url)
    yield c
    c.close()


def test_handshake_query_formats(client: Any) -> None:
    assert client.server_version.count(".") >= 2
    assert client.query("SELECT 1 AS a, 'x' AS b").result_rows == [(1, "x")]
    arrow = client.query_arrow("SELECT number AS n FROM numbers(3)")
    assert arrow.column("n").to_pylist() == [0, 1, 2]
    assert client.query_df("SELECT number FROM numbers(2)")["number"].tolist() == [0, 1]
    assert client.query("SELECT {x:Int32} + 1", parameters={"x": 41}).result_rows == [(42,)]
    assert client.command("SELECT 2 + 2") == 4


def test_insert_and_database_param(client: Any, server_url: str) -> None:
    import clickhouse_connect

    client.command("CREATE DATABASE IF NOT EXISTS httptest")
    client.command("DROP TABLE IF EXISTS httptest.t")
    client.command("CREATE TABLE httptest.t (a Int64, b String) ENGINE = MergeTree ORDER BY a")
    client.insert("httptest.t", [[1, "x"], [2, "y"]], column_names=["a", "b"])
    other = clickhouse_connect.get_client(dsn=server_url.rstrip("/") + "/httptest")
    try:
        assert other.query("SELECT a, b FROM t ORDER BY a").result_rows == [(1, "x"), (2, "y")]
    finally:
        other.close()
    client.command("DROP TABLE httptest.t")


def test_errors_are_clickhouse_exceptions(client: Any) -> None:
    from clickhouse_connect.driver.exceptions import DatabaseError

    with pytest.raises(DatabaseError, match=r"code: 46.*UNKNOWN_FUNCTION"):
        client.query("SELECT no_such_function()")
    with pytest.raises(DatabaseError, match=r"READONLY|readonly"):
        client.command("CREATE TABLE ro (a Int8) ENGINE = Memory", settings={"readonly": 2})


def test_per_request_settings_do_not_leak_into_the_session(client: Any) -> None:
    assert client.query(
        "SELECT getSetting('max_threads')", settings={"max_threads": 1}
    ).result_rows == [(1,)]
    client.query("SELECT 1", settings={"readonly": 2})
    client.command("CREATE TABLE IF NOT EXISTS default.leak (a Int8) ENGINE = Memory")
    client.command("DROP TABLE default.leak")
    assert client.query("SELECT getSetting('max_threads')").result_rows != [(1,)]


def test_raw_http_ping_and_error_status(clickhouse_http_url: str) -> None:
    import urllib.error
    import urllib.request
    from urllib.parse import quote, urlsplit

    base = "http://" + urlsplit(clickhouse_http_url).netloc.split("@")[-1]
    with urllib.request.urlopen(base + "/ping", timeout=10) as resp:
        assert resp.read() == b"Ok.\n"
    with urllib.request.urlopen(base + "/?query=" + quote("SELECT 40 + 2"), timeout=10) as resp:
        assert resp.read() == b"42\n"
        assert resp.headers["X-ClickHouse-Format"] == "TabSeparated"
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(base + "/?query=" + quote("SELEC 1"), timeout=10)
    assert info.value.code == 500
    assert info.value.headers["X-ClickHouse-Exception-Code"] == "62"
    assert info.value.read().startswith(b"Code: 62. DB::Exception")


def _raw(url: str, sql: str, **params: str) -> Any:
    import urllib.request
    from urllib.parse import urlencode, urlsplit

    base = "http://" + urlsplit(url).netloc.split("@")[-1]
    return urllib.request.urlopen(f"{base}/?{urlencode({'query': sql, **params})}", timeout=60)


def test_a_session_query_streams_in_bounded_blocks(clickhouse_http_url: str) -> None:
    """With a session_id (dbt-clickhouse and clickhouse-connect send one) a SELECT streams
    in 16,384-row blocks as without one; the session's own settings are back afterwards."""
    from doctordata.engines.http_endpoint import STREAM_BLOCKS

    session = {"session_id": "stream-blocks"}
    with _raw(clickhouse_http_url, "SELECT blockSize() FROM numbers(200000)", **session) as resp:
        assert resp.headers["Transfer-Encoding"] == "chunked"
        sizes = {int(line) for line in resp.read().split()}
    assert max(sizes) == int(STREAM_BLOCKS["max_block_size"])  # the last block is smaller
    # JSON is answered whole: no streaming settings of its own
    setting = "SELECT getSetting('max_block_size') AS b"
    with _raw(clickhouse_http_url, setting, default_format="JSON", **session) as resp:
        assert int(json.loads(resp.read())["data"][0]["b"]) != int(STREAM_BLOCKS["max_block_size"])


def test_a_late_error_in_a_session_stream_is_a_500(clickhouse_http_url: str) -> None:
    """An error after the first blocks is still an HTTP 500 (wait_end_of_query=1, as
    clickhouse-connect asks), and the session answers the next query."""
    import urllib.error

    session = {"session_id": "late-error", "wait_end_of_query": "1"}
    late = "SELECT throwIf(number = 150000, 'late') FROM numbers(200000)"
    with pytest.raises(urllib.error.HTTPError) as info:
        _raw(clickhouse_http_url, late, **session)
    assert info.value.code == 500
    assert info.value.read().startswith(b"Code: 395. DB::Exception")
    with _raw(clickhouse_http_url, "SELECT 40 + 2", **session) as resp:
        assert resp.read() == b"42\n"
