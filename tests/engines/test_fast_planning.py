"""A new query plans through the fast reader as through pyiceberg's SqlCatalog.

A Lakehouse that has not opened its SQLite catalog loads the tables a query reads with
catalog/reader/ (sqlite3 + json + the small Avro reader) and plans the common scans
without pyiceberg (engines/fast_scan.py); the rest (time travel, deletes, ...) through
pyiceberg's model over the same files (catalog/reader/tables.py). One that has opened it
asks SqlCatalog with DurableFileIO. For every table shape of tests/catalog/shapes.py and
a set of where and time-travel queries, both must return the same rows and scans; the
fast planner's files are a superset of pyiceberg's (the same SQL where they are the
same); errors are the same typed errors. tests/engines/test_fast_pruning.py compares the
pruning on many more predicates.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import doctordata as dd
from doctordata.engines import caches, fast_scan
from doctordata.errors import (
    CatalogError,
    SnapshotNotFoundError,
    TableNotFoundError,
    TierOfflineError,
)
from tests.catalog.shapes import build_shapes

# Scratch names that differ between any two runs of one query.
_RANDOM = re.compile(r"pyiceberg-read-[0-9a-f]{32}|q-[0-9a-f]{16}")

# Conjuncts per column; a query uses those whose columns the table has.
_WHERES = {
    "time": [
        "time < '2026-01-02'",
        "time >= '2026-01-03 06:00:00' AND id > 3",
        "CAST(time AS DATE) = DATE '2026-01-02'",
    ],
    "type": ["type = 'comment'"],
    "kind": ["kind <> 'story'"],
    "score": ["score BETWEEN 2 AND 5", "score IS NULL"],
    "id": ["id IN (1, 9, 13)", "id > 100"],
    "d": ["d > 1.5"],
    "t": ["t < TIMESTAMPTZ '2026-06-01 00:00:00+00'"],
}


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_shapes(tmp_path_factory.mktemp("fastplan") / "lake")


def _connect(root: Path, *, fast: bool, **overrides: Any) -> dd.Lakehouse:
    caches.clear_all()  # nothing planned by one path may serve the other
    lh = dd.connect(root, engines={"plan_cache_size": 0}, **overrides)
    if not fast:
        assert lh.catalog is not None  # opened: the router asks SqlCatalog
    return lh


def _run(
    root: Path, query: str, *, fast: bool, as_of: Any = None, engine: str = "duckdb"
) -> dict[str, Any]:
    with _connect(root, fast=fast) as lh:
        before = fast_scan.PLANNED[0]
        try:
            res = lh.sql(query, as_of=as_of, engine=engine)
            rows = res.arrow()
        except Exception as exc:  # compared between the two paths
            return {"error": (type(exc), str(exc)), "opened": lh.catalog_opened}
        planner = "fast" if fast_scan.PLANNED[0] > before else "pyiceberg"
        scans = [
            (
                s.table,
                s.snapshot_id,
                s.row_filter,
                s.files_planned,
                s.files_skipped,
                s.bytes_planned,
                s.delete_files,
                s.source,
                s.tiers,
            )
            for s in res.stats.scans
        ]
        return {
            "scans": scans,
            "sql": _RANDOM.sub("X", res.stats.translated_sql or ""),
            "rows": rows.sort_by([(rows.column_names[0], "ascending")]).to_pylist(),
            "opened": lh.catalog_opened,
            "planner": planner,
        }


def _files(sql: str) -> set[str]:
    return set(_PARQUET.findall(sql))


_PARQUET = re.compile(r"'([^']+\.parquet)'")


def assert_same_plan(fast: dict[str, Any], slow: dict[str, Any], what: Any) -> None:
    """The fast planner's result against pyiceberg's: the same rows and scans; its files a
    superset of pyiceberg's (it prunes conservatively), the same SQL where the files are
    the same. Its row filter text is the pushed SQL, not pyiceberg's expression."""
    assert slow.pop("planner") == "pyiceberg", what
    planner = fast.pop("planner")
    if planner == "pyiceberg" or "error" in fast or "error" in slow:
        assert fast == slow, what
        return
    assert fast["rows"] == slow["rows"], what
    wide, narrow = _files(fast["sql"]), _files(slow["sql"])
    assert wide >= narrow, what
    for f, s in zip(fast["scans"], slow["scans"], strict=True):
        keep = (0, 1, 6, 7) if wide != narrow else (0, 1, 3, 4, 5, 6, 7, 8)
        assert [f[i] for i in keep] == [s[i] for i in keep], what
        assert set(f[8]) >= set(s[8]), what  # tiers touched
        assert f[3] + f[4] == s[3] + s[4], what  # the same files considered
    if wide == narrow:
        assert fast["sql"] == slow["sql"], what


def _queries(lh: dd.Lakehouse) -> Iterator[tuple[str, Any]]:
    for name in lh.tables():
        columns = {f.name for f in lh.table(name).schema().fields}
        wheres = [w for col, ws in _WHERES.items() if col in columns for w in ws]
        yield f"SELECT * FROM {name}", None
        for where in wheres:
            yield f"SELECT * FROM {name} WHERE {where}", None
        snapshots = lh.snapshots(name)
        for snap in snapshots:
            where = f" WHERE {wheres[0]}" if wheres else ""
            yield f"SELECT * FROM {name} FOR VERSION AS OF {snap['snapshot_id']}{where}", None
            for ref in snap["refs"]:
                yield f"SELECT * FROM {name} AT (VERSION => '{ref}')", None
            yield f"SELECT * FROM {name}", snap["timestamp"] + timedelta(milliseconds=1)


def test_every_shape_plans_the_same_files_and_rows_on_both_paths(lake: Path) -> None:
    with dd.connect(lake) as lh:
        queries = list(_queries(lh))
    assert len(queries) > 40
    shapes = {"materialised": 0, "pruned": 0, "two tiers": 0, "time travel": 0}
    planners = {"fast": 0, "pyiceberg": 0, "fast time travel": 0}
    for query, as_of in queries:
        fast = _run(lake, query, fast=True, as_of=as_of)
        slow = _run(lake, query, fast=False, as_of=as_of)
        assert "error" not in slow, (query, slow)
        # The fast path planned it: the catalog (SQLAlchemy, DurableFileIO) stayed closed.
        assert fast.pop("opened") is False, query
        slow.pop("opened")
        planner = fast["planner"]
        planners[planner] += 1
        assert_same_plan(fast, slow, (query, as_of))
        for scan in fast["scans"]:
            shapes["materialised"] += scan[7] == "pyiceberg"
            shapes["pruned"] += scan[4] > 0
            shapes["two tiers"] += len(scan[8]) == 2
            shapes["time travel"] += scan[1] is not None
            planners["fast time travel"] += scan[1] is not None and planner == "fast"
    # The queries reached every kind of plan, so the comparison covered each of them.
    assert all(shapes.values()), shapes
    assert all(planners.values()), planners


@pytest.mark.parametrize(
    "engine", ["duckdb", pytest.param("clickhouse", marks=pytest.mark.clickhouse)]
)
def test_a_join_of_two_tables_plans_both_through_the_fast_reader(lake: Path, engine: str) -> None:
    query = (
        "SELECT e.id, h.kind FROM raw.evolved e JOIN raw.history h ON e.id = h.id "
        "WHERE e.time < '2026-01-02' AND h.score > 1"
    )
    fast = _run(lake, query, fast=True, engine=engine)
    slow = _run(lake, query, fast=False, engine=engine)
    assert fast.pop("opened") is False
    slow.pop("opened")
    assert_same_plan(fast, slow, query)
    assert len(fast["scans"]) == 2 and fast["rows"]


def test_the_fast_planner_is_chosen_by_engine_capability(
    lake: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """engines/base.py Capabilities.fast_planning, not the engine's name, picks the planner:
    DuckDB without it plans through pyiceberg, with the same rows."""
    from dataclasses import replace

    from doctordata.engines.clickhouse import ClickHouseEngine
    from doctordata.engines.duckdb import DuckDBEngine

    assert DuckDBEngine.capabilities.fast_planning
    assert not ClickHouseEngine.capabilities.fast_planning
    query = "SELECT id, kind FROM raw.history WHERE score > 1"
    fast = _run(lake, query, fast=True)
    off = replace(DuckDBEngine.capabilities, fast_planning=False)
    monkeypatch.setattr(DuckDBEngine, "capabilities", off)
    without = _run(lake, query, fast=True)
    assert (fast["planner"], without["planner"]) == ("fast", "pyiceberg")
    assert fast["rows"] == without["rows"] and fast["rows"]


@pytest.mark.parametrize(
    ("query", "as_of", "error"),
    [
        ("SELECT * FROM raw.nope", None, TableNotFoundError),
        ("SELECT * FROM raw.history FOR VERSION AS OF 123456789012", None, SnapshotNotFoundError),
        ("SELECT * FROM raw.history AT (VERSION => 'no-such-tag')", None, SnapshotNotFoundError),
        ("SELECT * FROM raw.history", "1990-01-01", SnapshotNotFoundError),
    ],
)
def test_errors_are_the_same_on_both_paths(
    lake: Path, query: str, as_of: Any, error: type[Exception]
) -> None:
    fast = _run(lake, query, fast=True, as_of=as_of)
    slow = _run(lake, query, fast=False, as_of=as_of)
    assert fast["error"] == slow["error"]
    assert fast["error"][0] is error, fast["error"]


def test_an_offline_tier_is_named_the_same_on_both_paths(lake: Path) -> None:
    """The NAS unmounted (its mount point empty): raw.tiered's old files are unreachable."""
    nas = lake.parent / "nas"
    away = lake.parent / "nas-unmounted"
    nas.rename(away)
    nas.mkdir()
    try:
        query = "SELECT count(*) FROM raw.tiered"
        fast = _run(lake, query, fast=True)
        slow = _run(lake, query, fast=False)
        assert fast["error"] == slow["error"]
        assert fast["error"][0] is TierOfflineError and "'nas'" in fast["error"][1]
        # Pruned to the SSD's files, the query needs no NAS on either path.
        query = "SELECT count(*) FROM raw.tiered WHERE time >= '2026-01-02'"
        fast, slow = _run(lake, query, fast=True), _run(lake, query, fast=False)
        assert fast.pop("opened") is False
        slow.pop("opened")
        assert fast["planner"] == "fast"
        assert_same_plan(fast, slow, query)
        assert fast["rows"] == [{"count_star()": 8}]
    finally:
        nas.rmdir()
        away.rename(nas)


def test_a_copied_lake_is_refused_the_same_on_both_paths(lake: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(lake, copy, symlinks=True)
    nas = lake.parent / "nas"
    (copy / "doctordata.toml").write_text(
        f'[tiers.ssd]\nurl = "file://{copy}/ssd"\n[tiers.nas]\nurl = "file://{nas}"\n'
    )
    query = "SELECT count(*) FROM raw.evolved"
    fast = _run(copy, query, fast=True)
    with pytest.raises(CatalogError) as opened:
        _run(copy, query, fast=False)  # opening the catalog refuses the copy
    assert fast["error"][0] is type(opened.value)
    assert fast["error"][1] == str(opened.value)
    assert "was copied or moved" in fast["error"][1] and "relocate" in fast["error"][1]


@pytest.mark.s3
def test_data_files_on_an_s3_tier_plan_the_same(tmp_path: Path, s3_env: Any, s3_bucket: str):
    """Local metadata, data files partly on S3: the fast path plans from the local
    manifests and leaves the S3 files to the engine, as the pyiceberg path does."""
    root = tmp_path / "lake"
    tiers = {
        "ssd": {"url": (root / "ssd").as_uri()},
        "s3": {"url": f"s3://{s3_bucket}/lake", "endpoint": s3_env.endpoint},
    }
    data = pa.table({"id": pa.array(range(9), pa.int64()), "k": [str(i % 3) for i in range(9)]})
    with dd.connect(root, tiers=tiers) as lh:
        lh.create_table("ev.t", data, partition_by=["k"])
        lh.tier("ev.t", to="s3", where="k <> '0'")
    for query in ("SELECT * FROM ev.t", "SELECT * FROM ev.t WHERE k = '1'"):
        with _connect(root, fast=True, tiers=tiers) as lh:
            fast = lh.sql(query)
            rows = sorted(fast.fetchall())
            assert not lh.catalog_opened
        with _connect(root, fast=False, tiers=tiers) as lh:
            slow = lh.sql(query)
            assert sorted(slow.fetchall()) == rows and rows
        # The fast planner's row filter text is the pushed SQL (k = '1').
        # Only the fast planner counts manifests.
        same = {"planning_ms": 0, "row_filter": "", "manifests_read": 0, "manifests_total": 0}
        assert [vars(s) | same for s in fast.stats.scans] == [
            vars(s) | same for s in slow.stats.scans
        ]
        assert "s3" in fast.stats.scans[0].tiers
