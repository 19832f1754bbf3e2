"""Name resolution: which table references are CTEs, Iceberg tables or engine-native tables."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from doctordata.engines.caches import BoundedCache, cache
from doctordata.errors import IdentifierError, NotFoundError, TableNotFoundError, suggest

if TYPE_CHECKING:
    from pyiceberg.table import Table

    from doctordata.engines.base import QueryHost


@dataclass
class TableRef:
    """One reference to an Iceberg table in the query."""

    node: exp.Table
    name: str
    table: Table
    alias: str
    snapshot_id: int | None = None


@dataclass
class Resolution:
    iceberg: list[TableRef] = field(default_factory=list)
    # Names ("db.t") of engine-native tables the query reads.
    native: list[str] = field(default_factory=list)


def table_name(node: exp.Table) -> str:
    """The dotted name of a table reference, as written (identifier parts joined by '.')."""
    return ".".join(part.name for part in node.parts)


def cte_names(root: exp.Expr) -> set[str]:
    return {cte.alias_or_name.lower() for cte in root.find_all(exp.CTE)}


def resolve(
    lh: QueryHost,
    root: exp.Expr,
    native_tables: Callable[[], set[str]] | None,
    local: frozenset[str] = frozenset(),
) -> Resolution:
    """Classify every table reference; unknown names raise TableNotFoundError with suggestions.

    ``local``: names the router already replaced by a scan of a local frame (skipped).

    ``native_tables`` lists the target engine's own tables (called only when a name is not
    an Iceberg table), or None when the engine has none.
    """
    ctes = cte_names(root)
    loaded: dict[str, Any] = {}
    natives: set[str] | None = None
    out = Resolution()
    for node in list(root.find_all(exp.Table)):
        if isinstance(node.this, exp.Func) or not node.name:
            continue  # table functions: checked by safety, passed through
        name = table_name(node)
        if not node.args.get("db") and (name.lower() in ctes or name in local):
            continue
        table = _load(lh, name, loaded)
        if table is not None:
            out.iceberg.append(TableRef(node, name, table, node.alias_or_name))
            continue
        if native_tables is not None:
            if natives is None:
                natives = native_tables()
            if name.lower() in natives:
                out.native.append(name)
                continue
        message = _unknown(lh, name, natives or set())
        if native_tables is None:
            message += (
                " (ClickHouse tables are visible with engine='clickhouse' or "
                "engines.default = 'auto'.)"
            )
        raise TableNotFoundError(message)
    return out


def _load(lh: QueryHost, name: str, cache: dict[str, Any]) -> Table | None:
    if name in cache:
        return cache[name]
    table = None
    if name.count(".") >= 1:
        for candidate in dict.fromkeys((name, name.lower())):
            try:
                table = load_current(lh, candidate)
                break
            except (NotFoundError, IdentifierError):
                continue
    cache[name] = table
    return table


# (catalog id, "ns.table") -> (metadata location, Table) of tables read by the router.
_TABLES: BoundedCache[tuple[int, str], tuple[str, Any]] = cache("tables", 256)


def load_current(lh: QueryHost, name: str) -> Table:
    """lh.table(name), reusing the parsed metadata while the catalog still points at it.

    One indexed catalog lookup per call: a table is never served from a stale metadata
    file, but the (large) metadata JSON is parsed only when it changed.
    """
    catalog = lh.catalog
    location = current_location(catalog, name)
    key = (id(catalog), name)
    hit = _TABLES.get(key)
    if location is not None and hit is not None and hit[0] == location:
        return hit[1]
    table = lh.table(name)
    _TABLES.put(key, (table.metadata_location, table))
    return table


@lru_cache(maxsize=1)
def _location_statement() -> Any:
    from pyiceberg.catalog.sql import IcebergTables
    from sqlalchemy import bindparam, select

    return select(IcebergTables.metadata_location).where(
        IcebergTables.catalog_name == bindparam("c"),
        IcebergTables.table_namespace == bindparam("n"),
        IcebergTables.table_name == bindparam("t"),
    )


def current_location(catalog: Any, name: str) -> str | None:
    """The catalog's current metadata location for ``name`` (SQL catalogs), else None."""
    try:
        from pyiceberg.catalog.sql import SqlCatalog
    except ImportError:
        return None
    if not isinstance(catalog, SqlCatalog) or "." not in name:
        return None
    namespace, table_name = name.rsplit(".", 1)
    # A Core connection and a prebuilt statement: this runs once per table per query.
    with catalog.engine.connect() as conn:
        location: str | None = conn.execute(
            _location_statement(), {"c": catalog.name, "n": namespace, "t": table_name}
        ).scalar_one_or_none()
    return location


def _unknown(lh: QueryHost, name: str, natives: set[str]) -> str:
    try:
        existing = lh.tables()
    except NotFoundError:
        existing = []
    known = sorted({*existing, *natives})
    hint = suggest(name, known) or suggest(name.split(".")[-1], known)
    if "." not in name:
        hint += " Lakehouse tables are named namespace.table (e.g. hn.items)."
    listing = ", ".join(known[:20]) if known else "none yet"
    return f"table {name!r} does not exist.{hint} Tables: {listing}"
