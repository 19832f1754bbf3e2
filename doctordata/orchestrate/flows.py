"""Prefect 3 tasks and flows around :mod:`doctordata.orchestrate.steps`.

Flows take the lakehouse root (a string, so deployments can schedule them) and open the
Lakehouse themselves. ``daily`` runs every step as a task with retries and a timeout and
publishes a markdown summary artifact plus a table artifact with one row per dbt node.
dbt runs as ONE task per dbt invocation (a single ``dbt build``: dbt orders and
parallelises the nodes itself); each node's status and time are in the table artifact.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from doctordata.orchestrate import steps

if TYPE_CHECKING:
    from doctordata.lakehouse import Lakehouse
    from doctordata.transform.runner import DbtRun

# The steps log their counts at INFO; Prefect sends the "doctordata" logger's records to
# the API (PREFECT_LOGGING_EXTRA_LOGGERS) but leaves its level to us.
if logging.getLogger("doctordata").level == logging.NOTSET:
    logging.getLogger("doctordata").setLevel(logging.INFO)

# Per step: (retries, retry delay in seconds, timeout in seconds). Ingest and backup touch
# the network or the NAS and may hit transient errors; dbt failures are deterministic.
TASK_POLICY: dict[str, tuple[int, int, int]] = {
    "ingest": (2, 10, 3600),
    "transform": (0, 0, 3600),
    "tier": (1, 10, 3600),
    "maintain": (1, 10, 3600),
    "backup": (2, 30, 7200),
}


def _task(name: str) -> Any:
    retries, delay, timeout = TASK_POLICY[name]
    return task(
        name=name,
        retries=retries,
        retry_delay_seconds=delay,
        timeout_seconds=timeout,
        # Inputs include the Lakehouse object: never cache or persist them.
        cache_policy=NO_CACHE,
        persist_result=False,
    )


@_task("ingest")
def ingest_task(lh: Lakehouse, base_url: str | None, max_items: int | None) -> dict[str, Any]:
    return steps.ingest(lh, base_url=base_url, max_items=max_items)


@_task("transform")
def transform_task(lh: Lakehouse, args: Sequence[str], project_dir: str | None) -> DbtRun:
    return steps.transform(lh, args=args, project_dir=project_dir)


@_task("tier")
def tier_task(lh: Lakehouse) -> dict[str, Any]:
    return steps.tier(lh)


@_task("maintain")
def maintain_task(lh: Lakehouse) -> dict[str, Any]:
    return steps.maintain(lh)


@_task("backup")
def backup_task(lh: Lakehouse, to: str) -> dict[str, Any]:
    return steps.backup(lh, to=to)


def _open(root: str) -> Lakehouse:
    from doctordata.lakehouse import connect

    return connect(root)


@flow(name="doctordata-ingest")
def ingest(root: str, base_url: str | None = None, max_items: int | None = None) -> dict[str, Any]:
    """Load new HackerNews items into ``hackernews.*``."""
    with _open(root) as lh:
        return ingest_task(lh, base_url, max_items)


@flow(name="doctordata-transform")
def transform(
    root: str, args: list[str] | None = None, project_dir: str | None = None
) -> dict[str, Any]:
    """Run dbt (default ``build``) and write the marts to the catalog."""
    with _open(root) as lh:
        run = transform_task(lh, args or ["build"], project_dir)
        _dbt_artifact(run)
        return steps.summarize_dbt(run)


@flow(name="doctordata-tier")
def tier(root: str) -> dict[str, Any]:
    """Move data between tiers by policy."""
    with _open(root) as lh:
        return tier_task(lh)


@flow(name="doctordata-maintain")
def maintain(root: str) -> dict[str, Any]:
    """Compact, expire snapshots, remove orphans."""
    with _open(root) as lh:
        return maintain_task(lh)


@flow(name="doctordata-backup")
def backup(root: str, to: str = "nas") -> dict[str, Any]:
    """Back up the lakehouse to ``to`` and verify the backup."""
    with _open(root) as lh:
        return backup_task(lh, to)


@flow(name="doctordata-daily")
def daily(
    root: str,
    base_url: str | None = None,
    max_items: int | None = None,
    dbt_args: list[str] | None = None,
    project_dir: str | None = None,
    backup_to: str = "nas",
    only: list[str] | None = None,
) -> dict[str, Any]:
    """ingest -> dbt build -> tier -> maintain -> backup, with a summary artifact.

    ``only`` runs a subset of the steps (still in that order). Stops at the first failing
    step (a failed dbt node fails the flow, naming the node); what earlier steps committed
    stays committed.
    """
    chosen = steps.select(only)
    summary: dict[str, Any] = {"root": root}
    with _open(root) as lh:
        try:
            if "ingest" in chosen:
                summary["ingest"] = ingest_task(lh, base_url, max_items)
            if "transform" in chosen:
                run = transform_task(lh, dbt_args or ["build"], project_dir)
                _dbt_artifact(run)
                summary["transform"] = steps.summarize_dbt(run)
            if "tier" in chosen:
                summary["tier"] = tier_task(lh)
            if "maintain" in chosen:
                summary["maintain"] = maintain_task(lh)
            if "backup" in chosen:
                summary["backup"] = backup_task(lh, backup_to)
        except Exception as exc:
            summary["failed"] = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            _summary_artifact(summary)
    return summary


def _summary_artifact(summary: dict[str, Any]) -> None:
    from prefect.artifacts import create_markdown_artifact

    status = "FAILED" if "failed" in summary else "OK"
    lines = [f"# doctordata daily: {status}", ""]
    for step in steps.STEPS:
        if step in summary:
            lines.append(f"- **{step}**: `{json.dumps(summary[step], default=str)}`")
    if "failed" in summary:
        lines.append(f"- **failed**: {summary['failed']}")
    create_markdown_artifact(
        "\n".join(lines), key="doctordata-daily-summary", description="daily job summary"
    )


def _dbt_artifact(run: DbtRun) -> None:
    from prefect.artifacts import create_table_artifact

    rows = [
        {"node": n.unique_id, "status": n.status, "seconds": round(n.seconds, 2)} for n in run.nodes
    ]
    create_table_artifact(rows, key="doctordata-dbt-nodes", description="dbt nodes")
