"""`doctordata doctor` and the checks behind it (doctordata/health.py), on real services."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

import doctordata as dd
from doctordata.cli import cli
from doctordata.health import check_catalog, check_clickhouse_server, check_tiers, check_versions
from tests.services.postgres import PostgresServer
from tests.services.s3 import S3Server


def _doctor(root: Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--root", str(root), "doctor"])
    return result.exit_code, result.output


def test_doctor_healthy_lakehouse_exits_zero(tmp_path: Path) -> None:
    code, out = _doctor(tmp_path / "lake")
    assert code == 0, out
    for row in ("versions", "catalog", "tier ssd", "duckdb httpfs", "duckdb iceberg", "chdb"):
        assert row in out
    assert "FAIL" not in out
    assert "all checks passed" in out


def test_doctor_broken_tier_exits_nonzero_naming_it(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the NAS mount should be")
    root.mkdir()
    (root / "doctordata.toml").write_text(
        f'[tiers.ssd]\nurl = "{root / "warehouse"}"\n[tiers.nas]\nurl = "{blocker / "lake"}"\n'
    )
    code, out = _doctor(root)
    assert code == 1, out
    assert "tier nas" in out
    flat = " ".join(out.split())
    assert "1 check(s) failed: tier nas" in flat
    assert "tiers.nas" in flat  # the fix names the config key


def test_doctor_finds_a_missing_data_file(tmp_path: Path) -> None:
    import pyarrow as pa

    root = tmp_path / "lake"
    with dd.connect(root) as lh:
        lh.create_table("hn.items", pa.table({"id": pa.array([1, 2], pa.int64())}))
        [task] = list(lh.table("hn.items").scan().plan_files())
    code, out = _doctor(root)
    assert code == 0 and "integrity" in out, out
    Path(task.file.file_path.removeprefix("file://")).unlink()
    code, out = _doctor(root)
    flat = " ".join(out.split())
    assert code == 1, out
    assert "failed: integrity" in flat and "doctordata verify" in flat


def test_doctor_invalid_config_reports_it(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    root.mkdir()
    (root / "doctordata.toml").write_text("[engines]\ndefault = 'oracle'\n")
    code, out = _doctor(root)
    assert code == 1, out
    assert "config" in out
    assert "engines.default" in " ".join(out.split())


def test_versions_match_the_lock() -> None:
    lock = Path(__file__).resolve().parents[2] / "requirements" / "dev.txt"
    [row] = check_versions(lock)
    assert row.status == "OK", row.detail


def test_versions_differing_from_the_lock_fail(tmp_path: Path) -> None:
    lock = tmp_path / "dev.txt"
    lock.write_text(
        "duckdb==0.0.1 \\\n    --hash=sha256:00\npyarrow==1.0.0 ; python_version < '3'\n"
    )
    [row] = check_versions(lock)
    assert row.failed
    assert "duckdb" in row.detail and "0.0.1" in row.detail
    assert "pyarrow" in row.detail
    assert "requirements/dev.txt" in row.fix


def test_versions_without_lock_are_skipped() -> None:
    [row] = check_versions(None)
    assert row.status == "SKIP"


def test_s3_tier_checked_with_real_credentials(
    s3_env: S3Server, s3_bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tiers = {
        "ssd": {"url": str(tmp_path / "warehouse")},
        "s3": {"url": f"s3://{s3_bucket}/lake", "endpoint": s3_env.endpoint},
    }
    with dd.connect(tmp_path, tiers=tiers) as lh:
        lh.create_catalog()  # a lakehouse, not an empty root (whose hot tier is SKIPped)
        rows = {row.name: row for row in check_tiers(lh)}
    assert rows["tier s3"].status == "OK", rows["tier s3"].detail
    left = s3_env.filesystem().find(s3_bucket)
    assert not [f for f in left if ".doctordata-probe" in f]  # the probe was deleted

    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret")
    with dd.connect(tmp_path, tiers=tiers) as lh:
        rows = {row.name: row for row in check_tiers(lh)}
    assert rows["tier s3"].failed
    assert "credentials" in rows["tier s3"].detail
    assert "wrong-secret" not in rows["tier s3"].detail
    assert rows["tier ssd"].status == "OK"


def test_catalog_check_on_postgres(postgres_server: PostgresServer, tmp_path: Path) -> None:
    good = postgres_server.create_database("doctor_ok")
    with dd.connect(tmp_path / "a", catalog={"uri": good}) as lh:
        [row] = check_catalog(lh)
    assert row.status == "OK", row.detail

    bad = postgres_server.url("doctor_ok", password="wrong-pw-123")
    with dd.connect(tmp_path / "b", catalog={"uri": bad}) as lh:
        [row] = check_catalog(lh)
    assert row.failed
    assert "wrong-pw-123" not in row.detail + row.fix
    assert "catalog.uri" in row.fix
    postgres_server.drop_database("doctor_ok")


def test_unreachable_clickhouse_server_fails_without_leaking_password(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again below: nothing listens there
    url = f"http://default:s3cret-pw@127.0.0.1:{port}/default"
    with dd.connect(tmp_path, engines={"clickhouse": url}) as lh:
        [row] = check_clickhouse_server(lh)
    assert row.failed
    assert f"127.0.0.1:{port}" in row.detail
    assert "s3cret-pw" not in row.detail + row.fix


def test_embedded_clickhouse_needs_no_server(tmp_path: Path) -> None:
    with dd.connect(tmp_path) as lh:
        [row] = check_clickhouse_server(lh)
    assert row.status == "SKIP"


def test_reachable_clickhouse_server_passes(clickhouse_http_url: str, tmp_path: Path) -> None:
    with dd.connect(tmp_path, engines={"clickhouse": clickhouse_http_url}) as lh:
        [row] = check_clickhouse_server(lh)
    assert row.status == "OK", row.detail
    assert "ClickHouse" in row.detail
