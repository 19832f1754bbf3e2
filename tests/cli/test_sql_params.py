"""`doctordata sql --param`: values bound as literals through lh.sql(params=), compared with
DuckDB binding the same values; an injection attempt stays a literal; bad input is one
error line naming the --param and the fix."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

import doctordata as dd

N = 200


def _data() -> pa.Table:
    return pa.table(
        {
            "id": pa.array(range(N), pa.int64()),
            "name": [f"n{i % 10}" for i in range(N)],
            "score": [i / 4 for i in range(N)],
            "day": [dt.date(2026, 1, 1) + dt.timedelta(days=i % 50) for i in range(N)],
        }
    )


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("params") / "lake"
    with dd.connect(root) as lh:
        lh.create_table("t.items", _data())
    return root


def _sql(root: Path, query: str, *params: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCTORDATA")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    args = [a for p in params for a in ("--param", p)]
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "doctordata",
            "--root",
            str(root),
            "sql",
            "--format",
            "json",
            *args,
            query,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _duckdb(query: str, params: Any) -> list[dict[str, Any]]:
    """DuckDB's rows for ``query`` over the same data, binding ``params`` itself."""
    items = _data()  # noqa: F841  (DuckDB reads the local by name)
    rel = duckdb.execute(query.replace("t.items", "items"), params)
    cols = [d[0] for d in rel.description]
    return [
        {
            c: (v.isoformat() if isinstance(v, dt.date) else v)
            for c, v in zip(cols, row, strict=True)
        }
        for row in rel.fetchall()
    ]


def _rows(proc: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    assert proc.returncode == 0, proc.stderr
    return list(json.loads(proc.stdout))


def test_positional_values_fill_question_marks_in_order(root: Path) -> None:
    query = "SELECT id, name FROM t.items WHERE id > ? AND name = ? AND score < ? ORDER BY id"
    rows = _rows(_sql(root, query, "100", "n3", "45.5"))
    assert rows == _duckdb(query, [100, "n3", 45.5])
    assert rows  # the values selected something: they were bound with their types


def test_named_values_with_types_fill_dollar_names(root: Path) -> None:
    query = "SELECT id, day FROM t.items WHERE day >= $since AND id <= $hi AND $flag ORDER BY id"
    proc = _sql(root, query, "since=date:2026-02-10", "hi=int:150", "flag=true")
    rows = _rows(proc)
    assert rows == _duckdb(query, {"since": dt.date(2026, 2, 10), "hi": 150, "flag": True})
    assert rows and all(r["day"] >= "2026-02-10" for r in rows)


def test_an_injection_attempt_stays_one_literal(root: Path) -> None:
    query = "SELECT count(*) AS n FROM t.items WHERE name = ?"
    attack = "n1' OR '1'='1"
    assert _rows(_sql(root, query, attack)) == [{"n": 0}]
    attack = "x'; DROP TABLE t.items; --"
    assert _rows(_sql(root, query, attack)) == [{"n": 0}]
    # the text itself round-trips as a value
    assert _rows(_sql(root, "SELECT ? AS v", attack)) == [{"v": attack}]
    with dd.connect(root) as lh:
        assert lh.sql("SELECT count(*) FROM t.items").fetchall() == [(N,)]


@pytest.mark.parametrize(
    ("query", "params", "says"),
    [
        ("SELECT ? AS a, $b AS b", ("1", "b=2"), "use VALUE for ?/$1 or NAME=VALUE"),
        ("SELECT ? AS a", ("int:abc",), "'abc' is not a int"),
        ("SELECT ? AS a", ('"open',), "starts like a JSON string"),
        ("SELECT $a AS a", ("a=1", "a=2"), "$a is given twice"),
        ("SELECT ? AS a, ? AS b", ("1",), "placeholder number 2 has no value"),
        ("SELECT 1 AS a", ("7",), "params given but not used"),
    ],
)
def test_bad_params_are_one_error_line(
    root: Path, query: str, params: tuple[str, ...], says: str
) -> None:
    proc = _sql(root, query, *params)
    assert proc.returncode != 0
    assert says in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
