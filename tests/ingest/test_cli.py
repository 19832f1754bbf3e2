"""`doctordata ingest hackernews` and `doctordata dev hn-api`."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from doctordata.cli import cli, main
from doctordata.ingest.hn_data import HNDataset

from .conftest import assert_exactly_once

pytestmark = pytest.mark.ingest


def test_ingest_hackernews_command_loads_and_summarises(tmp_path: Path, hn_server: Any) -> None:
    import doctordata as dd

    server = hn_server(items=260, seed=8)
    root = tmp_path / "lake"
    args = ["--root", str(root), "ingest", "hackernews", "--base-url", server.url]
    result = CliRunner().invoke(cli, [*args, "--max-items", "150", "--workers", "3"])
    assert result.exit_code == 0, result.output
    for label in ("items new", "items updated", "items rejected", "rows/s", "ids 1..150"):
        assert label in result.output
    result = CliRunner().invoke(cli, [*args, "--json", "--no-lists"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["start_id"], report["end_id"], report["list_rows"]) == (151, 260, 0)
    with dd.connect(root) as lh:
        assert_exactly_once(lh, server.dataset.ids())


def test_ingest_command_reports_a_wrong_base_url(
    tmp_path: Path, hn_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    server = hn_server(items=5)
    wrong = server.url.replace("/v0/", "/")
    with pytest.raises(SystemExit) as exc:
        main(["--root", str(tmp_path / "lake"), "ingest", "hackernews", "--base-url", wrong])
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert "HTTP 404" in err and "including /v0/" in err


def test_dev_hn_api_serves_until_interrupted() -> None:
    code = "from doctordata.cli import main; main()"
    cmd = [sys.executable, "-c", code, "dev", "hn-api", "--port", "0", "--items", "50"]
    proc = subprocess.Popen([*cmd, "--seed", "3"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = line.split(" at ", 1)[1].split(" ", 1)[0]
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v0/")
        with urllib.request.urlopen(url + "maxitem.json", timeout=10) as resp:
            assert json.loads(resp.read()) == 50
        with urllib.request.urlopen(url + "item/2.json", timeout=10) as resp:
            assert json.loads(resp.read()) == HNDataset(50, seed=3).item(2)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0  # a hang guard; it exits in about a second
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_dev_hn_api_port_in_use(hn_server: Any) -> None:
    busy = hn_server(items=5).port
    result = CliRunner().invoke(cli, ["dev", "hn-api", "--port", str(busy)])
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{busy}" in result.output and "--port" in result.output
