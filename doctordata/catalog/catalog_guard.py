"""Refuse to open an empty catalog over a warehouse that holds tables.

A SQL catalog is created on first use, so a truncated or deleted catalog.db (or an empty
Postgres database) would silently become a new, empty, "healthy" lakehouse next to
tables it no longer knows, and the next writes would bury them further. Before a
catalog is opened (and created), and once it is open, :func:`check_catalog` looks for
that state: no namespaces and no tables in the catalog, or a catalog database that is
missing, 0 bytes or not a database, while a local tier holds table metadata
(``<tier>/<ns>/<table>/metadata/*.metadata.json``). It then raises
:class:`~doctordata.errors.EmptyCatalogError` pointing at ``doctordata restore``.

A restore marks the root while it runs (:data:`RESTORE_MARK`) and clears the mark
once every table is registered; a root still marked is a half-finished restore and is
refused the same way.

Tiers on object storage are not listed here (opening a lakehouse must not wait on a
remote or offline bucket); the restore mark and the catalog database checks still apply.
"""

from __future__ import annotations

import glob
import itertools
import os
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from doctordata.errors import EmptyCatalogError

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog

    from doctordata.config import Settings
    from doctordata.storage.tier import Tier

RESTORE_MARK = ".doctordata-restore-in-progress"
_SQLITE_HEADER = b"SQLite format 3\x00"
FIX = (
    "restore the catalog from a backup: `doctordata backup list --to <tier>`, then "
    "`doctordata restore <backup> {root} --force --in-place` (or into a new root)"
)


def table_dirs(tiers: Mapping[str, Tier], limit: int = 5) -> list[str]:
    """Up to ``limit`` table directories (holding metadata.json files) on local tiers."""
    found: list[str] = []
    for tier in tiers.values():
        if not tier.is_local or not os.path.isdir(tier.root):
            continue
        pattern = os.path.join(glob.escape(tier.root), "*", "*", "metadata", "*.metadata.json")
        for path in itertools.islice(glob.iglob(pattern), limit * 20):
            table_dir = os.path.dirname(os.path.dirname(path))
            if table_dir not in found:
                found.append(table_dir)
            if len(found) >= limit:
                return found
    return found


def _sqlite_state(path: Path) -> str | None:
    """Why a SQLite catalog file cannot hold tables ('missing', '0 bytes', ...), or None."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return "missing"
    if size == 0:
        return "empty (0 bytes)"
    try:
        with path.open("rb") as f:
            header = f.read(len(_SQLITE_HEADER))
    except OSError as exc:
        return f"unreadable ({exc.strerror})"
    if header != _SQLITE_HEADER:
        return "not an SQLite database (overwritten or damaged)"
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return f"unreadable ({exc})"
    return None


def _refuse(root: Path, what: str, dirs: list[str]) -> EmptyCatalogError:
    shown = ", ".join(dirs[:3]) + (", ..." if len(dirs) > 3 else "")
    return EmptyCatalogError(
        f"{what}, but the warehouse holds table data ({shown}). Opening it would start a "
        f"new, empty lakehouse over those tables; refused. Fix: {FIX.format(root=root)}. "
        "If those directories are leftovers of tables you dropped, delete them."
    )


def check_restore_mark(root: Path) -> None:
    """Refuse a root a restore began writing and did not finish."""
    mark = root / RESTORE_MARK
    if mark.exists():
        detail = mark.read_text(encoding="utf-8", errors="replace").strip()
        raise EmptyCatalogError(
            f"a restore into {root} began ({detail or 'no details'}) and did not finish: "
            "its catalog may lack tables. Fix: run the same `doctordata restore ... "
            f"{root} --force` again (it finishes and clears {mark}), or restore into a new "
            "root."
        )


def check_before_open(settings: Settings, tiers: Mapping[str, Tier]) -> None:
    """Checks that need no catalog connection (run before the catalog is created)."""
    check_restore_mark(settings.root)
    uri = settings.catalog_uri
    if not uri.startswith("sqlite"):
        return

    path = sqlite_path(uri)
    state = _sqlite_state(path)
    if state is not None and (dirs := table_dirs(tiers)):
        raise _refuse(settings.root, f"the catalog database {path} is {state}", dirs)


def check_after_open(settings: Settings, tiers: Mapping[str, Tier], catalog: Catalog) -> None:
    """An open catalog with no namespace and no table over a warehouse with tables."""
    if catalog.list_namespaces():
        return
    if dirs := table_dirs(tiers):
        from doctordata.config import mask_url

        what = f"the catalog {mask_url(settings.catalog_uri)} holds no namespace and no table"
        raise _refuse(settings.root, what, dirs)


def sqlite_path(uri: str) -> Path:
    """sqlite:////abs/catalog.db -> /abs/catalog.db."""
    parts = urlsplit(uri)
    raw = uri.split(":///", 1)[1] if ":///" in uri else parts.path
    return Path(raw.split("?", 1)[0])
