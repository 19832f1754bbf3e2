"""Map Iceberg file locations to (tier, relative path) and back; which directories the
catalog's tables own.

The canonical form of a location and the path -> tier rule live in
:mod:`doctordata.storage.locations`; this module applies them to the catalog. A backup
records each file as its tier name plus the path relative to that tier's root, so a
restore can put it below any other root and rewrite the location to match.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from doctordata.storage.locations import Canonicalizer, TierIndex, is_within, split, within_any

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem
    from pyiceberg.catalog import Catalog
    from pyiceberg.table import Table

    from doctordata.storage.tier import Tier

EXTERNAL = ""  # tier name recorded for a file below no configured tier


def split_location(location: str) -> tuple[str, str]:
    """('file', '/abs/path') or ('s3', 'bucket/key'), as spelled (for I/O)."""
    return split(location)


def locate(tiers: Mapping[str, Tier], location: str) -> tuple[str, str]:
    """(tier name, path relative to its root); (EXTERNAL, absolute path) if below none.

    Compares canonical forms; the longest matching root wins, so nested tiers resolve to
    the innermost one."""
    return Locator(tiers)(location)


class Locator:
    """:func:`locate` for many locations against the same tiers (roots computed once)."""

    def __init__(self, tiers: Mapping[str, Tier]) -> None:
        self._index = TierIndex(tiers, Canonicalizer())

    def __call__(self, location: str) -> tuple[str, str]:
        name, rel = self._index.locate(location)
        return (EXTERNAL, rel) if name is None else (name, rel)


def fs_for(tiers: Mapping[str, Tier], location: str) -> tuple[AbstractFileSystem, str]:
    """The filesystem that reads ``location`` and the path to give it."""
    scheme, path = split_location(location)
    name, _ = locate(tiers, location)
    if name != EXTERNAL:
        return tiers[name].fs, path
    import fsspec

    fs = fsspec.filesystem("file" if scheme == "file" else scheme)
    return fs, path


class LocationMapper:
    """Rewrites locations below the old tier roots to the same paths below new tier URLs."""

    def __init__(self, old: Mapping[str, Tier], new: Mapping[str, str]) -> None:
        self.old = dict(old)
        self.new = {name: url.rstrip("/") for name, url in new.items()}

    def __call__(self, location: str) -> str:
        name, rel = locate(self.old, location)
        if name not in self.new:
            return location
        # A file below no tier (EXTERNAL) keeps its whole path below the new external root.
        return f"{self.new[name]}/{rel.lstrip('/')}"

    def rewrite_json(self, value: object) -> object:
        """Rewrite every string in a JSON document that is a location below an old tier.

        (Files below no tier appear only in manifests, whose path fields are rewritten by
        field id; in metadata.json a string outside every tier is left alone.)"""
        if isinstance(value, str):
            # Only strings below a tier: a property that merely looks like a path stays.
            if _looks_like_location(value) and locate(self.old, value)[0] != EXTERNAL:
                return self(value)
            return value
        if isinstance(value, list):
            return [self.rewrite_json(v) for v in value]
        if isinstance(value, dict):
            return {k: self.rewrite_json(v) for k, v in value.items()}
        return value


def _looks_like_location(value: str) -> bool:
    return value.startswith(("/", "file:", "s3://", "s3a://", "s3n://"))


# -- which directories the catalog's tables own -----------------------------------------
DATA_PATH_PROPERTIES = ("write.data.path", "write.metadata.path", "write.object-storage.path")


@dataclass
class TableDirs:
    """Every table's directories on every tier, in canonical parts, by table name.

    A table owns its location's subtree on *every* tier (the mover keeps a file's path
    relative to the tier root), plus any ``write.data.path``-style directory it names.
    ``unreadable``: tables whose metadata could not be read (their directories unknown).
    """

    dirs: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    tables: dict[str, Table] = field(default_factory=dict)
    unreadable: dict[str, str] = field(default_factory=dict)

    def owner(self, parts: tuple[str, str], *, exclude: str | None = None) -> str | None:
        """The (other) table whose directory holds canonical ``parts``, if any."""
        for name, dirs in self.dirs.items():
            if name != exclude and within_any(parts, dirs) is not None:
                return name
        return None

    def overlapping(self, parts: tuple[str, str]) -> str | None:
        """A table whose directory holds ``parts`` or lies below it."""
        for name, dirs in self.dirs.items():
            if any(is_within(parts, d) or is_within(d, parts) for d in dirs):
                return name
        return None


def table_dirs_of(table: Table, index: TierIndex) -> list[tuple[str, str]]:
    """Canonical directories ``table`` owns, on every tier."""
    return _dirs_of_roots(_roots_of(table), index)


def _roots_of(table: Table) -> list[str]:
    roots = [table.location()]
    roots += [v for k, v in table.properties.items() if k in DATA_PATH_PROPERTIES and v]
    return roots


def _dirs_of_roots(roots: list[str], index: TierIndex) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for location in roots:
        name, rel = index.locate(location)
        if name is None:
            out.append(index.canon.parts(location))
        else:
            out += index.on_every_tier(rel)
    return out


def catalog_tables(catalog: Catalog) -> Iterator[tuple[str, Table | Exception]]:
    """Every table of the catalog as (name, Table), or (name, the error loading it).

    Loading may fail for any reason a damaged metadata file gives (pydantic, JSON, I/O):
    callers that must fail safe treat every such table as unknown, so the error is
    returned rather than raised."""
    from pyiceberg.exceptions import NoSuchTableError

    for ns in catalog.list_namespaces():
        for ident in catalog.list_tables(ns):
            name = ".".join(ident)
            try:
                yield name, catalog.load_table(ident)
            except NoSuchTableError:
                continue  # dropped meanwhile
            except Exception as exc:  # any failure means "unknown": fail safe
                yield name, exc


def table_dirs(catalog: Catalog, tiers: Mapping[str, Tier], canon: Canonicalizer) -> TableDirs:
    """:class:`TableDirs` of every table in the catalog (each metadata file read once)."""
    index = TierIndex(tiers, canon)
    out = TableDirs()
    for name, loaded in catalog_tables(catalog):
        if isinstance(loaded, Exception):
            out.unreadable[name] = f"{type(loaded).__name__}: {loaded}"
            continue
        out.tables[name] = loaded
        roots = _roots_of(loaded)
        _remember(loaded.metadata_location, roots)
        out.dirs[name] = _dirs_of_roots(roots, index)
    return out


# A table's directories depend only on its metadata file (its location and write.*.path
# properties), and a metadata file never changes: metadata location -> those roots, for
# every table this process has read. Bounded; cleared whole when full.
_ROOTS: dict[str, list[str]] = {}
_ROOTS_MAX = 50_000
_roots_lock = threading.Lock()


def _remember(metadata_location: str | None, roots: list[str]) -> None:
    if not metadata_location:
        return
    with _roots_lock:
        if len(_ROOTS) >= _ROOTS_MAX:
            _ROOTS.clear()
        _ROOTS[metadata_location] = roots


def owned_dirs(catalog: Catalog, tiers: Mapping[str, Tier], canon: Canonicalizer) -> TableDirs:
    """Every table's directories like :func:`table_dirs` (``tables`` left empty), without
    loading a table whose current metadata file this process has read before: one catalog
    query lists every table's metadata location, and only the tables whose location is new
    are loaded. Creating the 200th table no longer loads 199 (issue 18). Exact whatever
    other processes did: a table that committed since is loaded again."""
    from pyiceberg.catalog.sql import SqlCatalog
    from pyiceberg.exceptions import NoSuchTableError

    if not isinstance(catalog, SqlCatalog):
        return table_dirs(catalog, tiers, canon)
    index = TierIndex(tiers, canon)
    out = TableDirs()
    for ns, tbl, metadata_location in _metadata_locations(catalog):
        name = f"{ns}.{tbl}"
        with _roots_lock:
            roots = _ROOTS.get(metadata_location) if metadata_location else None
        if roots is None:
            try:
                loaded = catalog.load_table(name)
            except NoSuchTableError:
                continue  # dropped meanwhile
            except Exception as exc:  # any failure means "unknown": fail safe
                out.unreadable[name] = f"{type(exc).__name__}: {exc}"
                continue
            roots = _roots_of(loaded)
            _remember(loaded.metadata_location, roots)
        out.dirs[name] = _dirs_of_roots(roots, index)
    return out


def _metadata_locations(catalog: Catalog) -> list[tuple[str, str, str | None]]:
    """(namespace, table, metadata location) of every table of a SqlCatalog, one query."""
    from pyiceberg.catalog.sql import IcebergTables
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    stmt = select(
        IcebergTables.table_namespace, IcebergTables.table_name, IcebergTables.metadata_location
    ).where(IcebergTables.catalog_name == catalog.name)
    type_filter = getattr(catalog, "_iceberg_type_filter", lambda: None)()
    if type_filter is not None:  # views share the table (pyiceberg's own filter)
        stmt = stmt.where(type_filter)
    with Session(catalog.engine) as session:
        return [(r[0], r[1], r[2]) for r in session.execute(stmt).all()]
