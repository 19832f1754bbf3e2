"""The plan cache on disk: another Lakehouse (another process) reuses a plan exactly while
every table it reads is at the recorded metadata location, as the in-memory cache does."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

import doctordata as dd
from doctordata.engines.datafiles import PlannedFile
from doctordata.engines.plan_cache import CachedPlan, PlanCache
from doctordata.engines.result import TableScanStats

Q = "SELECT k, sum(v) AS s FROM c.t WHERE k >= 1 GROUP BY k ORDER BY k"


def _rows(k: list[int], v: list[int]) -> pa.Table:
    return pa.table({"k": pa.array(k, pa.int64()), "v": pa.array(v, pa.int64())})


def _plan(loc: str, sql: str = "SELECT 1", shown: str = "SELECT 1") -> CachedPlan:
    scan = TableScanStats("c.t", "t", 7, "AlwaysTrue()", 1, 2, 30, 0, 0.5, tiers=("ssd",))
    return CachedPlan(
        "duckdb", (("c.t", loc),), sql, shown, (scan,), (PlannedFile("c.t", "/f", 30),)
    )


def test_a_new_lakehouse_reuses_the_plan_until_a_commit(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    with dd.connect(root) as writer:
        writer.create_namespace("c")
        writer.create_table("c.t", _rows([0, 1, 2], [10, 20, 30]), partition_by=["k"])
        first = writer.sql(Q)
    with dd.connect(root) as fresh:
        again = fresh.sql(Q)
        assert again.stats.plan_cached and not first.stats.plan_cached
        assert again.fetchall() == first.fetchall() == [(1, 20), (2, 30)]
        assert again.stats.files_planned == 2 and again.stats.files_skipped == 1
        assert not fresh.catalog_opened  # the hit read the catalog with sqlite3
    with dd.connect(root) as writer:
        writer.append("c.t", _rows([2], [1]))
    with dd.connect(root) as fresh:
        res = fresh.sql(Q)
        assert not res.stats.plan_cached and res.fetchall() == [(1, 20), (2, 31)]
    with dd.connect(root) as writer:
        writer.drop_table("c.t")
        writer.create_table("c.t", _rows([5], [1]))
    with dd.connect(root) as fresh:
        res = fresh.sql(Q)
        assert not res.stats.plan_cached and res.fetchall() == [(5, 1)]


def test_entries_round_trip_and_go_stale(tmp_path: Path) -> None:
    key = PlanCache.key(Q, "duckdb", "duckdb", None, True)
    assert key is not None
    PlanCache(8, tmp_path, "f1").put(key, _plan("loc1"))
    other = PlanCache(8, tmp_path, "f1")
    assert other.get(key, lambda n: "loc1") == _plan("loc1")
    assert PlanCache(8, tmp_path, "f2").get(key, lambda n: "loc1") is None  # settings changed
    assert PlanCache(8, tmp_path, "f1").get(key, lambda n: "loc2") is None  # a commit
    assert list(tmp_path.glob("*.json")) == []  # the stale file is gone
    assert PlanCache(8, tmp_path, "f1").get(key, lambda n: "loc1") is None


def test_secrets_stay_in_memory_and_damage_is_a_miss(tmp_path: Path) -> None:
    key = PlanCache.key(Q, "duckdb", "duckdb", None, True)
    assert key is not None
    cache = PlanCache(8, tmp_path, "f")
    cache.put(key, _plan("loc", sql="... s3_secret_access_key='k' ...", shown="... '***' ..."))
    assert list(tmp_path.glob("*.json")) == []
    assert cache.get(key, lambda n: "loc") is not None  # in memory it is still used
    cache.put(key, _plan("loc"))
    (path,) = tmp_path.glob("*.json")
    path.write_bytes(path.read_bytes()[:40])
    assert PlanCache(8, tmp_path, "f").get(key, lambda n: "loc") is None


def test_size_bound_and_clear(tmp_path: Path) -> None:
    cache = PlanCache(2, tmp_path, "f")
    for i in range(4):
        cache.put(("k", i), _plan("loc"))
    assert len(list(tmp_path.glob("*.json"))) == 2
    cache.clear()
    assert len(list(tmp_path.glob("*.json"))) == 2  # closing a Lakehouse keeps the files
    cache.clear(persistent=True)
    assert list(tmp_path.glob("*.json")) == []
    off = PlanCache(0, tmp_path, "f")
    off.put(("k", 9), _plan("loc"))
    assert list(tmp_path.glob("*.json")) == []


def test_code_fingerprint_changes_with_the_planning_code(tmp_path: Path) -> None:
    # A checkout edited or reinstalled under the same version must not reuse plans made by
    # the old rules (the fingerprint is part of every persisted entry's name).
    import os
    import shutil

    from doctordata.engines import plan_cache

    package = tmp_path / "engines"
    shutil.copytree(Path(plan_cache.__file__).parent, package)
    before = plan_cache.code_fingerprint((package,))
    assert plan_cache.code_fingerprint((package,)) == before  # stable
    rules = package / "clickhouse_transforms.py"
    stat = rules.stat()
    rules.write_text(rules.read_text() + "\n# a new rule\n")
    os.utime(rules, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # even with the old mtime
    changed = plan_cache.code_fingerprint((package,))
    assert changed != before
    (package / "new_rule.py").write_text("")
    assert plan_cache.code_fingerprint((package,)) not in (before, changed)

    key = PlanCache.key(Q, "duckdb", "duckdb", None, True)
    assert key is not None
    directory = tmp_path / "plans"
    PlanCache(4, directory, fingerprint=before).put(key, _plan("loc"))
    assert PlanCache(4, directory, fingerprint=before).get(key, lambda n: "loc") is not None
    assert PlanCache(4, directory, fingerprint=changed).get(key, lambda n: "loc") is None

    # A lakehouse keys its persisted plans on the installed code's fingerprint.
    with dd.connect(tmp_path / "lake") as lh:
        assert plan_cache.code_fingerprint() in lh.plan_cache.fingerprint
