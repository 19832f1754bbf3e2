"""dbt-duckdb and dbt-clickhouse over a lakehouse filled by the real HN ingest.

One ``dbt build`` per module (dbt is slow to start); the marts are checked against
independent computations over ``hackernews.items``, not against themselves.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

import doctordata as dd
from doctordata.transform.runner import DbtRun, default_project_dir, run_dbt
from tests.dbt.marts import MARTS

pytestmark = [pytest.mark.dbt, pytest.mark.ingest, pytest.mark.slow]

ITEMS = 1000  # ~2.8 days of generated items: several day partitions to prune
SEED = 5


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, DbtRun]]:
    from doctordata.ingest import hackernews
    from doctordata.ingest.hn_api import start_server

    root = tmp_path_factory.mktemp("dbt") / "lake"
    with dd.connect(root) as lh:
        with start_server(ITEMS, SEED) as server:
            hackernews.run(lh, base_url=server.url, lists=False)
        yield lh, run_dbt(lh, ["build"], quiet=True)


def _live_items(lh: Any) -> list[dict[str, Any]]:
    rows = lh.read("hackernews.items").to_pylist()
    return [r for r in rows if not r["deleted"] and not r["dead"]]


def test_build_passes_every_model_and_test(built: tuple[Any, DbtRun]) -> None:
    _, run = built
    assert run.success and not run.failed
    kinds = {n.resource_type for n in run.nodes}
    assert {"model", "test"} <= kinds
    assert len([n for n in run.nodes if n.resource_type == "test"]) >= 30
    assert {n.status for n in run.nodes} <= {"success", "pass"}


def test_every_mart_is_an_iceberg_table(built: tuple[Any, DbtRun]) -> None:
    lh, run = built
    assert set(lh.tables("marts")) == MARTS
    assert {s.table for s in run.stores} == MARTS
    assert not run.unwritten
    # The source was read from planned Iceberg files, not materialised.
    assert run.scans and all(s.table == "hackernews.items" for s in run.scans)
    assert all(s.files_planned == s.files_total > 0 for s in run.scans)


def test_daily_activity_counts_every_live_item(built: tuple[Any, DbtRun]) -> None:
    lh, _ = built
    live = _live_items(lh)
    per_day: dict[dt.date, int] = {}
    for r in live:
        per_day[r["time"].date()] = per_day.get(r["time"].date(), 0) + 1
    mart = {r["activity_day"]: r["items"] for r in lh.read("marts.daily_activity").to_pylist()}
    assert mart == per_day


def test_top_stories_are_the_highest_scores_of_each_day(built: tuple[Any, DbtRun]) -> None:
    lh, _ = built
    best: dict[dt.date, tuple[int, int]] = {}
    for r in _live_items(lh):
        if r["type"] == "story":
            key = (-(r["score"] or 0), r["id"])
            day = r["time"].date()
            best[day] = min(best.get(day, key), key)
    mart = lh.read("marts.top_stories_per_day").to_pylist()
    top = {r["story_day"]: r["story_id"] for r in mart if r["day_rank"] == 1}
    assert top == {day: key[1] for day, key in best.items()}
    assert max(r["day_rank"] for r in mart) <= 10


def test_comment_threads_match_a_walk_of_the_parent_links(built: tuple[Any, DbtRun]) -> None:
    lh, _ = built
    live = _live_items(lh)
    children: dict[int, list[int]] = {}
    for r in live:
        if r["type"] == "comment":
            children.setdefault(r["parent"], []).append(r["id"])
    expected = {}
    for story in (r for r in live if r["type"] == "story"):
        size, depth, frontier, level = 0, 0, [story["id"]], 0
        while frontier:
            frontier = [c for p in frontier for c in children.get(p, [])]
            level += 1
            if frontier:
                size, depth = size + len(frontier), level
        expected[story["id"]] = (size, depth)
    mart = lh.read("marts.comment_threads").to_pylist()
    assert {r["story_id"]: (r["comments"], r["max_depth"]) for r in mart} == expected
    assert any(depth >= 2 for _, depth in expected.values())


def test_link_domains_match_python_url_parsing(built: tuple[Any, DbtRun]) -> None:
    lh, _ = built
    counts: dict[str, int] = {}
    for r in _live_items(lh):
        if r["type"] in ("story", "job") and r["url"]:
            host = (urlsplit(r["url"]).hostname or "").lower().removeprefix("www.")
            if host:
                counts[host] = counts.get(host, 0) + 1
    mart = {r["domain"]: r["links"] for r in lh.read("marts.link_domains").to_pylist()}
    assert mart == counts


def _project_with(tmp: Path, model_sql: str, failing_test: bool) -> Path:
    project = tmp / "project"
    (project / "models").mkdir(parents=True)
    shutil.copytree(default_project_dir() / "macros", project / "macros")
    (project / "dbt_project.yml").write_text(
        "name: pruning_check\nversion: '1.0'\nconfig-version: 2\nprofile: doctordata\n"
    )
    # The doctordata dbt package, installed by the runner's `dbt deps` from the wheel.
    (project / "packages.yml").write_text(
        "packages:\n  - local: \"{{ env_var('DOCTORDATA_DBT_PACKAGE') }}\"\n"
    )
    (project / "models" / "sources.yml").write_text(
        "version: 2\nsources:\n  - name: hackernews\n    schema: hackernews\n"
        "    tables:\n      - name: items\n"
    )
    (project / "models" / "recent_items.sql").write_text(model_sql)
    if failing_test:
        (project / "tests").mkdir()
        (project / "tests" / "no_items_at_all.sql").write_text(
            "select * from {{ ref('recent_items') }}\n"
        )
    return project


def test_date_filter_plans_only_matching_files(built: tuple[Any, DbtRun], tmp_path: Path) -> None:
    lh, _ = built
    files = lh.table("hackernews.items").inspect.files().to_pylist()
    days = sorted({f["partition"]["time_day"] for f in files})
    assert len(days) >= 3
    cutoff = days[-1]
    where = f"time >= TIMESTAMP '{cutoff.isoformat()} 00:00:00'"
    sql = (
        "{{ config(materialized='table') }}\n"
        f"select id, time from {{{{ doctordata.iceberg_source('hackernews', 'items', "
        f'where="{where}") }}}}\n'
    )
    project = _project_with(tmp_path, sql, failing_test=True)
    run = run_dbt(lh, ["build"], project_dir=project, quiet=True, raise_on_failure=False)

    [scan] = [s for s in run.scans if s.where == where]
    matching = [f for f in files if f["partition"]["time_day"] >= cutoff]
    assert scan.files_planned == len(matching)
    assert scan.files_total == len(files) > scan.files_planned
    assert scan.files_skipped == len(files) - len(matching)
    # The failing test is named, and nothing was written to the catalog.
    assert [n.unique_id for n in run.failed] == ["test.pruning_check.no_items_at_all"]
    assert run.unwritten == [] and run.stores == []


def test_cli_exits_nonzero_naming_the_failed_node(
    built: tuple[Any, DbtRun], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from doctordata.cli import main

    lh, _ = built
    project = _project_with(tmp_path, "select 1 as id\n", failing_test=True)
    with pytest.raises(SystemExit) as exit_info:
        main(["--root", str(lh.root), "dbt", "build", "--project-dir", str(project)])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "test.pruning_check.no_items_at_all (fail)" in err
    assert "Nothing was written to the catalog" in err


def test_rebuild_keys_strategy_explains_its_config(
    built: tuple[Any, DbtRun], tmp_path: Path
) -> None:
    """A model on the rebuild_keys strategy without its `rebuilt_keys` SELECT, or with
    incremental_predicates (which would keep rows of rebuilt keys), fails naming the fix;
    the first (full) build of both passes."""
    lh, _ = built
    head = (
        "{{ config(materialized='incremental', unique_key='id', incremental_strategy='rebuild_keys'"
    )
    body = (
        "select id from {{ source('hackernews', 'items') }}\n"
        "{% if is_incremental() %}where id in (select id from "
        "({{ doctordata.rebuilt_keys() }}) as k){% endif %}\n"
    )
    project = _project_with(tmp_path, head + ") }}\n" + body, failing_test=False)
    keys = "rebuilt_keys=\"select id from {{ doctordata.iceberg_changes('hackernews', 'items') }}\""
    (project / "models" / "with_predicates.sql").write_text(
        f"{head}, {keys}, incremental_predicates=['id > 0']) }}}}\n{body}"
    )
    first = run_dbt(lh, ["build"], project_dir=project, quiet=True)
    assert first.success
    second = run_dbt(lh, ["build"], project_dir=project, quiet=True, raise_on_failure=False)
    messages = {n.unique_id.rsplit(".", 1)[1]: n.message or "" for n in second.failed}
    assert set(messages) == {"recent_items", "with_predicates"}
    assert "needs the config `rebuilt_keys`" in messages["recent_items"]
    assert "drop incremental_predicates" in messages["with_predicates"]


def _normalized(rows: list[dict[str, Any]], key: str) -> list[tuple[Any, ...]]:
    def norm(value: Any) -> Any:
        if isinstance(value, dt.datetime):
            return value.replace(tzinfo=None)
        if isinstance(value, float):
            return round(value, 6)
        return value

    out = [tuple(norm(r[c]) for c in sorted(r)) for r in rows]
    index = sorted(rows[0]).index(key) if rows else 0
    return sorted(out, key=lambda t: (t[index] is None, t[index], repr(t)))


@pytest.mark.clickhouse
@pytest.mark.parametrize(
    "server", ["loopback"] + (["real"] if os.environ.get("DOCTORDATA_TEST_CLICKHOUSE_URL") else [])
)
def test_clickhouse_marts_agree_with_duckdb_marts(
    built: tuple[Any, DbtRun],
    server: str,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`doctordata dbt build --target clickhouse` on the chDB-backed loopback endpoint, and
    on a real server when DOCTORDATA_TEST_CLICKHOUSE_URL is set (it must be able to read
    this machine's files); its marts must equal the dbt-duckdb marts in the catalog."""
    import clickhouse_connect

    from doctordata.cli import main

    fixture = "clickhouse_http_url" if server == "loopback" else "clickhouse_server_url"
    clickhouse_url = str(request.getfixturevalue(fixture))
    lh, _ = built
    monkeypatch.setenv("DOCTORDATA__ENGINES__CLICKHOUSE", clickhouse_url)
    args = ["--root", str(lh.root), "dbt", "build", "--target", "clickhouse"]
    main([*args, "--publish", "hackernews.items", "--quiet"])
    assert "dbt build on clickhouse" in capsys.readouterr().out
    url = urlsplit(clickhouse_url)
    client = clickhouse_connect.get_client(
        host=url.hostname,
        port=url.port or 8123,
        username=url.username or "default",
        password=url.password or "",
        secure=url.scheme == "https",
    )
    keys = {
        "comment_threads": "story_id",
        "daily_activity": "activity_day",
        "link_domains": "domain",
        "top_stories_per_day": "story_id",
        "user_leaderboard": "author",
    }
    for mart, key in keys.items():
        on_clickhouse = client.query_arrow(f"SELECT * FROM marts.{mart}").to_pylist()
        on_duckdb = lh.read(f"marts.{mart}").to_pylist()
        assert on_duckdb, mart
        assert _normalized(on_clickhouse, key) == _normalized(on_duckdb, key), mart
    # A second build must give the same rows: the keyed marts are tables on ClickHouse
    # (iceberg_changes reads the whole source there, so every key is rebuilt anyway).
    main([*args, "--quiet"])
    capsys.readouterr()
    for mart, key in keys.items():
        on_clickhouse = client.query_arrow(f"SELECT * FROM marts.{mart}").to_pylist()
        on_duckdb = lh.read(f"marts.{mart}").to_pylist()
        assert _normalized(on_clickhouse, key) == _normalized(on_duckdb, key), mart
    # A story marked dead: its thread (a key with no row any more) must go on ClickHouse
    # (dbt-clickhouse's keyed strategies keep the old row of a key without new rows) and
    # in the incremental dbt-duckdb build.
    dead = lh.read("marts.comment_threads").column("story_id").to_pylist()[0]
    _mark_dead(lh, dead)
    main([*args, "--publish", "hackernews.items", "--quiet"])
    run_dbt(lh, ["build"], quiet=True)
    capsys.readouterr()
    threads = client.query_arrow("SELECT story_id FROM marts.comment_threads")
    assert dead not in threads.column("story_id").to_pylist()
    assert dead not in lh.read("marts.comment_threads").column("story_id").to_pylist()
    for mart, key in keys.items():
        on_clickhouse = client.query_arrow(f"SELECT * FROM marts.{mart}").to_pylist()
        on_duckdb = lh.read(f"marts.{mart}").to_pylist()
        assert _normalized(on_clickhouse, key) == _normalized(on_duckdb, key), mart


def _mark_dead(lh: Any, item_id: int) -> None:
    import pyarrow as pa

    items = lh.read("hackernews.items", where=f"id = {item_id}")
    rows = [{**row, "dead": True} for row in items.to_pylist()]
    lh.upsert("hackernews.items", pa.Table.from_pylist(rows, schema=items.schema), on=["id"])
