"""Prune markers: a backup and a prune on a target without locks (S3) never race.

On a local disk a backup holds ``backups/.lock`` shared and prune exclusively
(store.object_lock). An object store has no locks, and prune's steps (list the backups,
see none running, delete every object no kept backup names) are not one step: a backup
starting after the listing could reuse an object only an old backup held (its sha256 is
in the store) or upload one prune then lists as unneeded, prune deletes it, and the
backup writes a manifest naming it.

Each side writes its own marker, then reads the other's. S3 (AWS since 2020, SeaweedFS,
MinIO) is strongly consistent for a read after a write, so at least one sees the other:

- prune writes ``backups/.prune-<id>`` before it lists the backups, refreshes it while it
  deletes, and removes it when done;
- a backup writes its ``started.json``, then, before it lists the stored objects (what it
  may reuse), waits until no live prune marker is left (:func:`wait_for_prunes`).

A prune that listed before the backup's started.json existed has thus finished deleting
before the backup learns what the store holds; a prune whose marker appears later sees
the backup running and deletes no object (prune.py). A crashed prune's marker is no
longer refreshed: a backup ignores a marker older than STALE_SECONDS, and the next prune
removes it. A prune that could not refresh its own marker for LEASE_SECONDS (far below
STALE_SECONDS) never refreshes it again and stops before its next deletion, so a backup
that stopped waiting does not meet it deleting (but for one request already in flight
when the prune was paused: the margin between the two periods is for that).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

from doctordata.backup.heartbeat import last_alive, utcnow
from doctordata.errors import BackupError

if TYPE_CHECKING:
    from doctordata.backup.store import BackupTarget

PREFIX = ".prune-"
BEAT_SECONDS = 30.0  # a running prune refreshes its marker this often
LEASE_SECONDS = 300.0  # a prune whose marker is older than this (by its own clock) stops
STALE_SECONDS = 1800.0  # a backup ignores a marker not refreshed for this long (dead prune)
POLL_SECONDS = 2.0  # a waiting backup looks again this often


class PruneMarker:
    """``backups/.prune-<id>`` while a prune runs (a context manager)."""

    def __init__(self, target: BackupTarget, interval: float = BEAT_SECONDS) -> None:
        now = dt.datetime.now(dt.UTC)
        self.id = f"{now:%Y%m%dT%H%M%S.%fZ}-{secrets.token_hex(3)}"
        self.target = target
        self.path = target.path(PREFIX + self.id)
        self.record: dict[str, Any] = {
            "id": self.id,
            "started_at": utcnow(),
            "pid": os.getpid(),
            "host": socket.gethostname(),
        }
        self.interval = interval
        self._fresh = (time.monotonic(), time.time())  # when the last good write began
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="prune-marker", daemon=True)

    def __enter__(self) -> PruneMarker:
        self._write()  # no marker, no prune: an OSError here ends it before any listing
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        # If this fails, backups wait for it at most STALE_SECONDS; the next prune removes it.
        with contextlib.suppress(OSError):
            self.target.remove(self.path)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            if self._late() > LEASE_SECONDS:
                # Lapsed (this process was paused, or the target was unreachable): a
                # backup may have stopped waiting for us. Never renew it; check_lease
                # stops the deletions.
                return
            # Unreachable for a moment: check_lease stops the deletions if it lasts.
            with contextlib.suppress(OSError):
                self._write()

    def _write(self) -> None:
        began = (time.monotonic(), time.time())
        self.record["heartbeat_at"] = utcnow()
        self.target.write_json(self.path, self.record, sync=False)
        self._fresh = began

    def _late(self) -> float:
        """Seconds since the last good write began (by either clock: a paused process
        or a suspended machine moves one of them)."""
        mono, wall = self._fresh
        return max(time.monotonic() - mono, time.time() - wall)

    def check_lease(self) -> None:
        """BackupError if the marker was not refreshed for LEASE_SECONDS: a backup may
        soon judge this prune dead and stop waiting for it, so it must delete no more."""
        late = self._late()
        if late > LEASE_SECONDS:
            raise BackupError(
                f"prune of {self.target.url} stopped deleting: its marker {self.path} could "
                f"not be refreshed for {late:.0f} s (the target is unreachable, or this "
                "process was paused), so a backup may no longer wait for it. Nothing a "
                "complete backup needs was deleted; run prune again."
            )


def prune_markers(target: BackupTarget, now: float | None = None) -> tuple[list[str], list[str]]:
    """(live, stale): the paths of the prune markers on ``target``, as the store says
    now (no cached listing)."""
    now = time.time() if now is None else now
    base = target.base.rstrip("/")
    target.fs.invalidate_cache(base)
    try:
        entries = target.fs.ls(base, detail=True)
    except FileNotFoundError:
        return [], []
    live: list[str] = []
    stale: list[str] = []
    for entry in entries:
        path = entry["name"].rstrip("/")
        if not path.rsplit("/", 1)[-1].startswith(PREFIX) or entry.get("type") != "file":
            continue
        try:
            alive = last_alive(target.read_json(path))
        except FileNotFoundError:
            continue  # that prune just finished
        except (OSError, ValueError, KeyError, TypeError):
            alive = _modified(entry)  # unreadable: judge by when it was written
        (live if now - alive <= STALE_SECONDS else stale).append(path)
    return live, stale


def _modified(entry: dict[str, Any]) -> float:
    value = entry.get("LastModified", entry.get("mtime", entry.get("created")))
    if isinstance(value, dt.datetime):
        return value.timestamp()
    return float(value) if value is not None else time.time()


def waiting(target: BackupTarget, live: list[str]) -> None:
    """Called each time a backup finds a live prune marker and waits (a test hook)."""


def wait_for_prunes(target: BackupTarget) -> list[str]:
    """Return once no live prune marker is on ``target``; the markers waited for."""
    seen: list[str] = []
    while True:
        live, _ = prune_markers(target)
        if not live:
            return seen
        seen += [m for m in live if m not in seen]
        waiting(target, live)
        time.sleep(POLL_SECONDS)
