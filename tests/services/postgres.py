"""A real PostgreSQL server for tests: Debian's binaries, started by pytest-postgresql.

Fixtures:
- ``postgres_server`` (session): the running server (host, port, user, password).
- ``postgres_url`` (session): SQLAlchemy URL of one shared database.
- ``postgres_catalog_url`` (function): SQLAlchemy URL of a fresh, empty database.

The server listens on 127.0.0.1 only, on a free port, with password authentication over
TCP (so a wrong password is refused). ``pg_ctl`` refuses to run as root, so when the
tests run as root the server runs as the ``postgres`` OS user (created by Debian's
package) through a tiny ``setpriv`` wrapper. Missing binaries skip the tests locally
and fail them in CI (``CI=true``): nothing is skipped there.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import secrets
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

FIXTURES = ("postgres_server", "postgres_url", "postgres_catalog_url")
USER = "doctordata"
# TCP needs a password (so wrong-password tests mean something); the local socket we use
# to set that password is trusted and lives in a directory only the server user can enter.
HBA = "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n"
# Durability is irrelevant for throwaway test clusters; these make initdb/commits cheap.
FAST_OPTIONS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"


@dataclass(frozen=True)
class PostgresServer:
    """Connection facts of the test server (the password is non-empty)."""

    host: str
    port: int
    user: str
    password: str
    socket_dir: str

    def url(self, dbname: str, *, password: str | None = None) -> str:
        """SQLAlchemy URL for ``dbname`` (optionally with another, e.g. wrong, password)."""
        pw = self.password if password is None else password
        return f"postgresql+psycopg2://{self.user}:{pw}@{self.host}:{self.port}/{dbname}"

    def connect(self, dbname: str = "postgres") -> Any:
        """An autocommit psycopg2 connection over TCP (with the password)."""
        import psycopg2

        conn = psycopg2.connect(
            host=self.host, port=self.port, user=self.user, password=self.password, dbname=dbname
        )
        conn.autocommit = True
        return conn

    def create_database(self, name: str) -> str:
        """CREATE DATABASE ``name``; returns its SQLAlchemy URL."""
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()
        return self.url(name)

    def drop_database(self, name: str) -> None:
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            conn.close()


def _unavailable(reason: str) -> None:
    """Skip locally; fail in CI, where every service must run."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"PostgreSQL is required in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path))


def find_pg_ctl() -> str | None:
    """Debian's newest /usr/lib/postgresql/<ver>/bin/pg_ctl, else pg_ctl on PATH."""
    explicit = os.environ.get("DOCTORDATA_TEST_PG_CTL")
    if explicit:
        return explicit
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=_version_key)
    if candidates:
        return candidates[-1]
    return shutil.which("pg_ctl")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _server_account() -> pwd.struct_passwd | None:
    """The OS account the server runs as: ourselves, or `postgres` when we are root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        _unavailable(
            "tests run as root and pg_ctl refuses root, but there is no `postgres` OS user "
            "to run the server as (install Debian's postgresql package)"
        )
        raise  # unreachable: _unavailable raises


def _wrapper(base: Path, pg_ctl: str, account: pwd.struct_passwd) -> str:
    """A pg_ctl that drops root privileges before running the real one."""
    script = base / "pg_ctl-as-postgres"
    script.write_text(
        "#!/bin/sh\n"
        f'cd "{base}" || exit 1\n'
        f"exec setpriv --reuid={account.pw_uid} --regid={account.pw_gid} --clear-groups "
        f'-- "{pg_ctl}" "$@"\n'
    )
    script.chmod(stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    return str(script)


# Runs beside the test session; when the session dies (even by SIGKILL) its stdin closes and
# it stops the cluster and removes its files, so no postmaster outlives a killed CI job.
_WATCHDOG = """
import shutil, subprocess, sys
sys.stdin.read()
pg_ctl, datadir, base = sys.argv[1:4]
subprocess.run([pg_ctl, "stop", "-D", datadir, "-m", "immediate"], capture_output=True)
shutil.rmtree(base, ignore_errors=True)
"""


def _start_watchdog(executable: str, datadir: Path, base: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", _WATCHDOG, executable, str(datadir), str(base)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a Ctrl-C aimed at pytest must not kill it first
    )


def _set_password(socket_dir: str, port: int, password: str) -> None:
    import psycopg2

    conn = psycopg2.connect(host=socket_dir, port=port, user=USER, dbname="postgres")
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(f"ALTER ROLE {USER} PASSWORD %s", (password,))
    finally:
        conn.close()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """Start a throwaway PostgreSQL cluster on 127.0.0.1 for the whole test session."""
    pg_ctl = find_pg_ctl()
    if pg_ctl is None or not os.access(pg_ctl, os.X_OK):
        _unavailable(
            "no pg_ctl found (install Debian's `postgresql` package, or set "
            "DOCTORDATA_TEST_PG_CTL=/path/to/pg_ctl)"
        )
    assert pg_ctl is not None
    from pytest_postgresql.executors import PostgreSQLExecutor

    account = _server_account()
    # Not under pytest's basetemp: that is 0700 root-owned, and the server user must
    # be able to enter its own directory.
    base = Path(tempfile.mkdtemp(prefix="doctordata-pg-"))
    executable = pg_ctl
    if account is not None:
        os.chown(base, account.pw_uid, account.pw_gid)
        executable = _wrapper(base, pg_ctl, account)
    hba = base / "pg_hba.conf"
    hba.write_text(HBA)
    password = secrets.token_urlsafe(12)
    executor: Any = None
    watchdog = _start_watchdog(executable, base / "data", base)
    try:
        for attempt in range(3):
            port = _free_port()
            executor = PostgreSQLExecutor(
                executable=executable,
                host="127.0.0.1",
                port=port,
                datadir=str(base / "data"),
                unixsocketdir=str(base),
                logfile=str(base / "postgresql.log"),
                startparams="-w",
                dbname="postgres",
                user=USER,
                password=None,  # initdb's --pwfile would be unreadable by the server user
                postgres_options=(
                    f"-c listen_addresses=127.0.0.1 -c hba_file={hba} {FAST_OPTIONS}"
                ),
                timeout=120,
            )
            try:
                executor.start()
                break
            except Exception:
                # Another process may have grabbed the port between our probe and bind.
                log = base / "postgresql.log"
                if attempt == 2:
                    detail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                    pytest.fail(f"PostgreSQL did not start ({pg_ctl}):\n{detail}")
                _stop(executor)
        _set_password(str(base), port, password)
        yield PostgresServer("127.0.0.1", port, USER, password, str(base))
    finally:
        _stop(executor)
        shutil.rmtree(base, ignore_errors=True)
        if watchdog.stdin is not None:
            watchdog.stdin.close()
        watchdog.wait(timeout=60)


def _stop(executor: Any) -> None:
    if executor is None:
        return
    try:
        executor.stop()
    except Exception:  # best effort: an immediate stop, then the directory is removed
        subprocess.run(
            [executor.executable, "stop", "-D", executor.datadir, "-m", "i"],
            check=False,
            capture_output=True,
        )


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """SQLAlchemy URL of a database shared by the whole session."""
    return postgres_server.create_database("doctordata_shared")


@pytest.fixture
def postgres_catalog_url(postgres_server: PostgresServer) -> Iterator[str]:
    """SQLAlchemy URL of a fresh, empty database (dropped after the test)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = postgres_server.create_database(name)
    yield url
    postgres_server.drop_database(name)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that use a Postgres fixture get the `postgres` marker (for -m selection)."""
    for item in items:
        if any(name in getattr(item, "fixturenames", ()) for name in FIXTURES):
            item.add_marker(pytest.mark.postgres)
