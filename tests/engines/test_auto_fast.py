"""engine='auto' decides from the fast reader's metadata (engines/auto.py, issue 16).

A reader that has not opened the catalog holds the fast reader's tables (catalog/reader/
lite.py); auto's choice needs only their current snapshot, so it must not load pyiceberg
for it, and it must make the same choice as a lakehouse that plans with pyiceberg: no
copy, a fresh serving copy, a stale one, time travel.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from tests.test_import_budget import _run

pytestmark = pytest.mark.clickhouse

DATA = pa.table({"k": pa.array([1, 2, 2, None, 3], pa.int64()), "s": ["a", "b", None, "", "c"]})
Q = "SELECT k, count(*) AS n FROM ev.t GROUP BY k"
_AUTO = {"engines__default": "auto", "engines__plan_cache_size": 0}


def _choice(lh: Any, query: str, **kwargs: Any) -> tuple[str, str, list[str]]:
    res = lh.sql(query, **kwargs)
    return res.stats.engine, res.stats.engine_reason, sorted(map(repr, res.fetchall()))


def test_auto_chooses_the_same_from_the_fast_reader_as_from_pyiceberg(
    connect: Callable[..., Any], tmp_path: Path
) -> None:
    root = tmp_path / "lake"
    writer = connect("chdb", root, **_AUTO)
    writer.create_namespace("ev")
    writer.create_table("ev.t", DATA)
    first = writer.snapshots("ev.t")[0]["snapshot_id"]
    assert writer.catalog_opened  # the writer's tables are pyiceberg's

    def same(stage: str, query: str = Q, **kwargs: Any) -> str:
        reader = connect("chdb", root, **_AUTO)
        got = _choice(reader, query, **kwargs)
        assert not reader.catalog_opened, stage  # the fast reader's tables
        assert got == _choice(writer, query, **kwargs), stage
        return got[0]

    assert same("no serving copy") == "duckdb"
    writer.publish("ev.t")
    assert same("fresh copy") == "clickhouse"
    assert same("time travel", as_of=first) == "duckdb"
    assert same("version clause", f"SELECT count(*) FROM ev.t FOR VERSION AS OF {first}") == (
        "duckdb"
    )
    writer.append("ev.t", DATA.slice(0, 2))
    assert same("stale copy") == "duckdb"
    writer.publish("ev.t")
    assert same("refreshed copy") == "clickhouse"


def test_auto_on_duckdb_does_not_load_pyiceberg(tmp_path: Path) -> None:
    import doctordata as dd

    root = tmp_path / "lake"
    with dd.connect(root) as lh:
        lh.create_namespace("ev")
        lh.create_table("ev.t", DATA)
    url = f"chdb://{tmp_path / 'clickhouse'}"  # reachable, without serving copies
    code = (
        "import doctordata as dd\n"
        f"lh = dd.connect({str(root)!r}, engines={{'default': 'auto', 'clickhouse': {url!r}}})\n"
        f"res = lh.sql({Q!r})\n"
        "rows = res.fetchall()\n"
        "print(res.stats.engine, res.stats.engine_reason, len(rows))\n"
    )
    imported, out = _run(code, tmp_path, ("pyiceberg", "sqlalchemy", "pandas"))
    assert out.split()[0] == "duckdb" and "no fresh serving copy" in out, out
    assert out.split()[-1] == "4", out
    assert imported == [], json.dumps(imported)
