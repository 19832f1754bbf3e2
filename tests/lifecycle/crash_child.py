"""What a crash-test child process runs (importable, so a forkserver can start it fast)."""

from __future__ import annotations

import os

# Imported once by the forkserver; every child forked from it starts with them loaded.
PRELOAD = [
    "doctordata",
    "doctordata.lakehouse",
    "doctordata.lifecycle.mover",
    "doctordata.lifecycle.expiry",
    "pyiceberg.table",
    "pyiceberg.catalog.sql",
    "pyiceberg.io.pyarrow",
    "sqlite3",
    "sqlalchemy.dialects.sqlite",
    "tests.lifecycle.crash_child",
]


def run_mover(root: str, free_now: bool, kill_at: str, to: str | None = None) -> None:
    """Apply the tier policies (or move the test table ``to`` a tier); the mover SIGKILLs
    this process at ``kill_at`` ("step:nth")."""
    from doctordata.storage.transfer import KILL_ENV

    os.environ[KILL_ENV] = kill_at
    import doctordata as dd

    with dd.connect(root) as lh:
        table = "hn.items" if to else None
        lh.tier(table, to=to, free_now=free_now, progress=False, workers=2)
