"""Prefect adapter: the daily job (ingest -> dbt -> tier -> maintain -> backup) as flows.

    from doctordata.orchestrate import run_daily
    summary = run_daily("/srv/lake", base_url="http://127.0.0.1:8765/v0/")

``doctordata.orchestrate.steps`` holds the steps as plain functions (no Prefect needed);
``doctordata.orchestrate.flows`` wraps them as Prefect tasks and flows. Prefect is only
imported when a flow runs.

May import: ingest/, transform/, lakehouse.py and everything below; never commands/.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from doctordata.orchestrate.daily import run_daily

__all__ = ["run_daily"]


def __getattr__(name: str) -> Any:
    if name == "run_daily":
        from doctordata.orchestrate.daily import run_daily

        return run_daily
    raise AttributeError(name)
