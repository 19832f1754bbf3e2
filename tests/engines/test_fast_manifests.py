"""Manifest skipping in the fast planner (catalog/reader/prune.py) against pyiceberg's.

The fast planner skips a manifest when its partition summaries (the manifest list's
``partitions``: contains_null, lower and upper bound per partition field of the
manifest's *own* spec) exclude every match, as pyiceberg does. Two tables of many
manifests (one per append): one spec, and four specs (also with merged manifests) whose fields sit at the same
positions with other sources (day(ts), then identity(n), then month(dt) + truncate(s),
then identity(s) + year(dt)), so reading a summary with the wrong spec would skip files
that match; batches with NULL-only partition values; a filtered delete that leaves
manifests with deleted entries. Generated predicates (fixed seeds, 180 queries on each
path, ~30 s of CPU with the lake) must give the same rows, a superset of pyiceberg's files, the same
files where the fast planner understands the predicate, and read fewer manifests than
the snapshot lists when something is pruned.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest

import doctordata as dd
from doctordata.catalog.reader.prune import DAY_US, Evaluator
from doctordata.engines import caches
from tests.engines.test_fast_pruning import _batch, _outcome, _predicates

# (spec to move to before the batch, or None; batch number) per append after create.
_DAYS = [(None, k % 12) for k in range(1, 36)]
_SPECS = [
    (None, 1),
    (None, 2),
    (None, 4),
    ((["n"], ["day(ts)"]), 3),  # batch 3: n is NULL everywhere
    (None, 5),
    (None, 6),
    ((["month(dt)", "truncate(3, s)"], ["n"]), 7),  # batch 7: dt is NULL
    (None, 8),
    (None, 5),  # s is NULL
    ((["s", "year(dt)"], ["month(dt)", "truncate(3, s)"]), 9),
    (None, 10),
    (None, 11),
    (None, 0),
]
# m.specs keeps one manifest per append: with merging on (doctordata's default),
# pyiceberg merges an older spec's manifests into one at the next append.
_UNMERGED = {"commit.manifest-merge.enabled": "false"}
_TABLES = {
    "m.days": (["day(ts)"], _DAYS, {}),
    "m.specs": (["day(ts)"], _SPECS, _UNMERGED),
    "m.merged_specs": (["day(ts)"], _SPECS, {}),
}


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fastmanifests") / "lake"
    with dd.connect(root) as lh:
        lh.create_namespace("m")
        for name, (spec, appends, properties) in _TABLES.items():
            lh.create_table(name, _batch(0), partition_by=spec, properties=properties)
            for change, k in appends:
                if change is not None:
                    lh.evolve_partitions(name, add=change[0], remove=change[1])
                lh.append(name, _batch(k))
        # Whole files deleted: manifests with DELETED entries next to live ones.
        lh.delete("m.days", "ts < '1970-01-02'")
    return root


def _manifests(lh: dd.Lakehouse, query: str) -> tuple[int | None, int | None, int]:
    res = lh.sql(query)
    res.fetchall()
    scan = res.stats.scans[0]
    return scan.manifests_read, scan.manifests_total, scan.files_planned


def test_skipping_manifests_keeps_a_superset_of_pyiceberg_and_the_same_where_understood(
    lake: Path,
) -> None:
    caches.clear_all()
    fast_lh = dd.connect(lake, engines={"plan_cache_size": 0})
    slow_lh = dd.connect(lake, engines={"plan_cache_size": 0})
    assert slow_lh.catalog is not None  # opened: pyiceberg plans
    counts = {"queries": 0, "both pruned": 0, "manifests skipped": 0}
    try:
        for seed, name in enumerate(_TABLES):
            columns = [f.name for f in slow_lh.table(name).schema().fields]
            for where, understood in _predicates(columns, 60, 100 + seed):
                query = f"SELECT * FROM {name} WHERE {where}"
                fast = _outcome(fast_lh, query)
                slow = _outcome(slow_lh, query)
                if "error" in slow or "error" in fast:
                    assert fast == slow, query
                    continue
                counts["queries"] += 1
                assert fast["fast"] and not slow["fast"], query
                assert fast["rows"] == slow["rows"], query
                assert fast["total"] == slow["total"], query
                assert fast["files"] >= slow["files"], query
                if understood:
                    assert fast["files"] == slow["files"], query
                if len(fast["files"]) < fast["total"]:
                    counts["both pruned"] += fast["files"] == slow["files"]
                read, total, _ = _manifests(fast_lh, query)
                assert read is not None and total is not None and read <= total, query
                counts["manifests skipped"] += read < total
        assert not fast_lh.catalog_opened
    finally:
        fast_lh.close()
        slow_lh.close()
    assert counts["queries"] > 150, counts
    assert counts["both pruned"] > 40 and counts["manifests skipped"] > 15, counts


def test_a_one_day_query_reads_only_the_manifests_of_that_day(lake: Path) -> None:
    # Batch 4 (days 1970-01-11 and -12) was appended three times (k = 4, 16, 28).
    query = "SELECT count(*) FROM m.days WHERE ts >= '1970-01-11' AND ts < '1970-01-12'"
    with dd.connect(lake, engines={"plan_cache_size": 0}) as lh:
        read, total, files = _manifests(lh, query)
        assert lh.sql(query).fetchall() == [(6,)]
        assert not lh.catalog_opened
    assert (read, files) == (3, 3)
    assert total is not None and total >= 30  # 36 appends, 4 of batch 0 deleted


def test_a_summary_is_read_with_its_own_spec(lake: Path) -> None:
    """m.specs' second spec is identity(n) at the position day(ts) held: read with the
    first spec, n = 30..33 of batch 3 would be days 1970-01-31..02-03 and no manifest
    of it would be kept for a query on n."""
    query = "SELECT count(*) FROM m.specs WHERE n = 52"  # batch 5, appended twice
    with dd.connect(lake, engines={"plan_cache_size": 0}) as lh:
        read, total, _ = _manifests(lh, query)
        assert lh.sql(query).fetchall() == [(2,)]
    assert read is not None and total is not None and 0 < read < total


def _evaluator(predicate: tuple[Any, ...]) -> Evaluator:
    kinds = {1: "long", 2: "int", 3: "string", 6: "timestamp", 5: "date"}
    specs = {
        0: [("ts_day", 6, "day")],
        1: [("n", 2, "identity"), ("s_trunc", 3, "truncate[3]")],
        2: [("id_bucket", 1, "bucket[4]"), ("dt_year", 5, "year")],
    }
    return Evaluator(predicate, kinds, specs)


def _summary(lower: bytes | None, upper: bytes | None, nulls: bool = False) -> dict[str, Any]:
    return {
        "contains_null": nulls,
        "contains_nan": None,
        "lower_bound": lower,
        "upper_bound": upper,
    }


def _i(n: int) -> bytes:
    return struct.pack("<i", n)


def test_manifest_summaries_exclude_only_what_they_certainly_exclude() -> None:
    day = ("cmp", 6, "micros", ">=", 10 * DAY_US)  # ts >= 1970-01-11
    days_3_to_9 = [_summary(_i(3), _i(9))]
    assert not _evaluator(day).may_match_manifest(0, days_3_to_9)
    assert _evaluator(day).may_match_manifest(0, [_summary(_i(3), _i(10))])
    # Another spec id: its own fields (n, s), nothing about ts.
    assert _evaluator(day).may_match_manifest(1, [_summary(_i(3), _i(9)), _summary(b"a", b"b")])
    # Unknown spec, a summary count that does not fit the spec, no bounds: read it.
    assert _evaluator(day).may_match_manifest(7, days_3_to_9)
    assert _evaluator(day).may_match_manifest(0, [*days_3_to_9, *days_3_to_9])
    assert _evaluator(day).may_match_manifest(0, [_summary(None, None)])
    # Only NULL partition values: no comparison matches, IS NULL does.
    only_null = [_summary(None, None, nulls=True)]
    assert not _evaluator(day).may_match_manifest(0, only_null)
    assert _evaluator(("null", 6, True)).may_match_manifest(0, only_null)
    assert not _evaluator(("null", 6, True)).may_match_manifest(0, days_3_to_9)
    # truncate[3] of a string: the upper bound is a prefix, so it bounds nothing above.
    s_gt = _evaluator(("cmp", 3, "str", ">", "abz"))
    trunc = [_summary(_i(1), _i(1)), _summary(b"aaa", b"abc")]
    assert s_gt.may_match_manifest(1, trunc)
    assert not _evaluator(("cmp", 3, "str", "<", "aa")).may_match_manifest(1, trunc)
    # bucket says nothing; year(dt) bounds dt.
    year_1971 = [_summary(_i(0), _i(3)), _summary(_i(1), _i(1))]
    assert _evaluator(("cmp", 1, "int", "=", 5)).may_match_manifest(2, year_1971)
    assert not _evaluator(("cmp", 5, "micros", "<", 365 * DAY_US)).may_match_manifest(2, year_1971)
    assert _evaluator(("cmp", 5, "micros", "<=", 365 * DAY_US)).may_match_manifest(2, year_1971)
    # OR: skipped only when neither side matches.
    either = ("or", [day, ("cmp", 6, "micros", "<", 4 * DAY_US)])
    assert _evaluator(either).may_match_manifest(0, days_3_to_9)
    # An odd bound (8 bytes for a day) reads as unknown.
    assert _evaluator(day).may_match_manifest(0, [_summary(_i(3), struct.pack("<q", 9))])
