"""`doctordata sql` end to end through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner

from doctordata.cli import cli


@pytest.fixture
def root(tmp_path: Path) -> Path:
    import doctordata as dd

    path = tmp_path / "lake"
    with dd.connect(path) as lh:
        lh.create_namespace("ev")
        lh.create_table(
            "ev.t", pa.table({"a": pa.array([1, 2, 3], pa.int64()), "b": ["x", "y", "z"]})
        )
    return path


def _run(root: Path, *args: str) -> object:
    return CliRunner().invoke(cli, ["--root", str(root), "sql", *args], catch_exceptions=False)


def test_sql_formats(root: Path) -> None:
    res = _run(root, "--format", "json", "SELECT a, b FROM ev.t ORDER BY a")
    assert res.exit_code == 0, res.output  # type: ignore[attr-defined]
    assert json.loads(res.output) == [  # type: ignore[attr-defined]
        {"a": 1, "b": "x"},
        {"a": 2, "b": "y"},
        {"a": 3, "b": "z"},
    ]
    csv = _run(root, "--format", "csv", "SELECT a FROM ev.t WHERE a > 1 ORDER BY a")
    assert csv.output.splitlines() == ['"a"', "2", "3"]  # type: ignore[attr-defined]
    table = _run(root, "SELECT count(*) AS n FROM ev.t")
    assert "3" in table.output and "duckdb" in table.output  # type: ignore[attr-defined]


def test_sql_explain_and_stdin(root: Path) -> None:
    # (count(*) alone is answered from Parquet metadata, with no scan in the plan)
    res = _run(root, "--explain", "SELECT a FROM ev.t WHERE b = 'x'")
    assert res.exit_code == 0 and "READ_PARQUET" in res.output.upper()  # type: ignore[attr-defined]
    piped = CliRunner().invoke(
        cli, ["--root", str(root), "sql", "--format", "json"], input="SELECT max(a) AS m FROM ev.t"
    )
    assert json.loads(piped.output) == [{"m": 3}]


def test_sql_errors_exit_nonzero(root: Path) -> None:
    from doctordata.cli import main

    with pytest.raises(SystemExit) as info:
        main(["--root", str(root), "sql", "DROP TABLE ev.t"])
    assert info.value.code == 1
    with pytest.raises(SystemExit):
        main(["--root", str(root), "sql", "SELECT * FROM ev.nope"])
