"""Read-only mode: every attack is refused with a typed error before any engine starts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest

from doctordata.errors import ReadOnlyViolationError, TableNotFoundError

ATTACKS = {
    "two statements": "SELECT 1; SELECT 2",
    "stacked drop": "SELECT * FROM ev.t; DROP TABLE ev.t",
    "create": "CREATE TABLE x AS SELECT 1",
    "insert": "INSERT INTO ev.t VALUES (1)",
    "update": "UPDATE ev.t SET a = 1",
    "delete": "DELETE FROM ev.t",
    "drop": "DROP TABLE ev.t",
    "alter": "ALTER TABLE ev.t ADD COLUMN z INT",
    "copy": "COPY ev.t TO '/tmp/out.csv'",
    "attach": "ATTACH '/tmp/other.duckdb' AS o",
    "detach": "DETACH o",
    "install": "INSTALL httpfs",
    "load": "LOAD httpfs",
    "pragma": "PRAGMA database_list",
    "set": "SET threads = 1",
    "call": "CALL dbgen(sf = 1)",
    "use": "USE ev",
    "select into": "SELECT * INTO t2 FROM ev.t",
    "data-modifying cte": "WITH d AS (DELETE FROM ev.t RETURNING *) SELECT * FROM d",
    "read_csv": "SELECT * FROM read_csv('/etc/passwd')",
    "read_text": "SELECT * FROM read_text('/etc/passwd')",
    "read_blob in subquery": "SELECT (SELECT content FROM read_blob('/etc/shadow'))",
    "file": "SELECT * FROM file('/etc/passwd')",
    "url": "SELECT * FROM url('http://127.0.0.1:1/x', CSV)",
    "glob": "SELECT * FROM glob('/etc/*')",
    "s3 outside tiers": "SELECT * FROM read_parquet('s3://other-bucket/x.parquet')",
    "parquet outside tiers": "SELECT * FROM read_parquet('/etc/x.parquet')",
    "path escaping a tier": "SELECT * FROM read_parquet('{tier}/../../etc/x.parquet')",
    "glob inside tier": "SELECT * FROM read_parquet('{tier}/**/*.parquet')",
    "query()": "SELECT * FROM query('SELECT 1')",
    "getenv": "SELECT getenv('HOME')",
    "iceberg_scan": "SELECT * FROM iceberg_scan('/tmp/x')",
    "describe": "DESCRIBE ev.t",
    "show": "SHOW TABLES",
    "checkpoint": "CHECKPOINT",
    "vacuum": "VACUUM",
}


def _make(root: Any) -> Any:
    import doctordata as dd

    lh = dd.connect(root)
    lh.create_namespace("ev")
    lh.create_table("ev.t", pa.table({"a": pa.array([1, 2], pa.int64())}))
    return lh


@pytest.fixture
def lh_with_table(tmp_path: Any) -> Iterator[Any]:
    lh = _make(tmp_path / "lake")
    yield lh
    lh.close()


@pytest.fixture(scope="module")
def untouched_lh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Shared by the attack tests, none of which may ever start an engine."""
    lh = _make(tmp_path_factory.mktemp("attacks") / "lake")
    yield lh
    lh.close()


@pytest.mark.parametrize("name", list(ATTACKS))
@pytest.mark.parametrize("engine", ["duckdb", "clickhouse"])
def test_attack_refused_before_engine(untouched_lh: Any, name: str, engine: str) -> None:
    lh = untouched_lh
    query = ATTACKS[name].replace("{tier}", lh.hot_tier.root)
    with pytest.raises(ReadOnlyViolationError) as info:
        lh.sql(query, engine=engine)
    message = str(info.value)
    assert len(message) > 30 and ("refuse" in message or "exactly one" in message)
    assert lh._engines == {}, "an engine was started for a refused query"


def test_identifier_with_quotes_and_drop_is_just_a_name(lh_with_table: Any) -> None:
    lh = lh_with_table
    with pytest.raises(TableNotFoundError, match="does not exist"):
        lh.sql('SELECT * FROM ev."t""; DROP TABLE ev.t; --"')
    assert lh.sql("SELECT count(*) FROM ev.t").fetchall() == [(2,)]


def test_semicolon_inside_string_is_one_statement(lh_with_table: Any) -> None:
    res = lh_with_table.sql("SELECT 'a;b' AS s, count(*) FROM ev.t")
    assert res.fetchall() == [("a;b", 2)]


def test_reading_a_file_inside_a_tier_is_allowed(lh_with_table: Any) -> None:
    lh = lh_with_table
    path = lh.table("ev.t").inspect.files().column("file_path")[0].as_py()
    local = path.removeprefix("file://")
    assert lh.sql(f"SELECT count(*) FROM read_parquet('{local}')").fetchall() == [(2,)]


def test_duckdb_sandbox_blocks_files_even_without_router_checks(lh_with_table: Any) -> None:
    """Defence in depth: with the router's checks off, DuckDB itself refuses /etc/passwd."""
    from doctordata.errors import EngineError

    with pytest.raises(EngineError, match=r"disabled by configuration|Permission"):
        lh_with_table.sql("SELECT * FROM read_csv('/etc/passwd')", read_only=False)
    with pytest.raises(EngineError, match="locked"):
        lh_with_table.sql("SET threads = 1", read_only=False)


def test_clickhouse_runs_user_queries_readonly(lh_with_table: Any) -> None:
    from doctordata.errors import EngineError

    with pytest.raises(EngineError, match=r"readonly|READONLY"):
        lh_with_table.engine("clickhouse").execute("CREATE TABLE x (a Int8) ENGINE = Memory")
