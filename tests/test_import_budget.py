"""Start-up budget: what a read-only command or a repeated query imports (never wall time).

Each case runs in a fresh process on a small real lake and lists the heavy modules it
loaded. `tables`, `describe`, `snapshots`, `tiers` read a SQLite catalog with the
standard library; `doctordata sql` of a query planned before (by any process) on
unchanged tables, and a script's `dd.connect(root).sql(q).fetchall()`, run the cached
engine SQL: no parser, no pyiceberg, no SQLAlchemy, no pandas, no chDB.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

import doctordata as dd

HEAVY = (
    "pandas",
    "sqlalchemy",
    "pyiceberg",
    "sqlglot",
    "chdb",
    "polars",
    "dlt",
    "prefect",
    "fsspec",
    "pyparsing",  # pyiceberg's string-filter grammar: lazy (catalog/reader/lazy_modules.py)
    "pydantic",  # valid settings are checked by hand (config.py); pyiceberg's models need it
)
# A script's fetchall() of DuckDB rows reads Python rows from DuckDB (engines/deferred.py).
NO_ARROW = (*HEAVY, "pyarrow", "numpy")
Q = "SELECT kind, count(*) AS n FROM shop.orders GROUP BY 1 ORDER BY 1"

_PROBE = (
    "import json, sys\n"
    "def report():\n"
    "    wanted = set(json.loads(sys.argv[1]))\n"
    "    heavy = sorted({p for m in sys.modules for p in (m, m.split('.')[0]) if p in wanted})\n"
    "    extra = [m for m in ('pyiceberg.io.pyarrow',) if m in sys.modules]\n"
    "    print('IMPORTED ' + json.dumps(heavy + extra), file=sys.stderr)\n"
    "import atexit; atexit.register(report)\n"
)


def _run(code: str, cwd: Path, heavy: tuple[str, ...] = HEAVY) -> tuple[list[str], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCTORDATA")}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE + code, json.dumps(heavy)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    line = [x for x in out.stderr.splitlines() if x.startswith("IMPORTED ")][-1]
    return json.loads(line.removeprefix("IMPORTED ")), out.stdout


def _cli(root: Path, *args: str, heavy: tuple[str, ...] = HEAVY) -> tuple[list[str], str]:
    return _run(
        f"from doctordata.cli import main\nmain({['--root', str(root), *args]!r})\n",
        root.parent,
        heavy,
    )


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("budget") / "lake"
    with dd.connect(root) as lh:
        lh.create_namespace("shop")
        rows = pa.table({"id": pa.array(range(6), pa.int64()), "kind": list("abcabc")})
        lh.create_table("shop.orders", rows, partition_by=["kind"])
    return root


# importlib.abc loads importlib.resources (tempfile, zipfile): catalog/reader/lazy_modules.py
# does without it (a query loads it anyway, through duckdb's importlib.metadata).
READ_ONLY = (*HEAVY, "importlib.resources")


@pytest.mark.parametrize(
    "args",
    [("tables",), ("describe", "shop.orders"), ("snapshots", "shop.orders"), ("tiers",)],
)
def test_read_only_commands_import_nothing_heavy(lake: Path, args: tuple[str, ...]) -> None:
    imported, out = _cli(lake, *args, heavy=READ_ONLY)
    assert imported == [], imported
    assert "orders" in out or "ssd" in out or "main" in out


def test_a_configured_lake_loads_its_settings_without_pydantic(lake: Path) -> None:
    """Tiers, policies and engine settings in doctordata.toml: still no pydantic."""
    root = lake.parent / "configured"
    root.mkdir(exist_ok=True)
    (root / "doctordata.toml").write_text(
        '[tiers.ssd]\nurl = "ssd"\nmin_free = "1GB"\n[tiers.nas]\nurl = "nas"\n'
        '[[policies]]\ntable = "shop.*"\ncolumn = "day"\nolder_than = "30d"\nto = "nas"\n'
        '[engines]\nduckdb_threads = 2\nquery_timeout = 60\nduckdb_memory_limit = "1GB"\n'
    )
    with dd.connect(root) as lh:
        lh.create_namespace("shop")
        lh.create_table("shop.orders", pa.table({"id": pa.array([1], pa.int64())}))
    _cli(root, "sql", Q.replace("kind", "id"))
    for args in (("tiers",), ("sql", Q.replace("kind", "id"))):
        imported, out = _cli(root, *args)
        assert imported == [], (args, imported)
    assert "1 row" in out


def test_a_repeated_query_imports_neither_parser_nor_pyiceberg(lake: Path) -> None:
    first, out1 = _cli(lake, "sql", "--format", "json", Q)
    assert first == ["sqlglot"]  # a new query is parsed and planned (engines/fast_scan.py)
    again, out2 = _cli(lake, "sql", "--format", "json", Q)
    assert again == [], again
    assert (
        json.loads(out2)
        == json.loads(out1)
        == [
            {"kind": "a", "n": 2},
            {"kind": "b", "n": 2},
            {"kind": "c", "n": 2},
        ]
    )


# A new query of a plain or filtered scan is parsed (sqlglot) and planned from the fast
# reader's manifests (engines/fast_scan.py): no pyiceberg and no pydantic, never
# SQLAlchemy (SqlCatalog), the Arrow FileIO (pyiceberg.io.pyarrow) or chDB.
NEW_QUERY_ALLOWED = ["sqlglot"]


@pytest.mark.parametrize("n", [0, 1])
def test_a_new_query_plans_without_sqlalchemy_pandas_or_the_arrow_fileio(
    lake: Path, n: int
) -> None:
    query = f"SELECT kind, count(*) AS n FROM shop.orders WHERE id >= {n} GROUP BY 1 ORDER BY 1"
    imported, out = _cli(lake, "sql", "--format", "json", query)
    assert imported == NEW_QUERY_ALLOWED, imported
    assert json.loads(out)[0] == {"kind": "a", "n": 2 - n}


def test_the_default_preview_imports_no_pandas(lake: Path) -> None:
    """The preview keeps Python rows: Arrow's take would load pyarrow.compute -> pandas."""
    _cli(lake, "sql", Q)
    # A cut preview (head and tail) of DuckDB rows read as Python rows: no pyarrow either.
    imported, out = _cli(lake, "sql", "--max-rows", "2", Q, heavy=NO_ARROW)
    assert imported == [], imported
    lines = out.splitlines()
    assert lines[1].split() == ["a", "2"] and lines[3].split() == ["c", "2"], out
    assert lines[2].split() == ["…", "…"] and "3 rows (2 shown" in lines[4], out


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM shop.orders",
        "SELECT kind FROM shop.orders WHERE kind IN ('a', 'b') AND id BETWEEN 1 AND 4",
        "SELECT o.id FROM shop.orders o JOIN shop.orders p ON o.id = p.id WHERE p.kind = 'c'",
    ],
)
def test_a_new_query_of_a_plain_or_filtered_scan_imports_no_pyiceberg_and_no_pydantic(
    lake: Path, query: str
) -> None:
    imported, out = _cli(lake, "sql", "--format", "json", query)
    assert imported == ["sqlglot"], imported
    assert json.loads(out)


def test_time_travel_plans_without_pyiceberg_and_delete_files_with_it(lake: Path) -> None:
    """A snapshot named by time travel is planned like the current one; a table with delete
    files (outside the fast planner's cases) plans with pyiceberg, which applies them."""
    from tests.lifecycle.deletes import add_position_deletes

    with dd.connect(lake) as lh:
        first = lh.snapshots("shop.orders")[0]["snapshot_id"]
        lh.create_table("shop.mor", pa.table({"id": pa.array(range(4), pa.int64())}))
        target = next(iter(lh.table("shop.mor").scan().plan_files())).file
        add_position_deletes(lh.table("shop.mor"), target, [1])
    query = f"SELECT count(*) AS n FROM shop.orders FOR VERSION AS OF {first}"
    imported, out = _cli(lake, "sql", "--format", "json", query)
    assert imported == ["sqlglot"], imported
    assert json.loads(out) == [{"n": 6}]
    imported, out = _cli(lake, "sql", "--format", "json", "SELECT count(*) AS n FROM shop.mor")
    # pyiceberg plans it and reads it (Arrow FileIO) with the deletes applied; no catalog.
    assert "pyiceberg" in imported and "sqlalchemy" not in imported, imported
    assert json.loads(out) == [{"n": 3}]


def test_a_script_new_query_plans_without_sqlalchemy_pandas_or_the_arrow_fileio(
    lake: Path,
) -> None:
    query = "SELECT count(*) FROM shop.orders WHERE id < 4 AND kind = 'a'"
    code = (
        "import doctordata as dd\n"
        f"res = dd.connect({str(lake)!r}).sql({query!r})\n"
        "print(res.stats.plan_cached, res.stats.scans[0].files_skipped, res.fetchall())\n"
    )
    imported, out = _run(code, lake.parent, NO_ARROW)
    assert imported == NEW_QUERY_ALLOWED, imported
    assert out.strip() == "False 2 [(2,)]"  # ids 0 and 3; two of three partitions pruned


def test_a_repeated_clickhouse_query_loads_chdb_only(lake: Path) -> None:
    _cli(lake, "sql", "--engine", "clickhouse", Q)
    imported, out = _cli(lake, "sql", "--engine", "clickhouse", "--format", "json", Q)
    assert imported == ["chdb"], imported
    assert json.loads(out)[0] == {"kind": "a", "n": 2}


def test_a_script_first_query_on_a_warm_lake(lake: Path) -> None:
    code = (
        "import doctordata as dd\n"
        f"res = dd.connect({str(lake)!r}).sql({Q!r})\n"
        "print(res.stats.plan_cached, res.fetchall())\n"
    )
    _run(code, lake.parent)  # warms the cache whatever ran before
    imported, out = _run(code, lake.parent, NO_ARROW)
    assert imported == [], imported
    assert out.strip() == "True [('a', 2), ('b', 2), ('c', 2)]"


def test_a_commit_makes_the_next_query_plan_again(lake: Path) -> None:
    _cli(lake, "sql", Q)
    with dd.connect(lake) as lh:
        lh.append("shop.orders", pa.table({"id": pa.array([9], pa.int64()), "kind": ["a"]}))
    imported, out = _cli(lake, "sql", "--format", "json", Q)
    assert "sqlglot" in imported  # the cached plan is stale: parsed and planned anew
    assert json.loads(out)[0] == {"kind": "a", "n": 3}
    with dd.connect(lake) as lh:
        lh.delete("shop.orders", "id = 9")


def test_a_script_reading_arrow_still_gets_arrow(lake: Path) -> None:
    """Asking for Arrow (or a DataFrame) converts the same DuckDB result to Arrow."""
    code = (
        "import sys, doctordata as dd\n"
        f"res = dd.connect({str(lake)!r}).sql({Q!r})\n"
        "t = res.arrow()\n"
        "print(type(t).__name__, t.column_names, t.num_rows, res.stats.rows, res.fetchall())\n"
    )
    imported, out = _run(code, lake.parent, NO_ARROW)
    assert "pyarrow" in imported
    assert out.strip() == "Table ['kind', 'n'] 3 3 [('a', 2), ('b', 2), ('c', 2)]"
