"""maintain() while another process commits to the same table, at the worst moments:
the other process (a real one, driven line by line over a pipe: no sleeps) commits just
before compaction commits its rewrite, and just before snapshot expiry commits. No row
is lost or brought back, and every file a snapshot references is still there."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import doctordata as dd
from doctordata.catalog.references import table_references
from tests.tiered_lakes import local_path, rows, sorted_rows

WRITER = """
import sys
import doctordata as dd
from tests.tiered_lakes import rows
with dd.connect(sys.argv[1]) as lh:
    print("ready", flush=True)
    for line in sys.stdin:
        what = line.strip()
        if what == "delete":
            lh.delete("hn.items", "id < 3")
        elif what == "append":
            lh.append("hn.items", rows(900_000, 1))
        print("done", what, flush=True)
"""


class Writer:
    """The other process: ``writer("delete")`` returns once its commit has landed."""

    def __init__(self, root: str, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, root],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self._line() == "ready"

    def _line(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line:
            raise AssertionError(self.proc.stderr.read() if self.proc.stderr else "no output")
        return line

    def __call__(self, what: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(what + "\n")
        self.proc.stdin.flush()
        assert self._line() == f"done {what}"

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        assert self.proc.wait(timeout=120) == 0


@pytest.fixture
def lake(make_lake, child_env: dict[str, str]) -> Iterator[tuple[dd.Lakehouse, Writer]]:  # type: ignore[no-untyped-def]
    lh = make_lake()
    lh.create_table("hn.items", rows(0), partition_by=["day(time)"])
    for i in range(1, 4):  # several small files per partition: compaction has work
        lh.append("hn.items", rows(1000 * i))
    writer = Writer(str(lh.root), child_env)
    yield lh, writer
    writer.close()


def _just_before(
    monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, action: Callable[[], None]
) -> list[int]:
    """Run ``action`` once, right before ``owner.name`` runs; returns a call counter."""
    real = getattr(owner, name)
    calls: list[int] = []

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not calls:
            action()
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, wrapped)
    return calls


def _intact(lh: dd.Lakehouse, expected: Any) -> None:
    assert sorted_rows(lh, "hn.items").equals(expected)
    refs = table_references(lh.table("hn.items"))
    assert [p for p in refs.all() if not local_path(p).is_file()] == []


def _expected_after_delete(lh: dd.Lakehouse) -> Any:
    import pyarrow.compute as pc

    now = sorted_rows(lh, "hn.items")
    return now.filter(pc.greater_equal(now["id"], 3))


def test_a_delete_committed_while_compaction_rewrites_stays_deleted(
    lake: tuple[dd.Lakehouse, Writer], monkeypatch: pytest.MonkeyPatch
) -> None:
    import doctordata.catalog.rewrite as rewrite

    lh, writer = lake
    expected = _expected_after_delete(lh)
    calls = _just_before(monkeypatch, rewrite, "rewrite_files", lambda: writer("delete"))
    report = lh.maintain(expire_older_than="0s", orphan_older_than="0s")
    assert calls, "compaction never committed"
    _intact(lh, expected)  # the compacted files do not bring the deleted rows back
    again = lh.maintain(expire_older_than="0s", orphan_older_than="0s")
    assert again.ok, str(again)
    _intact(lh, expected)
    # The delete removed a file compaction had read: its rewrite is refused, not applied.
    assert "conflicted with a concurrent writer" in str(report.tables[0].error)


def test_commits_landing_while_expiry_commits_keep_their_files(
    lake: tuple[dd.Lakehouse, Writer], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pyiceberg.table.update.snapshot import ExpireSnapshots

    lh, writer = lake

    def both() -> None:
        writer("append")
        writer("delete")

    calls = _just_before(monkeypatch, ExpireSnapshots, "commit", both)
    lh.maintain(compact=False, expire_older_than="0s", orphan_older_than="0s")
    assert calls, "expiry never committed"
    monkeypatch.undo()
    import pyarrow.compute as pc

    now = sorted_rows(lh, "hn.items")
    assert 900_000 in now.column("id").to_pylist()
    assert pc.min(now["id"]).as_py() >= 3
    _intact(lh, now)
    with dd.connect(lh.root) as fresh:
        assert sorted_rows(fresh, "hn.items").equals(now)
        assert fresh.verify(deep=True).ok
