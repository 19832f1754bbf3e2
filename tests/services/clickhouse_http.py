"""The loopback ClickHouse server for tests: `doctordata dev clickhouse` (chDB behind
ClickHouse's HTTP interface, doctordata/engines/http_endpoint.py) in a child process, as a
pytest plugin.

Fixtures: ``clickhouse_http_url`` (session-scoped, ``http://default:@127.0.0.1:<port>``).
When DOCTORDATA_TEST_CLICKHOUSE_URL is set, ``clickhouse_server_url`` returns it so the
same tests also run against a real server.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REAL_SERVER_ENV = "DOCTORDATA_TEST_CLICKHOUSE_URL"
_URL = re.compile(r" at (http://\S+) ")


def start_endpoint(
    data: Path, port: int = 0, host: str = "127.0.0.1", env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """`doctordata dev clickhouse` in a child process (chDB hosts one path per process);
    ``env`` adds to its environment (TZ: a server in another time zone)."""
    repo = Path(__file__).resolve().parents[2]
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "doctordata",
            "dev",
            "clickhouse",
            "--port",
            str(port),
            "--host",
            host,
            "--path",
            str(data),
        ],
        cwd=repo,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,  # one line: the URL; errors go to the test's stderr
        text=True,
        env={**os.environ, "PYTHONPATH": str(repo), **(env or {})},
    )


def endpoint_url(proc: subprocess.Popen[str]) -> str:
    """The URL the endpoint prints once it listens (RuntimeError if it exited instead)."""
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = _URL.search(line)
    if not match:
        raise RuntimeError(f"the ClickHouse-HTTP endpoint did not start (got {line!r})")
    return match.group(1)


def stop_endpoint(proc: subprocess.Popen[str]) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


@pytest.fixture(scope="session")
def clickhouse_http_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a loopback ClickHouse-HTTP endpoint (chDB in a child process)."""
    data = tmp_path_factory.mktemp("clickhouse-http")
    proc = start_endpoint(data / "chdb")
    try:
        yield endpoint_url(proc)
    finally:
        stop_endpoint(proc)


@pytest.fixture(scope="session")
def clickhouse_server_url() -> str:
    """A real ClickHouse server from DOCTORDATA_TEST_CLICKHOUSE_URL (skipped when unset)."""
    url = os.environ.get(REAL_SERVER_ENV)
    if not url:
        pytest.skip(f"{REAL_SERVER_ENV} is not set")
    return url
