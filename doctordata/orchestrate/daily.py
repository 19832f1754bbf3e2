"""Run the daily job with Prefect when it is installed, or as plain Python otherwise."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from doctordata.errors import MissingDependencyError, SchedulerError
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
    only: list[str] | None = None,
) -> dict[str, Any]:
    """ingest -> dbt build -> tier -> maintain -> backup on the lakehouse at ``root``.

    ``only``: run just these steps (in pipeline order), e.g. ``["ingest", "backup"]``.

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
        "only": only,
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
    only: list[str] | None = None,
) -> dict[str, Any]:
    """The daily steps in order, without Prefect (no retries, no artifacts)."""
    from doctordata.lakehouse import connect
    from doctordata.orchestrate import steps

    chosen = steps.select(only)
    summary: dict[str, Any] = {"root": root}
    with connect(root) as lh:
        if "ingest" in chosen:
            summary["ingest"] = steps.ingest(lh, base_url=base_url, max_items=max_items)
        if "transform" in chosen:
            run = steps.transform(lh, args=dbt_args or ["build"], project_dir=project_dir)
            summary["transform"] = steps.summarize_dbt(run)
        if "tier" in chosen:
            summary["tier"] = steps.tier(lh)
        if "maintain" in chosen:
            summary["maintain"] = steps.maintain(lh)
        if "backup" in chosen:
            summary["backup"] = steps.backup(lh, to=backup_to)
    return summary


def daily_deployment(
    root: str | os.PathLike[str],
    *,
    cron: str | None = None,
    base_url: str | None = None,
    max_items: int | None = None,
    only: list[str] | None = None,
) -> Any:
    """The daily flow as a Prefect deployment on ``cron`` (default: schedule.daily_cron)."""
    from doctordata.orchestrate.steps import select

    root = str(Path(root).resolve())
    cron = schedule_cron(root, cron)
    parameters: dict[str, Any] = {"root": root}
    if base_url is not None:
        parameters["base_url"] = base_url
    if max_items is not None:
        parameters["max_items"] = max_items
    if only is not None:
        parameters["only"] = list(select(only))
    prepare_prefect(Path(root) / ".prefect")
    require_prefect()
    from doctordata.orchestrate import flows

    # One run at a time: a run that outlasts the interval must not overlap the next one
    # (both would ingest and maintain the same tables); the next one waits its turn.
    return flows.daily.to_deployment(
        name="doctordata-daily", cron=cron, parameters=parameters, concurrency_limit=1
    )


def schedule_cron(root: str | os.PathLike[str], cron: str | None = None) -> str:
    """``cron``, else the root's schedule.daily_cron; checked like the config value
    (ConfigError naming it and what is allowed)."""
    from doctordata.config import load_settings

    overrides: dict[str, Any] = {"schedule__daily_cron": cron} if cron is not None else {}
    return load_settings(root, **overrides).schedule.daily_cron


def serve_daily(
    root: str | os.PathLike[str],
    *,
    cron: str | None = None,
    base_url: str | None = None,
    max_items: int | None = None,
    only: list[str] | None = None,
    announce: Callable[[str], None] | None = None,
) -> None:
    """Schedule the daily flow and run it on time (blocks until interrupted).

    Runs go through PREFECT_API_URL when it is set (SchedulerError if it does not
    answer); otherwise through a local Prefect server that this call starts, supervises
    and stops (see :mod:`doctordata.orchestrate.server`): Prefect's temporary server
    would register the schedule and never run it. ``announce`` receives one line saying
    which API the runs go through.
    """
    import _thread

    from doctordata.orchestrate.server import (
        LocalPrefectServer,
        check_api,
        configured_api,
        exported,
    )
    from doctordata.orchestrate.steps import select

    cron = schedule_cron(root, cron)  # a bad cron fails before any server starts
    if only is not None:
        select(only)
    home = Path(root).resolve() / ".prefect"
    # Before PREFECT_HOME moves under the root: the user's profile lives in their home.
    configured = configured_api()
    if configured is not None and configured.profiles is not None:
        # The rest of that profile (an API key, say) must apply too.
        os.environ.setdefault("PREFECT_PROFILES_PATH", str(configured.profiles))
    prepare_prefect(home)  # before Prefect is imported below
    if importlib.util.find_spec("prefect") is None:
        require_prefect()  # raises MissingDependencyError with the install hint
    server: LocalPrefectServer | None = None
    if configured is not None:
        url = configured.url
        problem = check_api(url)
        if problem:
            raise SchedulerError(
                f"PREFECT_API_URL={url} is not reachable ({problem}; set by "
                f"{configured.source}); start that server (`prefect server start`), or unset "
                "PREFECT_API_URL (`prefect config unset PREFECT_API_URL` for a profile) so "
                "`doctordata serve` starts and supervises its own"
            )
        where = f"the Prefect API at {url} ({configured.source})"
    else:
        # If supervision gives up, interrupt serve so it exits with the error below.
        server = LocalPrefectServer(home, on_failure=_thread.interrupt_main).start()
        url = server.api_url
        where = f"a local Prefect server at {url} (pid {server.pid}, log {server.log_path})"
    try:
        with exported("PREFECT_API_URL", url), _prefect_api_setting(url):
            deployment = daily_deployment(
                root, cron=cron, base_url=base_url, max_items=max_items, only=only
            )
            if announce:
                announce(f"scheduled runs go through {where}")
            from prefect import serve

            serve(deployment)
    finally:
        if server is not None:
            server.stop()
    if server is not None and server.failed:
        raise SchedulerError(server.failed + "; `doctordata serve` stopped")


@contextlib.contextmanager
def _prefect_api_setting(url: str) -> Iterator[None]:
    """PREFECT_API_URL for a Prefect that was imported before it was exported (a library
    caller that already ran flows): Prefect reads the environment when it is imported."""
    if "prefect" not in sys.modules:
        yield
        return
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: url}):
        yield
