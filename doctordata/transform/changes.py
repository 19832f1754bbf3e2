"""The rows of an Iceberg source that changed since a mart was last written.

An incremental mart keyed by something derived from its source rows (a story, a day, a
domain) must rebuild every key whose source rows changed, not only the keys of new ids:
HN items are upserted when their score, kids or flags change. The mart's own lineage
(``doctordata.dbt.sources``, written on its snapshots) names the source snapshot its
last write read; the changes are the rows that differ between that snapshot and the one
pinned for this invocation, both versions of each (old and new), so a model can derive
the affected keys from either.

Computed from the two snapshots' file lists: rows in files only the pinned snapshot has
``EXCEPT ALL`` rows in files only the old one has, and the reverse. A compaction or a
tier move rewrites files without changing rows, which therefore cancel out. When the
changes cannot be told exactly (no lineage yet, the old snapshot expired, the schema
changed, delete files), every row of the source is returned: the model then rebuilds
every key, which is slower but never wrong.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from doctordata.catalog.lineage import SOURCES_PROPERTY
from doctordata.transform.session import ScanStat, Session

if TYPE_CHECKING:
    from pyiceberg.table import Table

    from doctordata.engines.scan import ScanPlan


def last_read_snapshot(mart: Table, source: str) -> int | None:
    """The snapshot of ``source`` that the newest dbt write of ``mart`` read (walking back
    over snapshots without lineage, e.g. compaction), or None."""
    snap = mart.metadata.current_snapshot()
    while snap is not None:
        summary = snap.summary.additional_properties if snap.summary else {}
        if SOURCES_PROPERTY in summary:
            sources = json.loads(summary[SOURCES_PROPERTY])
            value = sources.get(source)
            return int(value) if value is not None else None
        parent = snap.parent_snapshot_id
        snap = mart.metadata.snapshot_by_id(parent) if parent is not None else None
    return None


def changes_sql(session: Session, table: str, model: str) -> str:
    """DuckDB SQL (a parenthesised subquery, the source's columns) of the rows of
    ``table`` that changed since the mart ``model`` was last written; every row when
    that cannot be told."""
    from doctordata.errors import NotFoundError
    from doctordata.transform.sources import plan_sql

    lh = session.lh
    try:
        mart = lh.table(f"{session.namespace}.{model}")
    except NotFoundError:
        return plan_sql(session, table, None)
    since = last_read_snapshot(mart, table)
    pinned = session.pin(table)
    source = lh.table(table)
    if since is None or pinned is None or source.metadata.snapshot_by_id(since) is None:
        return plan_sql(session, table, None)
    return _diff_sql(session, table, source, since, pinned) or plan_sql(session, table, None)


def _diff_sql(session: Session, table: str, source: Table, since: int, pinned: int) -> str | None:
    from doctordata.engines.scan import plan_scan
    from doctordata.transform.sources import scratch_dir

    new = plan_scan(table, source, None, pinned, scratch_dir(session))
    old = plan_scan(table, source, None, since, scratch_dir(session))
    if new.materialised or old.materialised or _layout(new) != _layout(old):
        return None
    added = _only(new, set(old.files))
    removed = _only(old, set(new.files))
    session.record_scan(
        ScanStat(
            table=table,
            where=f"changes since snapshot {since}",
            files_planned=len(added.files) + len(removed.files),
            files_total=new.files_total,
            bytes_planned=added.bytes_planned + removed.bytes_planned,
            planning_ms=new.planning_ms + old.planning_ms,
            snapshot_id=pinned,
        )
    )
    engine = session.lh.engine("duckdb")
    after, before = _text(engine.scan(added)), _text(engine.scan(removed))
    return (
        f"((SELECT * FROM {after} EXCEPT ALL SELECT * FROM {before}) UNION ALL "
        f"(SELECT * FROM {before} EXCEPT ALL SELECT * FROM {after}))"
    )


def _layout(plan: ScanPlan) -> list[tuple[int, str, str]]:
    return [(c.field_id, c.name, str(c.type)) for c in plan.columns]


def _only(plan: ScanPlan, exclude: set[str]) -> ScanPlan:
    """``plan`` reduced to its files not in ``exclude``."""
    kept = tuple(f for f in plan.sources if f.path not in exclude)
    return replace(
        plan,
        files=tuple(f.path for f in kept),
        sources=kept,
        bytes_planned=sum(f.size for f in kept),
    )


def _text(scan: Any) -> str:
    return scan if isinstance(scan, str) else str(scan.sql("duckdb"))
