"""The daily job's steps as plain functions over a Lakehouse.

Each returns a small JSON-able dict for the run summary. Prefect tasks (flows.py) and the
Prefect-free pipeline (daily.py) call exactly these functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from doctordata.errors import IntegrityError

if TYPE_CHECKING:
    from doctordata.lakehouse import Lakehouse
    from doctordata.transform.runner import DbtRun

STEPS = ("ingest", "transform", "tier", "maintain", "backup")


def ingest(
    lh: Lakehouse, *, base_url: str | None = None, max_items: int | None = None
) -> dict[str, Any]:
    """Load new HackerNews items (continuing the last run) and refresh changed ones."""
    from doctordata.ingest import hackernews

    report = hackernews.run(lh, base_url=base_url, max_items=max_items, lists=False)
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

    return run_dbt(lh, list(args), project_dir=project_dir, quiet=True)


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
    return {
        "moved_files": len(report.moved),
        "moved_bytes": sum(m.size for m in report.moved),
        "failed": [f"{path}: {why}" for path, why in report.failed],
    }


def maintain(lh: Lakehouse) -> dict[str, Any]:
    """Compaction, snapshot expiry and orphan cleanup for every table."""
    report = lh.maintain()
    return {
        "files_deleted": report.files_deleted,
        "bytes_freed": report.bytes_freed,
        "failed": [str(t.error) for t in report.failed],
    }


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
    return {
        "backup_id": report.id,
        "files": report.files,
        "bytes": report.bytes,
        "copied_files": report.copied_files,
        "verified_files": check.files,
    }
