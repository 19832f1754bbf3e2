"""Incremental marts equal a full rebuild, row for row, after new and changed items.

Real dbt over a lakehouse filled by the real HN ingest from the local API, which then
grows: new items (new stories, late comments on old threads) and changed scores of
existing stories, upserted by the ingest from ``updates.json``. The second build is
incremental; a ``--full-refresh`` build of the same data must give the same marts.

Keys also vanish: two lonely stories (each the only item of its day and the only link
to its domain) are in the first build; before the second, one is marked dead and the
other deleted, so their day, domain and thread must lose their rows (dbt's delete+insert
would keep them: it deletes only the keys its new rows hold).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pytest

import doctordata as dd
from doctordata.transform.runner import run_dbt
from tests.dbt.marts import MARTS

pytestmark = [pytest.mark.dbt, pytest.mark.ingest, pytest.mark.slow]

SEED = 23
ITEMS, NEW, CHANGED = 1500, 15, 12  # ~4 days; +1% new items, scores of 12 stories change
# Marts rebuilt per key (not the global leaderboard, not the append-only feed).
KEYED = {
    "marts.comment_threads": "story_id",
    "marts.daily_activity": "activity_day",
    "marts.link_domains": "domain",
    "marts.top_stories_per_day": "story_day",
}


# Lonely stories (ids below the API's, on days before its data): id -> (day, domain).
DEAD, DELETED = -1, -2
LONELY = {
    DEAD: (date(2020, 1, 1), "vanishing.example"),
    DELETED: (date(2020, 1, 2), "once.example"),
}


# Marts partitioned by month (iceberg_partition_by): an upsert rewrites touched months only.
PARTITIONED = ("marts.comment_threads", "marts.top_stories_per_day")


def _marts(lh: Any) -> dict[str, list[tuple[Any, ...]]]:
    return {t: sorted(lh.sql(f"SELECT * FROM {t}").fetchall()) for t in sorted(MARTS)}


def _dbt_tables(lh: Any) -> dict[str, list[tuple[Any, ...]]]:
    """dbt's own copy of each mart, in its DuckDB working database (what {{ this }} is)."""
    import duckdb

    from doctordata.transform.profiles import work_dir

    with duckdb.connect(str(work_dir(lh) / "doctordata.duckdb"), read_only=True) as con:
        out = {}
        for table in sorted(MARTS):
            name = table.split(".", 1)[1]
            (schema,) = con.execute(
                "SELECT schema_name FROM duckdb_tables() WHERE table_name = ?", [name]
            ).fetchone()
            out[table] = sorted(con.execute(f'SELECT * FROM "{schema}"."{name}"').fetchall())
        for table in KEYED:  # the keys the rebuild_keys strategy deleted, kept for Iceberg
            keys = f'"doctordata_pending"."{table}__dbt_rebuilt_keys"'
            out[f"{table} rebuilt"] = list(set(con.execute(f"SELECT * FROM {keys}").fetchall()))
    return out


def _add_lonely_stories(lh: Any) -> None:
    import pyarrow as pa

    items = lh.read("hackernews.items", where="type = 'story' AND NOT dead AND NOT deleted")
    template = items.slice(0, 1).to_pylist()[0]
    rows = []
    for item_id, (day, domain) in LONELY.items():
        when = datetime(day.year, day.month, day.day, 12)
        url = f"https://{domain}/only"
        rows.append({**template, "id": item_id, "time": when, "url": url, "kids": None})
    lh.append("hackernews.items", pa.Table.from_pylist(rows, schema=items.schema))


def _kill_lonely_stories(lh: Any) -> None:
    """One is marked dead, the other deleted (the API then serves only id, type, time)."""
    import pyarrow as pa

    items = lh.read("hackernews.items", where=f"id IN ({DEAD}, {DELETED})")
    rows = []
    for row in items.to_pylist():
        if row["id"] == DEAD:
            rows.append({**row, "dead": True})
        else:
            kept = ("id", "type", "time", "fetched_at")
            rows.append(
                {k: (v if k in kept else None) for k, v in row.items()}
                | {"deleted": True, "dead": False}
            )
    lh.upsert("hackernews.items", pa.Table.from_pylist(rows, schema=items.schema), on=["id"])


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from doctordata.ingest import hackernews
    from doctordata.ingest.hn_api import start_server

    root = tmp_path_factory.mktemp("incr") / "lake"
    with dd.connect(root) as lh, start_server(ITEMS, SEED) as server:
        hackernews.run(lh, base_url=server.url, lists=False)
        _add_lonely_stories(lh)
        first = run_dbt(lh, ["build"], quiet=True)
        first_marts = _marts(lh)
        growth = server.dataset.grow(new_items=NEW, changed=CHANGED)
        hackernews.run(lh, base_url=server.url, lists=False)
        _kill_lonely_stories(lh)
        second = run_dbt(lh, ["build"], quiet=True)
        incremental = _marts(lh)
        in_dbt = _dbt_tables(lh)
        refreshed = run_dbt(lh, ["build", "--full-refresh"], quiet=True)
        yield {
            "lh": lh,
            "growth": growth,
            "first": first,
            "first_marts": first_marts,
            "in_dbt": in_dbt,
            "second": second,
            "incremental": incremental,
            "refreshed": refreshed,
            "full": _marts(lh),
        }


def test_the_growth_changed_old_days_and_old_threads(lake: dict[str, Any]) -> None:
    """The data makes the comparison mean something: changed stories on days before the
    newest one, and new comments in threads of stories the first build already had."""
    lh, growth = lake["lh"], lake["growth"]
    rows = {r["id"]: r for r in lh.read("hackernews.items").to_pylist()}
    first_max = min(growth.new_ids) - 1
    newest_day = max(r["time"].date() for i, r in rows.items() if i <= first_max)
    changed_days = {rows[i]["time"].date() for i in growth.changed_ids if i in rows}
    assert any(day < newest_day for day in changed_days)
    new_comment_parents = {rows[i]["parent"] for i in growth.new_ids if i in rows}
    assert any(p is not None and p <= first_max for p in new_comment_parents)


def test_incremental_build_equals_a_full_refresh(lake: dict[str, Any]) -> None:
    incremental, full = lake["incremental"], lake["full"]
    assert set(incremental) == MARTS
    for table in sorted(MARTS - {"marts.story_feed"}):
        assert full[table], table
        assert incremental[table] == full[table], table


def test_vanished_keys_lose_their_rows(lake: dict[str, Any]) -> None:
    """The lonely stories' day, domain and thread were in the first build and are gone
    from the incremental build, in Iceberg and in dbt's own table, as in a full build."""
    keys = {
        "marts.daily_activity": {day for day, _ in LONELY.values()},
        "marts.top_stories_per_day": {day for day, _ in LONELY.values()},
        "marts.link_domains": {domain for _, domain in LONELY.values()},
        "marts.comment_threads": set(LONELY),
    }
    for table, vanished in keys.items():
        first = {row[0] for row in lake["first_marts"][table]}
        assert vanished <= first, table  # the keys existed before
        for built in (lake["incremental"], lake["in_dbt"], lake["full"]):
            assert not vanished & {row[0] for row in built[table]}, table


def test_deleted_keys_are_the_rebuilt_keys_the_mart_held(lake: dict[str, Any]) -> None:
    """The key set handed to the Iceberg delete holds the vanished keys, and only keys
    the mart had (not every ancestor item id the comment_threads SELECT walks through),
    and it is not every key."""
    vanished = {
        "marts.daily_activity": {day for day, _ in LONELY.values()},
        "marts.top_stories_per_day": {day for day, _ in LONELY.values()},
        "marts.link_domains": {domain for _, domain in LONELY.values()},
        "marts.comment_threads": set(LONELY),
    }
    for table in KEYED:
        deleted = {row[0] for row in lake["in_dbt"][f"{table} rebuilt"]}
        held = {row[0] for row in lake["first_marts"][table]}
        assert vanished[table] <= deleted <= held, table
        if table != "marts.link_domains":  # the data links only a few domains
            assert deleted != held, table


def test_dbt_tables_equal_the_iceberg_marts(lake: dict[str, Any]) -> None:
    """dbt's DuckDB copy (which the next increment builds on) agrees with Iceberg."""
    for table in sorted(MARTS):
        assert lake["in_dbt"][table] == lake["incremental"][table], table


def test_story_feed_keeps_scores_as_of_arrival(lake: dict[str, Any]) -> None:
    """The append-only feed is the one mart whose rows are meant to differ from a
    rebuild: a story keeps the score it had when it arrived."""
    changed = set(lake["growth"].changed_ids)
    incremental, full = lake["incremental"], lake["full"]
    # The lonely stories arrived live and stay in the feed; a rebuild no longer has them.
    feed = [r for r in incremental["marts.story_feed"] if r[0] not in LONELY]
    assert len(feed) == len(incremental["marts.story_feed"]) - len(LONELY)
    # story_id, created_at, author, title, domain, story_kind, score
    assert [r[:6] for r in feed] == [r[:6] for r in full["marts.story_feed"]]
    pairs = zip(feed, full["marts.story_feed"], strict=True)
    differ = {a[0] for a, b in pairs if a != b}
    assert differ and differ <= changed


def test_keyed_marts_rebuilt_only_the_affected_keys(lake: dict[str, Any]) -> None:
    lh, second, growth = lake["lh"], lake["second"], lake["growth"]
    rows = {r["id"]: r for r in lh.read("hackernews.items").to_pylist()}
    touched = [rows[i] for i in [*growth.new_ids, *growth.changed_ids] if i in rows]
    days = {r["time"].date() for r in touched}
    story_days = {r["time"].date() for r in touched if r["type"] == "story"}
    expected = {
        "marts.daily_activity": f"activity_day IN ({_dates(days)})",
        "marts.top_stories_per_day": f"story_day IN ({_dates(story_days)})",
    }
    stores = {s.table: s for s in second.stores}
    for table, key in KEYED.items():
        store = stores[table]
        assert store.mode == "upserted", table
        summary = lh.table(table).metadata.snapshot_by_id(store.snapshot_id).summary
        assert summary.additional_properties["doctordata.dbt.mode"] == "upsert"
        total = len(lh.sql(f"SELECT {key} FROM {table}").fetchall())
        # The generated data links only a couple of domains: all of them are touched.
        assert 0 < store.rows <= total if table == "marts.link_domains" else store.rows < total
        if table in expected:
            rebuilt = lh.sql(f"SELECT count(*) FROM {table} WHERE {expected[table]}")
            assert store.rows == rebuilt.fetchall()[0][0], table


def _dates(days: set[Any]) -> str:
    return ", ".join(f"DATE '{d.isoformat()}'" for d in sorted(days))


def test_changes_cancel_out_after_compaction(lake: dict[str, Any]) -> None:
    """maintain() rewrites the source's files without changing a row: the next build
    rebuilds no key (the changes of the rewritten files cancel out)."""
    lh = lake["lh"]
    before = {t: len(lh.snapshots(t)) for t in KEYED}
    files = set(lh.table("hackernews.items").inspect.files().column("file_path").to_pylist())
    lh.maintain("hackernews.items", expire_older_than="100d", orphan_older_than="100d")
    after = set(lh.table("hackernews.items").inspect.files().column("file_path").to_pylist())
    assert files - after, "maintain() must have rewritten files for this test to mean anything"
    run = run_dbt(lh, ["build"], quiet=True)
    rows = {s.table: s.rows for s in run.stores}
    for table in KEYED:
        assert rows[table] == 0, table
        assert len(lh.snapshots(table)) == before[table], table
    assert _marts(lh) == lake["full"]


def test_keyed_marts_are_partitioned_by_month(lake: dict[str, Any]) -> None:
    """iceberg_partition_by reaches the Iceberg table (this data spans one month; the
    benchmark at 200,000 items shows untouched months' files kept)."""
    lh = lake["lh"]
    for table in PARTITIONED:
        assert [f.name for f in lh.table(table).spec().fields] == ["story_day_month"], table
    assert not lh.table("marts.daily_activity").spec().fields
