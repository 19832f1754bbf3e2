"""doctordata: a reproducible, DuckDB-centric Iceberg lakehouse for one small box.

    import doctordata as dd
    lh = dd.connect()
    lh.sql("SELECT 1").fetchall()

Heavy dependencies (pyiceberg, pyarrow, duckdb, chdb, dlt, dbt, prefect) load lazily so
``import doctordata`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from doctordata.version import __version__

if TYPE_CHECKING:
    from doctordata.config import Settings
    from doctordata.lakehouse import Lakehouse, connect

__all__ = ["Lakehouse", "Settings", "__version__", "connect", "relocate", "restore"]


def restore(backup: str, root: str, **options: Any) -> Any:
    """Rebuild a working lakehouse at ``root`` from ``backup`` (see backup/restore.py)."""
    from doctordata.backup.backup import restore as _restore

    return _restore(backup, root, **options)


def relocate(root: str | None = None, *, dry_run: bool = False) -> Any:
    """Make a copied or moved lakehouse at ``root`` usable there (see backup/relocate.py)."""
    from doctordata.backup.relocate import relocate as _relocate

    return _relocate(root, dry_run=dry_run)


def __getattr__(name: str) -> Any:
    if name in ("connect", "Lakehouse"):
        from doctordata import lakehouse

        return getattr(lakehouse, name)
    if name == "Settings":
        from doctordata.config import Settings

        return Settings
    raise AttributeError(f"module 'doctordata' has no attribute {name!r}")
