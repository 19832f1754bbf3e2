"""Run the daily job with Prefect when it is installed, or as plain Python otherwise."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from doctordata.errors import MissingDependencyError
from doctordata.orchestrate.environment import (
    prefect_available,
    prepare_prefect,
    require_prefect,
)


def run_daily(
    root: str | os.PathLike[str],
    *,
    base_url: str | None = None,
    max_items: int | None = None,
    dbt_args: list[str] | None = None,
    project_dir: str | None = None,
    backup_to: str = "nas",
    use_prefect: bool | None = None,
    prefect_home: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """ingest -> dbt build -> tier -> maintain -> backup on the lakehouse at ``root``.

    ``use_prefect``: True requires Prefect (MissingDependencyError otherwise), False runs
    the same steps without it, None picks Prefect when it can be imported. Prefect's
    temporary API server keeps its state under ``prefect_home`` (default
    ``<root>/.prefect``) unless PREFECT_API_URL / PREFECT_HOME are set.
    """
    root = str(Path(root).resolve())
    if use_prefect is not False:
        # Before the first `import prefect`: it reads its settings at import time.
        prepare_prefect(prefect_home or Path(root) / ".prefect")
    if use_prefect is None:
        use_prefect = prefect_available()
    elif use_prefect:
        require_prefect()
    params: dict[str, Any] = {
        "root": root,
        "base_url": base_url,
        "max_items": max_items,
        "dbt_args": dbt_args,
        "project_dir": project_dir,
        "backup_to": backup_to,
    }
    if not use_prefect:
        return run_daily_plain(**params)
    try:
        from doctordata.orchestrate import flows
    except ImportError as exc:
        raise MissingDependencyError("prefect", "prefect", "the daily flow") from exc
    result: dict[str, Any] = flows.daily(**params)
    return result


def run_daily_plain(
    root: str,
    base_url: str | None = None,
    max_items: int | None = None,
    dbt_args: list[str] | None = None,
    project_dir: str | None = None,
    backup_to: str = "nas",
) -> dict[str, Any]:
    """The daily steps in order, without Prefect (no retries, no artifacts)."""
    from doctordata.lakehouse import connect
    from doctordata.orchestrate import steps

    summary: dict[str, Any] = {"root": root}
    with connect(root) as lh:
        summary["ingest"] = steps.ingest(lh, base_url=base_url, max_items=max_items)
        run = steps.transform(lh, args=dbt_args or ["build"], project_dir=project_dir)
        summary["transform"] = steps.summarize_dbt(run)
        summary["tier"] = steps.tier(lh)
        summary["maintain"] = steps.maintain(lh)
        summary["backup"] = steps.backup(lh, to=backup_to)
    return summary


def daily_deployment(root: str | os.PathLike[str], *, cron: str | None = None) -> Any:
    """The daily flow as a Prefect deployment on ``cron`` (default: schedule.daily_cron)."""
    from doctordata.lakehouse import connect

    root = str(Path(root).resolve())
    with connect(root) as lh:
        cron = cron or lh.settings.schedule.daily_cron
    prepare_prefect(Path(root) / ".prefect")
    require_prefect()
    from doctordata.orchestrate import flows

    return flows.daily.to_deployment(name="doctordata-daily", cron=cron, parameters={"root": root})


def serve_daily(root: str | os.PathLike[str], *, cron: str | None = None) -> None:
    """Schedule the daily flow with Prefect's serve (blocks until interrupted)."""
    from prefect import serve

    serve(daily_deployment(root, cron=cron))
