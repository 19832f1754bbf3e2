"""What reading a damaged table raises, how to describe it, and where its metadata is.

Shared by integrity checks (backup/), maintenance (lifecycle/) and backups: a damaged
table is reported by name and the others go on.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog

FIX_RESTORE = (
    "restore the table from a backup: `doctordata backup list`, then "
    "`doctordata restore <backup> <new root>` and copy the table back"
)


@functools.cache
def damage_errors() -> tuple[type[BaseException], ...]:
    """What reading a damaged table raises: I/O errors, JSON/Avro/pydantic parse errors
    (ValueError), pyiceberg's ValidationError, malformed structures. Per-table code
    (verify, maintain, backup) turns these into a report entry naming the table."""
    import zlib

    from pyiceberg.exceptions import ValidationError

    return (OSError, ValueError, KeyError, TypeError, EOFError, zlib.error, ValidationError)


def describe(exc: BaseException, limit: int = 200) -> str:
    """'ValidationError: 1 validation error for TableMetadataWrapper' (first line only)."""
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first[:limit]}" if first else type(exc).__name__


def metadata_location(catalog: Catalog, name: str) -> str | None:
    """The catalog row's metadata location of ``ns.table``, read without loading the
    table (so it is known even when the metadata file is unreadable); None if unknown."""
    from pyiceberg.catalog.sql import IcebergTables, SqlCatalog
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    if not isinstance(catalog, SqlCatalog):
        return None
    namespace, _, table = name.rpartition(".")
    with Session(catalog.engine) as session:
        row = session.scalar(
            select(IcebergTables.metadata_location).where(
                IcebergTables.catalog_name == catalog.name,
                IcebergTables.table_namespace == namespace,
                IcebergTables.table_name == table,
            )
        )
    return row
