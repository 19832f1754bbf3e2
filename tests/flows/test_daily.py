"""The daily flow end to end under Prefect's test harness, through the demo entry point:
real HN-API server on loopback, dlt ingest, dbt build, tier move, maintenance, backup."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import doctordata as dd
from doctordata.errors import MissingDependencyError, TransformError
from doctordata.orchestrate.demo import DemoReport, run_demo
from tests.dbt.marts import MARTS

pytestmark = [pytest.mark.prefect, pytest.mark.dbt, pytest.mark.ingest, pytest.mark.slow]

ITEMS = 600  # ~1.7 days: the policy moves the oldest day partition to the NAS tier
SEED = 11


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    from doctordata.orchestrate.environment import prepare_prefect

    prepare_prefect(tmp_path_factory.mktemp("prefect-home"))
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture(scope="module")
def step_logs() -> Iterator[list[str]]:
    """What the steps logged through the ``doctordata`` loggers during ``two_runs``."""
    handler = Records()
    logger = logging.getLogger("doctordata")
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)


@pytest.fixture(scope="module")
def two_runs(
    harness: None, step_logs: list[str], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, DemoReport, DemoReport]:
    root = tmp_path_factory.mktemp("demo") / "demo"
    first = run_demo(root, items=ITEMS, seed=SEED, use_prefect=True)
    second = run_demo(root, items=ITEMS, seed=SEED, use_prefect=True)
    return root, first, second


def test_steps_log_what_they_did(
    two_runs: tuple[Path, DemoReport, DemoReport], step_logs: list[str]
) -> None:
    _, first, second = two_runs
    logged = "\n".join(step_logs)
    assert f"ingest: {first.summary['ingest']['items_new']} new items" in logged
    for mart in MARTS:
        model = mart.split(".", 1)[1]
        assert re.search(rf"dbt model\.doctordata_hn\.{model}: success in \d", logged), model
    assert f"tier: moved {first.summary['tier']['moved_files']} files" in logged
    assert re.search(r"maintain: deleted \d+ files, freed \d+ bytes", logged)
    for report in (first, second):
        assert f"backup {report.summary['backup']['backup_id']} to " in logged


def test_every_mart_exists_and_dbt_tests_passed(two_runs: tuple[Path, DemoReport, Any]) -> None:
    root, first, _ = two_runs
    transform = first.summary["transform"]
    assert transform["failed"] == [] and transform["nodes"] >= 40
    assert set(transform["marts_written"]) == MARTS
    with dd.connect(root) as lh:
        assert set(lh.tables()) >= MARTS
        for mart in MARTS:
            assert lh.read(mart).num_rows > 0, mart


def test_oldest_partitions_moved_to_the_nas(two_runs: tuple[Path, DemoReport, Any]) -> None:
    root, first, _ = two_runs
    assert first.summary["tier"]["moved_files"] > 0
    with dd.connect(root) as lh:
        files = lh.table("hackernews.items").inspect.files().to_pylist()
        nas, ssd = lh.tiers["nas"], lh.tiers["ssd"]
        on_nas = [f["partition"]["time_day"] for f in files if nas.contains(f["file_path"])]
        on_ssd = [f["partition"]["time_day"] for f in files if ssd.contains(f["file_path"])]
        assert on_nas and on_ssd and len(on_nas) + len(on_ssd) == len(files)
        assert max(on_nas) < min(on_ssd)  # oldest days on the NAS, newest on the SSD
    assert first.tiers["nas"][0] == len(on_nas)


def test_backup_verifies(two_runs: tuple[Path, DemoReport, Any]) -> None:
    from doctordata.backup.backup import verify_backup

    root, first, second = two_runs
    for report in (first, second):
        backup = report.summary["backup"]
        assert backup["verified_files"] > 0
    with dd.connect(root) as lh:
        check = verify_backup(lh, second.summary["backup"]["backup_id"], to="nas", progress=False)
    assert check.ok and check.files == second.summary["backup"]["verified_files"]


def test_second_run_changes_nothing(two_runs: tuple[Path, DemoReport, DemoReport]) -> None:
    root, first, second = two_runs
    assert second.summary["ingest"]["items_new"] == 0
    assert second.tables == first.tables  # same rows (fingerprints) in every table
    with dd.connect(root) as lh:
        dup = lh.sql("SELECT count(*) - count(DISTINCT id) FROM hackernews.items").fetchall()
        assert dup == [(0,)]
        days = lh.read("marts.daily_activity").column("activity_day").to_pylist()
        assert len(days) == len(set(days))


def test_report_runs_the_same_query_on_both_engines(two_runs: tuple[Path, DemoReport, Any]) -> None:
    _, first, _ = two_runs
    (e1, _, rows1), (e2, _, rows2) = first.engines
    assert (e1, e2) == ("duckdb", "clickhouse")
    assert rows1 == rows2 and rows1
    assert first.top_stories and all(score is not None for _, score, _ in first.top_stories)


def test_failing_dbt_test_fails_the_flow_naming_the_node_and_keeps_ingest(
    two_runs: tuple[Path, DemoReport, Any],
) -> None:
    from doctordata.ingest.hn_api import start_server
    from doctordata.orchestrate.daily import run_daily

    root, first, _ = two_runs
    with dd.connect(root) as lh:
        top_before = lh.read("marts.top_stories_per_day").num_rows
    # 11 stories per day break the accepted_values test on day_rank (1..10).
    with start_server(ITEMS + 60, SEED) as server, pytest.raises(TransformError) as info:
        run_daily(
            root,
            base_url=server.url,
            # Only the mart and its tests: enough to fail, and quicker than a full build.
            dbt_args=["build", "--select", "top_stories_per_day", "--vars", "{top_n: 11}"],
            use_prefect=True,
        )
    assert any(
        node.startswith("test.doctordata_hn.accepted_values_top_stories_per_day_day_rank")
        for node in info.value.failed_nodes
    )
    assert "accepted_values_top_stories_per_day_day_rank" in str(info.value)
    with dd.connect(root) as lh:
        ids = lh.sql("SELECT max(id) FROM hackernews.items").fetchall()[0][0]
        assert ids > first.summary["ingest"]["end_id"]  # the ingest step committed
        assert lh.read("marts.top_stories_per_day").num_rows == top_before  # mart untouched


def test_daily_refuses_prefect_when_it_is_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from doctordata.orchestrate.daily import run_daily

    monkeypatch.setitem(sys.modules, "prefect", None)  # import prefect -> ImportError
    with pytest.raises(MissingDependencyError, match=r"pip install 'doctordata\[prefect\]'"):
        run_daily(tmp_path / "lake", use_prefect=True)


def test_demo_report_renders_tables_tiers_and_engine_agreement(
    two_runs: tuple[Path, DemoReport, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    from doctordata.orchestrate.demo import render

    _, first, _ = two_runs
    render(first)
    out = capsys.readouterr().out
    for name, _rows, digest in first.tables:
        assert name in out and digest in out
    assert "nas" in out and "ssd" in out
    assert "engines agree" in out and "DISAGREE" not in out


def test_serve_schedules_daily_on_the_configured_cron(tmp_path: Path) -> None:
    from doctordata.orchestrate.daily import daily_deployment

    root = tmp_path / "lake"
    root.mkdir()
    (root / "doctordata.toml").write_text('[schedule]\ndaily_cron = "15 4 * * *"\n')
    deployment = daily_deployment(root)
    assert deployment.name == "doctordata-daily"
    assert deployment.parameters == {"root": str(root.resolve())}
    [schedule] = deployment.schedules
    assert schedule.schedule.cron == "15 4 * * *"
    assert daily_deployment(root, cron="0 1 * * *").schedules[0].schedule.cron == "0 1 * * *"
