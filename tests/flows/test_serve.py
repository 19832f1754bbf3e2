"""`doctordata serve` runs the daily flow on its schedule, against a real Prefect server.

The serve process is the real CLI in a child process. Without PREFECT_API_URL it starts
and supervises its own Prefect server (the scheduler service included); a one-minute
cron must then produce a scheduled run that starts and finishes, whose task logs (read
back through the server's REST API) carry the steps' counts, and whose commits are in
the lake. Every wait is on an observable state (a line in a file, the API's flow-run
state), bounded by a deadline; nothing sleeps to let time pass.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

import doctordata as dd
from doctordata.errors import SchedulerError

pytestmark = [pytest.mark.prefect, pytest.mark.ingest, pytest.mark.slow]

ITEMS = 60
# Server start (~20 s here) + up to a minute to the next cron tick + the run itself.
RUN_DEADLINE = 300.0
TERMINAL = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")
ANNOUNCE = re.compile(r"local Prefect server at (http://127\.0\.0\.1:\d+/api) \(pid (\d+),")
T = TypeVar("T")


def wait_for(what: str, probe: Callable[[], T | None], deadline: float, proc: Any) -> T:
    """Poll ``probe`` until it returns a value; fail naming ``what`` past the deadline or
    when the serve process exits."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        value = probe()
        if value is not None:
            return value
        if proc.poll() is not None:
            pytest.fail(f"serve exited with {proc.returncode} while waiting for {what}")
        time.sleep(0.5)  # poll interval, not an assertion on time
    pytest.fail(f"no {what} within {deadline:.0f} s")


@dataclass
class Serving:
    root: Path
    proc: subprocess.Popen[bytes]
    stderr: Path
    api: str
    server_pid: int

    def output(self) -> str:
        return self.stderr.read_text(errors="replace")


def serve_env(child_env: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in child_env.items() if not k.startswith("PREFECT_")}
    env["DOCTORDATA_DEBUG"] = "1"
    return env


@pytest.fixture(scope="module")
def serving(
    tmp_path_factory: pytest.TempPathFactory, child_env: dict[str, str]
) -> Iterator[Serving]:
    from doctordata.ingest.hn_api import start_server
    from doctordata.orchestrate.demo import write_config

    root = tmp_path_factory.mktemp("serve") / "lake"
    root.mkdir()
    write_config(root, ITEMS)  # ssd + nas tiers: the backup goes to the nas
    stderr = root.parent / "serve.err"
    with start_server(ITEMS, seed=5) as hn, open(stderr, "wb") as err:
        cmd = [
            sys.executable,
            "-m",
            "doctordata",
            "--root",
            str(root),
            "serve",
            "--cron",
            "* * * * *",
            "--only",
            "ingest,tier,maintain,backup",  # no dbt: keeps the scheduled run small
            "--base-url",
            hn.url,
        ]
        proc = subprocess.Popen(cmd, env=serve_env(child_env), stdout=err, stderr=err)
        try:
            match = wait_for(
                "announcement of the local Prefect server",
                lambda: ANNOUNCE.search(stderr.read_text(errors="replace")),
                RUN_DEADLINE,
                proc,
            )
            yield Serving(root, proc, stderr, match.group(1), int(match.group(2)))
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=120)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def api_post(api: str, path: str, body: dict[str, Any]) -> Any:
    response = httpx.post(f"{api}{path}", json=body, timeout=30)
    response.raise_for_status()
    return response.json()


@pytest.fixture(scope="module")
def finished_run(serving: Serving) -> dict[str, Any]:
    """The first scheduled flow run, once it reached a terminal state."""

    def terminal_run() -> dict[str, Any] | None:
        runs = api_post(
            serving.api,
            "/flow_runs/filter",
            {"flow_runs": {"state": {"type": {"any_": list(TERMINAL)}}}, "sort": "START_TIME_ASC"},
        )
        return runs[0] if runs else None

    return wait_for("finished scheduled flow run", terminal_run, RUN_DEADLINE, serving.proc)


def test_a_scheduled_run_starts_and_finishes(
    serving: Serving, finished_run: dict[str, Any]
) -> None:
    assert finished_run["state_type"] == "COMPLETED", serving.output()
    assert finished_run["auto_scheduled"] is True  # created by the scheduler service
    assert finished_run["deployment_id"] is not None
    assert finished_run["parameters"]["only"] == ["ingest", "tier", "maintain", "backup"]
    # Its database lives under the lakehouse root.
    assert (serving.root / ".prefect" / "server.db").is_file()


def test_task_logs_reach_the_server_with_the_step_counts(
    serving: Serving, finished_run: dict[str, Any]
) -> None:
    def step_logs() -> dict[str, Any] | None:
        logs = api_post(
            serving.api,
            "/logs/filter",
            {"logs": {"flow_run_id": {"any_": [finished_run["id"]]}}, "sort": "TIMESTAMP_ASC"},
        )
        found = {log["message"]: log for log in logs if log["name"].startswith("doctordata")}
        # Prefect ships logs in batches: the run may be COMPLETED before its last batch.
        return found if any(m.startswith("backup ") for m in found) else None

    ours = wait_for("the backup step's log line on the server", step_logs, 120, serving.proc)
    messages = "\n".join(ours)
    ingest = re.search(r"ingest: (\d+) new items, 0 updated, 0 rejected", messages)
    assert ingest and 0 < int(ingest.group(1)) <= ITEMS, messages
    assert re.search(r"tier: moved \d+ files, \d+ bytes", messages)
    assert re.search(r"maintain: deleted \d+ files, freed \d+ bytes", messages)
    backup = re.search(r"backup (\S+) to \S+: (\d+) files", messages)
    assert backup, messages
    # Logged inside the tasks: each record names its task run.
    assert all(log["task_run_id"] for log in ours.values())

    from doctordata.backup.backup import verify_backup

    with dd.connect(serving.root) as lh:
        count = lh.sql("SELECT count(*) FROM hackernews.items").fetchall()
        assert count == [(int(ingest.group(1)),)]
        assert len(lh.table("hackernews.items").snapshots()) >= 1
        check = verify_backup(lh, backup.group(1), to="nas", progress=False)
        assert check.ok and check.files == int(backup.group(2))


def test_a_second_serve_of_the_same_root_refuses(serving: Serving) -> None:
    from doctordata.orchestrate.server import LocalPrefectServer

    with pytest.raises(
        SchedulerError, match=rf"another `doctordata serve` \(pid {serving.proc.pid}\)"
    ):
        LocalPrefectServer(serving.root / ".prefect").start()


def test_a_killed_server_is_restarted_on_the_same_url(
    serving: Serving, finished_run: dict[str, Any]
) -> None:
    os.kill(serving.server_pid, signal.SIGKILL)
    log = serving.root / ".prefect" / "server.log"
    wait_for(
        "restart of the killed server",
        lambda: log.read_text(errors="replace").count("--- doctordata: starting") >= 2 or None,
        RUN_DEADLINE,
        serving.proc,
    )

    def healthy() -> bool | None:
        try:
            return httpx.get(f"{serving.api}/health", timeout=5).status_code == 200 or None
        except httpx.HTTPError:
            return None

    wait_for("restarted server answering", healthy, RUN_DEADLINE, serving.proc)
    # The old run is still there: same database.
    runs = api_post(serving.api, "/flow_runs/filter", {})
    assert finished_run["id"] in {run["id"] for run in runs}


def test_runs_never_overlap(serving: Serving, finished_run: dict[str, Any]) -> None:
    # A run that outlasts the cron interval must not overlap the next one (both would
    # ingest into the same tables): the deployment has a single slot, and no two runs
    # that started so far ran at the same time.
    [deployment] = api_post(serving.api, "/deployments/filter", {})
    assert deployment["id"] == finished_run["deployment_id"]
    assert deployment["global_concurrency_limit"]["limit"] == 1
    runs = api_post(serving.api, "/flow_runs/filter", {"sort": "START_TIME_ASC"})
    spans = sorted(
        (run["start_time"], run["end_time"] or "9999") for run in runs if run["start_time"]
    )
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert end <= start, spans


def test_stopping_serve_stops_its_server(serving: Serving) -> None:
    serving.proc.send_signal(signal.SIGINT)
    assert serving.proc.wait(timeout=120) == 0, serving.output()
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{serving.api}/health", timeout=5)


def test_serve_refuses_an_unreachable_api_url(tmp_path: Path, child_env: dict[str, str]) -> None:
    from doctordata.orchestrate.server import free_port

    url = f"http://127.0.0.1:{free_port()}/api"
    env = {**serve_env(child_env), "PREFECT_API_URL": url}
    env.pop("DOCTORDATA_DEBUG")
    result = subprocess.run(
        [sys.executable, "-m", "doctordata", "--root", str(tmp_path / "lake"), "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert f"PREFECT_API_URL={url} is not reachable" in result.stderr
    assert "unset PREFECT_API_URL" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cron", "every night"], "schedule.daily_cron = 'every night': a 5-field cron"),
        (["--only", "ingest,nightly"], "unknown daily steps ['nightly']: choose one or more of"),
    ],
)
def test_serve_refuses_bad_arguments_before_starting_anything(
    args: list[str], message: str, tmp_path: Path, child_env: dict[str, str]
) -> None:
    root = tmp_path / "lake"
    result = subprocess.run(
        [sys.executable, "-m", "doctordata", "--root", str(root), "serve", *args],
        env=serve_env(child_env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert message in result.stderr
    assert not (root / ".prefect").exists()  # no server was started
