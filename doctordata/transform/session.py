"""In-process hand-over between the dbt runner and the dbt-duckdb plugin.

dbt instantiates the plugin itself from the profile, so the runner registers the caller's
Lakehouse here under a random id and writes only that id into the profile (a hand-written
profile names a lakehouse ``root`` instead and the plugin opens its own session). The
session is one dbt invocation: it pins the snapshot of every source the first time it is
read (so every model of the invocation sees the same data, and the marts can record
which snapshots they were built from), queues the built models, and records what was
planned and written, for reports and tests.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from doctordata.lakehouse import Lakehouse


@dataclass(frozen=True)
class ScanStat:
    """One planned Iceberg source scan."""

    table: str
    where: str | None
    files_planned: int
    files_total: int
    bytes_planned: int
    planning_ms: float
    snapshot_id: int | None = None

    @property
    def files_skipped(self) -> int:
        return max(self.files_total - self.files_planned, 0)


@dataclass(frozen=True)
class StoreStat:
    """One model written back to the catalog."""

    table: str
    rows: int
    mode: str  # "created", "replaced", "appended" or "upserted"
    snapshot_id: int | None = None


@dataclass(frozen=True)
class PendingWrite:
    """A built model waiting to be written to the catalog when the invocation succeeds.

    ``relation`` is the DuckDB relation holding the rows to write, read (streamed) only at
    commit time: the model itself for a full build, a copy of the new rows for an
    incremental run. ``mode``: "replace", "append" or "upsert" (on ``unique_key``).
    """

    table: str
    relation: str
    mode: str
    unique_key: tuple[str, ...] = ()
    # The Iceberg source tables the model reads (directly or through other models).
    sources: tuple[str, ...] = ()
    # "upsert" only: one row per key (dbt's merge); False for delete+insert, which
    # replaces every row of each key the new rows hold.
    unique: bool = True
    # Iceberg partition specs of the mart ("month(day)"), from `iceberg_partition_by`.
    partition_by: tuple[str, ...] = ()
    # An incremental model's relation in dbt's DuckDB database: dropped when the
    # invocation fails, so the next one rebuilds it in full instead of building on rows
    # that never reached Iceberg.
    discard: str | None = None
    # "upsert" only (the rebuild_keys strategy): a DuckDB relation of every key the run
    # rebuilt, deleted from the mart whether or not the new rows hold it.
    rebuilt: str | None = None


@dataclass
class Session:
    """The Lakehouse a dbt invocation works on, and what the plugin did with it."""

    id: str
    lh: Lakehouse
    namespace: str
    # None = the current snapshot of each source; else a time, tag or snapshot id.
    as_of: Any = None
    invocation_id: str | None = None
    # Source table -> the snapshot id every model of this invocation reads (None: empty).
    pins: dict[str, int | None] = field(default_factory=dict)
    scans: list[ScanStat] = field(default_factory=list)
    stores: list[StoreStat] = field(default_factory=list)
    pending: list[PendingWrite] = field(default_factory=list)
    committed: bool = False
    # Errors raised to dbt while planning sources (bad as_of, missing table), for reports.
    errors: list[str] = field(default_factory=list)
    # Set by the plugin: writes every queued model to Iceberg.
    committer: Callable[[], Any] | None = field(default=None, repr=False)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def pin(self, table: str) -> int | None:
        """The snapshot of ``table`` this invocation reads, fixed at its first use."""
        with self.lock:
            if table not in self.pins:
                from doctordata.catalog.snapshots import resolve_as_of
                from doctordata.errors import DoctorDataError

                iceberg = self.lh.table(table)
                try:
                    sid = resolve_as_of(iceberg, self.as_of)
                except DoctorDataError as exc:
                    # dbt shows only "Runtime Error in model x": keep the reason to report.
                    self.errors.append(str(exc))
                    raise
                self.pins[table] = sid if sid is not None else iceberg.metadata.current_snapshot_id
            return self.pins[table]

    def record_scan(self, stat: ScanStat) -> None:
        with self.lock:
            self.scans.append(stat)

    def record_store(self, stat: StoreStat) -> None:
        with self.lock:
            self.stores.append(stat)

    def add_pending(self, write: PendingWrite) -> None:
        with self.lock:
            # A model stored twice in one invocation (re-run hook) keeps its last state.
            self.pending = [w for w in self.pending if w.table != write.table]
            self.pending.append(write)

    def take_pending(self) -> list[PendingWrite]:
        with self.lock:
            pending, self.pending = self.pending, []
            return pending


_SESSIONS: dict[str, Session] = {}
_LOCK = threading.Lock()


def open_session(lh: Lakehouse, namespace: str, *, as_of: Any = None) -> Session:
    """Register ``lh`` for one dbt invocation."""
    session = Session(id=uuid.uuid4().hex, lh=lh, namespace=namespace, as_of=as_of)
    with _LOCK:
        _SESSIONS[session.id] = session
    return session


def get_session(session_id: str) -> Session | None:
    with _LOCK:
        return _SESSIONS.get(session_id)


def close_session(session_id: str) -> None:
    with _LOCK:
        _SESSIONS.pop(session_id, None)
