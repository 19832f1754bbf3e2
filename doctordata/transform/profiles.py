"""Generated dbt profiles: users never write profiles.yml for doctordata.

One profile, ``doctordata``, with a target per engine:

- ``duckdb``: dbt-duckdb on a working database under ``<root>/transform/`` with the
  doctordata plugin (sources planned from the Iceberg catalog, marts written back).
- ``clickhouse``: dbt-clickhouse against the lakehouse's ClickHouse server URL
  (``engines.clickhouse = "http://user@host:8123/db"``). Its password, if any, is passed
  through an environment variable so it is never written to disk.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from doctordata.errors import ConfigError

if TYPE_CHECKING:
    from doctordata.lakehouse import Lakehouse

PROFILE_NAME = "doctordata"
TARGETS = ("duckdb", "clickhouse")
PLUGIN_MODULE = "doctordata.transform.plugin"
# Environment variable the generated ClickHouse profile reads its password from.
CLICKHOUSE_PASSWORD_ENV = "DOCTORDATA_DBT_CLICKHOUSE_PASSWORD"
# ClickHouse session settings that make results match standard SQL (and DuckDB):
# outer joins yield NULL, not a type default; dates are computed in UTC.
CLICKHOUSE_SETTINGS: dict[str, Any] = {"join_use_nulls": 1, "session_timezone": "UTC"}


def work_dir(lh: Lakehouse) -> Path:
    """Where dbt keeps its DuckDB working database, target/ and logs/ for this lakehouse."""
    return Path(lh.root) / "transform"


def duckdb_output(
    lh: Lakehouse, *, session_id: str, namespace: str, threads: int
) -> dict[str, Any]:
    """The dbt-duckdb target: a working database plus the doctordata plugin."""
    return {
        "type": "duckdb",
        "path": str(work_dir(lh) / "doctordata.duckdb"),
        "threads": threads,
        "keep_open": True,
        # Day boundaries of timestamptz columns must not depend on the machine's zone.
        "settings": {"TimeZone": "UTC"},
        "plugins": [
            {
                "module": PLUGIN_MODULE,
                "alias": "doctordata",
                "config": {"session": session_id, "root": str(lh.root), "namespace": namespace},
            }
        ],
    }


def clickhouse_output(url: str, *, namespace: str, threads: int) -> tuple[dict[str, Any], str]:
    """The dbt-clickhouse target for an http(s):// server URL, and the password to export."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ConfigError(
            f"engines.clickhouse = {url!r}: dbt-clickhouse needs a ClickHouse server URL "
            "(http://user@host:8123/db); the embedded chdb:// engine cannot serve dbt"
        )
    secure = parts.scheme == "https"
    output = {
        "type": "clickhouse",
        "driver": "http",
        "host": parts.hostname or "localhost",
        "port": parts.port or (8443 if secure else 8123),
        "user": unquote(parts.username or "default"),
        "password": "{{ env_var('" + CLICKHOUSE_PASSWORD_ENV + "', '') }}",
        "secure": secure,
        "schema": namespace,
        "threads": threads,
        "custom_settings": CLICKHOUSE_SETTINGS,
    }
    return output, unquote(parts.password or "")


def write_profiles(directory: Path, target: str, output: dict[str, Any]) -> Path:
    """Write ``profiles.yml`` with one target into ``directory``; returns its path.

    JSON is valid YAML, so no YAML writer is needed.
    """
    if target not in TARGETS:
        raise ConfigError(f"dbt target {target!r} is not supported; choose one of {TARGETS}")
    directory.mkdir(parents=True, exist_ok=True)
    profile = {PROFILE_NAME: {"target": target, "outputs": {target: output}}}
    path = directory / "profiles.yml"
    path.write_text(json.dumps(profile, indent=2) + "\n")
    return path
