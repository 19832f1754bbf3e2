"""The daily job's steps as plain functions over a Lakehouse.

Each returns a small JSON-able dict for the run summary and logs what it did through the
``doctordata.orchestrate`` logger (in a Prefect flow run those records are the task's
logs in the UI/API). Prefect tasks (flows.py) and the Prefect-free pipeline (daily.py)
call exactly these functions.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from doctordata.errors import IntegrityError, InvalidArgumentError

if TYPE_CHECKING:
    from doctordata.lakehouse import Lakehouse
    from doctordata.transform.runner import DbtRun

STEPS = ("ingest", "transform", "tier", "maintain", "backup")


def select(only: Sequence[str] | None) -> tuple[str, ...]:
    """The steps to run, in pipeline order (all when ``only`` is None)."""
    if only is None:
        return STEPS
    unknown = sorted(set(only) - set(STEPS))
    if unknown or not only:
        raise InvalidArgumentError(
            f"unknown daily steps {unknown or list(only)!r}: choose one or more of "
            f"{', '.join(STEPS)} (e.g. only=['ingest', 'backup'])"
        )
    return tuple(step for step in STEPS if step in only)


log = logging.getLogger("doctordata.orchestrate")


def ingest(
    lh: Lakehouse, *, base_url: str | None = None, max_items: int | None = None
) -> dict[str, Any]:
    """Load new HackerNews items (continuing the last run) and refresh changed ones."""
    from doctordata.ingest import hackernews

    report = hackernews.run(lh, base_url=base_url, max_items=max_items, lists=False)
    log.info(
        "ingest: %d new items, %d updated, %d rejected (ids up to %s) in %.1f s",
        report.items_new,
        report.items_updated,
        report.items_rejected,
        report.end_id,
        report.seconds,
    )
    return {
        "items_new": report.items_new,
        "items_updated": report.items_updated,
        "items_rejected": report.items_rejected,
        "end_id": report.end_id,
        "seconds": round(report.seconds, 2),
    }


def transform(
    lh: Lakehouse, *, args: Sequence[str] = ("build",), project_dir: str | None = None
) -> DbtRun:
    """dbt (default ``build``) on dbt-duckdb; raises TransformError naming failed nodes."""
    from doctordata.transform.runner import run_dbt

    run = run_dbt(lh, list(args), project_dir=project_dir, quiet=True)
    for node in run.nodes:
        log.info("dbt %s: %s in %.2f s", node.unique_id, node.status, node.seconds)
    log.info(
        "dbt %s: %d nodes in %.1f s; marts written: %s",
        " ".join(args),
        len(run.nodes),
        run.seconds,
        ", ".join(s.table for s in run.stores) or "none",
    )
    return run


def summarize_dbt(run: DbtRun) -> dict[str, Any]:
    return {
        "nodes": len(run.nodes),
        "failed": [n.unique_id for n in run.failed],
        "marts_written": [s.table for s in run.stores],
        "files_planned": sum(s.files_planned for s in run.scans),
        "files_skipped": sum(s.files_skipped for s in run.scans),
        "seconds": round(run.seconds, 2),
    }


def tier(lh: Lakehouse) -> dict[str, Any]:
    """Apply the tier policies (old partitions SSD -> NAS)."""
    report = lh.tier()
    summary: dict[str, Any] = {
        "moved_files": len(report.moved),
        "moved_bytes": sum(m.size for m in report.moved),
        "failed": [f"{path}: {why}" for path, why in report.failed],
    }
    log.info("tier: moved %d files, %d bytes", summary["moved_files"], summary["moved_bytes"])
    for failure in summary["failed"]:
        log.warning("tier: not moved: %s", failure)
    return summary


def maintain(lh: Lakehouse) -> dict[str, Any]:
    """Compaction, snapshot expiry and orphan cleanup for every table."""
    report = lh.maintain()
    summary: dict[str, Any] = {
        "files_deleted": report.files_deleted,
        "bytes_freed": report.bytes_freed,
        "failed": [str(t.error) for t in report.failed],
    }
    log.info("maintain: deleted %d files, freed %d bytes", report.files_deleted, report.bytes_freed)
    for failure in summary["failed"]:
        log.warning("maintain: failed: %s", failure)
    return summary


def backup(lh: Lakehouse, *, to: str = "nas") -> dict[str, Any]:
    """Back up catalog, metadata and data to ``to``, then re-read and checksum the backup."""
    from doctordata.backup.backup import verify_backup

    report = lh.backup(to, progress=False)
    check = verify_backup(lh, report.id, to=to, progress=False)
    if not check.ok:
        raise IntegrityError(
            f"backup {report.id} at {report.url} failed verification: "
            + "; ".join(f"{path}: {problem}" for path, _obj, problem in check.bad[:5])
            + ". Run `doctordata backup` again; the damaged files are listed above."
        )
    log.info(
        "backup %s to %s: %d files, %d bytes (%d copied); %d files verified",
        report.id,
        report.url,
        report.files,
        report.bytes,
        report.copied_files,
        check.files,
    )
    return {
        "backup_id": report.id,
        "files": report.files,
        "bytes": report.bytes,
        "copied_files": report.copied_files,
        "verified_files": check.files,
    }
