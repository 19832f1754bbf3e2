"""The plan-cache check of a script's queries: one catalog reader for the lakehouse, exact.

The reader (catalog/reader/catalog.py SharedReader) stays open across the queries of one
Lakehouse, so a repeated query opens no SQLite connection; it must still see a commit made
by another process between two queries (a real child process), and a catalog file
replaced under it (a restore) must be read anew, never the old file.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import doctordata as dd

Q = "SELECT k, sum(v) AS s FROM c.t WHERE k >= 1 GROUP BY k ORDER BY k"


def _rows(k: list[int], v: list[int]) -> pa.Table:
    return pa.table({"k": pa.array(k, pa.int64()), "v": pa.array(v, pa.int64())})


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "lake"
    with dd.connect(root) as lh:
        lh.create_namespace("c")
        lh.create_table("c.t", _rows([0, 1, 2], [10, 20, 30]), partition_by=["k"])
    return root


def _append_in_another_process(root: Path, k: int, v: int) -> None:
    code = (
        "import sys, pyarrow as pa, doctordata as dd\n"
        "with dd.connect(sys.argv[1]) as lh:\n"
        f"    lh.append('c.t', pa.table({{'k': pa.array([{k}], pa.int64()), "
        f"'v': pa.array([{v}], pa.int64())}}))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCTORDATA")}
    done = subprocess.run(
        [sys.executable, "-c", code, str(root)], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


class ConnectCounter:
    """Counts sqlite3.connect calls (the real function runs)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        real = sqlite3.connect

        def connect(*args: Any, **kw: Any) -> Any:
            self.calls += 1
            return real(*args, **kw)

        monkeypatch.setattr(sqlite3, "connect", connect)


def test_a_commit_by_another_process_between_two_queries_is_seen(root: Path) -> None:
    with dd.connect(root) as lh:
        first = lh.sql(Q)
        assert first.fetchall() == [(1, 20), (2, 30)]
        hit = lh.sql(Q)
        assert hit.stats.plan_cached and hit.fetchall() == [(1, 20), (2, 30)]
        _append_in_another_process(root, 2, 1)
        after = lh.sql(Q)
        assert not after.stats.plan_cached  # the stale plan was not reused
        assert after.fetchall() == [(1, 20), (2, 31)]
        assert lh.sql(Q).stats.plan_cached
        _append_in_another_process(root, 3, 5)
        assert lh.sql(Q).fetchall() == [(1, 20), (2, 31), (3, 5)]
        assert not lh.catalog_opened  # all of it through the read-only reader


def test_repeated_queries_open_no_sqlite_connection(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with dd.connect(root) as lh:
        lh.sql(Q).fetchall()  # opens the reader, plans, caches
        counter = ConnectCounter(monkeypatch)
        for _ in range(5):
            assert lh.sql(Q).stats.plan_cached
        new = lh.sql("SELECT count(*) FROM c.t")  # a new query plans over the same reader
        assert new.fetchall() == [(3,)] and not new.stats.plan_cached
        assert counter.calls == 0


def test_a_replaced_catalog_file_is_read_anew(root: Path, tmp_path: Path) -> None:
    saved = tmp_path / "catalog-before.db"
    with dd.connect(root) as lh:
        assert lh.sql(Q).fetchall() == [(1, 20), (2, 30)]
        # Save the catalog as it is (a backup), then commit, then put the saved one back
        # by replacing the file, as a restore does: the open reader must not keep the
        # newer file's pointer.
        src = sqlite3.connect(root / "catalog.db")
        dst = sqlite3.connect(saved)
        src.backup(dst)
        src.close()
        dst.close()
        _append_in_another_process(root, 2, 1)
        assert lh.sql(Q).fetchall() == [(1, 20), (2, 31)]
        staged = root / "catalog.db.new"
        shutil.copyfile(saved, staged)
        for suffix in ("-wal", "-shm"):
            (root / f"catalog.db{suffix}").unlink(missing_ok=True)
        os.replace(staged, root / "catalog.db")
        res = lh.sql(Q)
        assert res.fetchall() == [(1, 20), (2, 30)]


def test_the_reader_closes_with_the_lakehouse(root: Path) -> None:
    lh = dd.connect(root)
    lh.sql(Q).fetchall()
    reader = lh.catalog_reader
    assert reader is not None
    lh.close()
    with pytest.raises(sqlite3.ProgrammingError):
        reader._conn.execute("SELECT 1")
