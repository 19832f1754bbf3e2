"""maintain() over many tables loads each table a bounded number of times.

Orphan cleanup must consider every table's references; it used to reload every table for
each table it cleaned (N x N loads: 20 tables went from 1.3 s to 2.9 s). Loads are counted
by a counter around the real catalog's ``load_table`` (every load, refresh and listing
goes through it); the tables, files and deletions are real.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import doctordata as dd
from tests.lifecycle.test_orphan_safety import backdate, referenced_files_exist

N = 10


def _ids(n: int, start: int = 0) -> pa.Table:
    return pa.table({"id": pa.array(range(start, start + n), pa.int64())})


class LoadCounter:
    """Counts calls of the catalog's own load_table (the call itself is unchanged)."""

    def __init__(self, lh: dd.Lakehouse) -> None:
        self.calls = 0
        self._original = lh.catalog.load_table

    def __call__(self, identifier: Any) -> Any:
        self.calls += 1
        return self._original(identifier)


@pytest.fixture
def counted(lh: dd.Lakehouse, monkeypatch: pytest.MonkeyPatch) -> Iterator[LoadCounter]:
    counter = LoadCounter(lh)
    monkeypatch.setattr(lh.catalog, "load_table", counter)
    yield counter


def _lake(lh: dd.Lakehouse, n: int = N) -> dict[str, Path]:
    """n tables of 3 appends, all past the safety age, each with one planted orphan."""
    orphans = {}
    for t in range(n):
        name = f"m.t{t:02d}"
        lh.create_table(name, _ids(1, t * 100))
        for i in range(1, 3):
            lh.append(name, _ids(1, t * 100 + i))
        data_dir = Path(lh.table(name).location().removeprefix("file://")) / "data"
        orphans[name] = data_dir / "killed-writer.parquet"
        orphans[name].write_bytes(b"PAR1 never committed")
    backdate(lh.hot_tier.root)
    return orphans


def test_maintain_of_all_tables_loads_each_table_a_bounded_number_of_times(
    lh: dd.Lakehouse, counted: LoadCounter
) -> None:
    orphans = _lake(lh)
    before = {name: sorted(lh.read(name)["id"].to_pylist()) for name in orphans}
    counted.calls = 0
    report = lh.maintain(compact=False)
    # Per table: load + refresh in the loop, one load reading every table's references.
    # The old per-table cleanup loaded all N tables for each table: N*N + 2N = 120.
    assert counted.calls <= 3 * N + 2, counted.calls
    # Every table's orphan went, in the same run, and nothing referenced did.
    assert all(not path.exists() for path in orphans.values())
    deleted = {t.table: [Path(p).name for p in t.orphans.deleted] for t in report.tables}
    assert deleted == {name: ["killed-writer.parquet"] for name in orphans}
    assert referenced_files_exist(lh) == []
    assert {name: sorted(lh.read(name)["id"].to_pylist()) for name in orphans} == before


def test_maintain_of_one_table_reads_every_table_once(
    lh: dd.Lakehouse, counted: LoadCounter
) -> None:
    orphans = _lake(lh)
    counted.calls = 0
    report = lh.maintain("m.t03", compact=False)
    assert counted.calls <= N + 3, counted.calls
    assert [t.table for t in report.tables] == ["m.t03"]
    assert not orphans["m.t03"].exists()
    assert all(path.exists() for name, path in orphans.items() if name != "m.t03")


def test_a_file_another_table_references_survives_the_batched_run(
    lh: dd.Lakehouse, counted: LoadCounter
) -> None:
    """m.t00's directory holds a file only m.t01 references (registered with add_files
    while the two shared a layout): one reference set for the run still covers it."""
    import pyarrow.parquet as pq

    _lake(lh, 3)
    shared = Path(lh.table("m.t00").location().removeprefix("file://")) / "data" / "shared.parquet"
    pq.write_table(_ids(2, 900), shared)
    lh.table("m.t01").add_files([str(shared)])
    backdate(lh.hot_tier.root)
    report = lh.maintain(compact=False, orphan_older_than="0s")
    assert shared.exists()
    assert all(str(shared) not in t.orphans.deleted for t in report.tables)
    assert 900 in lh.read("m.t01")["id"].to_pylist()
    assert referenced_files_exist(lh) == []


def test_a_table_dropped_after_maintain_loaded_it_keeps_its_files(lh: dd.Lakehouse) -> None:
    """Cleanup runs after every table's commits, so a table may be dropped (without purge:
    its files are the user's to keep) or replaced between the load and the cleanup."""
    from doctordata.lifecycle.orphans import remove_orphans_of

    _lake(lh, 2)
    dropped, replaced = lh.table("m.t00"), lh.table("m.t01")
    files = [p for p in Path(lh.hot_tier.root).rglob("*") if p.is_file()]
    lh.drop_table("m.t00")
    lh.drop_table("m.t01")
    lh.create_table("m.t01", _ids(1, 500))  # the same name, a new table (new directory)
    results = remove_orphans_of(lh, [dropped, replaced], older_than_s=0)
    assert [r.deleted for r in results] == [[], []]
    assert [p for p in files if not p.exists()] == []
