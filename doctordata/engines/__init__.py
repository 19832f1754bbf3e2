"""Query engines, registered by name with lazily imported implementations.

lh.engine("duckdb")       # -> doctordata.engines.duckdb.DuckDBEngine
lh.engine("clickhouse")   # -> chdb:// (embedded) or http(s):// (a server)

Owns: the router (parse once, resolve, plan, push down, transpile), the engines, the
sandbox allow-list, plan and parse caches. Engines take a ``QueryHost`` (engines/base.py).
May import: catalog/, storage/, workspace, config, errors; never lifecycle/, backup/ or
lakehouse.py.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from doctordata.errors import ConfigError, MissingDependencyError

if TYPE_CHECKING:
    from doctordata.engines.base import Engine, QueryHost

# name -> ("module:Class", extra that installs its dependencies)
ENGINES: dict[str, tuple[str, str]] = {
    "duckdb": ("doctordata.engines.duckdb:DuckDBEngine", "duckdb"),
    "clickhouse": ("doctordata.engines.clickhouse:ClickHouseEngine", "clickhouse"),
}

# Alternative spellings accepted wherever an engine name is.
ALIASES: dict[str, str] = {"chdb": "clickhouse", "ch": "clickhouse", "duck": "duckdb"}


def canonical_name(name: str) -> str:
    """'chdb' -> 'clickhouse'; raises ConfigError for unknown names."""
    key = ALIASES.get(name.lower(), name.lower())
    if key not in ENGINES:
        raise ConfigError(f"unknown engine {name!r}; choose one of: {', '.join(sorted(ENGINES))}")
    return key


def create_engine(name: str, lh: QueryHost) -> Engine:
    """Instantiate the engine registered as ``name`` for ``lh``."""
    key = canonical_name(name)
    target, extra = ENGINES[key]
    module_name, attr = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and not exc.name.startswith("doctordata"):
            raise MissingDependencyError(exc.name, extra, f"the {key} engine") from exc
        raise
    cls: type[Engine] = getattr(module, attr)
    return cls(lh)
