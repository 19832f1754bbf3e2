"""The test services themselves work: real round trips, and wrong credentials are refused."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from tests.services.postgres import PostgresServer
from tests.services.s3 import S3Server

# -- PostgreSQL -------------------------------------------------------------------------


def test_postgres_round_trip(postgres_catalog_url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(postgres_catalog_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE t (id int PRIMARY KEY, name text)"))
            conn.execute(sa.text("INSERT INTO t VALUES (1, 'a'), (2, 'b')"))
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT id, name FROM t ORDER BY id")).fetchall()
        assert [tuple(r) for r in rows] == [(1, "a"), (2, "b")]
    finally:
        engine.dispose()


def test_postgres_catalog_database_is_fresh(
    postgres_catalog_url: str, postgres_url: str, postgres_server: PostgresServer
) -> None:
    import sqlalchemy as sa

    assert postgres_catalog_url != postgres_url
    assert postgres_server.password
    engine = sa.create_engine(postgres_catalog_url)
    try:
        with engine.connect() as conn:
            query = "SELECT count(*) FROM information_schema.tables WHERE table_schema='public'"
            count = conn.execute(sa.text(query)).scalar()
            listen = conn.execute(sa.text("SHOW listen_addresses")).scalar()
        assert count == 0
        assert listen == "127.0.0.1"
    finally:
        engine.dispose()


def test_postgres_wrong_password_refused(postgres_server: PostgresServer) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(postgres_server.url("postgres", password="not-the-password"))
    try:
        with pytest.raises(sa.exc.OperationalError, match="password authentication failed"):
            engine.connect()
    finally:
        engine.dispose()


def test_pyiceberg_sql_catalog_on_postgres(postgres_catalog_url: str, tmp_path: Path) -> None:
    import pyarrow as pa
    from pyiceberg.catalog.sql import SqlCatalog

    catalog = SqlCatalog("t", uri=postgres_catalog_url, warehouse=tmp_path.as_uri())
    catalog.create_namespace("ns")
    data = pa.table({"id": pa.array([1, 2, 3], pa.int64())})
    table = catalog.create_table("ns.t", data.schema)
    table.append(data)
    reread = SqlCatalog("t", uri=postgres_catalog_url, warehouse=tmp_path.as_uri())
    assert reread.load_table("ns.t").scan().to_arrow()["id"].to_pylist() == [1, 2, 3]
    catalog.engine.dispose()
    reread.engine.dispose()


# -- S3 (SeaweedFS) ---------------------------------------------------------------------


def test_s3fs_round_trip(s3_server: S3Server, s3_bucket: str) -> None:
    fs = s3_server.filesystem()
    assert fs.ls(s3_bucket) == []
    fs.pipe(f"{s3_bucket}/dir/hello.txt", b"hello s3")
    assert fs.cat(f"{s3_bucket}/dir/hello.txt") == b"hello s3"
    assert fs.ls(f"{s3_bucket}/dir") == [f"{s3_bucket}/dir/hello.txt"]


def test_s3fs_wrong_secret_refused(s3_server: S3Server, s3_bucket: str) -> None:
    s3_server.filesystem().pipe(f"{s3_bucket}/secret.txt", b"x")
    bad = s3_server.filesystem(secret="wrong-secret")
    with pytest.raises(PermissionError):
        bad.cat(f"{s3_bucket}/secret.txt")
    with pytest.raises(PermissionError):
        bad.pipe(f"{s3_bucket}/intruder.txt", b"x")
    assert not s3_server.filesystem().exists(f"{s3_bucket}/intruder.txt")


@pytest.mark.parametrize("io_impl", ["pyarrow", "fsspec"])
def test_pyiceberg_fileio_round_trip(s3_server: S3Server, s3_bucket: str, io_impl: str) -> None:
    from pyiceberg.io.fsspec import FsspecFileIO
    from pyiceberg.io.pyarrow import PyArrowFileIO

    cls: Any = {"pyarrow": PyArrowFileIO, "fsspec": FsspecFileIO}[io_impl]
    io = cls(s3_server.pyiceberg_properties())
    path = f"s3://{s3_bucket}/io/{io_impl}.bin"
    with io.new_output(path).create(overwrite=True) as out:
        out.write(b"iceberg bytes")
    with io.new_input(path).open() as f:
        assert f.read() == b"iceberg bytes"
    bad = cls(s3_server.pyiceberg_properties(secret="wrong-secret"))
    with pytest.raises(OSError), bad.new_input(path).open() as f:  # PermissionError too
        f.read()


def test_pyiceberg_table_on_s3_warehouse(s3_env: S3Server, s3_bucket: str, tmp_path: Path) -> None:
    import pyarrow as pa
    from pyiceberg.catalog.sql import SqlCatalog

    catalog = SqlCatalog(
        "t",
        uri=f"sqlite:///{tmp_path / 'catalog.db'}",
        warehouse=f"s3://{s3_bucket}/warehouse",
        **s3_env.pyiceberg_properties(),
    )
    catalog.create_namespace("ns")
    data = pa.table({"id": pa.array(range(5), pa.int64())})
    table = catalog.create_table("ns.t", data.schema)
    table.append(data)
    assert sorted(catalog.load_table("ns.t").scan().to_arrow()["id"].to_pylist()) == [0, 1, 2, 3, 4]
    files = s3_env.filesystem().find(f"{s3_bucket}/warehouse")
    assert any(f.endswith(".parquet") for f in files)
    assert any(f.endswith(".metadata.json") for f in files)
    catalog.engine.dispose()


def _httpfs_path() -> Path:
    import duckdb

    spec = importlib.util.find_spec("duckdb_extension_httpfs")
    assert spec is not None and spec.submodule_search_locations, "duckdb-extension-httpfs missing"
    base = Path(next(iter(spec.submodule_search_locations)))
    path = base / "extensions" / f"v{duckdb.__version__}" / "httpfs.duckdb_extension"
    assert path.is_file(), f"no httpfs extension for DuckDB {duckdb.__version__} in {base}"
    return path


def _duckdb_with_httpfs(tmp_path: Path) -> Any:
    import duckdb

    con = duckdb.connect()
    # A private extension directory: the test never touches ~/.duckdb.
    con.execute(f"SET extension_directory = '{tmp_path / 'duckdb_ext'}'")
    con.execute(f"INSTALL '{_httpfs_path()}'")
    con.execute("LOAD httpfs")
    return con


def test_duckdb_httpfs_round_trip(s3_server: S3Server, s3_bucket: str, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    con = _duckdb_with_httpfs(tmp_path)
    con.execute(s3_server.duckdb_secret_sql())
    url = f"s3://{s3_bucket}/duck/range.parquet"
    con.execute(f"COPY (SELECT range AS i FROM range(100)) TO '{url}' (FORMAT parquet)")
    assert con.execute(f"SELECT count(*), sum(i) FROM '{url}'").fetchone() == (100, 4950)
    # Files written by other S3 clients read back identically.
    fs = s3_server.filesystem()
    with fs.open(f"{s3_bucket}/arrow/t.parquet", "wb") as f:
        pq.write_table(pa.table({"x": [1, 2, 3]}), f)
    assert con.execute(f"SELECT sum(x) FROM 's3://{s3_bucket}/arrow/t.parquet'").fetchone() == (6,)
    con.close()


def test_duckdb_httpfs_wrong_secret_refused(
    s3_server: S3Server, s3_bucket: str, tmp_path: Path
) -> None:
    import duckdb

    s3_server.filesystem().pipe(f"{s3_bucket}/x.csv", b"a\n1\n")
    con = _duckdb_with_httpfs(tmp_path)
    con.execute(s3_server.duckdb_secret_sql(secret="wrong-secret"))
    with pytest.raises(duckdb.Error, match="403"):
        con.execute(f"SELECT * FROM 's3://{s3_bucket}/x.csv'").fetchall()
    con.close()


def test_s3_env_reaches_doctordata_tier(s3_env: S3Server, s3_bucket: str) -> None:
    from doctordata.storage.tier import Tier

    tier = Tier(name="s3", url=f"s3://{s3_bucket}/lake", endpoint=s3_env.endpoint)
    tier.fs.pipe(f"{s3_bucket}/lake/probe.txt", b"tier")
    assert s3_env.filesystem().cat(f"{s3_bucket}/lake/probe.txt") == b"tier"


def test_buckets_are_distinct(s3_server: S3Server, s3_bucket: str) -> None:
    other = s3_server.create_bucket()
    assert other != s3_bucket
    assert s3_server.filesystem().ls(other) == []


# -- missing services: skipped on a laptop, a failure in CI ---------------------------


@pytest.mark.parametrize("module", ["tests.services.postgres", "tests.services.s3"])
@pytest.mark.parametrize(
    ("ci", "outcome"), [("true", pytest.fail.Exception), (None, pytest.skip.Exception)]
)
def test_missing_service_fails_in_ci_and_skips_elsewhere(
    module: str, ci: str | None, outcome: type[BaseException], monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    unavailable = importlib.import_module(module)._unavailable
    with pytest.raises(outcome, match="install"):
        unavailable("no server binary; install it")


def test_service_binaries_can_be_pointed_at(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.services.postgres import find_pg_ctl
    from tests.services.s3 import find_weed

    monkeypatch.setenv("DOCTORDATA_TEST_PG_CTL", "/opt/pg/bin/pg_ctl")
    monkeypatch.setenv("DOCTORDATA_TEST_WEED", "/opt/weed")
    assert find_pg_ctl() == "/opt/pg/bin/pg_ctl"
    assert find_weed() == "/opt/weed"
