"""dbt as its users run it day to day: selected builds after new appends and after
maintain(), incremental marts, lineage and --as-of, plain `dbt` with your own profile.

Real dbt over a lakehouse filled by the real HN ingest; every expectation is computed
independently from ``hackernews.items``. One lakehouse per module, built up in order.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import doctordata as dd
from doctordata.transform.runner import DbtRun, run_dbt

pytestmark = [pytest.mark.dbt, pytest.mark.ingest, pytest.mark.slow]

SEED = 11
FIRST, SECOND = 1500, 1600  # items before and after the new append (~4 days, +1)


def _ingest(lh: Any, items: int) -> None:
    from doctordata.ingest import hackernews
    from doctordata.ingest.hn_api import start_server

    with start_server(items, SEED) as server:
        hackernews.run(lh, base_url=server.url, lists=False)


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    root = tmp_path_factory.mktemp("fresh") / "lake"
    with dd.connect(root) as lh:
        _ingest(lh, FIRST)
        run_dbt(lh, ["build"], quiet=True)
        lh.tag("hackernews.items", "first")
        _ingest(lh, SECOND)
        yield lh


@pytest.fixture(scope="module")
def selected(lake: Any) -> DbtRun:
    """What dbt users do daily: build only some marts (the staging views are reused)."""
    marts = ["daily_activity", "user_leaderboard", "story_feed"]
    return run_dbt(lake, ["build", "--select", *marts], quiet=True)


def _live(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if not r["deleted"] and not r["dead"]]


def _leaderboard_expected(items: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    out: dict[str, list[int]] = {}
    for r in _live(items):
        if r["by"] is None:
            continue
        counts = out.setdefault(r["by"], [0, 0])
        counts[0] += r["type"] == "story"
        counts[1] += r["type"] == "comment"
    return {a: (s, c) for a, (s, c) in out.items()}


def _leaderboard(lh: Any) -> dict[str, tuple[int, int]]:
    rows = lh.read("marts.user_leaderboard").to_pylist()
    return {r["author"]: (r["stories"], r["comments"]) for r in rows}


def test_selected_build_reads_the_new_rows(lake: Any, selected: DbtRun) -> None:
    items = lake.read("hackernews.items").to_pylist()
    assert len(items) > len(lake.read("hackernews.items", as_of="first"))
    # user_leaderboard reads the staging views built by the first invocation.
    assert _leaderboard(lake) == _leaderboard_expected(items)
    daily = lake.read("marts.daily_activity").to_pylist()
    assert sum(r["items"] for r in daily) == len(_live(items))
    current = lake.table("hackernews.items").metadata.current_snapshot_id
    assert {s.snapshot_id for s in selected.scans} == {current}


def test_incremental_run_writes_only_the_rebuilt_days(lake: Any, selected: DbtRun) -> None:
    [store] = [s for s in selected.stores if s.table == "marts.daily_activity"]
    assert store.mode == "upserted"
    snaps = [s for s in lake.snapshots("marts.daily_activity") if s["snapshot_id"]]
    last = snaps[-1]["summary"]
    days = len(lake.read("marts.daily_activity"))
    # The run rebuilt the newest day already built and the days after it, not the mart.
    assert int(last["added-records"]) == store.rows < days
    assert last["doctordata.dbt.mode"] == "upsert"
    # The days before the newest built one were not rewritten.
    assert int(last["total-records"]) == days


def test_append_model_appends_only_the_new_stories(lake: Any, selected: DbtRun) -> None:
    first = lake.read("hackernews.items", as_of="first").to_pylist()
    newest = max(r["id"] for r in _live(first) if r["type"] == "story")
    stories = [r for r in _live(lake.read("hackernews.items").to_pylist()) if r["type"] == "story"]
    new = [r for r in stories if r["id"] > newest]
    assert new
    [store] = [s for s in selected.stores if s.table == "marts.story_feed"]
    assert (store.mode, store.rows) == ("appended", len(new))
    last = lake.snapshots("marts.story_feed")[-1]
    assert last["operation"] == "append" and int(last["summary"]["added-records"]) == len(new)
    feed = lake.read("marts.story_feed").column("story_id").to_pylist()
    assert sorted(feed) == sorted(r["id"] for r in stories)


def test_marts_record_their_lineage(lake: Any, selected: DbtRun) -> None:
    current = lake.table("hackernews.items").metadata.current_snapshot_id
    for name in ("marts.daily_activity", "marts.user_leaderboard"):
        summary = lake.table(name).metadata.current_snapshot().summary.additional_properties
        assert json.loads(summary["doctordata.dbt.sources"]) == {"hackernews.items": current}
        invocation = summary["doctordata.dbt.invocation-id"]
        assert len(invocation) == 36 and invocation.count("-") == 4


def test_as_of_rebuilds_from_the_tagged_sources_and_describe_shows_it(
    lake: Any, selected: DbtRun, capsys: pytest.CaptureFixture[str]
) -> None:
    from doctordata.cli import main

    root = str(lake.root)
    main(["--root", root, "dbt", "build", "--select", "user_leaderboard", "--as-of", "first"])
    capsys.readouterr()
    then = lake.read("hackernews.items", as_of="first").to_pylist()
    assert (
        max(r["id"] for r in then)
        <= FIRST
        < max(r["id"] for r in lake.read("hackernews.items").to_pylist())
    )
    assert _leaderboard(lake) == _leaderboard_expected(then)
    main(["--root", root, "describe", "marts.user_leaderboard", "--json"])
    lineage = json.loads(capsys.readouterr().out)["lineage"]
    tagged = lake.table("hackernews.items").metadata.refs["first"].snapshot_id
    assert lineage["sources"] == {"hackernews.items": tagged}
    assert lineage["as_of"] == "first" and lineage["mode"] == "replace"
    main(["--root", root, "describe", "marts.user_leaderboard"])
    assert f"hackernews.items@{tagged} as of first" in capsys.readouterr().out


def test_selected_build_after_maintain_deleted_the_old_files(lake: Any, selected: DbtRun) -> None:
    before = {
        f for f in lake.table("hackernews.items").inspect.files().column("file_path").to_pylist()
    }
    # Drop the tag so expiry may delete the files only old snapshots reference.
    lake.table("hackernews.items").manage_snapshots().remove_tag("first").commit()
    lake.maintain("hackernews.items", expire_older_than="0s", orphan_older_than="0s")
    after = set(lake.table("hackernews.items").inspect.files().column("file_path").to_pylist())
    gone = [p for p in before - after if not os.path.exists(p.removeprefix("file://"))]
    assert gone, "maintain() must have deleted compacted files for this test to mean anything"
    run_dbt(lake, ["build", "--select", "user_leaderboard"], quiet=True)
    assert _leaderboard(lake) == _leaderboard_expected(lake.read("hackernews.items").to_pylist())


def test_plain_dbt_with_your_own_profile_commits_to_iceberg(lake: Any, tmp_path: Path) -> None:
    """`dbt deps && dbt build` in a new project that installs the doctordata package from
    the wheel's path and names the lakehouse root in a hand-written profiles.yml."""
    package = subprocess.run(
        [sys.executable, "-m", "doctordata.transform", "package-path"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    project = tmp_path / "mine"
    (project / "models").mkdir(parents=True)
    (project / "macros").mkdir()
    (project / "dbt_project.yml").write_text(
        "name: mine\nversion: '1.0'\nconfig-version: 2\nprofile: mine\n"
        "models:\n  mine:\n    +materialized: table\n"
        '    +post-hook: "{{ doctordata.store() }}"\n'
    )
    (project / "packages.yml").write_text(f"packages:\n  - local: {json.dumps(package)}\n")
    (project / "macros" / "source.sql").write_text(
        "{% macro source(s, t) %}{{ return(doctordata.iceberg_source(s, t)) }}{% endmacro %}\n"
    )
    (project / "models" / "sources.yml").write_text(
        "version: 2\nsources:\n  - name: hackernews\n    schema: hackernews\n"
        "    tables:\n      - name: items\n"
    )
    (project / "models" / "item_types.sql").write_text(
        "select type, count(*) as n from {{ source('hackernews', 'items') }} group by type\n"
    )
    plugin = {"module": "doctordata.transform.plugin", "alias": "doctordata"}
    plugin["config"] = {"root": str(lake.root)}  # type: ignore[assignment]
    output = {"type": "duckdb", "path": str(tmp_path / "work.duckdb"), "plugins": [plugin]}
    profiles = {"mine": {"target": "dev", "outputs": {"dev": output}}}
    (project / "profiles.yml").write_text(json.dumps(profiles))
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    dbt = [sys.executable, "-c", "from dbt.cli.main import cli; cli()"]
    where = ["--project-dir", str(project), "--profiles-dir", str(project)]
    subprocess.run([*dbt, "deps", *where], env=env, check=True, capture_output=True)
    built = subprocess.run([*dbt, "build", *where], env=env, capture_output=True, text=True)
    assert built.returncode == 0, built.stdout[-3000:]
    assert "NOT written to Iceberg" not in built.stderr
    with dd.connect(lake.root) as fresh:
        assert "marts.item_types" in fresh.tables("marts"), built.stdout[-3000:]
        got = {r["type"]: r["n"] for r in fresh.read("marts.item_types").to_pylist()}
    expected: dict[str, int] = {}
    for r in lake.read("hackernews.items").to_pylist():
        expected[r["type"]] = expected.get(r["type"], 0) + 1
    assert got == expected
