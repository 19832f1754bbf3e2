"""A supervised local Prefect server for `doctordata serve`.

Without PREFECT_API_URL, Prefect 3 runs flows against a *temporary* server that starts
only the services marked ``run_in_ephemeral``; the scheduler is not one of them, so a
served deployment gets its cron and never a single run. ``prefect server start`` runs
every enabled service, the scheduler included. So when no API URL is set, serve starts
that command as a child process: database under the lakehouse root, 127.0.0.1, a free
port, restarted if it dies, stopped with serve (and by the kernel if serve is killed).

One lock file per Prefect home keeps a second serve of the same root from starting a
second server on the same database (which would also run every scheduled flow twice).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from doctordata.errors import SchedulerError

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
# A busy 2-core box needs ~20 s to start the server; allow for worse.
STARTUP_TIMEOUT = 180.0
STOP_TIMEOUT = 30.0
# Restarts allowed within RESTART_WINDOW seconds before supervision gives up.
MAX_RESTARTS = 5
RESTART_WINDOW = 600.0
LOG_TAIL_LINES = 15


def free_port(host: str = HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class ConfiguredApi:
    """The Prefect API a user configured, and where: ``PREFECT_API_URL`` in the
    environment, or in Prefect's active profile (``profiles`` is then its file)."""

    url: str
    source: str  # "PREFECT_API_URL" or "PREFECT_API_URL in Prefect profile 'x' (path)"
    profiles: Path | None = None


def configured_api(environ: Mapping[str, str] | None = None) -> ConfiguredApi | None:
    """The Prefect API URL as Prefect would see it before doctordata redirects
    PREFECT_HOME: the environment first, then the active profile (``PREFECT_PROFILE``, else
    the file's ``active``) of the profiles file (``PREFECT_PROFILES_PATH``, else
    ``$PREFECT_HOME/profiles.toml``, else ``~/.prefect/profiles.toml``), which is where
    ``prefect config set PREFECT_API_URL=...`` writes it. None when neither sets one.

    Read here, not through ``import prefect``: Prefect fixes its settings when imported,
    and serve must set its own home before that.
    """
    import tomllib

    env = os.environ if environ is None else environ
    if env.get("PREFECT_API_URL"):
        return ConfiguredApi(env["PREFECT_API_URL"], "PREFECT_API_URL")
    if env.get("PREFECT_PROFILES_PATH"):
        path = Path(env["PREFECT_PROFILES_PATH"]).expanduser()
    else:
        home = Path(env.get("PREFECT_HOME") or Path.home() / ".prefect").expanduser()
        path = home / "profiles.toml"
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SchedulerError(
            f"Prefect's profiles file {path} cannot be read ({exc}); fix or remove it, or "
            "set PREFECT_API_URL (or PREFECT_PROFILES_PATH) explicitly"
        ) from exc
    name = env.get("PREFECT_PROFILE") or data.get("active")
    profile = data.get("profiles", {}).get(name) if name else None
    url = profile.get("PREFECT_API_URL") if isinstance(profile, dict) else None
    if not url:
        return None
    return ConfiguredApi(
        str(url), f"PREFECT_API_URL in Prefect profile {name!r} ({path})", path.resolve()
    )


def check_api(url: str, timeout: float = 5.0) -> str | None:
    """None when something answers HTTP at ``url``/health, else why not (one line)."""
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/health", timeout=timeout):
            return None
    except urllib.error.HTTPError:
        return None  # it answers (an auth error on a cloud URL is still an API)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"{type(exc).__name__}: {reason}"


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    # Linux: SIGTERM the server when the process that started it dies (even by SIGKILL).
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class LocalPrefectServer:
    """``prefect server start`` on 127.0.0.1 with its SQLite database in ``home``.

    >>> with LocalPrefectServer(root / ".prefect") as server:
    ...     os.environ["PREFECT_API_URL"] = server.api_url

    ``on_failure`` is called (from the supervising thread) when the server keeps dying
    and supervision gives up; ``failed`` then says why.
    """

    def __init__(
        self,
        home: str | os.PathLike[str],
        *,
        port: int | None = None,
        on_failure: Callable[[], None] | None = None,
    ) -> None:
        self.home = Path(home).resolve()
        self.port = port
        self.on_failure = on_failure
        self.database = self.home / "server.db"
        self.log_path = self.home / "server.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock: IO[str] | None = None
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None
        self._restarts: list[float] = []
        self.failed: str | None = None  # set when supervision gave up

    @property
    def api_url(self) -> str:
        return f"http://{HOST}:{self.port}/api"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def environment(self) -> dict[str, str]:
        """The server process's environment: the user's, plus our database and home."""
        env = dict(os.environ)
        env.pop("PREFECT_API_URL", None)  # the server must not talk to another server
        env["PREFECT_HOME"] = str(self.home)
        env.setdefault(
            "PREFECT_SERVER_DATABASE_CONNECTION_URL", f"sqlite+aiosqlite:///{self.database}"
        )
        env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        env.setdefault("PREFECT_UI_ENABLED", "false")
        # The scheduler is the reason this server exists: never let a profile disable it.
        env["PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED"] = "true"
        return env

    def start(self) -> LocalPrefectServer:
        self.home.mkdir(parents=True, exist_ok=True)
        self._take_lock()
        try:
            self._start_with_retries()
        except BaseException:
            self.stop()
            raise
        self._watcher = threading.Thread(target=self._watch, name="prefect-server", daemon=True)
        self._watcher.start()
        return self

    def _take_lock(self) -> None:
        lock = open(self.home / "server.lock", "a+")  # noqa: SIM115 - held while serving
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.seek(0)
            owner = lock.read().strip() or "unknown"
            lock.close()
            raise SchedulerError(
                f"another `doctordata serve` (pid {owner}) already runs a Prefect server "
                f"for {self.home}; stop it first, or schedule from that one only"
            ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(str(os.getpid()))
        lock.flush()
        self._lock = lock

    def _start_with_retries(self) -> None:
        fixed = self.port is not None
        for attempt in range(3):
            if not fixed:
                self.port = free_port()
            try:
                self._spawn_and_wait()
                return
            except SchedulerError:
                # Another process may have taken the free port between probe and bind.
                if fixed or attempt == 2:
                    raise

    def _spawn_and_wait(self) -> None:
        cmd = [
            sys.executable,
            "-m",
            "prefect",
            "server",
            "start",
            "--host",
            HOST,
            "--port",
            str(self.port),
        ]
        with open(self.log_path, "ab") as out:
            out.write(f"\n--- doctordata: starting {' '.join(cmd[1:])}\n".encode())
            out.flush()
            self._proc = subprocess.Popen(
                cmd,
                cwd=self.home,
                env=self.environment(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        log.info("starting Prefect server on %s (pid %s)", self.api_url, self._proc.pid)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            code = self._proc.poll()
            if code is not None:
                raise SchedulerError(
                    f"the local Prefect server exited with code {code} while starting; "
                    f"its log ({self.log_path}) ends with:\n{self.log_tail()}"
                )
            if check_api(self.api_url, timeout=2.0) is None:
                log.info("Prefect server ready at %s", self.api_url)
                return
            self._stopping.wait(0.5)
        self._terminate()
        raise SchedulerError(
            f"the local Prefect server did not answer on {self.api_url} within "
            f"{STARTUP_TIMEOUT:.0f} s; its log ({self.log_path}) ends with:\n{self.log_tail()}"
            "\nStart one yourself (`prefect server start`) and export PREFECT_API_URL."
        )

    def _watch(self) -> None:
        """Restart the server when it dies (same port: the runner keeps its API URL)."""
        while not self._stopping.is_set():
            proc = self._proc
            if proc is None:
                return
            code = proc.wait()
            if self._stopping.is_set():
                return
            now = time.monotonic()
            self._restarts = [t for t in self._restarts if now - t < RESTART_WINDOW]
            if len(self._restarts) >= MAX_RESTARTS:
                self.failed = (
                    f"the local Prefect server died {MAX_RESTARTS} times in "
                    f"{RESTART_WINDOW:.0f} s (last exit code {code}); see {self.log_path}"
                )
                log.error("%s", self.failed)
                if self.on_failure is not None:
                    self.on_failure()
                return
            self._restarts.append(now)
            log.warning("the local Prefect server exited with code %s; restarting it", code)
            try:
                self._spawn_and_wait()
            except SchedulerError as exc:
                log.error("restarting the local Prefect server failed: %s", exc)

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def _terminate(self) -> None:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def stop(self) -> None:
        self._stopping.set()
        self._terminate()
        if self._watcher is not None and self._watcher is not threading.current_thread():
            self._watcher.join(timeout=STOP_TIMEOUT)
        if self._lock is not None:
            self._lock.close()  # releases the flock
            self._lock = None
        log.info("Prefect server stopped")

    def __enter__(self) -> LocalPrefectServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def exported(key: str, value: str) -> Iterator[None]:
    """Set an environment variable (seen by this process's Prefect and its children)."""
    old = os.environ.get(key)
    os.environ[key] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = old
