"""In-process hand-over between the dbt runner and the dbt-duckdb plugin.

dbt instantiates the plugin itself from the generated profile, so the runner registers the
caller's Lakehouse here under a random id and writes only that id into the profile. The
plugin records what it planned and stored in the same object, for reports and tests.
"""

from __future__ import annotations

import threading
import uuid
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

    @property
    def files_skipped(self) -> int:
        return max(self.files_total - self.files_planned, 0)


@dataclass(frozen=True)
class StoreStat:
    """One model written back to the catalog."""

    table: str
    rows: int
    mode: str  # "created", "overwritten" or "upserted"


@dataclass(frozen=True)
class PendingWrite:
    """A built model waiting to be written to the catalog when the run succeeds."""

    table: str
    data: Any  # pyarrow.Table
    incremental: bool
    unique_key: str | list[str] | None


@dataclass
class Session:
    """The Lakehouse a dbt run works on, and what the plugin did with it."""

    id: str
    lh: Lakehouse
    namespace: str
    scans: list[ScanStat] = field(default_factory=list)
    stores: list[StoreStat] = field(default_factory=list)
    pending: list[PendingWrite] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record_scan(self, stat: ScanStat) -> None:
        with self.lock:
            self.scans.append(stat)

    def record_store(self, stat: StoreStat) -> None:
        with self.lock:
            self.stores.append(stat)

    def add_pending(self, write: PendingWrite) -> None:
        with self.lock:
            self.pending.append(write)


_SESSIONS: dict[str, Session] = {}
_LOCK = threading.Lock()


def open_session(lh: Lakehouse, namespace: str) -> Session:
    """Register ``lh`` for one dbt invocation."""
    session = Session(id=uuid.uuid4().hex, lh=lh, namespace=namespace)
    with _LOCK:
        _SESSIONS[session.id] = session
    return session


def get_session(session_id: str) -> Session | None:
    with _LOCK:
        return _SESSIONS.get(session_id)


def close_session(session_id: str) -> None:
    with _LOCK:
        _SESSIONS.pop(session_id, None)
