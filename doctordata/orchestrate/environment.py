"""Make Prefect work offline on one box before it is first imported.

Without PREFECT_API_URL, Prefect 3 starts a temporary local API server for the first
flow run in a process (~10 s here). These defaults keep that server and its SQLite
database under a directory we choose and switch off everything that phones home.

Flow-run logs go to the API (local, never the internet), including the ``doctordata``
loggers, so the flows' task logs show what each step did. (Logging to the API was once
switched off here with the offline settings, which left every run without logs.) Records
that doctordata logs outside a flow run, in the serve process, are not sent and raise no
warning (PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW=ignore).
"""

from __future__ import annotations

import os
from pathlib import Path

from doctordata.errors import MissingDependencyError

# Applied with setdefault: anything the user exported wins.
OFFLINE_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_ALLOW_EPHEMERAL_MODE": "true",
    # A busy 2-core box needs longer than the default 20 s to start the temporary server.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    "PREFECT_UI_ENABLED": "false",
    "PREFECT_LOGGING_TO_API_ENABLED": "true",
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
}
LOGGER = "doctordata"


def prepare_prefect(home: str | os.PathLike[str] | None = None) -> None:
    """Point PREFECT_HOME at ``home`` (unless set) and apply the offline defaults.

    Must run before ``import prefect``: Prefect reads its settings at import time.
    """
    if home is not None:
        Path(home).mkdir(parents=True, exist_ok=True)
        os.environ.setdefault("PREFECT_HOME", str(Path(home).resolve()))
    for key, value in OFFLINE_DEFAULTS.items():
        os.environ.setdefault(key, value)
    # Prefect attaches its API log handler to these loggers; keep the user's own.
    extra = [n.strip() for n in os.environ.get("PREFECT_LOGGING_EXTRA_LOGGERS", "").split(",")]
    if LOGGER not in extra:
        os.environ["PREFECT_LOGGING_EXTRA_LOGGERS"] = ",".join([*filter(None, extra), LOGGER])


def require_prefect() -> None:
    """Raise MissingDependencyError with the install hint when Prefect is missing."""
    try:
        import prefect  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError("prefect", "prefect", "scheduling with Prefect") from exc


def prefect_available() -> bool:
    try:
        require_prefect()
    except MissingDependencyError:
        return False
    return True
