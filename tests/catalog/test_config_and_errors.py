"""Config resolution and validation, identifiers, and failures that must lose nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import doctordata as dd
from doctordata.config import load_settings, mask_url
from doctordata.errors import (
    CatalogAuthError,
    ConfigError,
    DoctorDataError,
    IdentifierError,
    SchemaMismatchError,
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
    "ns.t\n",
    "ns\n.t",
]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_identifiers_refused_before_any_write(lh: dd.Lakehouse, name: str) -> None:
    assert lh.tables() == []  # opens the catalog database
    before = sorted(p.name for p in lh.root.rglob("*"))
    with pytest.raises(IdentifierError, match="letters, digits and '_'"):
        lh.create_table(name, items(range(1)))
    assert sorted(p.name for p in lh.root.rglob("*")) == before
    assert not (lh.root.parent / "x").exists()


@pytest.mark.parametrize("name", ["../escape", "", "a/b", "n\x00s", "ns\n"])
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


@pytest.mark.parametrize(
    "overrides, message",
    [
        (
            {"engines": {"duckdb_memory_limit": "lots"}},
            r"engines\.duckdb_memory_limit = 'lots'.*'6GB'",
        ),
        ({"engines": {"dialect": "klingon"}}, r"engines\.dialect = 'klingon'.*duckdb"),
        ({"tiers": 5}, r"tiers = 5: must be a table"),
        ({"tiers": {"nas": "/mnt/nas"}}, r"tiers\.nas = '/mnt/nas': must be a table with a url"),
        ({"catalog": 5}, r"catalog = 5: must be a table"),
        ({"policies": {"to": "ssd"}}, r"policies = .*must be a list"),
        ({"engines": {"clickhouse": "mysql://h"}}, r"engines\.clickhouse = 'mysql://h'"),
        ({"engines": {"duckdb_threads": 10**9}}, r"engines\.duckdb_threads"),
        ({"catalog": {"busy_timeout_ms": 10**12}}, r"catalog\.busy_timeout_ms"),
        ({"schedule": {"daily_cron": "daily"}}, r"schedule\.daily_cron = 'daily'"),
        ({"ingest": {"hackernews_base_url": "hn"}}, r"ingest\.hackernews_base_url = 'hn'"),
        ({"tiers": {"a/b": {"url": "x"}}}, r"tiers\.a/b"),
    ],
)
def test_config_values_checked_at_load(tmp_path: Path, overrides: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        dd.connect(tmp_path / "lake", **overrides)


def test_memory_limits_accepted_at_load_are_accepted_by_duckdb(tmp_path: Path) -> None:
    import duckdb

    for limit in ("4GB", "4 GB", "512MiB", "1.5GB", "100KB", "2G"):
        settings = load_settings(tmp_path, engines={"duckdb_memory_limit": limit})
        duckdb.connect().execute(f"SET memory_limit = '{settings.engines.duckdb_memory_limit}'")


@pytest.mark.parametrize("value", ["-1d", "1 fortnight", "", 5, "99999999999999y"])
def test_maintain_durations_are_typed_errors(lh: dd.Lakehouse, value: object) -> None:
    lh.create_table("ns.t", items(range(2)))
    # ConfigError for a bad string, InvalidArgumentError for a non-string.
    with pytest.raises(DoctorDataError, match="expire_older_than"):
        lh.maintain("ns.t", expire_older_than=value)


@pytest.mark.parametrize(
    "partition_by, message",
    [
        (["bucket(99999999999999999999, id)"], "between 1 and 2147483647"),
        (["bucket(0, id)"], "between 1 and"),
        (["truncate(\u00b2, id)"], "positive number"),
        (5, "partition_by = 5"),
        ([5], "partition_by = \\[5\\]"),
        (["day(ti\nme)"], "takes one column name"),
    ],
)
def test_bad_partition_spec_creates_nothing(
    lh: dd.Lakehouse, partition_by: object, message: str | None
) -> None:
    # PartitionSpecError, or InvalidArgumentError for a wrong type.
    with pytest.raises(DoctorDataError, match=message):
        lh.create_table("fresh.t", items(range(3)), partition_by=partition_by)  # type: ignore[arg-type]
    assert lh.tables() == [] and lh.namespaces() == []


_FIRST_WRITE_FAILS = """
import os, resource, signal, sys
import pyarrow as pa
import doctordata as dd
from doctordata.errors import StorageError

lh = dd.connect(sys.argv[1])
lh.tables()  # the catalog database exists before the limit
# Files may not grow past 256 KiB: metadata fits, the data file does not (EFBIG).
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, resource.RLIM_INFINITY))
data = pa.table({"s": [os.urandom(16).hex() for _ in range(100_000)]})
try:
    lh.create_table("fresh.t", data)
except StorageError as exc:
    print("StorageError", exc.errno)
print("tables", lh.tables(), "namespaces", lh.namespaces())
"""


def test_failed_first_write_leaves_no_empty_table(
    tmp_path: Path, child_env: dict[str, str]
) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", _FIRST_WRITE_FAILS, str(tmp_path / "lake")],
        capture_output=True,
        text=True,
        env=child_env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "StorageError 27" in done.stdout
    assert "tables [] namespaces []" in done.stdout


def test_zero_column_table_refused(lh: dd.Lakehouse) -> None:
    import pyarrow as pa

    with pytest.raises(SchemaMismatchError, match="no columns"):
        lh.create_table("ns.empty", pa.schema([]))
    assert lh.tables() == []


@pytest.fixture
def small_mount(tmp_path: Path) -> Iterator[Path]:
    """A real 1 MiB tmpfs (root in a container that allows mounts), unmounted after."""
    import subprocess

    mnt = tmp_path / "mnt"
    mnt.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True
    )
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_full_and_read_only_tier_are_storage_errors(tmp_path: Path, small_mount: Path) -> None:
    import os
    import subprocess

    import pyarrow as pa

    big = pa.table({"s": [os.urandom(16).hex() for _ in range(100_000)]})
    with dd.connect(tmp_path / "lake", tiers={"ssd": {"url": str(small_mount)}}) as lh:
        lh.create_table("ns.t", big.slice(0, 10))
        with pytest.raises(StorageError, match=r"tier 'ssd' .*free: .*\) is full") as err:
            lh.append("ns.t", big)
        assert err.value.errno == 28
        assert lh.read("ns.t").num_rows == 10
        with pytest.raises(StorageError, match=r"tier 'ssd'.* is full"):
            lh.create_table("ns.u", big)
        assert lh.tables() == ["ns.t"]
        subprocess.run(["mount", "-o", "remount,ro", str(small_mount)], check=True)
        with pytest.raises(StorageError, match=r"tier 'ssd'.* is read-only") as err:
            lh.append("ns.t", big.slice(0, 5))
        assert err.value.errno == 30
        with pytest.raises(StorageError, match="read-only"):
            lh.delete("ns.t", "true")
        assert lh.read("ns.t").num_rows == 10


def test_name_patterns_refuse_a_trailing_newline() -> None:
    # "$" matches before a trailing "\n": a stray "<sha>\n" file would count as a backup
    # object (and be pruned), "<id>\n" as a backup.
    from doctordata.backup.prune import SHA256, TMP_NAME
    from doctordata.backup.targets import BACKUP_ID

    for pattern, good in (
        (SHA256, "a" * 64),
        (TMP_NAME, "b" * 32),
        (BACKUP_ID, "20261204T101010.123456Z-abcdef"),
    ):
        assert pattern.match(good)
        assert not pattern.match(good + "\n")
