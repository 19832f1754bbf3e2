"""The CLI as a user runs it: a real `doctordata` process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import doctordata as dd
from tests.catalog.data import items


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCTORDATA")}
    return subprocess.run(
        [sys.executable, "-m", "doctordata", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_help_lists_every_command_without_heavy_imports(tmp_path: Path) -> None:
    code = (
        "import sys; from doctordata.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('pyiceberg', 'pyarrow', 'duckdb', 'chdb', 'dlt', 'dbt', 'prefect',"
        " 'sqlglot', 'pydantic') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert "HEAVY []" in out.stdout, out.stdout + out.stderr
    for command in (
        "init",
        "doctor",
        "tables",
        "describe",
        "snapshots",
        "sql",
        "tier",
        "maintain",
        "backup",
        "restore",
        "verify",
        "ingest",
        "dbt",
        "demo",
        "serve",
    ):
        assert command in out.stdout


def test_import_is_light() -> None:
    code = "import sys, doctordata; print(sorted(m for m in ('pyiceberg','pyarrow','duckdb','pydantic') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "[]"


def test_init_tables_describe_snapshots(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    result = run("--root", str(root), "init", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    toml = (root / "doctordata.toml").read_text()
    assert "[tiers.ssd]" in toml and "AWS_SECRET_ACCESS_KEY" in toml
    again = run("--root", str(root), "init", cwd=tmp_path)
    assert again.returncode != 0 and "--force" in again.stderr
    assert (root / "doctordata.toml").read_text() == toml

    with dd.connect(root) as lh:
        lh.create_table("hn.items", items(range(12)), partition_by=["day(time)"])
        lh.append("hn.items", items(range(12, 14)))
    out = run("--root", str(root), "tables", "--json", cwd=tmp_path)
    assert json.loads(out.stdout) == ["hn.items"]
    info = json.loads(
        run("--root", str(root), "describe", "hn.items", "--json", cwd=tmp_path).stdout
    )
    assert info["rows"] == 14 and info["snapshots"] == 2 and info["files"] >= 3
    assert [c["name"] for c in info["schema"]] == ["id", "time", "type", "score"]
    assert info["partition_spec"] == ["day(time)"]
    text = run("--root", str(root), "describe", "hn.items", cwd=tmp_path).stdout
    assert "partitioned by: day(time)" in text and "rows: 14" in text
    snaps = json.loads(
        run("--root", str(root), "snapshots", "hn.items", "--json", cwd=tmp_path).stdout
    )
    assert [s["operation"] for s in snaps] == ["append", "append"]


def test_errors_are_one_clear_line_and_exit_nonzero(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    with dd.connect(root) as lh:
        lh.create_table("hn.items", items(range(1)))
    result = run("--root", str(root), "describe", "hn.itemz", cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "error: table 'hn.itemz' does not exist. Did you mean: hn.items?" in result.stderr
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "doctordata.toml").write_text("[engines\n")
    result = run("tables", cwd=bad)
    assert result.returncode == 1 and "not valid TOML" in result.stderr
