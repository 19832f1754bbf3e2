"""Name resolution: which table references are CTEs, Iceberg tables or engine-native tables."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from doctordata.engines.caches import BoundedCache, cache
from doctordata.errors import IdentifierError, NotFoundError, TableNotFoundError, suggest

if TYPE_CHECKING:
    from pyiceberg.table import Table

    from doctordata.catalog.reader import CatalogReader
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
    with fast_reader(lh) as reader:
        return _classify(lh, root, native_tables, local, reader)


def _classify(
    lh: QueryHost,
    root: exp.Expr,
    native_tables: Callable[[], set[str]] | None,
    local: frozenset[str],
    reader: CatalogReader | None,
) -> Resolution:
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
        table = _load(lh, name, loaded, reader)
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


@contextmanager
def fast_reader(lh: QueryHost) -> Iterator[CatalogReader | None]:
    """A read-only sqlite3 view of the catalog for one query's tables, or None.

    None when the process already opened pyiceberg's catalog (it is asked instead) or the
    fast reader does not apply (a Postgres or REST catalog, a moved lake, ...)."""
    # The lakehouse's reader stays open across queries (catalog/reader/catalog.py).
    yield None if lh.catalog_opened else lh.catalog_reader


def _load(
    lh: QueryHost, name: str, cache: dict[str, Any], reader: CatalogReader | None = None
) -> Table | None:
    if name in cache:
        return cache[name]
    table = None
    if name.count(".") >= 1:
        for candidate in dict.fromkeys((name, name.lower())):
            try:
                table = load_current(lh, candidate, reader)
                break
            except (NotFoundError, IdentifierError):
                continue
    cache[name] = table
    return table


# (catalog id, "ns.table") -> (metadata location, Table) of tables read by the router.
_TABLES: BoundedCache[tuple[int, str], tuple[str, Any]] = cache("tables", 256)


def load_current(lh: QueryHost, name: str, reader: CatalogReader | None = None) -> Table:
    """lh.table(name), reusing the parsed metadata while the catalog still points at it.

    One indexed catalog lookup per call: a table is never served from a stale metadata
    file, but the (large) metadata JSON is parsed only when it changed. With ``reader``
    (a SQLite catalog not opened yet) the table is loaded through the fast reader
    (catalog/reader/tables.py): the same pyiceberg Table, without SQLAlchemy or the Arrow
    FileIO; wherever that path steps aside, the catalog is opened as before.
    """
    if reader is not None:
        from doctordata.catalog.identifiers import parse_table_name
        from doctordata.catalog.reader import Unsupported

        parse_table_name(name)  # the catalog path's IdentifierError for a bad name
        try:
            return _load_fast(lh, reader, name)
        except Unsupported:
            pass
    catalog = lh.catalog
    location = current_location(catalog, name)
    key = (id(catalog), name)
    hit = _TABLES.get(key)
    if location is not None and hit is not None and hit[0] == location:
        return hit[1]
    table = lh.table(name)
    _TABLES.put(key, (table.metadata_location, table))
    return table


# (catalog file, tiers, "ns.table") -> (metadata location, Table) loaded by the fast reader.
_FAST_TABLES: BoundedCache[tuple[str, str, str], tuple[str, Any]] = cache("fast tables", 256)


def _load_fast(lh: QueryHost, reader: CatalogReader, name: str) -> Table:
    from doctordata.catalog.reader import Unsupported
    from doctordata.catalog.reader.lite import LiteTable
    from doctordata.catalog.reader.metadata import TableMetadata

    location = reader.location(name)
    if location is None:
        raise Unsupported(f"no table {name!r}")  # the catalog path names it, with hints
    # The tiers are part of the key: the table's FileIO names offline tiers by them.
    tiers = repr(sorted((t.name, t.url) for t in lh.tiers.values()))
    key = (str(reader.path), tiers, name)
    hit = _FAST_TABLES.get(key)
    if hit is not None and hit[0] == location:
        return hit[1]
    meta = TableMetadata.load(name, location)

    def load_real() -> Table:
        # pyiceberg's model of the same file; where it refuses, the catalog path (and
        # its typed error) as before.
        from doctordata.catalog.reader.tables import table_at

        try:
            return table_at(name, location, lh.settings, lh.tiers, meta)
        except Unsupported:
            return load_current(lh, name, None)

    table = LiteTable(name, meta, load_real)
    table.schema()  # a type this reader does not know: Unsupported, the catalog path
    _FAST_TABLES.put(key, (location, table))
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
