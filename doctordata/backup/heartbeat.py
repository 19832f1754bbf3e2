"""A running backup's sign of life: ``started.json`` rewritten every few minutes.

``prune`` deletes a partial backup (one without a manifest) once it shows no sign of life
for its grace period (24 h by default), and deletes objects only while no backup runs. A
backup that merely *started* more than 24 h ago may still be copying (tens of TB to a
NAS or S3 take that long), so prune judges by the newest heartbeat, not by the start.
If a prune removed this backup anyway (the process was stopped, say, for a day),
:meth:`Heartbeat.check_alive` refuses to write a manifest over objects that may be gone.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

from doctordata.backup.store import STARTED_NAME, BackupTarget
from doctordata.errors import BackupError

# Seconds between heartbeats: far below prune's default grace period (24 h).
HEARTBEAT_SECONDS = 300.0


def utcnow() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def last_alive(record: dict[str, Any]) -> float:
    """The newest of a started.json's start and heartbeat times (POSIX seconds)."""
    stamps = [record.get("started_at"), record.get("heartbeat_at")]
    return max(dt.datetime.fromisoformat(s).timestamp() for s in stamps if s)


class Heartbeat:
    """Writes ``started.json`` (with ``heartbeat_at``) every ``interval`` seconds."""

    def __init__(
        self, target: BackupTarget, backup_id: str, record: dict[str, Any], interval: float
    ) -> None:
        self.target = target
        self.path = target.path(backup_id, STARTED_NAME)
        self.record = dict(record)
        self.interval = interval
        self.beats = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"backup-heartbeat-{backup_id}", daemon=True
        )

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.beat()

    def beat(self) -> None:
        try:
            if not self._exists():
                return  # pruned: check_alive reports it; do not bring the folder back
            self.record["heartbeat_at"] = utcnow()
            # Only read by prune; after a crash nothing runs: no fsync needed.
            self.target.write_json(self.path, self.record, sync=False)
            self.beats += 1
        except OSError:
            pass  # a target that is briefly unreachable; the next beat tries again

    def _exists(self) -> bool:
        # Ask the target itself: a listing cached by s3fs may predate the prune.
        self.target.fs.invalidate_cache(self.path.rsplit("/", 1)[0])
        return bool(self.target.fs.exists(self.path))

    def check_alive(self) -> None:
        """Raise BackupError if this backup's folder was removed while it ran."""
        if not self._exists():
            raise BackupError(
                f"backup {self.record['id']} was removed from {self.target.url} while it "
                "ran (a prune judged it abandoned: no heartbeat for its grace period); the "
                "objects it copied may be gone, so it is not marked complete. Nothing in "
                "the lake changed: run the backup again."
            )
