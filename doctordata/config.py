"""Settings: one validated object built from defaults, doctordata.toml, env and arguments.

Sources, lowest to highest precedence: defaults, ``doctordata.toml``, environment variables
``DOCTORDATA__SECTION__KEY`` and explicit ``connect()`` overrides. Secrets (passwords in
URLs, S3 keys) never appear in ``repr``, logs or error messages.
"""

from __future__ import annotations

import functools
import math
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from doctordata.errors import ConfigError
from doctordata.secrets import is_secret_key, mask, mask_text, mask_url

__all__ = ["Settings", "load_settings", "mask", "mask_url", "parse_duration", "parse_size"]

CONFIG_FILE = "doctordata.toml"
ENV_PREFIX = "DOCTORDATA__"
ROOT_ENV = "DOCTORDATA_ROOT"

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdwy])\s*$")
_DURATION_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}
_MAX_SECONDS = 10_000 * 365 * 86400
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)\s*$", re.IGNORECASE)


def parse_duration(value: str, what: str = "duration") -> int:
    """'90d' -> seconds. Units: s, m, h, d, w, y. ConfigError (a ValueError) otherwise."""
    m = _DURATION.match(value) if isinstance(value, str) else None
    if not m:
        raise ConfigError(
            f"{what} = {mask(value)!r} is not a duration; use a non-negative number and a "
            "unit (s, m, h, d, w, y), e.g. '90d', '12h'"
        )
    seconds = int(m.group(1)) * _DURATION_SECONDS[m.group(2)]
    if seconds > _MAX_SECONDS:
        raise ConfigError(f"{what} = {value!r} is longer than 10000 years; use e.g. '90d'")
    return seconds


def parse_size(value: str | int, what: str = "size") -> int:
    """'500GB' -> 500 * 10**9 bytes, '20GiB' -> 20 * 2**30, 1024 -> 1024.

    As pydantic's ByteSize (and DuckDB's memory_limit) read them: KB/MB/GB/TB are decimal
    (SI, as disks are sold), KiB/MiB/GiB/TiB binary; a bare K/M/G/T is decimal too.
    """
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63:
        return value
    m = _SIZE.match(value) if isinstance(value, str) else None
    if not m:
        raise ConfigError(
            f"{what} = {mask(value)!r} is not a size; use e.g. '500GB' (500 * 10^9 bytes), "
            "'20GiB' (20 * 2^30 bytes) or a byte count"
        )
    unit = m.group(2).lower().rstrip("b")
    base = 1024 if unit.endswith("i") else 1000
    power = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4}[unit.rstrip("i")]
    size = int(float(m.group(1)) * base**power)
    if size >= 2**63:
        raise ConfigError(f"{what} = {value!r} is too large; use e.g. '500GB'")
    return size


# The longest query timeout accepted (a year): a timer's wait past the platform's time_t
# overflows in a background thread instead of failing here.
MAX_QUERY_TIMEOUT = 365 * 24 * 3600.0


def memory_limit_bytes(value: str | int) -> int:
    """A memory limit as bytes: a size ('6GB', a byte count) or a share of RAM ('25%')."""
    m = _PERCENT.match(str(value))
    if m is None:
        return parse_size(value)
    share = float(m.group(1))
    if not 0 < share <= 100:
        raise ValueError(f"{value!r} is not a share of memory; use 1% to 100%, or a size")
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return int(ram * share / 100)


def human_bytes(n: float) -> str:
    """1536 -> '1.5 KiB' (for reports and progress lines)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


# The settings are plain classes checked by hand (below): a valid configuration, the usual
# case, never imports pydantic (about 0.1 s of CPU in every process, a third of a repeated
# query's). Anything the hand check does not accept outright (a wrong type, a string
# pydantic would coerce such as an env var "3", an unknown key, a value out of bounds) is
# handed to pydantic models generated from the same field table (:func:`_schema`), which
# coerce it or raise their usual errors: the hand check only ever says "yes, exactly
# these values" or "ask pydantic" (tests/test_config_fast.py compares both on every field).

_REQUIRED: Any = object()
_NOT_ACCEPTED: Any = object()


@dataclass(frozen=True)
class _Field:
    # str, str?, int, int?, float, literal, str_dict, any_dict, path, section,
    # section_map (dict[str, section]) or section_list (list[section]).
    kind: str
    default: Any = _REQUIRED
    factory: Callable[[], Any] | None = None
    ge: float | None = None
    le: float | None = None
    choices: tuple[str, ...] = ()
    section: type[_Section] | None = None
    # Validators, as pydantic runs them: before (on the raw input) and after the type check.
    before: Callable[[Any], Any] | None = None
    after: Callable[[Any], Any] | None = None
    # repr shows the value through mask_url (passwords in URLs).
    url: bool = False


class _Section:
    """A settings section: fields checked on construction and on assignment."""

    FIELDS: ClassVar[dict[str, _Field]] = {}

    def __init__(self, **data: Any) -> None:
        values = _accept(type(self), data)
        if values is _NOT_ACCEPTED:
            values = _via_pydantic(type(self), data)
        self.__dict__.update(values)

    def __setattr__(self, name: str, value: Any) -> None:
        checked = type(self)(**{**self.__dict__, name: value})  # as validate_assignment
        self.__dict__[name] = checked.__dict__[name]

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.__dict__ == self.__dict__

    __hash__ = None  # type: ignore[assignment]

    def _repr_args(self) -> list[tuple[str, Any]]:
        # Every section's repr goes through the one masking function (secrets.mask).
        out = []
        for name, field in self.FIELDS.items():
            value = mask(self.__dict__[name], name)
            out.append((name, mask_url(value) if field.url else value))
        return out

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._repr_args())
        return f"{type(self).__name__}({args})"

    def __str__(self) -> str:
        return " ".join(f"{k}={v!r}" for k, v in self._repr_args())

    def model_dump(self, *, exclude_none: bool = False) -> dict[str, Any]:
        """The settings as plain dicts and lists (as pydantic's model_dump)."""
        out = {k: _dump(v, exclude_none) for k, v in self.__dict__.items()}
        return {k: v for k, v in out.items() if not (exclude_none and v is None)}

    def model_copy(self, *, update: Mapping[str, Any] | None = None) -> Any:
        """A shallow copy with ``update`` set as given, unchecked (as pydantic's model_copy)."""
        copy = object.__new__(type(self))
        copy.__dict__.update({**self.__dict__, **(update or {})})
        return copy


def _dump(value: Any, exclude_none: bool) -> Any:
    if isinstance(value, _Section):
        return value.model_dump(exclude_none=exclude_none)
    if isinstance(value, dict):
        return {k: _dump(v, exclude_none) for k, v in value.items()}
    if isinstance(value, list):
        return [_dump(v, exclude_none) for v in value]
    return value


def _accept(cls: type[_Section], data: Mapping[str, Any]) -> Any:
    """The field values of ``cls`` from ``data`` when they are exactly what pydantic would
    make of them, else _NOT_ACCEPTED."""
    if not data.keys() <= cls.FIELDS.keys():
        return _NOT_ACCEPTED
    out: dict[str, Any] = {}
    for name, field in cls.FIELDS.items():
        if name not in data:
            if field.factory is not None:
                out[name] = field.factory()
            elif field.default is _REQUIRED:
                return _NOT_ACCEPTED
            else:
                out[name] = field.default
            continue
        value = _accept_value(field, data[name])
        if value is _NOT_ACCEPTED:
            return _NOT_ACCEPTED
        out[name] = value
    return out


def _accept_value(field: _Field, value: Any) -> Any:
    try:
        if field.before is not None:
            value = field.before(value)
        value = _accept_type(field, value)
        if value is not _NOT_ACCEPTED and field.after is not None:
            value = field.after(value)
    except ValueError:
        return _NOT_ACCEPTED  # pydantic words the error
    return value


def _accept_type(field: _Field, value: Any) -> Any:
    kind = field.kind
    if kind.endswith("?"):
        if value is None:
            return None
        kind = kind[:-1]
    if kind == "str":
        return value if type(value) is str else _NOT_ACCEPTED
    if kind == "literal":
        return value if type(value) is str and value in field.choices else _NOT_ACCEPTED
    if kind in ("int", "float"):
        ok = type(value) is int or (kind == "float" and type(value) is float)
        if not ok or (kind == "float" and not math.isfinite(value)):
            return _NOT_ACCEPTED
        if (field.ge is not None and value < field.ge) or (
            field.le is not None and value > field.le
        ):
            return _NOT_ACCEPTED
        return float(value) if kind == "float" else value
    if kind == "path":
        return value if isinstance(value, Path) else _NOT_ACCEPTED
    if kind in ("str_dict", "any_dict", "section_map"):
        if type(value) is not dict or not all(type(k) is str for k in value):
            return _NOT_ACCEPTED
        if kind == "str_dict" and not all(type(v) is str for v in value.values()):
            return _NOT_ACCEPTED
        if kind != "section_map":
            return dict(value)
        out = {k: _accept_section(field, v) for k, v in value.items()}
        return _NOT_ACCEPTED if _NOT_ACCEPTED in out.values() else out
    if kind == "section_list":
        if type(value) is not list:
            return _NOT_ACCEPTED
        items = [_accept_section(field, v) for v in value]
        return _NOT_ACCEPTED if any(v is _NOT_ACCEPTED for v in items) else items
    if kind == "section":
        return _accept_section(field, value)
    raise AssertionError(kind)


def _accept_section(field: _Field, value: Any) -> Any:
    assert field.section is not None
    if isinstance(value, field.section):
        return value
    if type(value) is not dict:
        return _NOT_ACCEPTED
    values = _accept(field.section, value)
    if values is _NOT_ACCEPTED:
        return _NOT_ACCEPTED
    section = object.__new__(field.section)
    section.__dict__.update(values)
    return section


def _via_pydantic(cls: type[_Section], data: Mapping[str, Any]) -> dict[str, Any]:
    """pydantic's verdict on ``data``: the coerced values, or its ValidationError."""
    model = _schema()[cls.__name__].model_validate(_dump(dict(data), exclude_none=False))
    return {name: _from_model(field, getattr(model, name)) for name, field in cls.FIELDS.items()}


def _from_model(field: _Field, value: Any) -> Any:
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        assert field.section is not None
        section = object.__new__(field.section)
        section.__dict__.update(
            {n: _from_model(f, getattr(value, n)) for n, f in field.section.FIELDS.items()}
        )
        return section
    if field.kind == "section_map":
        return {k: _from_model(field, v) for k, v in value.items()}
    if field.kind == "section_list":
        return [_from_model(field, v) for v in value]
    return value


@functools.cache
def _schema() -> dict[str, Any]:
    """The pydantic models of every section, generated from the same field tables."""
    from pydantic import ConfigDict, Field, create_model, field_validator

    models: dict[str, Any] = {}

    def annotation(field: _Field) -> Any:
        kind = field.kind.rstrip("?")
        base: Any
        if kind == "literal":
            base = Literal[field.choices]
        elif field.section is not None:
            model: Any = models[field.section.__name__]
            base = {"section": model, "section_map": dict[str, model], "section_list": list[model]}
            base = base[kind]
        else:
            base = {
                "str": str,
                "int": int,
                "float": float,
                "path": Path,
                "str_dict": dict[str, str],
                "any_dict": dict[str, Any],
            }[kind]
        return base | None if field.kind.endswith("?") else base

    def validator(name: str, mode: Literal["before", "after"], check: Callable[[Any], Any]) -> Any:
        def run(cls: Any, value: Any) -> Any:
            return check(value)

        return field_validator(name, mode=mode)(classmethod(run))

    for cls in (
        CatalogConfig,
        TierConfig,
        PolicyConfig,
        EnginesConfig,
        IngestConfig,
        ScheduleConfig,
        Settings,
    ):
        fields: dict[str, Any] = {}
        validators: dict[str, Any] = {}
        for name, f in cls.FIELDS.items():
            constraints: dict[str, Any] = {"ge": f.ge, "le": f.le}
            if f.kind.rstrip("?") == "float":
                constraints["allow_inf_nan"] = False
            if f.factory is not None:
                spec = Field(default_factory=f.factory, **constraints)
            elif f.default is _REQUIRED:
                spec = Field(**constraints)
            else:
                spec = Field(default=f.default, **constraints)
            fields[name] = (annotation(f), spec)
            if f.before is not None:
                validators[f"_{name}_before"] = validator(name, "before", f.before)
            if f.after is not None:
                validators[f"_{name}_after"] = validator(name, "after", f.after)
        models[cls.__name__] = create_model(
            cls.__name__,
            __config__=ConfigDict(extra="forbid", validate_assignment=True),
            __validators__=validators,
            **fields,
        )
    return models


def _no_credentials(url: str) -> str:
    """Tier URLs are printed in reports and errors: they must not carry a secret."""
    if mask_url(url) != url:
        raise ValueError(
            "a tier url or endpoint must not contain credentials; S3 keys come from the "
            "environment only (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)"
        )
    return url


def _tier_url(v: str) -> str:
    if not v.strip():
        raise ValueError("a tier url must not be empty; use e.g. file:///mnt/nas/lake")
    scheme = urlsplit(v).scheme
    if scheme not in ("", "file", "s3", "s3a", "memory"):
        raise ValueError(f"unsupported scheme {scheme!r}; allowed: file://, s3://, a path")
    return _no_credentials(v)


def _endpoint(v: str | None) -> str | None:
    return None if v is None else _no_credentials(v)


def _no_secret_options(v: dict[str, Any]) -> dict[str, Any]:
    for key in v:
        if is_secret_key(key):
            raise ValueError(
                f"option {key!r} looks like a secret; secrets come from the environment "
                "only (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)"
            )
    return v


def _size_or_none(v: str | None) -> str | None:
    if v is not None:
        parse_size(v)
    return v


def _duration_or_none(v: str | None) -> str | None:
    if v is not None:
        parse_duration(v)
    return v


def _size_or_share(v: str | None) -> str | None:
    if v is not None and not _PERCENT.match(v):
        parse_size(v)
    return v


def _memory(v: Any) -> Any:
    if isinstance(v, int) and not isinstance(v, bool):
        v = str(v)  # a byte count, or 0
    if v is not None and not isinstance(v, str):
        return v  # the type check names it
    if v is not None and str(v).strip() != "0":
        try:
            memory_limit_bytes(v)
        except ValueError:
            raise ValueError(
                f"{v!r} is not a memory limit; use a size ('6GB', '512MiB') or a share "
                "of RAM ('25%')"
            ) from None
    return v


class CatalogConfig(_Section):
    uri: str | None
    name: str
    type: Literal["sql", "rest"]
    commit_retries: int
    busy_timeout_ms: int
    properties: dict[str, str]

    FIELDS: ClassVar[dict[str, _Field]] = {
        # SQLAlchemy URL of the catalog database; default sqlite:///<root>/catalog.db.
        # "rest+https://host/..." (or type="rest") passes through to pyiceberg's REST catalog.
        "uri": _Field("str?", None, url=True),
        # Catalog name recorded in the catalog database.
        "name": _Field("str", "doctordata"),
        # "sql" (SQLite/Postgres) or "rest".
        "type": _Field("literal", "sql", choices=("sql", "rest")),
        # Commit retries on conflict (concurrent writers); pyiceberg retries with backoff.
        "commit_retries": _Field("int", 60, ge=0, le=1000),
        # SQLite busy timeout in milliseconds (several processes share the file).
        "busy_timeout_ms": _Field("int", 30_000, ge=0),
        # Extra pyiceberg catalog properties, passed through unchanged.
        "properties": _Field("str_dict", factory=dict),
    }


class TierConfig(_Section):
    url: str
    endpoint: str | None
    region: str | None
    min_free: str | None
    options: dict[str, Any]

    FIELDS: ClassVar[dict[str, _Field]] = {
        # fsspec URL: file:///mnt/nas/lake, s3://bucket/prefix, or a relative path (under root).
        "url": _Field("str", after=_tier_url),
        # S3-compatible endpoint, e.g. http://127.0.0.1:8333 (MinIO, SeaweedFS, ...).
        "endpoint": _Field("str?", None, after=_endpoint),
        # S3 region (most S3-compatible servers accept any value).
        "region": _Field("str?", None),
        # Refuse writes when free space falls below this ("50GB"); None = no floor.
        "min_free": _Field("str?", None, after=_size_or_none),
        # Extra fsspec storage options (never secrets: keys come from the environment).
        "options": _Field("any_dict", factory=dict, after=_no_secret_options),
    }


class PolicyConfig(_Section):
    table: str
    column: str | None
    older_than: str | None
    keep_below: str | None
    to: str

    FIELDS: ClassVar[dict[str, _Field]] = {
        # Glob over "namespace.table"; first matching policy wins.
        "table": _Field("str", "*"),
        # Partition source column compared with older_than; None = file age.
        "column": _Field("str?", None),
        # Age threshold, e.g. "90d", "2y".
        "older_than": _Field("str?", None, after=_duration_or_none),
        # Keep the tier before `to` below this many bytes of table data ("400GB") or this
        # share of its disk ("80%"): move oldest first.
        "keep_below": _Field("str?", None, after=_size_or_share),
        # Destination tier name.
        "to": _Field("str"),
    }


class EnginesConfig(_Section):
    default: Literal["duckdb", "clickhouse", "auto"]
    clickhouse: str | None
    dialect: str
    duckdb_threads: int | None
    duckdb_memory_limit: str | None
    clickhouse_memory_limit: str
    query_timeout: float
    plan_cache_size: int

    FIELDS: ClassVar[dict[str, _Field]] = {
        # Engine used when lh.sql() gets none: duckdb, clickhouse or auto.
        "default": _Field("literal", "duckdb", choices=("duckdb", "clickhouse", "auto")),
        # chdb://<path> (embedded, default <root>/clickhouse) or http(s)://user@host:8123/db.
        "clickhouse": _Field("str?", None, url=True),
        # Dialect user SQL is written in (any sqlglot dialect name).
        "dialect": _Field("str", "duckdb"),
        # DuckDB threads; None = DuckDB's default (all cores).
        "duckdb_threads": _Field("int?", None, ge=1),
        # DuckDB memory limit: a size ("4GB") or a share of this machine's RAM ("25%": 6 GB
        # on a 24 GB box); None or "0" = DuckDB's own default (80%). DuckDB spills to disk
        # past it where it can; a query that still needs more fails with QueryMemoryError.
        "duckdb_memory_limit": _Field("str?", "25%", before=_memory),
        # ClickHouse max_memory_usage of each query: a size or a share of this machine's
        # RAM (give a size for a remote server); "0" = no limit. Past it: QueryMemoryError.
        "clickhouse_memory_limit": _Field("str", "25%", before=_memory),
        # Seconds a query may run before it is stopped with QueryTimeoutError; 0 = no
        # limit. lh.sql(..., timeout=) and `doctordata sql --timeout` override it.
        "query_timeout": _Field("float", 300.0, ge=0, le=MAX_QUERY_TIMEOUT),
        # Queries whose engine SQL is kept for reuse while their tables are unchanged; 0 = off.
        "plan_cache_size": _Field("int", 128, ge=0),
    }


class IngestConfig(_Section):
    hackernews_base_url: str
    workers: int

    FIELDS: ClassVar[dict[str, _Field]] = {
        # HackerNews API root including /v0/.
        "hackernews_base_url": _Field("str", "https://hacker-news.firebaseio.com/v0/"),
        # Concurrent HTTP requests.
        "workers": _Field("int", 8, ge=1, le=256),
    }


class ScheduleConfig(_Section):
    daily_cron: str

    FIELDS: ClassVar[dict[str, _Field]] = {
        # Cron expression for `doctordata serve` (the daily flow).
        "daily_cron": _Field("str", "0 3 * * *"),
    }


class Settings(_Section):
    """Every setting of one lakehouse. Build with :func:`load_settings`."""

    root: Path
    catalog: CatalogConfig
    tiers: dict[str, TierConfig]
    policies: list[PolicyConfig]
    engines: EnginesConfig
    ingest: IngestConfig
    schedule: ScheduleConfig

    FIELDS: ClassVar[dict[str, _Field]] = {
        "root": _Field("path"),
        "catalog": _Field("section", factory=CatalogConfig, section=CatalogConfig),
        # Ordered: the first tier is the hot tier, where new data is written.
        "tiers": _Field("section_map", factory=dict, section=TierConfig),
        "policies": _Field("section_list", factory=list, section=PolicyConfig),
        "engines": _Field("section", factory=EnginesConfig, section=EnginesConfig),
        "ingest": _Field("section", factory=IngestConfig, section=IngestConfig),
        "schedule": _Field("section", factory=ScheduleConfig, section=ScheduleConfig),
    }

    @property
    def hot_tier(self) -> str:
        return next(iter(self.tiers))

    @property
    def catalog_uri(self) -> str:
        assert self.catalog.uri is not None  # filled by load_settings
        return self.catalog.uri

    @property
    def sqlite_file(self) -> Path | None:
        """The SQLite catalog file (None for a server, in-memory or REST catalog)."""
        uri = self.catalog_uri
        if self.catalog.type == "rest" or not urlsplit(uri).scheme.startswith("sqlite"):
            return None
        if ":///" not in uri:
            return None  # sqlite:// (in memory)
        return Path(uri.split(":///", 1)[1].split("?", 1)[0])

    @property
    def clickhouse_url(self) -> str:
        assert self.engines.clickhouse is not None  # filled by load_settings
        return self.engines.clickhouse


def _set_nested(target: dict[str, Any], keys: list[str], value: Any) -> None:
    for key in keys[:-1]:
        nxt = target.setdefault(key, {})
        if not isinstance(nxt, dict):
            raise ConfigError(f"cannot set {'.'.join(keys)}: {key!r} is a value, not a section")
        target = nxt
    target[keys[-1]] = value


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        keys = [k.lower() for k in name[len(ENV_PREFIX) :].split("__") if k]
        if keys:
            _set_nested(out, keys, value)
    return out


def _overrides(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """connect(catalog__uri=...) or connect(catalog={"uri": ...}) -> nested dict."""
    out: dict[str, Any] = {}
    for name, value in kwargs.items():
        if "__" in name:
            _set_nested(out, name.split("__"), value)
        elif isinstance(value, Mapping) and isinstance(out.get(name), dict):
            out[name] = _merge(out[name], value)
        else:
            out[name] = value
    return out


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{path} is not valid TOML: {exc}. Fix the file or regenerate it with "
            "`doctordata init --force`."
        ) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc


def _describe_error(err: Mapping[str, Any], source: str) -> str:
    loc = ".".join(str(p) for p in err["loc"]) or "<root>"
    value = mask(err.get("input"), err["loc"][-1] if err["loc"] else None)
    if err["type"] == "extra_forbidden":
        return f"unknown key {loc!r} (from {source}); check the spelling against the README"
    if err["type"] == "missing":
        return f"missing key {loc!r} (from {source})"
    return f"{loc} = {value!r} (from {source}): {mask_text(err['msg'])}"


def _resolve_path(value: str, root: Path) -> str:
    """Relative file paths and file URLs are resolved against the lakehouse root."""
    parts = urlsplit(value)
    if parts.scheme in ("", "file"):
        raw = parts.path if parts.scheme == "file" else value
        path = Path(raw).expanduser()
        if not path.is_absolute():
            path = root / path
        return path.resolve().as_uri()
    return value


def _resolve_sqlite(uri: str, root: Path) -> str:
    """sqlite:///catalog.db (a relative path) names a file below the root, not below the
    current directory, so a lakehouse can be moved or copied with its doctordata.toml."""
    scheme, sep, path = uri.partition(":///")
    if not sep or scheme.split("+")[0] != "sqlite" or not path or path.startswith("/"):
        return uri
    path, query_sep, query = path.partition("?")
    resolved = (root / Path(path).expanduser()).resolve()
    return f"{scheme}:///{resolved}" + (query_sep + query if query_sep else "")


_SECTIONS = ("catalog", "tiers", "engines", "ingest", "schedule")


def _fill_defaults(data: dict[str, Any], root: Path) -> dict[str, Any]:
    data = dict(data)
    for section in _SECTIONS:
        if data.get(section) is not None and not isinstance(data[section], Mapping):
            raise ConfigError(
                f"invalid configuration: {section} = {mask(data[section], section)!r}: "
                f"must be a table ([{section}] in doctordata.toml, or a dict in connect())"
            )
    tier_items = (data.get("tiers") or {}).items()
    for name, tier in tier_items:
        if not isinstance(tier, Mapping):
            raise ConfigError(
                f"invalid configuration: tiers.{name} = {mask(tier, name)!r}: must be a table "
                f'with a url, e.g. [tiers.{name}] url = "file:///mnt/nas/lake"'
            )
    if data.get("policies") is not None and not isinstance(data["policies"], list):
        raise ConfigError(
            f"invalid configuration: policies = {mask(data['policies'])!r}: must be a list "
            "([[policies]] tables in doctordata.toml)"
        )
    catalog = dict(data.get("catalog") or {})
    if not catalog.get("uri"):
        catalog["uri"] = f"sqlite:///{root / 'catalog.db'}"
    elif isinstance(catalog["uri"], str):
        catalog["uri"] = _resolve_sqlite(catalog["uri"], root)
    data["catalog"] = catalog
    tiers = dict(data.get("tiers") or {})
    if not tiers:
        tiers = {"ssd": {"url": str(root / "warehouse")}}
    for name, tier in tiers.items():
        if isinstance(tier, Mapping) and isinstance(tier.get("url"), str):
            tiers[name] = {**tier, "url": _resolve_path(tier["url"], root)}
    data["tiers"] = tiers
    engines = dict(data.get("engines") or {})
    if not engines.get("clickhouse"):
        engines["clickhouse"] = f"chdb://{root / 'clickhouse'}"
    data["engines"] = engines
    return data


# Values whose type pydantic checks but whose meaning only a later call would: checked at
# load so that a bad value fails here, naming the key, instead of deep inside a query.
_TIER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")
_CATALOG_SCHEMES = ("sqlite", "postgresql", "http", "https", "rest")
_CRON_FIELD = re.compile(r"[0-9A-Za-z*/,?#-]+")


def _sqlglot_dialects() -> list[str]:
    """sqlglot's dialect names, read from its package folder (importing sqlglot is slow)."""
    import importlib.util

    spec = importlib.util.find_spec("sqlglot")
    folders = list(spec.submodule_search_locations or []) if spec else []
    return sorted(
        p.stem
        for folder in folders
        for p in (Path(folder) / "dialects").glob("*.py")
        if p.stem not in ("__init__", "dialect")
    )


def _check_values(settings: Settings) -> None:
    problems: list[str] = []

    def bad(key: str, value: Any, allowed: str) -> None:
        problems.append(f"{key} = {mask(value, key.rsplit('.', 1)[-1])!r}: {allowed}")

    uri = settings.catalog_uri
    scheme = urlsplit(uri).scheme.split("+")[0] if "://" in uri else ""
    if scheme not in _CATALOG_SCHEMES:
        bad(
            "catalog.uri",
            uri,
            "unsupported database; use sqlite:///path/catalog.db, "
            "postgresql+psycopg2://user@host/db or an http(s) REST catalog URL",
        )
    if not settings.catalog.name.strip():
        bad("catalog.name", settings.catalog.name, "must not be empty")
    if settings.catalog.busy_timeout_ms > 2**31 - 1:
        bad("catalog.busy_timeout_ms", settings.catalog.busy_timeout_ms, f"at most {2**31 - 1}")
    for name in settings.tiers:
        if not _TIER_NAME.fullmatch(name):
            bad(f"tiers.{name}", name, "a tier name is letters, digits, '_' and '-' (at most 64)")
    engines = settings.engines
    if urlsplit(settings.clickhouse_url).scheme not in ("chdb", "http", "https"):
        bad(
            "engines.clickhouse",
            settings.clickhouse_url,
            "use chdb://<path> or http(s)://host:8123",
        )
    dialects = _sqlglot_dialects()
    if dialects and engines.dialect not in dialects:
        bad("engines.dialect", engines.dialect, f"one of sqlglot's dialects: {', '.join(dialects)}")
    if engines.duckdb_threads is not None and engines.duckdb_threads > 4096:
        bad("engines.duckdb_threads", engines.duckdb_threads, "between 1 and 4096")
    base = urlsplit(settings.ingest.hackernews_base_url)
    if base.scheme not in ("http", "https") or not base.netloc:
        bad(
            "ingest.hackernews_base_url",
            settings.ingest.hackernews_base_url,
            "an http(s) URL including /v0/, e.g. https://hacker-news.firebaseio.com/v0/",
        )
    cron = settings.schedule.daily_cron.split()
    if len(cron) != 5 or not all(_CRON_FIELD.fullmatch(f) for f in cron):
        bad("schedule.daily_cron", settings.schedule.daily_cron, "a 5-field cron, e.g. '0 3 * * *'")
    if problems:
        raise ConfigError("invalid configuration: " + "; ".join(problems))


def find_root(root: str | os.PathLike[str] | None, environ: Mapping[str, str]) -> Path:
    """argument > DOCTORDATA_ROOT > directory of ./doctordata.toml (or its `root`) > ./lakehouse."""
    if root is not None:
        return Path(root).expanduser().resolve()
    if environ.get(ROOT_ENV):
        return Path(environ[ROOT_ENV]).expanduser().resolve()
    local = Path.cwd() / CONFIG_FILE
    if local.is_file():
        declared = read_toml(local).get("root")
        if declared:
            path = Path(str(declared)).expanduser()
            return (path if path.is_absolute() else Path.cwd() / path).resolve()
        return Path.cwd().resolve()
    return (Path.cwd() / "lakehouse").resolve()


def load_settings(
    root: str | os.PathLike[str] | None = None,
    *,
    config: str | os.PathLike[str] | Mapping[str, Any] | Settings | None = None,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build validated Settings. Raises ConfigError naming the key, value and what's allowed."""
    if isinstance(config, Settings):
        return config.model_copy(update=_overrides(overrides)) if overrides else config
    env = os.environ if environ is None else environ
    resolved_root = find_root(root, env)
    file_data: dict[str, Any] = {}
    source = "defaults"
    if isinstance(config, Mapping):
        file_data, source = dict(config), "config argument"
    else:
        candidates = (
            [Path(config)]
            if config is not None
            else [
                resolved_root / CONFIG_FILE,
                Path.cwd() / CONFIG_FILE,
            ]
        )
        for candidate in candidates:
            if candidate.is_file():
                file_data, source = read_toml(candidate), str(candidate)
                break
        else:
            if config is not None:
                raise ConfigError(f"config file {config} does not exist")
    file_data.pop("root", None)
    layers = [
        (file_data, source),
        (_env_overrides(env), "environment"),
        (_overrides(overrides), "connect() arguments"),
    ]
    data: dict[str, Any] = {}
    for layer, _ in layers:
        data = _merge(data, layer)
    data = _fill_defaults(data, resolved_root)
    data["root"] = resolved_root
    values = _accept(Settings, data)
    if values is _NOT_ACCEPTED:
        from pydantic import ValidationError

        try:
            values = _via_pydantic(Settings, data)
        except ValidationError as exc:
            sources = ", ".join(s for layer, s in layers if layer)
            problems = "; ".join(_describe_error(e, sources) for e in exc.errors())
            raise ConfigError(f"invalid configuration: {problems}") from None
    settings = object.__new__(Settings)
    settings.__dict__.update(values)
    _check_values(settings)
    for i, policy in enumerate(settings.policies):
        if policy.to not in settings.tiers:
            raise ConfigError(
                f"policies[{i}].to = {policy.to!r}: no such tier; "
                f"configured tiers: {', '.join(settings.tiers)}"
            )
        if policy.older_than is None and policy.keep_below is None:
            raise ConfigError(
                f"policies[{i}] (table = {policy.table!r}) needs older_than or keep_below"
            )
    return settings
