"""Config resolution and validation, identifiers, and failures that must lose nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

import doctordata as dd
from doctordata.config import load_settings, mask_url
from doctordata.errors import (
    CatalogAuthError,
    ConfigError,
    IdentifierError,
    StorageError,
)
from tests.catalog.data import items


def test_root_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().root == tmp_path / "lakehouse"
    (tmp_path / "doctordata.toml").write_text('[engines]\ndefault = "clickhouse"\n')
    assert load_settings().root == tmp_path
    assert load_settings().engines.default == "clickhouse"
    (tmp_path / "doctordata.toml").write_text('root = "elsewhere"\n')
    assert load_settings().root == tmp_path / "elsewhere"
    monkeypatch.setenv("DOCTORDATA_ROOT", str(tmp_path / "env"))
    assert load_settings().root == tmp_path / "env"
    assert load_settings(tmp_path / "arg").root == tmp_path / "arg"


def test_precedence_file_env_args(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "lake"
    root.mkdir()
    (root / "doctordata.toml").write_text(
        '[engines]\ndefault = "clickhouse"\nduckdb_threads = 2\n'
        '[tiers.ssd]\nurl = "hot"\n[tiers.nas]\nurl = "file:///mnt/nas/lake"\n'
        '[[policies]]\ntable = "hackernews.*"\ncolumn = "time"\nolder_than = "90d"\nto = "nas"\n'
    )
    settings = load_settings(root)
    assert settings.engines.default == "clickhouse"
    assert list(settings.tiers) == ["ssd", "nas"] and settings.hot_tier == "ssd"
    assert settings.tiers["ssd"].url == (root / "hot").as_uri()
    assert settings.catalog_uri == f"sqlite:///{root / 'catalog.db'}"
    assert settings.clickhouse_url == f"chdb://{root / 'clickhouse'}"
    monkeypatch.setenv("DOCTORDATA__ENGINES__DUCKDB_THREADS", "3")
    monkeypatch.setenv("DOCTORDATA__ENGINES__DEFAULT", "auto")
    assert load_settings(root).engines.duckdb_threads == 3
    settings = load_settings(root, engines__default="duckdb")
    assert settings.engines.default == "duckdb" and settings.engines.duckdb_threads == 3
    settings = load_settings(root, engines={"duckdb_threads": 1})
    assert settings.engines.duckdb_threads == 1 and settings.engines.default == "auto"


@pytest.mark.parametrize(
    "toml, message",
    [
        (
            '[engines]\ndefault = "spark"\n',
            r"engines\.default = 'spark'.*'duckdb', 'clickhouse' or 'auto'",
        ),
        ("[engines]\nduckdb_threads = 0\n", r"engines\.duckdb_threads = 0"),
        ("[enginez]\ndefault = 1\n", "unknown key 'enginez'"),
        ('[tiers.nas]\nurl = "ftp://x/y"\n', r"tiers\.nas\.url.*unsupported scheme 'ftp'"),
        ('[[policies]]\nolder_than = "90 days"\nto = "ssd"\n', r"policies\.0\.older_than.*'90d'"),
        ('[[policies]]\nolder_than = "9d"\nto = "tape"\n', "no such tier; configured tiers: ssd"),
        ('[tiers.s3]\nurl = "s3://b/p"\noptions = { secret = "x" }\n', "from the environment only"),
        ("[engines\n", "not valid TOML"),
    ],
)
def test_bad_config_names_key_value_and_allowed(tmp_path: Path, toml: str, message: str) -> None:
    (tmp_path / "doctordata.toml").write_text(toml)
    with pytest.raises(ConfigError, match=message):
        dd.connect()
    assert not (tmp_path / "catalog.db").exists()


def test_bad_env_override_names_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCTORDATA__ENGINES__DUCKDB_THREADS", "many")
    with pytest.raises(ConfigError, match=r"engines\.duckdb_threads = 'many' \(from environment\)"):
        load_settings()


def test_secrets_are_masked_everywhere(tmp_path: Path) -> None:
    url = "postgresql+psycopg2://me:hunter2@127.0.0.1:5/db"
    assert mask_url(url) == "postgresql+psycopg2://me:***@127.0.0.1:5/db"
    settings = load_settings(tmp_path, catalog__uri=url)
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings)
    with pytest.raises(ConfigError) as err:
        load_settings(tmp_path, catalog__uri=url, catalog__commit_retries=-1)
    assert "hunter2" not in str(err.value)


@pytest.mark.postgres
def test_postgres_wrong_password_is_clear_and_secret(
    postgres_server: object, tmp_path: Path
) -> None:
    url = postgres_server.url("postgres", password="wr0ng-pw-123")  # type: ignore[attr-defined]
    lh = dd.connect(tmp_path / "lake", catalog={"uri": url})
    with pytest.raises(CatalogAuthError) as err:
        lh.tables()
    text = str(err.value)
    assert "wr0ng-pw-123" not in text and "refused the credentials" in text and "***" in text


def test_unsupported_catalog_database(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unsupported database"):
        dd.connect(tmp_path / "lake", catalog={"uri": "mysql://u@h/db"})


BAD_NAMES = [
    "../x.t",
    "ns.../t",
    "a/b.t",
    "ns.a/b",
    "ns.",
    ".t",
    "ns.t\x00",
    "x" * 200 + ".t",
    "ns.t.u",
    "ns",
    "ns.t-1",
    "ns.1t",
    "ns. t",
]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_identifiers_refused_before_any_write(lh: dd.Lakehouse, name: str) -> None:
    assert lh.tables() == []  # opens the catalog database
    before = sorted(p.name for p in lh.root.rglob("*"))
    with pytest.raises(IdentifierError, match="letters, digits and '_'"):
        lh.create_table(name, items(range(1)))
    assert sorted(p.name for p in lh.root.rglob("*")) == before
    assert not (lh.root.parent / "x").exists()


@pytest.mark.parametrize("name", ["../escape", "", "a/b", "n\x00s"])
def test_bad_namespace_refused(lh: dd.Lakehouse, name: str) -> None:
    with pytest.raises(IdentifierError):
        lh.create_namespace(name)
    assert lh.namespaces() == []


def test_unwritable_root(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StorageError, match="cannot create the lakehouse root"):
        dd.connect(blocker / "lake")
    assert blocker.read_text() == "not a directory"


def test_durable_fileio_is_used_and_files_complete(lh: dd.Lakehouse) -> None:
    from doctordata.catalog.fileio import DurableFileIO

    table = lh.create_table("raw.t", items(range(5)))
    assert isinstance(table.io, DurableFileIO)
    metadata = Path(table.metadata_location.removeprefix("file://"))
    assert metadata.stat().st_size > 0
    import pyarrow.parquet as pq

    for task in table.scan().plan_files():
        assert pq.ParquetFile(task.file.file_path.removeprefix("file://")).metadata.num_rows == 5


def test_sqlite_catalog_runs_in_wal_mode(lh: dd.Lakehouse) -> None:
    lh.create_table("raw.t", items(range(1)))
    with lh.catalog.engine.connect() as conn:  # type: ignore[attr-defined]
        mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
        timeout = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
    assert mode == "wal" and timeout == 30000
