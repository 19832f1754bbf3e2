"""Make a copied or moved lakehouse usable in its new place (``doctordata relocate``).

A copy made with ``cp -r`` or ``mv`` holds every file, but Iceberg metadata, manifest lists,
manifests, the catalog rows and the checksum table still name the old root (see
catalog/moved.py, which refuses such a lake). Relocation rewrites those locations in the
copy with restore's machinery: the tier markers say which URL each local tier was made
under, :class:`LocationMapper` maps old tier URLs to the current ones, avro_paths.py
re-encodes manifests and manifest lists with only their path fields changed, and
delete_files.py rewrites each position-delete file (whose rows name data files by absolute
path) with its paths mapped; its manifest entry then describes the new file.

Crash safety: only files below the *new* tier URLs are written, each atomically (temporary
file + rename). Until the catalog rows are swapped (one transaction, last but the markers)
the copy's catalog still names the old files, so a half-rewritten copy is never read, and
running ``relocate`` again finishes the job (mapping a new path again leaves it as it is).
The original lake is only read while it still exists, never written.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from doctordata.backup.delete_files import FIX
from doctordata.errors import CatalogError

if TYPE_CHECKING:
    from pyiceberg.catalog.sql import SqlCatalog

    from doctordata.backup.delete_files import RewrittenDelete
    from doctordata.catalog.locations import LocationMapper
    from doctordata.catalog.moved import MovedTier
    from doctordata.config import Settings
    from doctordata.storage.tier import Tier


@dataclass
class RelocateReport:
    root: str
    moved: dict[str, tuple[str, str]] = field(default_factory=dict)  # tier -> (old, new URL)
    tables: list[str] = field(default_factory=list)
    files: int = 0  # metadata files, manifest lists and manifests rewritten (or to rewrite)
    checksums: int = 0
    dry_run: bool = False
    shared: dict[str, str] = field(default_factory=dict)  # tier -> URL outside the root
    new_id: str | None = None  # the copy's new lake id ("" in a dry run; None: kept)

    def __str__(self) -> str:
        if not self.moved:
            return f"{self.root} was not moved or copied: nothing to relocate."
        verb = "would relocate" if self.dry_run else "relocated"
        lines = [f"{verb} the lakehouse at {self.root}"]
        lines += [f"  tier {n}: {old} -> {new}" for n, (old, new) in self.moved.items()]
        lines.append(
            f"  {len(self.tables)} tables, {self.files} metadata files, {self.checksums} checksums"
        )
        lines += [
            f"  warning: tier {n} ({url}) lies outside the root and was not copied: this "
            "lake and the original share its files (expiry or orphan removal in one "
            "deletes files the other reads); point one of them at its own tier"
            for n, url in self.shared.items()
        ]
        if self.new_id is not None:
            lines.append(
                f"  {'would get a new lake id' if self.dry_run else 'new lake id ' + self.new_id}"
                " (a copy keeps no id of its original's)"
            )
        if self.dry_run:
            lines.append("  (dry run: nothing was changed)")
        return "\n".join(lines)


def relocate(
    root: str | os.PathLike[str] | None = None,
    *,
    dry_run: bool = False,
    new_id: bool | None = None,
) -> RelocateReport:
    """Rewrite every location of the place this lakehouse was copied or moved from.

    A copy gets a new lake id (``<root>/.doctordata/lake-id``, which tier markers name):
    by default when the original is still there with the same id (``cp -r``); a move
    keeps its id. ``new_id=True`` forces a new id (a copy whose original is on another
    machine), ``new_id=False`` keeps it.

    Example::

        shutil.copytree("/srv/lake", "/srv/lake-copy")
        dd.relocate("/srv/lake-copy")
    """
    from doctordata.catalog.locations import LocationMapper
    from doctordata.catalog.moved import config_outside_root, moved_tiers
    from doctordata.catalog.sql import catalog_exists, close_catalog, open_catalog
    from doctordata.config import load_settings
    from doctordata.storage.tier import Tier, tiers_from_settings

    settings = load_settings(root)
    outside = config_outside_root(settings)
    if outside:
        o = outside[0]
        raise CatalogError(
            f"{o.key} in {settings.root / 'doctordata.toml'} names {o.path}, outside the "
            f"root, which holds {o.inside}: fix the config first (set {o.fix}), then run "
            "`doctordata relocate` again"
        )
    tiers = tiers_from_settings(settings)
    moved = moved_tiers(tiers)
    report = RelocateReport(str(settings.root), dry_run=dry_run)
    if not moved:
        return report
    report.moved = {m.tier: (m.old_url, m.url) for m in moved}
    _check_own_catalog(settings, moved)
    report.shared = _shared_tiers(settings, tiers, moved)
    old = {m.tier: Tier(name=m.tier, url=m.old_url) for m in moved}
    mapper = LocationMapper(old, {m.tier: m.url for m in moved})
    if catalog_exists(settings):
        catalog = open_catalog(settings, tiers, guard=False)
        try:
            _relocate_catalog(catalog, settings, tiers, mapper, report)
        finally:
            close_catalog(catalog)
    if new_id or (new_id is None and _original_shares_id(settings.root, moved)):
        report.new_id = "" if dry_run else _renew_id(settings.root)
    if not dry_run:
        _remark(moved, tiers, settings.root)
    return report


def _original_shares_id(root: Path, moved: list[MovedTier]) -> bool:
    """True if a moved tier's old place still holds a marker naming this lake's id: the
    original exists, and this is a copy that must not keep its id."""
    from doctordata.storage.offline import current_lake_id, read_marker
    from doctordata.storage.tier import Tier

    ours = current_lake_id(root)
    return ours is not None and any(
        read_marker(Tier(name=m.tier, url=m.old_url)).get("lake") == ours for m in moved
    )


def _renew_id(root: Path) -> str:
    from doctordata.storage.offline import renew_lake_id

    return renew_lake_id(root)


def _check_own_catalog(settings: Settings, moved: list[MovedTier]) -> None:
    """Refuse to repoint a catalog the original still uses: a server catalog, or a SQLite
    file outside the root, while the original's tier directories still exist (a copy)."""
    from doctordata.catalog.locations import split_location

    db = settings.sqlite_file
    if db is not None and db.resolve().is_relative_to(settings.root.resolve()):
        return
    alive = [m for m in moved if os.path.exists(split_location(m.old_url)[1])]
    if not alive:
        return  # moved: the catalog's tables are this lake's alone
    where = str(db) if db is not None else "a database server"
    raise CatalogError(
        f"the catalog of {settings.root} lives in {where}, outside the root, and the "
        f"original ({alive[0].old_url}) still exists: its tables are the original's, and "
        "relocating would point them at this copy; refused. Fix: give the copy its own "
        "catalog (`doctordata backup`, then `doctordata restore <backup> "
        f"{settings.root} --force`), or move the lake instead of copying it."
    )


def _shared_tiers(
    settings: Settings, tiers: dict[str, Tier], moved: list[MovedTier]
) -> dict[str, str]:
    """Tiers not moved along with the root (e.g. a NAS mount): shared with the original."""
    from doctordata.catalog.locations import split_location

    root = settings.root.resolve()
    done = {m.tier for m in moved}
    out: dict[str, str] = {}
    for name, tier in tiers.items():
        if name in done:
            continue
        if not tier.is_local or not Path(split_location(tier.url)[1]).resolve().is_relative_to(
            root
        ):
            out[name] = tier.url
    return out


def _relocate_catalog(
    catalog: Any,
    settings: Settings,
    tiers: dict[str, Tier],
    mapper: LocationMapper,
    report: RelocateReport,
) -> None:
    from pyiceberg.catalog.sql import SqlCatalog

    if not isinstance(catalog, SqlCatalog):
        return
    rows = _table_rows(catalog)
    moved = {name: mapper(loc) for name, (loc, _) in rows.items() if mapper(loc) != loc}
    # Every table is checked before the first file is rewritten (a position-delete file
    # that cannot be rewritten refuses the whole relocation).
    for name, new in moved.items():
        report.tables.append(name)
        report.files += _rewrite_table(name, new, mapper, dry_run=True)
    rewritten: dict[str, RewrittenDelete] = {}
    if not report.dry_run:
        for name, new in moved.items():
            _rewrite_table(name, new, mapper, dry_run=False, rewritten=rewritten)
    report.checksums = _carry_checksums(settings.catalog_uri, mapper, report.dry_run)
    if rewritten:
        from doctordata.catalog.checksums import store_for

        store = store_for(settings.catalog_uri)
        if store is not None:  # the rewritten delete files' own bytes, not the old ones'
            try:
                store.record((loc, r.size, r.sha256) for loc, r in rewritten.items())
            finally:
                store.close()
    if not report.dry_run:
        from doctordata.storage.transfer import crash_point

        crash_point("relocate-rewritten")  # crash tests: files rewritten, rows not swapped
        _swap_rows(catalog, mapper)
        _forget_old_checksums(settings.catalog_uri, mapper)


# -- files ----------------------------------------------------------------------------------
def _local(location: str) -> str:
    from doctordata.catalog.locations import split_location

    return split_location(location)[1]


def _write_atomic(path: str, data: bytes) -> None:
    tmp = f"{path}.relocate-{uuid.uuid4().hex[:8]}"
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _rewrite_table(
    name: str,
    metadata_location: str,
    mapper: LocationMapper,
    dry_run: bool,
    rewritten: dict[str, RewrittenDelete] | None = None,
) -> int:
    """Rewrite one table's files in the copy: position-delete files (``rewritten`` gets
    their new entries), manifests, then manifest lists (with the manifests' new lengths),
    then every metadata.json of its log, the current one last."""
    from doctordata.backup.avro_paths import avro_paths, rewrite_avro
    from doctordata.backup.delete_files import not_rewritable
    from doctordata.backup.restore import rewrite_metadata

    if rewritten is None:
        rewritten = {}

    current = _local(metadata_location)
    docs: dict[str, dict[str, Any]] = {}
    pending = [current]
    while pending:
        path = pending.pop()
        if path in docs or not os.path.exists(path):
            continue  # a logged metadata file expired since: nothing reads it
        docs[path] = _read_json(path)
        for entry in docs[path].get("metadata-log", []):
            pending.append(_local(mapper(entry["metadata-file"])))
    lists: set[str] = set()
    for doc in docs.values():
        for snap in doc.get("snapshots", []):
            if snap.get("manifest-list"):
                lists.add(_local(mapper(snap["manifest-list"])))
    lists = {p for p in lists if os.path.exists(p)}
    manifests: dict[str, set[str]] = {}  # local path -> its names in the new manifest lists
    for path in lists:
        for m in avro_paths(Path(path).read_bytes()):
            manifests.setdefault(_local(mapper(m)), set()).add(mapper(m))
    manifests = {p: names for p, names in manifests.items() if os.path.exists(p)}
    # Position-delete files name data files by absolute path inside their rows: each is
    # rewritten with its paths mapped, and its manifest entry describes the new file.
    deletes = _position_deletes(name, lists, mapper)
    count = len(docs) + len(lists) + len(manifests) + len(deletes)
    if dry_run:
        return count
    for path, (data, info) in sorted(deletes.items()):
        _write_atomic(_local(path), data)
        rewritten[path] = info
    entries = {p: info for p, (_, info) in deletes.items()}

    def unknown(location: str, file_format: str) -> None:
        if not _unchanged_delete(location, mapper):
            raise not_rewritable(name, location, file_format)

    lengths: dict[str, int] = {}
    for path in sorted(manifests):
        data = rewrite_avro(
            Path(path).read_bytes(), mapper, deletes=entries, unknown_delete=unknown
        )
        _write_atomic(path, data)
        lengths.update(dict.fromkeys(manifests[path], len(data)))
    for path in sorted(lists):
        _write_atomic(path, rewrite_avro(Path(path).read_bytes(), mapper, manifest_lengths=lengths))
    for path in sorted(docs, key=lambda p: p == current):
        _write_atomic(path, rewrite_metadata(Path(path).read_bytes(), path, mapper))
    return count


def _position_deletes(
    name: str, lists: set[str], mapper: LocationMapper
) -> dict[str, tuple[bytes, RewrittenDelete]]:
    """New location -> (rewritten bytes, new entry) of each live position-delete file of
    the table in the copy. Refuses (before anything is written) one
    that cannot be rewritten, or one on a tier shared with the original (not copied)."""
    from doctordata.backup.avro_paths import delete_manifests, position_delete_entries
    from doctordata.backup.delete_files import (
        is_parquet,
        named_locations,
        not_rewritable,
        rewrite_position_deletes,
    )

    found: dict[str, str] = {}
    for path in lists:
        for manifest in delete_manifests(Path(path).read_bytes()):
            local = _local(mapper(manifest))
            if os.path.exists(local):
                for location, fmt in position_delete_entries(Path(local).read_bytes()):
                    found[mapper(location)] = fmt
    out: dict[str, tuple[bytes, RewrittenDelete]] = {}
    for location, fmt in sorted(found.items()):
        local = _local(location)
        if not os.path.exists(local):
            continue  # missing: verify names it; nothing to rewrite
        data = Path(local).read_bytes()
        names = named_locations(data) if is_parquet(data) else None
        if names is None:
            raise not_rewritable(name, location, fmt)
        if not _in_copy(location, mapper):
            if all(mapper(n) == n for n in names):
                continue  # on a shared tier, naming only files that stay where they are
            raise CatalogError(
                f"table {name}: position-delete file {location} lies on a tier that was not "
                "copied (shared with the original) but names data files that were: "
                "rewriting it would change the original's table, leaving it would bring "
                f"deleted rows back; refused, nothing was changed. Fix: {FIX}."
            )
        # A file in the copy is rewritten even when its paths are mapped already (a second
        # run after a crash): its manifest entry and checksum must describe it either way.
        rewritten = rewrite_position_deletes(data, mapper, table=name, location=location)
        assert rewritten is not None  # named_locations found its file_path column
        out[location] = rewritten
    return out


def _in_copy(location: str, mapper: LocationMapper) -> bool:
    """True if ``location`` lies below a tier this relocation moved (the copy's own)."""
    from doctordata.storage.locations import Canonicalizer, is_within

    canon = Canonicalizer()
    parts = canon.parts(location)
    return any(is_within(parts, canon.parts(url)) for url in mapper.new.values())


def _unchanged_delete(location: str, mapper: LocationMapper) -> bool:
    """A delete file left as it is on purpose: missing, or naming no moved location."""
    from doctordata.backup.delete_files import is_parquet, named_locations

    local = _local(location)
    if not os.path.exists(local):
        return True
    data = Path(local).read_bytes()
    names = named_locations(data) if is_parquet(data) else None
    return names is not None and all(mapper(n) == n for n in names)


def _read_json(path: str) -> dict[str, Any]:
    import gzip

    data = Path(path).read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    doc: dict[str, Any] = json.loads(data)
    return doc


# -- catalog rows ---------------------------------------------------------------------------
def _table_rows(catalog: SqlCatalog) -> dict[str, tuple[str, str | None]]:
    from pyiceberg.catalog.sql import IcebergTables
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    query = select(
        IcebergTables.table_namespace,
        IcebergTables.table_name,
        IcebergTables.metadata_location,
        IcebergTables.previous_metadata_location,
    ).where(IcebergTables.catalog_name == catalog.name)
    with Session(catalog.engine) as session:
        rows = session.execute(query).all()
    return {
        f"{ns}.{n}": (str(loc), str(prev) if prev else None) for ns, n, loc, prev in rows if loc
    }


def _swap_rows(catalog: SqlCatalog, mapper: LocationMapper) -> None:
    """Every table row and namespace property, in one transaction."""
    from pyiceberg.catalog.sql import IcebergNamespaceProperties, IcebergTables
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    with Session(catalog.engine) as session, session.begin():
        tables: Any = session.scalars(
            select(IcebergTables).where(IcebergTables.catalog_name == catalog.name)
        ).all()
        for t in tables:
            if t.metadata_location:
                t.metadata_location = mapper(t.metadata_location)
            if t.previous_metadata_location:
                t.previous_metadata_location = mapper(t.previous_metadata_location)
        props: Any = session.scalars(
            select(IcebergNamespaceProperties).where(
                IcebergNamespaceProperties.catalog_name == catalog.name
            )
        ).all()
        for p in props:
            if p.property_value:
                p.property_value = str(mapper.rewrite_json(p.property_value))


# -- checksums ------------------------------------------------------------------------------
def _recorded_keys(uri: str) -> list[str]:
    from sqlalchemy import inspect, select

    from doctordata.catalog.checksums import TABLE, store_for

    store = store_for(uri)
    if store is None:
        return []
    try:
        if not inspect(store.engine).has_table(TABLE):
            return []
        with store.engine.connect() as conn:
            return [str(k) for (k,) in conn.execute(select(store.table.c.location))]
    finally:
        store.close()


def _carry_checksums(uri: str, mapper: LocationMapper, dry_run: bool) -> int:
    """Record each data file's checksum under its new location too (same bytes)."""
    from doctordata.catalog.checksums import store_for

    moves = {k: mapper(k) for k in _recorded_keys(uri)}
    moves = {k: v for k, v in moves.items() if v != k}
    if dry_run or not moves:
        return len(moves)
    store = store_for(uri)
    assert store is not None
    try:
        return store.carry(moves)
    finally:
        store.close()


def _forget_old_checksums(uri: str, mapper: LocationMapper) -> None:
    from doctordata.catalog.checksums import store_for

    old = [k for k in _recorded_keys(uri) if mapper(k) != k]
    store = store_for(uri)
    if store is None or not old:
        return
    try:
        store.forget(old)
    finally:
        store.close()


# -- markers --------------------------------------------------------------------------------
def _remark(moved: list[MovedTier], tiers: dict[str, Tier], root: Path) -> None:
    """Markers last: until they name the new URLs the copy is still recognised as moved."""
    from doctordata.storage.offline import forget_marked, mark, marker_location
    from doctordata.storage.tier import Tier

    for m in moved:
        tier = tiers[m.tier]
        location = marker_location(tier)
        if os.path.exists(location):
            os.remove(location)
        mark(tier, root)
        forget_marked(root, Tier(name=m.tier, url=m.old_url))
