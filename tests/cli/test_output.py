"""`doctordata sql` output: the bounded preview, the streamed formats, --output FILE, and
list commands that print uncut plain columns when piped."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import doctordata as dd
from doctordata.cli import cli
from doctordata.commands.output import Preview

N = 1000
QUERY = "SELECT id, name, score, day FROM t.items ORDER BY id"


def _data() -> pa.Table:
    import datetime as dt

    return pa.table(
        {
            "id": pa.array(range(N), pa.int64()),
            "name": [None if i % 7 == 0 else f'n{i}|"q",x' for i in range(N)],
            "score": [i / 8 for i in range(N)],
            "day": [dt.date(2026, 1, 1) + dt.timedelta(days=i % 300) for i in range(N)],
        }
    )


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "lake"
    with dd.connect(root) as lh:
        lh.create_table("t.items", _data())
        lh.append("t.items", _data().slice(0, 0))
    return root


def _reference() -> pa.Table:
    """DuckDB's answer to QUERY over the same rows (the reference)."""
    items = _data()  # noqa: F841  (DuckDB reads the local by name)
    return duckdb.sql(QUERY.replace("t.items", "items")).arrow().read_all()


def _process(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCTORDATA")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    return subprocess.run(
        [sys.executable, "-m", "doctordata", "--root", str(root), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _invoke(root: Path, *args: str, code: int = 0) -> Any:
    result = CliRunner().invoke(cli, ["--root", str(root), *args])
    assert result.exit_code == code, result.output + repr(result.exception)
    return result


def test_default_output_is_a_bounded_preview_with_a_row_count(root: Path) -> None:
    proc = _process(root, "sql", QUERY)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["id", "name", "score", "day"]
    firsts = [line.split()[0] for line in lines[1:-1]]
    want = [str(i) for i in range(20)] + ["…"] + [str(i) for i in range(N - 20, N)]
    assert firsts == want
    assert lines[-1].startswith(f"{N:,} rows (40 shown")
    assert "NULL" in lines[1]  # id 0 has no name
    # --max-rows: bounded differently, or every row with 0
    out = _invoke(root, "sql", "--max-rows", "3", QUERY).output.splitlines()
    assert [line.split()[0] for line in out[1:-1]] == ["0", "1", "…", str(N - 1)]
    out = _invoke(root, "sql", "--max-rows", "0", QUERY).output.splitlines()
    assert [line.split()[0] for line in out[1:-1]] == [str(i) for i in range(N)]
    assert out[-1].startswith(f"{N:,} rows ·")
    small = _invoke(root, "sql", "SELECT 1 AS x").output.splitlines()
    assert small[:2] == ["x", "1"] and small[2].startswith("1 row ·")


def test_streamed_formats_equal_duckdb(root: Path, tmp_path: Path) -> None:
    ref = _reference()
    ref_rows = ref.to_pylist()

    parquet = tmp_path / "out.parquet"  # format from the extension
    _invoke(root, "sql", "--output", str(parquet), QUERY)
    assert pq.read_table(parquet).equals(ref)
    assert not list(tmp_path.glob(".*partial"))

    text = _invoke(root, "sql", "--format", "csv", QUERY).output
    got = list(csv.DictReader(io.StringIO(text)))
    assert [r["name"] for r in got] == ["" if r["name"] is None else r["name"] for r in ref_rows]
    assert [int(r["id"]) for r in got] == list(range(N))

    expected = [{**r, "day": r["day"].isoformat()} for r in ref_rows]
    lines = _invoke(root, "sql", "--format", "jsonl", QUERY).output.splitlines()
    assert [json.loads(line) for line in lines] == expected
    assert json.loads(_invoke(root, "sql", "--format", "json", QUERY).output) == expected
    out = tmp_path / "out.jsonl"
    _invoke(root, "sql", "-o", str(out), QUERY)
    assert [json.loads(line) for line in out.read_text().splitlines()] == expected

    md = _invoke(root, "sql", "--format", "markdown", QUERY).output.splitlines()
    assert md[:2] == ["| id | name | score | day |", "| --- | --- | --- | --- |"]
    assert len(md) == N + 2
    assert md[3] == '| 1 | n1\\|"q",x | 0.125 | 2026-01-02 |'


def test_bad_output_requests_are_refused_and_write_nothing(root: Path, tmp_path: Path) -> None:
    result = _invoke(root, "sql", "-o", str(tmp_path / "x.txt"), QUERY, code=1)
    assert "--format" in str(result.exception)
    result = _invoke(
        root, "sql", "--format", "table", "-o", str(tmp_path / "x.csv"), "SELECT 1", code=1
    )
    assert "--format" in str(result.exception)
    result = _invoke(root, "sql", "-o", str(tmp_path / "nodir" / "x.csv"), QUERY, code=1)
    assert "nodir" in str(result.exception)
    # a failing query leaves no file behind, not even a partial one
    target = tmp_path / "bad.csv"
    _invoke(root, "sql", "-o", str(target), "SELECT * FROM t.nosuch", code=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lake"]


def test_preview_holds_only_the_rows_it_shows() -> None:
    """A stream of 200 batches of 10,000 rows: the preview keeps copies of 40 rows, not
    the batches they came from (a slice would keep a whole batch alive)."""
    batch_rows, batches = 10_000, 200

    def gen() -> Any:
        for b in range(batches):
            start = b * batch_rows
            yield pa.record_batch([pa.array(range(start, start + batch_rows), pa.int64())], ["v"])

    schema = pa.schema([("v", pa.int64())])
    before = pa.total_allocated_bytes()
    preview = Preview(pa.RecordBatchReader.from_batches(schema, gen()), 40)
    held = pa.total_allocated_bytes() - before
    assert preview.total == batch_rows * batches
    assert [r[0] for r in preview.head] == list(range(20))
    assert [r[0] for r in preview.tail] == list(
        range(batch_rows * batches - 20, batch_rows * batches)
    )
    assert held < batch_rows * 8  # less than one batch


def test_snapshots_piped_print_whole_ids(root: Path) -> None:
    with dd.connect(root) as lh:
        ids = [s["snapshot_id"] for s in lh.snapshots("t.items")]
    proc = _process(root, "snapshots", "t.items")
    assert proc.returncode == 0, proc.stderr
    first_fields = [line.split()[0] for line in proc.stdout.splitlines()[1:]]
    assert first_fields == [str(i) for i in ids]
    assert "…" not in proc.stdout and "┃" not in proc.stdout
