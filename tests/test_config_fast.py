"""The settings' hand check (config._accept) against pydantic's models of the same fields.

A valid configuration is checked by hand so that loading it imports no pydantic
(tests/test_import_budget.py). The hand check may only say "exactly these values" or
"ask pydantic": here every field of every section gets good, coercible, out-of-bounds and
wrongly typed values, and whatever the hand check accepts must be what pydantic makes of
it (same values, same types); the rest must come out of the section exactly as pydantic's
error or coercion.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from doctordata import config
from doctordata.config import (
    CatalogConfig,
    EnginesConfig,
    IngestConfig,
    PolicyConfig,
    ScheduleConfig,
    Settings,
    TierConfig,
    load_settings,
)

SECTIONS = (
    CatalogConfig,
    TierConfig,
    PolicyConfig,
    EnginesConfig,
    IngestConfig,
    ScheduleConfig,
    Settings,
)
REQUIRED: dict[type, dict[str, Any]] = {
    TierConfig: {"url": "s3://bucket/lake"},
    PolicyConfig: {"to": "nas"},
    Settings: {"root": Path("/tmp/lake")},
}
VALUES: list[Any] = [
    None,
    True,
    0,
    1,
    -1,
    3,
    1001,
    2**40,
    0.5,
    3.0,
    math.inf,
    math.nan,
    "",
    "3",
    "x",
    "sql",
    "rest",
    "auto",
    "duckdb",
    "90d",
    "90 days",
    "25%",
    "150%",
    "6GB",
    "lots",
    "0",
    "s3://b/p",
    "ftp://x/y",
    "file:///mnt/nas",
    "http://u:pw@h:8333",
    "http://127.0.0.1:8333",
    {},
    {"a": "b"},
    {"a": 1},
    {1: "b"},
    {"secret_key": "x"},
    {"anon": True},
    [],
    ["x"],
    [{"to": "nas"}],
    {"url": "s3://b/p"},
    {"ssd": {"url": "s3://b/p"}},
    {"ssd": {"url": "ftp://x"}},
    {"bogus": 1},
    Path("/tmp/other"),
]


def _outcome(make: Any, data: dict[str, Any]) -> tuple[str, str]:
    try:
        made = make(**data)
    except ValidationError as exc:
        return "error", repr([(e["loc"], e["type"], e["msg"]) for e in exc.errors()])
    return "ok", repr(config._dump(made.model_dump(), exclude_none=False))


FIELDS = [(cls, field) for cls in SECTIONS for field in cls.FIELDS]


@pytest.mark.parametrize(("cls", "field"), FIELDS, ids=[f"{c.__name__}.{f}" for c, f in FIELDS])
def test_every_field_comes_out_as_pydantic_makes_it(cls: type, field: str) -> None:
    model = config._schema()[cls.__name__]
    for value in VALUES:
        if cls is Settings and field == "root" and not isinstance(value, str | Path):
            continue
        data = {**REQUIRED.get(cls, {}), field: value}
        expected = _outcome(model, data)
        assert _outcome(cls, data) == expected, value
        accepted = config._accept(cls, data)
        if accepted is not config._NOT_ACCEPTED:
            assert expected[0] == "ok", value
            made = object.__new__(cls)
            made.__dict__.update(accepted)
            assert repr(config._dump(made.model_dump(), exclude_none=False)) == expected[1]


def test_unknown_and_missing_keys_go_to_pydantic() -> None:
    for cls, data in [(TierConfig, {}), (PolicyConfig, {"table": "x"}), (CatalogConfig, {"x": 1})]:
        assert config._accept(cls, data) is config._NOT_ACCEPTED
        with pytest.raises(ValidationError):
            cls(**data)


def test_a_typical_config_is_accepted_by_hand(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `doctordata init`/`demo` write, env-free: no pydantic needed (a fast path that
    silently fell back to pydantic would pass every other test)."""
    (tmp_path / "doctordata.toml").write_text(
        '[catalog]\nuri = "sqlite:///catalog.db"\n[catalog.properties]\nx = "y"\n'
        '[tiers.ssd]\nurl = "ssd"\nmin_free = "5GB"\n'
        '[tiers.nas]\nurl = "file:///mnt/nas/lake"\n'
        '[tiers.s3]\nurl = "s3://bucket/lake"\nendpoint = "http://127.0.0.1:8333"\n'
        'region = "us-east-1"\noptions = { anon = false }\n'
        '[[policies]]\ntable = "hn.*"\ncolumn = "time"\nolder_than = "90d"\nto = "nas"\n'
        '[[policies]]\nkeep_below = "80%"\nto = "s3"\n'
        '[engines]\ndefault = "auto"\nduckdb_threads = 2\nduckdb_memory_limit = "4GB"\n'
        "query_timeout = 60\nplan_cache_size = 0\n"
        '[ingest]\nworkers = 4\n[schedule]\ndaily_cron = "0 4 * * *"\n'
    )
    calls: list[Any] = []
    original = config._via_pydantic
    monkeypatch.setattr(config, "_via_pydantic", lambda *a: calls.append(a) or original(*a))
    settings = load_settings(tmp_path, environ={})
    assert calls == []
    assert settings.engines.query_timeout == 60.0 and type(settings.engines.query_timeout) is float
    assert [p.to for p in settings.policies] == ["nas", "s3"]
    assert settings.tiers["s3"].options == {"anon": False}
    assert settings == load_settings(tmp_path, environ={})


def test_assignment_is_checked_as_before() -> None:
    engines = EnginesConfig()
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        engines.query_timeout = -5
    assert engines.query_timeout == 300.0
    engines.query_timeout = 7
    assert engines.query_timeout == 7.0 and type(engines.query_timeout) is float
    engines.duckdb_threads = "3"  # type: ignore[assignment]  # coerced, as pydantic does
    assert engines.duckdb_threads == 3


def test_settings_pickle_and_copy_whole(tmp_path: Path) -> None:
    """The ingest commit worker receives the settings pickled."""
    import copy
    import pickle

    settings = load_settings(tmp_path, environ={}, tiers={"ssd": {"url": "hot"}})
    for twin in (pickle.loads(pickle.dumps(settings)), copy.deepcopy(settings)):
        assert twin == settings and repr(twin) == repr(settings)
        assert twin.tiers["ssd"].url == (tmp_path / "hot").as_uri()
    twin.engines.query_timeout = 1
    assert settings.engines.query_timeout == 300.0
