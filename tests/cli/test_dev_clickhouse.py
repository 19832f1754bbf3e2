"""`doctordata dev clickhouse`: chDB behind ClickHouse's HTTP interface, loopback only,
reached with clickhouse-connect as dbt-clickhouse would."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from doctordata.errors import InvalidArgumentError
from tests.services.clickhouse_http import endpoint_url, start_endpoint, stop_endpoint

pytestmark = pytest.mark.clickhouse


def test_serves_clickhouse_connect_and_stops_on_sigterm(tmp_path: Path) -> None:
    import clickhouse_connect

    proc = start_endpoint(tmp_path / "chdb")
    try:
        url = endpoint_url(proc)
        assert url.startswith("http://default:@127.0.0.1:")
        client = clickhouse_connect.get_client(dsn=url)
        try:
            client.command("CREATE DATABASE IF NOT EXISTS marts")
            client.command(
                "CREATE TABLE marts.t (day Date, n Int64) ENGINE = MergeTree ORDER BY day"
            )
            rows_in = [[date(2026, 1, 2), 3], [date(2026, 1, 1), 4]]
            client.insert("marts.t", rows_in, column_names=["day", "n"])
            rows = client.query("SELECT toString(day), n FROM marts.t ORDER BY day").result_rows
            assert rows == [("2026-01-01", 4), ("2026-01-02", 3)]
        finally:
            client.close()
    finally:
        assert stop_endpoint(proc) == 0
    # The data directory is chDB's: the table is still there for the next start.
    proc = start_endpoint(tmp_path / "chdb")
    try:
        client = clickhouse_connect.get_client(dsn=endpoint_url(proc))
        assert client.command("SELECT sum(n) FROM marts.t") == 7
        client.close()
    finally:
        stop_endpoint(proc)


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """The CLI in this process (these cases fail before chDB is loaded)."""
    from doctordata.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    return int(exit_info.value.code or 0), capsys.readouterr().err


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.com"])
def test_refuses_every_host_but_loopback(
    host: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["dev", "clickhouse", "--host", host, "--port", "0", "--path", str(tmp_path / "ch")]
    code, err = run_cli(argv, capsys)
    assert code == 2
    assert f"{host!r} is not a loopback address" in err and "127.0.0.1" in err
    assert not (tmp_path / "ch").exists()  # refused before touching anything


def test_library_serve_refuses_non_loopback(tmp_path: Path) -> None:
    from doctordata.engines.http_endpoint import serve

    with pytest.raises(InvalidArgumentError, match="loopback only"):
        serve(tmp_path / "chdb", host="0.0.0.0")
    assert not (tmp_path / "chdb").exists()


def test_a_taken_port_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        argv = ["dev", "clickhouse", "--port", str(port), "--path", str(tmp_path / "ch")]
        code, err = run_cli(argv, capsys)
    assert code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in err and "pick another --port" in err
    assert not (tmp_path / "ch").exists()


def test_default_data_directory_is_under_the_root(tmp_path: Path) -> None:
    import clickhouse_connect

    root = tmp_path / "lake"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "doctordata",
            "--root",
            str(root),
            "dev",
            "clickhouse",
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = endpoint_url(proc)  # type: ignore[arg-type]
        client = clickhouse_connect.get_client(dsn=url)
        assert client.command("SELECT 1") == 1
        client.close()
        assert (root / "dev-clickhouse").is_dir()
    finally:
        stop_endpoint(proc)  # type: ignore[arg-type]
