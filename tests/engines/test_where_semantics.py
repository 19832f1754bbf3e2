"""Regression tests: `where` strings and pushdown select what DuckDB's SQL selects.

One test per item of issue #13 (5-8) and the where/pushdown part of issue #14 (5). Each
table is spread over several files (one append per value) so pruning matters.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from doctordata.errors import WhereClauseError

ENGINES = ("duckdb", "clickhouse")


def _lake(
    connect: Callable[..., Any], columns: dict[str, pa.Array], *, rows_per_file: int = 1
) -> Any:
    """A lakehouse with table w.t, ``rows_per_file`` rows in each data file."""
    lh = connect("chdb")
    data = pa.table(columns)
    lh.create_namespace("w")
    lh.create_table("w.t", data.schema)
    for i in range(0, data.num_rows, rows_per_file):
        lh.append("w.t", data.slice(i, rows_per_file))
    return lh


def _ids(table: pa.Table) -> list[int]:
    return sorted(table.column("id").to_pylist())


def _sql_ids(lh: Any, where: str, engine: str) -> list[int]:
    return _ids(lh.sql(f"SELECT id FROM w.t WHERE {where}", engine=engine).arrow())


# -- 5. NOT LIKE keeps its NOT --------------------------------------------------------------


@pytest.fixture
def words(connect: Callable[..., Any]) -> Any:
    return _lake(
        connect,
        {
            "id": pa.array([1, 2, 3, 4], pa.int64()),
            "s": pa.array(["apple", "avocado", "banana", None]),
        },
    )


def test_delete_not_like_deletes_the_rows_that_do_not_match(words: Any) -> None:
    words.delete("w.t", "s NOT LIKE 'a%'")
    # banana goes; NULL NOT LIKE 'a%' is NULL, so the NULL row stays.
    assert _ids(words.read("w.t")) == [1, 2, 4]


def test_read_not_like(words: Any) -> None:
    assert _ids(words.read("w.t", where="s NOT LIKE 'a%'")) == [3]
    assert _ids(words.read("w.t", where="NOT (s LIKE 'a%')")) == [3]


@pytest.mark.parametrize("engine", ENGINES)
def test_sql_not_like_prunes_the_right_files(words: Any, engine: str) -> None:
    assert _sql_ids(words, "s NOT LIKE 'a%'", engine) == [3]
    assert _sql_ids(words, "s NOT LIKE 'b%' AND s LIKE '%o%'", engine) == [2]


# -- 6. three-valued logic -------------------------------------------------------------------


@pytest.fixture
def nulls(connect: Callable[..., Any]) -> Any:
    return _lake(
        connect,
        {
            "id": pa.array([1, 2, 3, 4, 5], pa.int64()),
            "n": pa.array([None, 2, 3, None, 9], pa.int64()),
        },
    )


def test_read_not_in_skips_null(nulls: Any) -> None:
    assert _ids(nulls.read("w.t", where="n NOT IN (1, 2)")) == [3, 5]
    # NOT IN with a NULL in the list is never TRUE.
    assert _ids(nulls.read("w.t", where="n NOT IN (1, NULL)")) == []
    assert _ids(nulls.read("w.t", where="NOT (n = 1)")) == [2, 3, 5]


@pytest.mark.parametrize("rows_per_file", [1, 5])
def test_delete_not_over_null_deletes_what_sql_deletes(
    connect: Callable[..., Any], rows_per_file: int
) -> None:
    lh = _lake(
        connect,
        {"id": pa.array([1, 2, 3, 4, 5], pa.int64()), "n": pa.array([None, 2, 3, None, 9])},
        rows_per_file=rows_per_file,  # 5: one file, so delete rewrites it row by row
    )
    # id 4: n > 5 is NULL, id > 2 is TRUE -> NULL -> NOT NULL is NULL: kept.
    # id 1 (n NULL), 2: id > 2 is FALSE -> AND is FALSE -> NOT is TRUE: deleted.
    lh.delete("w.t", "NOT (n > 5 AND id > 2)")
    assert _ids(lh.read("w.t")) == [4, 5]


def test_delete_not_in_keeps_null_rows(nulls: Any) -> None:
    nulls.delete("w.t", "n NOT IN (1, 2)")
    assert _ids(nulls.read("w.t")) == [1, 2, 4]


# -- 7. timestamptz literals in DuckDB's session time zone --------------------------------------

_TZ_SCRIPT = r"""
import json, sys
from datetime import datetime, timezone, timedelta
import duckdb, pyarrow as pa
import doctordata as dd
lh = dd.connect(sys.argv[1], engines={"clickhouse": "chdb://" + sys.argv[1] + "/ch"})
base = datetime(2026, 1, 1, tzinfo=timezone.utc)
data = pa.table({"id": pa.array([1, 2, 3, 4], pa.int64()),
                 "ts": pa.array([base + timedelta(hours=3 * i) for i in range(4)],
                                pa.timestamp("us", tz="UTC"))})
lh.create_namespace("w")
lh.create_table("w.t", data.schema)
for i in range(4):
    lh.append("w.t", data.slice(i, 1))
where = sys.argv[2]
con = duckdb.connect()
con.register("a", data)
con.execute("CREATE TABLE src AS SELECT * FROM a")
out = {
    "zone": con.execute("SELECT current_setting('TimeZone')").fetchone()[0],
    "reference": sorted(r[0] for r in con.execute(f"SELECT id FROM src WHERE {where}").fetchall()),
    "read": sorted(lh.read("w.t", where=where).column("id").to_pylist()),
    "sql": sorted(lh.sql(f"SELECT id FROM w.t WHERE {where}").arrow().column("id").to_pylist()),
}
lh.delete("w.t", where)
out["left_after_delete"] = sorted(lh.read("w.t").column("id").to_pylist())
print(json.dumps(out))
"""


@pytest.mark.parametrize(
    "where",
    [
        "ts >= '2026-01-01 09:00:00'",  # 09:00 in Tokyo = 00:00 UTC: all four rows
        "ts < TIMESTAMP '2026-01-01 12:00:00'",
        "ts BETWEEN '2026-01-01 12:00:00' AND DATE '2026-01-02'",
    ],
)
def test_timestamptz_literals_use_duckdb_session_zone(tmp_path: Path, where: str) -> None:
    env = {**os.environ, "TZ": "Asia/Tokyo"}
    proc = subprocess.run(
        [sys.executable, "-c", _TZ_SCRIPT, str(tmp_path / "lake"), where],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["zone"] == "Asia/Tokyo"
    assert out["reference"], "the case must select something"
    assert out["read"] == out["reference"]
    assert out["sql"] == out["reference"]
    assert out["left_after_delete"] == sorted(set(range(1, 5)) - set(out["reference"]))


# -- 8. float32 literals -----------------------------------------------------------------------


@pytest.fixture
def floats(connect: Callable[..., Any]) -> Any:
    return _lake(
        connect,
        {
            "id": pa.array([1, 2, 3, 4, 5], pa.int64()),
            "f": pa.array([0.1, 0.2, 0.5, None, math.nan], pa.float32()),
            "x": pa.array([0.1, 1.0, 2.0, None, math.nan], pa.float64()),
            "s": pa.array(["a", "b", "c", None, "e"]),
        },
    )


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("f = 0.1", [1]),  # DuckDB casts the decimal literal to FLOAT
        ("f = 1e-1", []),  # a DOUBLE literal widens the column instead
        ("f > 0.1", [2, 3, 5]),  # NaN is above every number
        ("f >= 1e-1", [1, 2, 3, 5]),
        ("f <= 0.2 AND f <> 0.1", [2]),
        ("f IN (0.1, 0.5)", [1, 3]),
    ],
)
def test_float32_literals(floats: Any, where: str, expected: list[int]) -> None:
    assert _ids(floats.read("w.t", where=where)) == expected
    assert _sql_ids(floats, where, "duckdb") == expected


def test_float32_delete(floats: Any) -> None:
    floats.delete("w.t", "f = 0.1")
    assert _ids(floats.read("w.t")) == [2, 3, 4, 5]


# -- issue 14.5: typed errors, and pushdown that cannot fail -----------------------------------


@pytest.mark.parametrize(
    ("where", "names"),
    [
        ("id = 'abc'", ["'abc'", "bigint"]),
        ("f > 'lots'", ["'lots'", "float"]),
        ("s > 5", ["'s'", "quote"]),
        ("s LIKE '%a'", ["LIKE", "prefix%"]),
        ("id = f", ["one column with a literal"]),
        ("(" * 500 + "id > 1" + ")" * 500, ["nests", "flatten"]),
        ("NOT " * 300 + "id > 1", ["nests", "flatten"]),
    ],
)
def test_bad_where_is_a_typed_error(floats: Any, where: str, names: Sequence[str]) -> None:
    lh = floats
    with pytest.raises(WhereClauseError) as err:
        lh.read("w.t", where=where)
    for name in names:
        assert name.lower() in str(err.value).lower()
    with pytest.raises(WhereClauseError):
        lh.delete("w.t", where)
    assert _ids(lh.read("w.t")) == [1, 2, 3, 4, 5]  # nothing lost


def test_long_or_chain_is_fine(floats: Any) -> None:
    where = " OR ".join(f"id = {i}" for i in range(2, 2000))
    assert _ids(floats.read("w.t", where=where)) == [2, 3, 4, 5]


@pytest.mark.parametrize(
    ("where", "expected"),
    [("id > 1.5", [2, 3, 4, 5]), ("id = 2.0", [2]), ("id > 2.0", [3, 4, 5]), ("id < '3'", [1, 2])],
)
def test_int_column_with_decimal_literal_as_duckdb(
    floats: Any, where: str, expected: list[int]
) -> None:
    assert _ids(floats.read("w.t", where=where)) == expected
    for engine in ENGINES:
        assert _sql_ids(floats, where, engine) == expected


def test_sql_nan_literal_does_not_crash_pushdown(floats: Any) -> None:
    assert _sql_ids(floats, "x = 'NaN'", "duckdb") == [5]
    assert _ids(floats.read("w.t", where="x = 'NaN'")) == [5]
    assert _ids(floats.read("w.t", where="x > 1.5")) == [3, 5]


def test_untranslatable_sql_predicate_is_not_pushed(floats: Any) -> None:
    """A predicate pushdown cannot translate prunes nothing and the query still answers."""
    result = floats.sql("SELECT id FROM w.t WHERE id = 2 AND x + 1 > 1.5")
    assert _ids(result.arrow()) == [2]
    assert result.stats.files_skipped == 4  # id = 2 still prunes
