"""doctordata: a reproducible, DuckDB-centric Iceberg lakehouse for one small box.

    import doctordata as dd
    lh = dd.connect()
    lh.sql("SELECT 1").fetchall()

Heavy dependencies (pyiceberg, pyarrow, duckdb, chdb, dlt, dbt, prefect) load lazily so
``import doctordata`` stays fast.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from doctordata.version import __version__

if TYPE_CHECKING:
    from doctordata.config import Settings
    from doctordata.lakehouse import Lakehouse, connect

__all__ = ["Lakehouse", "Settings", "__version__", "connect", "relocate", "restore"]


def restore(
    backup: Any,
    root: str | os.PathLike[str],
    *,
    source: str | os.PathLike[str] | None = None,
    to: str = "nas",
    **options: Any,
) -> Any:
    """Rebuild a working lakehouse at ``root`` from ``backup`` (see backup/restore.py).

    ``backup`` is the BackupReport ``lh.backup()`` returned, the backup's directory path or
    URL, or its id; an id is looked up on tier ``to`` of the lakehouse at ``source``
    (default: the one ``dd.connect()`` would open). Example::

        report = lh.backup("nas")
        dd.restore(report, "/srv/lake-copy")
        dd.restore(report.id, "/srv/lake-copy", source="/srv/lake")
    """
    from doctordata.backup.backup import restore as _restore

    if isinstance(backup, str) and "/" not in backup and "://" not in backup:
        backup = _backup_by_id(backup, source, to, options.get("endpoint"))
    return _restore(backup, root, **options)


def _backup_by_id(
    backup_id: str, source: str | os.PathLike[str] | None, to: str, endpoint: str | None
) -> str:
    from doctordata.backup.targets import open_backup
    from doctordata.config import load_settings
    from doctordata.errors import BackupError
    from doctordata.lakehouse import connect

    settings = load_settings(source)
    if not (settings.root / "doctordata.toml").exists() and not any(
        (settings.root / name).exists() for name in ("catalog.db", "warehouse")
    ):
        raise BackupError(
            f"backup id {backup_id!r}: no lakehouse at {settings.root} to look it up in; "
            "pass source=<the backed-up lakehouse's root>, or the backup's directory path"
        )
    with connect(source) as lh:
        target, manifest = open_backup(backup_id, lh=lh, to=to, endpoint=endpoint)
    return f"{target.url}/{manifest.id}"  # "latest" is this lake's newest backup's id


def relocate(root: str | None = None, *, dry_run: bool = False, new_id: bool | None = None) -> Any:
    """Make a copied or moved lakehouse at ``root`` usable there (see backup/relocate.py)."""
    from doctordata.backup.relocate import relocate as _relocate

    return _relocate(root, dry_run=dry_run, new_id=new_id)


def __getattr__(name: str) -> Any:
    if name in ("connect", "Lakehouse"):
        from doctordata import lakehouse

        return getattr(lakehouse, name)
    if name == "Settings":
        from doctordata.config import Settings

        return Settings
    raise AttributeError(f"module 'doctordata' has no attribute {name!r}")
