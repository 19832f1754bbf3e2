"""HackerNews -> dlt -> the Iceberg catalog, against the local API over real HTTP."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from doctordata.errors import IngestError
from doctordata.ingest import state
from doctordata.ingest.hackernews import run, table_stats
from doctordata.ingest.hn_api import Faults

from .conftest import FAST_RETRY, assert_exactly_once, load_items

pytestmark = pytest.mark.ingest


def _expected_row(item: dict[str, Any]) -> dict[str, Any]:
    """What a raw API item must look like in hackernews.items."""
    row: dict[str, Any] = {
        "by": None,
        "text": None,
        "url": None,
        "title": None,
        "parent": None,
        "poll": None,
        "kids": None,
        "parts": None,
        "score": None,
        "descendants": None,
        "deleted": False,
        "dead": False,
    }
    row.update(item)
    row["time"] = datetime.utcfromtimestamp(item["time"])
    return row


def test_full_load_has_every_id_once_with_types_and_quirks(lh: Any, hn_server: Any) -> None:
    server = hn_server(items=900, seed=11)
    ds = server.dataset
    report = run(lh, base_url=server.url, workers=6, segment=400, retry=FAST_RETRY)

    rows = assert_exactly_once(lh, ds.ids())
    assert report.items_new == len(ds.ids()) and report.items_updated == 0
    assert report.items_missing == len(ds.null_ids()) > 0  # nulls counted, not errors
    assert report.items_rejected == 0 and table_stats(lh)["hackernews.rejected_items"] == 0
    assert (report.start_id, report.end_id, report.segments) == (1, 900, 3)
    for row in rows:  # every field of every item round-trips exactly
        assert row == _expected_row(ds.item(row["id"])), row["id"]
    by_type = {r["type"] for r in rows}
    assert by_type == {"story", "comment", "job", "poll", "pollopt"}
    assert any(r["deleted"] and r["by"] is None and r["text"] is None for r in rows)
    assert any(r["dead"] for r in rows)
    assert any("&#x27;" in (r["text"] or "") and "日本語" in (r["text"] or "") for r in rows)

    table = lh.table("hackernews.items")
    types = {f.name: str(f.field_type) for f in table.schema().fields}
    assert types["id"] == "long" and types["time"] == "timestamp"
    assert types["kids"] == "list<long>" and types["score"] == "long"
    assert table.schema().find_field("id").required
    assert [str(f.transform) for f in table.spec().fields] == ["day"]
    assert state.next_id(lh, "hackernews.items") == 901

    lists = lh.table("hackernews.lists").scan().to_arrow().to_pylist()
    served = ds.lists()
    for name, ids in served.items():
        stored = sorted((r for r in lists if r["list"] == name), key=lambda r: r["position"])
        assert [r["item_id"] for r in stored] == ids
    assert len({r["fetched_at"] for r in lists}) == 1


# Fetch and commits in the run's process, and in the helper processes (forced, as on runs
# of more than one segment): the same results.
COMMIT_MODES = pytest.mark.parametrize(
    "helpers", [False, True], ids=["in-process", "helper-processes"]
)


@COMMIT_MODES
def test_second_run_appends_new_ids_and_upserts_changed(
    lh: Any, hn_server: Any, helpers: bool
) -> None:
    server = hn_server(items=500, seed=2)
    run(lh, base_url=server.url, workers=4, retry=FAST_RETRY, helpers=helpers)
    first_snapshot = lh.table("hackernews.items").current_snapshot().snapshot_id
    growth = server.grow(new_items=120, changed=25)
    fetched_before = server.requests["item"]

    report = run(lh, base_url=server.url, workers=4, retry=FAST_RETRY, helpers=helpers)

    rows = assert_exactly_once(lh, server.dataset.ids())
    new_present = [i for i in growth.new_ids if server.dataset.item(i) is not None]
    assert report.start_id == 501 and report.end_id == 620
    assert report.items_new == len(new_present)
    assert report.items_updated == report.updates_fetched == len(growth.changed_ids) >= 25
    # Only new ids and the ids in updates.json were fetched again.
    assert server.requests["item"] - fetched_before == 120 + len(growth.changed_ids)
    by_id = {r["id"]: r for r in rows}
    for item_id in growth.changed_ids:
        item = server.dataset.item(item_id)
        assert by_id[item_id]["score"] == item.get("score")
        assert by_id[item_id]["kids"] == item.get("kids")
        assert by_id[item_id]["descendants"] == item.get("descendants")
    # The first run's snapshot is still there for time travel.
    assert first_snapshot in [s.snapshot_id for s in lh.table("hackernews.items").snapshots()]

    # Nothing new: a third run fetches no items and changes nothing.
    before = lh.table("hackernews.items").current_snapshot().snapshot_id
    server.dataset._updated = []  # the API's updates window moved on
    third = run(lh, base_url=server.url, workers=4, retry=FAST_RETRY, lists=False)
    assert (third.items_new, third.items_updated, third.end_id) == (0, 0, 620)
    assert lh.table("hackernews.items").current_snapshot().snapshot_id == before


def test_five_percent_failing_responses_still_load_everything(lh: Any, hn_server: Any) -> None:
    faults = Faults(error_rate=0.05, truncate_rate=0.02, slow_rate=0.01, slow_seconds=0.05, seed=5)
    server = hn_server(items=700, seed=4, faults=faults)
    report = run(lh, base_url=server.url, workers=8, segment=300, retry=FAST_RETRY)
    assert_exactly_once(lh, server.dataset.ids())
    assert report.retries >= server.injected["error"] > 10
    assert report.items_new == len(server.dataset.ids())


@COMMIT_MODES
def test_schema_violations_go_to_rejected_items_and_do_not_block(
    lh: Any, hn_server: Any, helpers: bool
) -> None:
    server = hn_server(items=300, seed=9)
    ds = server.dataset
    story = next(ds.item(i) for i in range(1, 300) if ds.item(i) and ds.item(i)["type"] == "story")
    bad = {
        20: {**ds.item(20), "time": "yesterday"},  # wrong type
        21: [1, 2, 3],  # not an object
        22: {**ds.item(22), "id": 99_999},  # answers for another id
        23: {**ds.item(23), "kids": ["x"]},  # list of strings
    }
    for item_id, value in bad.items():
        ds.override(item_id, value)
    ds.override(story["id"], {**story, "flair": "gold"})  # a new field: schema evolution
    report = run(lh, base_url=server.url, workers=4, retry=FAST_RETRY, helpers=helpers)

    assert report.items_rejected == 4
    assert report.new_columns == ["hackernews.items.flair"]
    rejected = {
        r["id"]: r for r in lh.table("hackernews.rejected_items").scan().to_arrow().to_pylist()
    }
    assert sorted(rejected) == [20, 21, 22, 23]
    assert "field 'time'" in rejected[20]["reason"] and '"yesterday"' in rejected[20]["raw"]
    assert rejected[21]["raw"] == "[1,2,3]" and "got list" in rejected[21]["reason"]
    assert "expected 22" in rejected[22]["reason"]
    assert "list of integers" in rejected[23]["reason"]
    good = [i for i in ds.ids() if i not in bad]
    rows = assert_exactly_once(lh, good)
    assert {r["id"]: r["flair"] for r in rows if r["flair"]} == {story["id"]: "gold"}

    # The next run succeeds first time (no pending package, nothing replayed)...
    server.grow(new_items=30)
    ds.clear_override(20)
    ds._updated = [20]  # ...and an item fixed upstream loads and leaves rejected_items.
    second = run(lh, base_url=server.url, workers=4, retry=FAST_RETRY, helpers=helpers)
    assert not second.pending_recovered and second.items_rejected == 0
    assert second.items_new == len([i for i in range(301, 331) if ds.item(i)]) + 1
    assert sorted(
        r["id"] for r in lh.table("hackernews.rejected_items").scan().to_arrow().to_pylist()
    ) == [21, 22, 23]
    assert_exactly_once(lh, [i for i in ds.ids() if i not in (21, 22, 23)])


def test_server_down_fails_clearly_and_commits_nothing(lh: Any, hn_server: Any) -> None:
    server = hn_server(items=200, faults=Faults(error_rate=1.0))
    with pytest.raises(IngestError, match=r"maxitem.json failed 3 times .*--base-url"):
        run(lh, base_url=server.url, retry=FAST_RETRY.__class__(attempts=3, backoff=0.001))
    assert "hackernews" not in lh.namespaces()


def test_outage_mid_run_keeps_whole_segments_then_resumes(lh: Any, hn_server: Any) -> None:
    # The outage starts at item 200 (not after N requests: concurrent fetchers ask in no
    # fixed order), so segment 1 (1-150) loads and segment 2 (151-300) cannot.
    server = hn_server(items=600, seed=6, faults=Faults(down_from_item=200))
    retry = FAST_RETRY.__class__(attempts=3, backoff=0.001)
    with pytest.raises(IngestError, match="failed 3 times"):
        run(lh, base_url=server.url, workers=2, segment=150, retry=retry, lists=False)
    resume = state.next_id(lh, "hackernews.items")
    assert resume == 151  # segment 1 committed whole; nothing of segment 2
    assert_exactly_once(lh, [i for i in server.dataset.ids() if i < resume])

    server.faults.down_from_item = None
    report = run(lh, base_url=server.url, workers=4, segment=150, retry=FAST_RETRY)
    assert report.start_id == resume
    assert_exactly_once(lh, server.dataset.ids())


def test_max_items_and_bad_arguments(lh: Any, hn_server: Any) -> None:
    server = hn_server(items=250, seed=1)
    report = run(lh, base_url=server.url, max_items=100, retry=FAST_RETRY, lists=False)
    assert (report.start_id, report.end_id) == (1, 100)
    assert_exactly_once(lh, [i for i in server.dataset.ids() if i <= 100])
    report = run(lh, base_url=server.url, max_items=100, retry=FAST_RETRY, lists=False)
    assert (report.start_id, report.end_id) == (101, 200)
    with pytest.raises(IngestError, match="max_items = -1"):
        run(lh, base_url=server.url, max_items=-1)
    with pytest.raises(IngestError, match="not an http"):
        run(lh, base_url="hacker-news.firebaseio.com/v0/")


def test_only_one_ingestion_at_a_time(lh: Any, hn_server: Any) -> None:
    import fcntl

    server = hn_server(items=20)
    lock = lh.root / "ingest" / "dlt" / "lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)  # as if another process were ingesting
        with pytest.raises(IngestError, match="another HackerNews ingestion is running"):
            run(lh, base_url=server.url, retry=FAST_RETRY)
    assert len(load_items(lh)) == 0 if "hackernews" in lh.namespaces() else True


@pytest.mark.clickhouse
def test_publish_refreshes_the_clickhouse_serving_copy(lh: Any, hn_server: Any) -> None:
    server = hn_server(items=200, seed=12)
    query = "SELECT count(*) AS n, count(DISTINCT id) AS d FROM hackernews.items"
    report = run(lh, base_url=server.url, retry=FAST_RETRY, publish="clickhouse")
    expected = len(server.dataset.ids())
    assert report.published == {"hackernews.items": expected}
    result = lh.sql(query, engine="clickhouse")
    assert result.fetchall() == [(expected, expected)]
    assert result.stats.scans[0].source == "serving-copy"

    server.grow(new_items=40, changed=5)
    run(lh, base_url=server.url, retry=FAST_RETRY, publish="clickhouse")
    expected = len(server.dataset.ids())
    result = lh.sql(query, engine="clickhouse")
    assert result.fetchall() == [(expected, expected)]
    assert result.stats.scans[0].source == "serving-copy"  # refreshed, not stale


def _interrupted_package(lh: Any, url: str, *, normalize: bool) -> Any:
    """Leave a load package behind as a run killed before its load step would."""
    from doctordata.ingest.destination import CatalogWriter, lakehouse_destination
    from doctordata.ingest.fetcher import Fetcher
    from doctordata.ingest.hackernews import _pipeline, ensure_tables
    from doctordata.ingest.hn_source import hackernews_source

    ensure_tables(lh)
    pipeline = _pipeline(lh, lakehouse_destination(CatalogWriter(lh)))
    with Fetcher(url, retry=FAST_RETRY) as fetcher:
        source = hackernews_source(fetcher, start_id=1, end_id=120, updates=False, lists=False)
        pipeline.extract(source)
    if normalize:
        pipeline.normalize()
    assert pipeline.has_pending_data
    return pipeline


def test_pending_package_of_a_killed_run_is_finished(lh: Any, hn_server: Any) -> None:
    server = hn_server(items=200, seed=13)
    _interrupted_package(lh, server.url, normalize=True)
    report = run(lh, base_url=server.url, retry=FAST_RETRY, lists=False)
    assert report.pending_recovered
    assert_exactly_once(lh, server.dataset.ids())


def test_unloadable_pending_package_is_discarded_not_blocking(lh: Any, hn_server: Any) -> None:
    server = hn_server(items=200, seed=13)
    pipeline = _interrupted_package(lh, server.url, normalize=False)
    from pathlib import Path

    corrupted = [
        path
        for path in Path(pipeline.working_dir).rglob("*")
        if path.is_file() and "new_jobs" in path.parts
    ]
    assert corrupted
    for path in corrupted:
        path.write_bytes(b"\x00garbage")  # a package dlt can no longer normalize
    report = run(lh, base_url=server.url, retry=FAST_RETRY, lists=False)
    assert not report.pending_recovered
    assert not any(path.exists() for path in corrupted)  # discarded, not retried forever
    assert_exactly_once(lh, server.dataset.ids())


def test_loaded_ids_leave_rejected_items_and_only_those(lh: Any) -> None:
    import pyarrow as pa

    from doctordata.ingest.destination import CatalogWriter
    from doctordata.ingest.hackernews import ensure_tables
    from doctordata.ingest.hn_schema import rejected_schema, utc_now

    ensure_tables(lh)
    writer = CatalogWriter(lh)
    rejected = [
        {"id": i, "raw": "{}", "reason": "bad", "fetched_at": utc_now()} for i in (5, 900, 50_000)
    ]
    writer.write("rejected_items", pa.Table.from_pylist(rejected, schema=rejected_schema()))
    table = lh.table("hackernews.rejected_items")
    before = len(table.snapshots())
    # A segment without any rejected id: nothing to delete, no new snapshot.
    writer._clear_rejections(pa.chunked_array([pa.array(range(1000, 3000), pa.int64())]))
    assert len(lh.table("hackernews.rejected_items").snapshots()) == before
    # Far-apart ids, some rejected before: exactly those leave.
    loaded = pa.chunked_array([pa.array([4, 5, 6, 49_999, 50_000, 70_000], pa.int64())])
    writer._clear_rejections(loaded)
    left = lh.table("hackernews.rejected_items").scan().to_arrow().column("id").to_pylist()
    assert sorted(left) == [900]


@pytest.mark.parametrize(
    ("start", "end", "segment", "expected"),
    [
        (1, 900, 400, [(1, 400), (401, 800), (801, 900)]),  # last one short already
        (1, 1000, 400, [(1, 400), (401, 800), (801, 900), (901, 1000)]),
        (11, 20, 100, [(11, 20)]),
        (1, 100, 100, [(1, 75), (76, 100)]),  # one segment: cut too
        (5, 5, 100, [(5, 5)]),
        (7, 6, 100, [(7, 6)]),  # nothing new: one package for updates and lists
        (1, 3, 1, [(1, 1), (2, 2), (3, 3)]),
    ],
)
def test_segments_cover_every_id_once_and_end_short(
    start: int, end: int, segment: int, expected: list[tuple[int, int]]
) -> None:
    from doctordata.ingest.hackernews import _segments

    got = _segments(start, end, segment)
    assert got == expected
    covered = [i for low, high in got for i in range(low, high + 1)]
    assert covered == list(range(start, end + 1))
