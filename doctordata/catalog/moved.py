"""Was this lakehouse moved or copied? Then its catalog still names the old place.

Iceberg metadata holds absolute locations, and so does the catalog database. A lakehouse
directory copied with ``cp -r`` (or moved with ``mv``) keeps a catalog whose tables point
below the *old* root: reading them reads the original (or fails once it is gone), and a
commit writes new metadata and data into the original. That must never happen silently.

Each local tier carries a marker (storage/offline.py) recording the URL it was marked
under. A copied tier's marker names the old URL: that is how a move is recognised, at the
cost of one small file read per local tier. Only then are the catalog's table locations
compared with the old URLs (one query of the catalog).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from doctordata.errors import CatalogError
from doctordata.storage.locations import Canonicalizer, is_within

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog

    from doctordata.config import Settings
    from doctordata.storage.tier import Tier


@dataclass(frozen=True)
class MovedTier:
    """A local tier whose marker says it was marked under another URL."""

    tier: str
    url: str
    old_url: str


def moved_tiers(tiers: Mapping[str, Tier]) -> list[MovedTier]:
    """Local tiers copied or moved from another place (their marker names another URL)."""
    from doctordata.storage.offline import read_marker

    canon = Canonicalizer()
    out: list[MovedTier] = []
    for tier in tiers.values():
        if not tier.is_local:
            continue
        old = read_marker(tier).get("url")
        if not isinstance(old, str) or not old:
            continue
        if canon.parts(old) != canon.parts(tier.url):
            out.append(MovedTier(tier.name, tier.url, old))
    return out


def stale_tables(
    catalog: Catalog | None, moved: list[MovedTier], locations: Mapping[str, str] | None = None
) -> dict[str, MovedTier]:
    """Tables whose current metadata lies below a moved tier's old URL, by name."""
    canon = Canonicalizer()
    old_dirs = [(m, canon.parts(m.old_url)) for m in moved]
    out: dict[str, MovedTier] = {}
    if locations is None:
        locations = table_locations(catalog) if catalog is not None else {}
    for name, location in locations.items():
        parts = canon.parts(location)
        for m, old in old_dirs:
            if is_within(parts, old):
                out[name] = m
                break
    return out


def table_locations(catalog: Catalog) -> dict[str, str]:
    """'ns.table' -> current metadata location, read from the catalog database alone (the
    metadata files may be gone with the original)."""
    from pyiceberg.catalog.sql import IcebergTables, SqlCatalog
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    if not isinstance(catalog, SqlCatalog):
        return {}
    query = select(
        IcebergTables.table_namespace, IcebergTables.table_name, IcebergTables.metadata_location
    ).where(IcebergTables.catalog_name == catalog.name)
    with Session(catalog.engine) as session:
        rows = session.execute(query).all()
    return {f"{ns}.{name}": str(location) for ns, name, location in rows if location}


def check_not_moved(
    root: object,
    tiers: Mapping[str, Tier],
    catalog: Catalog | None,
    locations: Callable[[], Mapping[str, str]] | None = None,
) -> None:
    """Refuse a catalog whose tables still live below the place this lake was copied from.
    ``locations``: 'ns.table' -> metadata location from another reader (catalog/reader/)."""
    moved = moved_tiers(tiers)
    if not moved:
        return
    stale = stale_tables(catalog, moved, locations() if locations is not None else None)
    if not stale:
        return
    first = next(iter(stale.values()))
    names = ", ".join(list(stale)[:3]) + (", ..." if len(stale) > 3 else "")
    raise CatalogError(
        f"the lakehouse at {root} was copied or moved: tier {first.tier!r} ({first.url}) "
        f"was made at {first.old_url}, and the catalog's tables ({names}) still name files "
        "there. Reading them would read the original and writing would write into it; "
        f"refused. Fix: run `doctordata --root {root} relocate`, which rewrites the "
        "locations in this copy (the original is not touched), or open the lakehouse at "
        "its original place."
    )


@dataclass(frozen=True)
class OutsideRoot:
    """A config path outside the root while the root holds a file or directory of the
    same relative name: the config was written for another root (a moved or copied lake)."""

    key: str  # "catalog.uri" or "tiers.<name>.url"
    path: Path
    inside: Path
    fix: str


def config_outside_root(settings: Settings) -> list[OutsideRoot]:
    """Config paths that point outside a moved or copied root (see :class:`OutsideRoot`)."""
    root = settings.root.resolve()
    found: list[OutsideRoot] = []
    candidates: list[tuple[str, Path, str]] = []
    db = settings.sqlite_file
    if db is not None:
        candidates.append(("catalog.uri", db, 'catalog.uri = "sqlite:///{rel}"'))
    for name, tier in settings.tiers.items():
        if tier.url.startswith("file://"):
            path = Path(urlsplit(tier.url).path)
            candidates.append((f"tiers.{name}.url", path, f'[tiers.{name}] url = "{{rel}}"'))
    # A path the config itself uses inside the root is no sign of a move: a NAS tier at
    # /mnt/nas/warehouse next to the SSD tier <root>/warehouse is an ordinary setup.
    configured = {path.resolve() for _, path, _ in candidates}
    for key, path, fix in candidates:
        resolved = path.resolve()
        if resolved.is_relative_to(root):
            continue
        inside = _same_tail_inside(resolved, root)
        if inside is not None and inside.resolve() not in configured:
            rel = inside.relative_to(root).as_posix()
            found.append(OutsideRoot(key, resolved, inside, fix.format(rel=rel)))
    return found


def _same_tail_inside(path: Path, root: Path) -> Path | None:
    """root/<last parts of path> if it exists (shortest tail first, at most 3 parts)."""
    parts = path.parts[1:]
    for n in range(1, min(3, len(parts)) + 1):
        inside = root.joinpath(*parts[-n:])
        if inside.exists():
            return inside
    return None


def missing_catalog_moved(settings: Settings) -> CatalogError | None:
    """The error for a SQLite catalog file that is missing while the root holds one of the
    same name (a lake whose config names its old place), else None."""
    found = [o for o in config_outside_root(settings) if o.key == "catalog.uri"]
    if not found or found[0].path.exists():
        return None
    o = found[0]
    return CatalogError(
        f"catalog.uri names {o.path}, which does not exist, outside the lakehouse root "
        f"{settings.root}; the root holds {o.inside}. The lakehouse was moved or copied and "
        f"its doctordata.toml still names the old place. Fix: set {o.fix} in "
        f"{settings.root / 'doctordata.toml'} (relative paths are relative to the root), "
        "and likewise each tier url; `doctordata doctor` lists every such path."
    )
