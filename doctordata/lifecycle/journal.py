"""The mover's journal: what a run intends, written down before it touches any file.

One JSON file per table per run under ``<root>/.doctordata/journal/``. A run that dies
(SIGKILL, power cut) leaves its journal behind; the next run reads it and, per move,
keeps the copy if the catalog references it or deletes it (and its temporary name) if
not. Old copies whose snapshots were already expired by ``free_now`` are deleted too.
A lock file keeps two movers (or a mover and orphan cleanup) from running at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from doctordata.errors import StorageError
from doctordata.storage.local_copy import make_dirs_durably


@dataclass
class JournalMove:
    src: str
    dst: str
    source: str  # tier names
    dest: str


@dataclass
class Journal:
    table: str
    moves: list[JournalMove]
    state: str = "copying"  # copying -> committed -> freeing
    id: str = field(default_factory=lambda: uuid.uuid4().hex)


def journal_dir(root: Path) -> Path:
    return root / ".doctordata" / "journal"


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save(root: Path, journal: Journal) -> Path:
    """Write (or rewrite) a journal durably."""
    folder = journal_dir(root)
    # A new folder's name must survive a power cut with the journal: recovery finds the
    # journal by walking down from the root.
    make_dirs_durably(str(folder))
    path = folder / f"{journal.id}.json"
    _write_atomic(path, json.dumps(asdict(journal), indent=1))
    return path


def load_all(root: Path) -> list[Journal]:
    """Every journal left by an unfinished run (unreadable ones are skipped: a crash while
    writing a journal happens before any file was copied)."""
    out: list[Journal] = []
    folder = journal_dir(root)
    if not folder.is_dir():
        return out
    for path in sorted(folder.glob("*.json")):
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            raw["moves"] = [JournalMove(**m) for m in raw["moves"]]
            out.append(Journal(**raw))
        except (OSError, ValueError, TypeError, KeyError):
            path.unlink(missing_ok=True)
    return out


def remove(root: Path, journal: Journal) -> None:
    (journal_dir(root) / f"{journal.id}.json").unlink(missing_ok=True)


def pending_paths(root: Path) -> set[str]:
    """Every path an unfinished run may still need (orphan cleanup must spare them)."""
    return {p for j in load_all(root) for m in j.moves for p in (m.src, m.dst)}


@contextlib.contextmanager
def lifecycle_lock(root: Path, what: str) -> Iterator[None]:
    """Hold the lakehouse's file-lifecycle lock (mover, expiry, orphan cleanup)."""
    folder = root / ".doctordata"
    make_dirs_durably(str(folder))  # the journal goes below it
    with (folder / "lifecycle.lock").open("a+") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            raise StorageError(
                f"cannot start {what}: {holder} is moving or deleting files in this "
                "lakehouse; wait for it to finish and run again"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"{what} (pid {os.getpid()})")
        fh.flush()
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
