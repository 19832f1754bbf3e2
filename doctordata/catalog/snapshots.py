"""Snapshots: listing, time travel (snapshot id, timestamp, tag/branch), tags, rollback."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from doctordata.catalog.commits import commit_errors
from doctordata.catalog.filters import scan_exact, where_to_expression
from doctordata.errors import AlreadyExistsError, SnapshotNotFoundError

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.table import Table


def _name(table: Table) -> str:
    return ".".join(table.name())


def list_snapshots(table: Table) -> list[dict[str, Any]]:
    """One dict per snapshot, oldest first: id, parent, time, operation, summary, refs."""
    refs: dict[int, list[str]] = {}
    for ref_name, ref in table.metadata.refs.items():
        refs.setdefault(ref.snapshot_id, []).append(ref_name)
    current = table.metadata.current_snapshot_id
    out = []
    for snap in table.metadata.snapshots:
        summary = snap.summary.model_dump() if snap.summary is not None else {}
        operation = summary.pop("operation", None)
        out.append(
            {
                "snapshot_id": snap.snapshot_id,
                "parent_id": snap.parent_snapshot_id,
                "timestamp": datetime.fromtimestamp(snap.timestamp_ms / 1000, tz=UTC),
                "operation": str(getattr(operation, "value", operation)),
                "summary": {k: v for k, v in summary.items() if v is not None},
                "refs": sorted(refs.get(snap.snapshot_id, [])),
                "current": snap.snapshot_id == current,
            }
        )
    return sorted(out, key=lambda s: s["timestamp"])


def _to_millis(value: datetime | date | str) -> int:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise SnapshotNotFoundError(
                f"as_of={value!r} is neither a snapshot id, a tag/branch, nor an ISO timestamp "
                "(e.g. '2026-11-01 12:00:00')"
            ) from None
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


def resolve_as_of(table: Table, as_of: int | str | datetime | date | None) -> int | None:
    """The snapshot id that ``as_of`` names; None means the current snapshot.

    int -> snapshot id; a tag or branch name; a datetime/date/ISO string -> the snapshot
    current at that time (naive times are UTC).
    """
    if as_of is None:
        return None
    name = _name(table)
    snapshots = table.metadata.snapshots
    if isinstance(as_of, bool):
        raise SnapshotNotFoundError(f"as_of={as_of!r} is not a snapshot id, tag or time")
    if isinstance(as_of, int) or (isinstance(as_of, str) and as_of.isdigit() and len(as_of) > 8):
        sid = int(as_of)
        if table.metadata.snapshot_by_id(sid) is None:
            raise SnapshotNotFoundError(
                f"table {name!r} has no snapshot {sid} (it may have been expired). "
                f"Retained snapshots: {', '.join(str(s.snapshot_id) for s in snapshots[-10:]) or 'none'}"
            )
        return sid
    if isinstance(as_of, str) and as_of in table.metadata.refs:
        return table.metadata.refs[as_of].snapshot_id
    millis = _to_millis(as_of)
    candidates = [s for s in table.metadata.snapshot_log if s.timestamp_ms <= millis]
    if not candidates:
        first = snapshots[0].timestamp_ms if snapshots else None
        when = datetime.fromtimestamp(first / 1000, tz=UTC).isoformat() if first else "never"
        raise SnapshotNotFoundError(
            f"table {name!r} has no snapshot at or before {as_of!s}; its history starts at {when}"
        )
    sid = candidates[-1].snapshot_id
    if table.metadata.snapshot_by_id(sid) is None:
        raise SnapshotNotFoundError(
            f"the snapshot of table {name!r} current at {as_of!s} ({sid}) has been expired; "
            "time travel can only reach retained snapshots"
        )
    return sid


def read(table: Table, *, where: str | None = None, as_of: Any = None) -> pa.Table:
    from pyiceberg.expressions import AlwaysTrue

    row_filter = where_to_expression(where, table.schema()) if where else AlwaysTrue()
    snapshot_id = resolve_as_of(table, as_of)
    return scan_exact(table, row_filter, snapshot_id)


def create_tag(table: Table, tag: str, as_of: Any = None, *, force: bool = False) -> None:
    """Tag a snapshot; an existing tag moves only with ``force=True``, a branch never."""
    sid = resolve_as_of(table, as_of) or table.metadata.current_snapshot_id
    if sid is None:
        raise SnapshotNotFoundError(f"table {_name(table)!r} has no snapshot to tag yet")
    existing = table.metadata.refs.get(tag)
    if existing is not None:
        kind = str(getattr(existing.snapshot_ref_type, "value", existing.snapshot_ref_type))
        if kind != "tag":
            raise AlreadyExistsError(
                f"{tag!r} is a {kind} of table {_name(table)!r}, not a tag; pick another tag name"
            )
        if existing.snapshot_id == sid:
            return
        if not force:
            raise AlreadyExistsError(
                f"tag {tag!r} of table {_name(table)!r} already names snapshot "
                f"{existing.snapshot_id}; moving it to {sid} would change what queries AS OF "
                f"{tag!r} return. Pass force=True (`--force`) to move it, or pick another name"
            )
    with commit_errors(table, f"creating tag {tag!r}"):
        table.manage_snapshots().create_tag(snapshot_id=sid, tag_name=tag).commit()


def create_branch(table: Table, branch: str, as_of: Any = None) -> None:
    sid = resolve_as_of(table, as_of) or table.metadata.current_snapshot_id
    if sid is None:
        raise SnapshotNotFoundError(f"table {_name(table)!r} has no snapshot to branch from yet")
    with commit_errors(table, f"creating branch {branch!r}"):
        table.manage_snapshots().create_branch(snapshot_id=sid, branch_name=branch).commit()


def rollback(table: Table, to: Any) -> int:
    """Make the snapshot ``to`` names current again (a new commit; history is kept)."""
    sid = resolve_as_of(table, to)
    if sid is None:
        raise SnapshotNotFoundError("rollback needs a snapshot id, tag or time")
    with commit_errors(table, "rollback"):
        table.manage_snapshots().set_current_snapshot(snapshot_id=sid).commit()
    return sid
