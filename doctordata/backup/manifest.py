"""The manifest of one backup: what it holds and how to put it back.

Written last and atomically; a backup directory without a complete manifest is a partial
backup (killed midway) and is never listed as a backup or restored.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from doctordata.errors import BackupError

FORMAT_VERSION = 1
SOURCE_STAMPS = "source_stamps"  # key in BackupManifest.walk_cache


@dataclass(frozen=True)
class BackupFile:
    """One file of the backup, stored as object ``sha256``."""

    path: str  # location as the Iceberg metadata spells it
    kind: str  # metadata | manifest-list | manifest | data | delete | statistics
    table: str
    size: int
    sha256: str
    tier: str  # source tier name ("" = below no configured tier)
    rel: str  # path relative to that tier's root (absolute path for "")


@dataclass
class BackupManifest:
    id: str
    created_at: str  # ISO 8601 UTC, when the catalog was copied
    doctordata_version: str
    # root, catalog_uri (password masked), catalog_name, hot_tier, tiers {name: {...}}
    source: dict[str, Any]
    # kind, tables [{namespace, name, metadata_location, ...}], namespaces {ns: props},
    # object / size: the SQLite catalog copy in the object store (None for Postgres)
    catalog: dict[str, Any]
    files: list[BackupFile] = field(default_factory=list)
    # Referenced files that did not exist when the backup ran: [{path, kind, table, reason}]
    missing: list[dict[str, str]] = field(default_factory=list)
    completed_at: str | None = None
    complete: bool = False
    stats: dict[str, Any] = field(default_factory=dict)
    # What the next backup may take from this one without reading it again: what each
    # manifest list / manifest contained (references.WalkCache), so it reads only manifests
    # written since; and under SOURCE_STAMPS, per entry of ``files`` (same order) the
    # [mtime_ns, ctime_ns] of the local source file when it was copied, or None
    # (backup_previous.py). Kept in this one dict so older readers simply ignore it.
    walk_cache: dict[str, Any] = field(default_factory=dict)
    format: int = FORMAT_VERSION

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def tables(self) -> list[str]:
        return [f"{t['namespace']}.{t['name']}" for t in self.catalog.get("tables", [])]

    def objects(self) -> set[str]:
        """Every object this backup needs (files and the catalog copy)."""
        needed = {f.sha256 for f in self.files}
        if self.catalog.get("object"):
            needed.add(self.catalog["object"])
        return needed

    def to_dict(self) -> dict[str, Any]:
        # Shallow on purpose: asdict() deep-copies the (large) walk cache for nothing.
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["files"] = [vars(f).copy() for f in self.files]
        return data

    @staticmethod
    def check_format(data: dict[str, Any], where: str) -> None:
        """BackupError unless ``data`` is a manifest in the format this version reads."""
        fmt = data.get("format") if isinstance(data, dict) else None
        if fmt != FORMAT_VERSION:
            version = data.get("doctordata_version") if isinstance(data, dict) else None
            raise BackupError(
                f"{where}: backup format {fmt!r} is not supported by this doctordata "
                f"(supports {FORMAT_VERSION}); restore it with the doctordata version that "
                f"wrote it ({version or 'unknown'})"
            )

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str) -> BackupManifest:
        cls.check_format(data, where)
        try:
            files = [BackupFile(**f) for f in data.get("files", [])]
            fields = {k: v for k, v in data.items() if k != "files"}
            return cls(files=files, **fields)
        except TypeError as exc:
            raise BackupError(f"{where}: the backup manifest is damaged ({exc})") from None
