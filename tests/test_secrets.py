"""Secrets never printed: every error path and repr that formats config values masks them.

Each bad config below carries the secret; the test builds it the way a user would (file,
environment, connect() arguments) and asserts the secret is in no message, repr or CLI
output.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import doctordata as dd
from doctordata.cli import cli
from doctordata.config import load_settings
from doctordata.errors import CatalogError, ConfigError
from doctordata.secrets import is_secret_key, mask, mask_text, mask_url

SECRET = "Hunter2-S3cret-7781"


@pytest.mark.parametrize(
    "url, shown",
    [
        ("postgresql+psycopg2://me:pw@h:5/db", "postgresql+psycopg2://me:***@h:5/db"),
        (
            "postgresql://me@h/db?password=pw&sslmode=require",
            "postgresql://me@h/db?password=***&sslmode=require",
        ),
        ("postgresql://me@h/db?sslpassword=pw", "postgresql://me@h/db?sslpassword=***"),
        (
            "https://h/x?X-Amz-Signature=pw&X-Amz-Date=1",
            "https://h/x?X-Amz-Signature=***&X-Amz-Date=1",
        ),
        ("http://u:pw@h:8123/db", "http://u:***@h:8123/db"),
        ("sqlite:////srv/lake/catalog.db", "sqlite:////srv/lake/catalog.db"),
    ],
)
def test_mask_url(url: str, shown: str) -> None:
    assert mask_url(url) == shown


def test_secret_key_names() -> None:
    for key in (
        "password",
        "s3.secret-access-key",
        "s3.access-key-id",
        "token",
        "apiKey",
        "sslpassword",
        "client_secret",
        "X-Amz-Signature",
        "credential",
    ):
        assert is_secret_key(key), key
    for key in ("uri", "endpoint", "keep_below", "region", "anon", "client_kwargs", "url"):
        assert not is_secret_key(key), key


def test_mask_nested_values_and_free_text() -> None:
    value: dict[str, Any] = {
        "uri": [f"postgresql://u:{SECRET}@h/db"],
        "properties": {"s3.secret-access-key": SECRET, "s3.endpoint": "http://h:1"},
    }
    assert SECRET not in repr(mask(value))
    assert mask(value)["properties"]["s3.endpoint"] == "http://h:1"
    text = (
        f"connect failed: password={SECRET}; {{'token': '{SECRET}'}} at postgresql://u:{SECRET}@h"
    )
    assert SECRET not in mask_text(text)


BAD_CONFIGS: list[tuple[str, dict[str, Any], str]] = [
    # (what, connect() overrides, part of the expected message)
    (
        "uri query password + bad key",
        {"catalog": {"uri": f"postgresql://me@h/db?password={SECRET}", "commit_retries": -1}},
        "commit_retries",
    ),
    ("uri as a list", {"catalog": {"uri": [f"postgresql://me:{SECRET}@h/db"]}}, "catalog.uri"),
    ("uri unsupported", {"catalog": {"uri": f"mysql://me:{SECRET}@h/db"}}, "unsupported database"),
    (
        "secret tier option",
        {"tiers": {"s3": {"url": "s3://b/p", "options": {"secret": SECRET}}}},
        "looks like a secret",
    ),
    (
        "aws key tier option",
        {"tiers": {"s3": {"url": "s3://b/p", "options": {"aws_secret_access_key": SECRET}}}},
        "looks like a secret",
    ),
    ("tier given as a url", {"tiers": {"s3": f"s3://k:{SECRET}@b/p"}}, "tiers.s3"),
    ("tier url with password", {"tiers": {"s3": {"url": f"s3://k:{SECRET}@b/p"}}}, "credentials"),
    (
        "tier endpoint with password",
        {"tiers": {"s3": {"url": "s3://b/p", "endpoint": f"http://k:{SECRET}@h:8333"}}},
        "credentials",
    ),
    ("catalog section is a URL", {"catalog": f"postgresql://me:{SECRET}@h/db"}, "must be a table"),
    ("clickhouse url", {"engines": {"clickhouse": f"ftp://u:{SECRET}@h"}}, "engines.clickhouse"),
    (
        "properties with a bad sibling",
        {"catalog": {"properties": {"s3.secret-access-key": SECRET, "n": 5}}},
        "catalog.properties",
    ),
    ("secret as an unknown key's value", {"catalog": {"password": SECRET}}, "unknown key"),
]


@pytest.mark.parametrize("what, overrides, message", BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS])
def test_bad_config_errors_never_show_the_secret(
    tmp_path: Path, what: str, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as err:
        dd.connect(tmp_path / "lake", **overrides)
    assert message in str(err.value)
    assert SECRET not in str(err.value) and SECRET not in repr(err.value)


def test_bad_config_from_file_and_env_never_shows_the_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "doctordata.toml").write_text(
        f'[tiers.s3]\nurl = "s3://b/p"\noptions = {{ token = "{SECRET}" }}\n'
    )
    with pytest.raises(ConfigError) as err:
        load_settings(tmp_path)
    assert "token" in str(err.value) and SECRET not in str(err.value)
    (tmp_path / "doctordata.toml").unlink()
    monkeypatch.setenv("DOCTORDATA__CATALOG__URI", f"postgresql://me:{SECRET}@h/db")
    monkeypatch.setenv("DOCTORDATA__CATALOG__BUSY_TIMEOUT_MS", "lots")
    with pytest.raises(ConfigError) as err:
        load_settings(tmp_path)
    assert "busy_timeout_ms" in str(err.value) and SECRET not in str(err.value)


def test_repr_of_settings_masks_properties_and_urls(tmp_path: Path) -> None:
    settings = load_settings(
        tmp_path,
        catalog={
            "uri": f"postgresql://me@h/db?password={SECRET}",
            "properties": {"s3.secret-access-key": SECRET, "s3.endpoint": "http://h:1"},
        },
        engines={"clickhouse": f"http://u:{SECRET}@h:8123/db"},
    )
    for text in (repr(settings), str(settings), repr(settings.catalog), str(settings.engines)):
        assert SECRET not in text
    assert "http://h:1" in repr(settings)  # only secrets are masked


def _postgres_down_config(root: Path) -> None:
    root.mkdir()
    # Port 1 on loopback: refused at once, so the catalog fails to open.
    (root / "doctordata.toml").write_text(
        f'[catalog]\nuri = "postgresql+psycopg2://me@127.0.0.1:1/db?password={SECRET}"\n'
    )


def test_catalog_error_masks_a_password_in_the_query_string(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    _postgres_down_config(root)
    lh = dd.connect(root)
    with pytest.raises(CatalogError) as err:
        lh.tables()
    assert "127.0.0.1:1" in str(err.value) and SECRET not in str(err.value)


def test_doctor_masks_a_password_in_the_query_string(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    _postgres_down_config(root)
    result = CliRunner().invoke(cli, ["--root", str(root), "doctor"])
    assert result.exit_code == 1
    assert "catalog" in result.output and SECRET not in result.output
