"""Queries have limits: engines.query_timeout and the memory limits, on every engine.

No test depends on timing: each stops a query that never ends (a recursive CTE that
keeps producing rows, a cross join of huge generated ranges) with a small timeout, or
a query that needs far more memory than a small limit, and asserts the typed error, its
message (the limit and the setting to change) and that the same Lakehouse keeps working.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from doctordata.errors import (
    ConfigError,
    InvalidArgumentError,
    QueryMemoryError,
    QueryTimeoutError,
)

# Never ends on DuckDB: one new row per round, forever (ClickHouse stops recursion at
# max_recursive_cte_evaluation_depth, so it gets a generated range instead).
ENDLESS = {
    "duckdb": "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n FROM r) SELECT count(*) FROM r",
    "clickhouse": "SELECT max(sipHash64(number)) FROM numbers(1000000000000000)",
}
# A cross join of generated ranges with ~10^18 rows.
CROSS = {
    "duckdb": "SELECT sum(a.range * b.range) FROM range(1000000000) a, range(1000000000) b",
    "clickhouse": (
        "SELECT sum(a.number * b.number) FROM numbers(1000000000) a "
        "CROSS JOIN numbers(1000000000) b"
    ),
}
# Holds ~400 MB in one aggregate state: far over a 20 MB limit, with nothing to spill.
HUNGRY = {
    "duckdb": "SELECT list(i) FROM range(50000000) t(i)",
    "clickhouse": "SELECT groupArray(number) FROM numbers(50000000)",
}

ENGINE_TARGETS = ["duckdb", "chdb", "clickhouse-http"]
ENGINE_OF = {"duckdb": "duckdb", "chdb": "clickhouse", "clickhouse-http": "clickhouse"}


@pytest.fixture
def connect(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """connect(target, **engines) -> an open Lakehouse with those [engines] settings."""
    import doctordata as dd
    from tests.engines.conftest import clickhouse_url_for

    opened: list[Any] = []

    def _connect(target: str, **engines: Any) -> Any:
        url = clickhouse_url_for(target, request) or str(request.getfixturevalue("chdb_url"))
        lh = dd.connect(tmp_path / "lake", engines={"clickhouse": url, **engines})
        opened.append(lh)
        return lh

    yield _connect
    for lh in opened:
        lh.close()


def _with_table(lh: Any) -> Any:
    lh.create_namespace("ev")
    lh.create_table("ev.t", pa.table({"a": pa.array([1, 2, 3], pa.int64())}))
    return lh


def _still_works(lh: Any, engine: str) -> None:
    assert lh.sql("SELECT count(*) FROM ev.t", engine=engine).fetchall() == [(3,)]


@pytest.mark.parametrize("target", ENGINE_TARGETS)
def test_endless_query_stops_at_the_per_call_timeout(
    connect: Callable[..., Any], target: str
) -> None:
    lh = _with_table(connect(target))
    engine = ENGINE_OF[target]
    with pytest.raises(QueryTimeoutError) as info:
        lh.sql(ENDLESS[engine], engine=engine, timeout=0.5)
    message = str(info.value)
    assert "0.5 s" in message and "engines.query_timeout" in message and "timeout=" in message
    _still_works(lh, engine)


@pytest.mark.parametrize("target", ENGINE_TARGETS)
def test_cross_join_of_ranges_stops_at_the_configured_timeout(
    connect: Callable[..., Any], target: str
) -> None:
    lh = _with_table(connect(target, query_timeout=0.5))
    engine = ENGINE_OF[target]
    with pytest.raises(QueryTimeoutError, match=r"engines\.query_timeout"):
        lh.sql(CROSS[engine], engine=engine)
    _still_works(lh, engine)


@pytest.mark.parametrize("engine", ["duckdb", "clickhouse"])
def test_cached_plan_keeps_the_timeout(connect: Callable[..., Any], engine: str) -> None:
    """The second run comes from the plan cache and must be limited the same way."""
    lh = _with_table(connect("chdb"))
    endless = (
        "SELECT count(*) FROM ev.t, range(1000000000) a, range(1000000000) b"
        if engine == "duckdb"
        else "SELECT count(), max(sipHash64(n.number)) FROM ev.t, numbers(1000000000000) n"
    )
    eng = lh.engine(engine)
    real, seen = eng.execute_result, []  # what the router calls for a user's query

    def execute_result(sql: str, **kw: Any) -> Any:
        seen.append(kw.get("timeout"))
        return real(sql, **kw)

    eng.execute_result = execute_result
    for _ in range(2):
        with pytest.raises(QueryTimeoutError):
            lh.sql(endless, engine=engine, timeout=0.5)
    assert len(lh.plan_cache) == 1 and seen[-2:] == [0.5, 0.5]
    _still_works(lh, engine)


@pytest.mark.parametrize("target", ENGINE_TARGETS)
def test_query_over_the_memory_limit_raises_query_memory_error(
    connect: Callable[..., Any], target: str
) -> None:
    engine = ENGINE_OF[target]
    key = f"{engine}_memory_limit"
    lh = _with_table(connect(target, **{key: "20MB"}))
    with pytest.raises(QueryMemoryError) as info:
        lh.sql(HUNGRY[engine], engine=engine)
    message = str(info.value)
    assert f"engines.{key}" in message and "'20MB'" in message
    _still_works(lh, engine)


def test_limits_accept_byte_counts_and_zero(connect: Callable[..., Any]) -> None:
    lh = connect("chdb", clickhouse_memory_limit=0, duckdb_memory_limit=50_000_000)
    assert lh.engine("clickhouse").limits(timeout=1)["max_memory_usage"] == 0
    duck = lh.engine("duckdb")._con.execute("SELECT current_setting('memory_limit')").fetchone()
    assert duck == ("47.6 MiB",)


def test_defaults_bound_every_query(connect: Callable[..., Any]) -> None:
    from doctordata.config import EnginesConfig, memory_limit_bytes

    cfg = EnginesConfig()
    assert cfg.query_timeout == 300
    assert cfg.duckdb_memory_limit == "25%" and cfg.clickhouse_memory_limit == "25%"
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    quarter = memory_limit_bytes("25%")
    assert quarter == int(ram * 0.25)
    lh = connect("chdb")
    duck = lh.engine("duckdb")._con.execute("SELECT current_setting('memory_limit')").fetchone()
    assert duck is not None and duck[0] != ""
    limits = lh.engine("clickhouse").limits()
    assert limits == {"max_execution_time": 300.0, "max_memory_usage": quarter}
    assert lh.engine("clickhouse").limits(timeout=0) == {
        "max_execution_time": 0.0,
        "max_memory_usage": quarter,
    }


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("query_timeout", -1),
        ("query_timeout", "soon"),
        ("query_timeout", float("inf")),
        ("query_timeout", 1e20),  # past time_t: the timer thread overflowed
        ("duckdb_memory_limit", True),
        ("duckdb_memory_limit", "lots"),
        ("clickhouse_memory_limit", "150%"),
        ("clickhouse_memory_limit", "-5GB"),
    ],
)
def test_bad_limit_settings_are_refused_at_load(tmp_path: Path, key: str, value: Any) -> None:
    import doctordata as dd

    with pytest.raises(ConfigError, match=key):
        dd.connect(tmp_path / "lake", engines={key: value})


@pytest.mark.parametrize("timeout", [-1, "5", True, float("nan"), float("inf"), 1e20])
def test_bad_per_call_timeout_is_refused(connect: Callable[..., Any], timeout: Any) -> None:
    lh = connect("duckdb")
    # A value of the wrong type is refused by the facade's argument check, a bad number
    # by the limit itself: both name the parameter.
    with pytest.raises((ConfigError, InvalidArgumentError), match="timeout"):
        lh.sql("SELECT 1", timeout=timeout)
    assert lh._engines == {}


def test_cli_timeout_and_sandbox(tmp_path: Path) -> None:
    """`doctordata sql --timeout` stops an endless query; --engine clickhouse refuses file()."""
    import doctordata as dd

    root = tmp_path / "lake"
    with dd.connect(root) as lh:
        _with_table(lh)
    secret = tmp_path / "secret.txt"
    secret.write_text("cli-canary-51c2\n")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "doctordata", "--root", str(root), "sql", *args],
            capture_output=True,
            text=True,
            timeout=600,
        )

    stopped = run("--timeout", "0.5", ENDLESS["duckdb"])
    assert stopped.returncode == 1, stopped.stderr
    assert "ran longer than 0.5 s" in stopped.stderr and "--timeout" in stopped.stderr
    refused = run("--engine", "clickhouse", f"SELECT \"file\"('{secret}')")
    assert refused.returncode == 1
    assert "'file'() is refused" in refused.stderr
    assert "cli-canary-51c2" not in refused.stdout + refused.stderr
    bad = run("--timeout", "-1", "SELECT 1")
    assert bad.returncode == 2 and "--timeout" in bad.stderr
