"""One table's metadata.json (json) and its manifests (avro.py), as plain values.

Only local files are read here (file:// or a bare path); anything else (S3, a tier that
went offline, a damaged file) raises Unsupported and the pyiceberg path takes over, so
its typed errors stay the only ones users see.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from doctordata.catalog.lineage import read_lineage
from doctordata.catalog.reader.avro import Unsupported, UnsupportedAvro, read_container

_DECIMAL = re.compile(r"^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$")
_FIXED = re.compile(r"^fixed\[\s*(\d+)\s*\]$")
_PRIMITIVES = {
    "boolean", "int", "long", "float", "double", "date", "time", "timestamp",
    "timestamptz", "timestamp_ns", "timestamptz_ns", "string", "uuid", "binary",
}  # fmt: skip
# Manifest entry status and file content codes (Iceberg spec).
_DELETED = 2
_DATA = 0


def read_bytes(location: str) -> bytes:
    """A local file's bytes; Unsupported for remote or unreadable files."""
    parts = urlsplit(location)
    if parts.scheme not in ("", "file") or (parts.scheme == "file" and parts.netloc):
        raise Unsupported(f"{location} is not a local file")
    path = unquote(parts.path) if parts.scheme else location
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise Unsupported(f"cannot read {location}: {exc.strerror}") from None


def type_string(t: Any) -> str:
    """An Iceberg JSON type as pyiceberg's ``str(IcebergType)`` spells it."""
    if isinstance(t, str):
        if t in _PRIMITIVES:
            return t
        if m := _DECIMAL.match(t):
            return f"decimal({m.group(1)}, {m.group(2)})"
        if m := _FIXED.match(t):
            return f"fixed[{m.group(1)}]"
        raise Unsupported(f"type {t!r}")
    kind = t.get("type")
    if kind == "struct":
        return f"struct<{', '.join(_field_string(f) for f in t['fields'])}>"
    if kind == "list":
        return f"list<{type_string(t['element'])}>"
    if kind == "map":
        return f"map<{type_string(t['key'])}, {type_string(t['value'])}>"
    raise Unsupported(f"type {kind!r}")


def _field_string(f: dict[str, Any]) -> str:
    doc = f" ({f['doc']})" if f.get("doc") else ""
    req = "required" if f["required"] else "optional"
    return f"{f['id']}: {f['name']}: {req} {type_string(f['type'])}{doc}"


@dataclass
class TableMetadata:
    name: str
    location: str  # of the metadata file
    raw: dict[str, Any]

    @classmethod
    def load(cls, name: str, location: str) -> TableMetadata:
        data = read_bytes(location)
        try:
            if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
            raw = json.loads(data)
        except (OSError, ValueError) as exc:
            raise Unsupported(f"cannot parse {location}: {exc}") from None
        if not isinstance(raw, dict) or raw.get("format-version") not in (2, 3):
            raise Unsupported(f"{location}: not a v2/v3 table metadata file")
        return cls(name, location, raw)

    @property
    def table_location(self) -> str:
        return str(self.raw["location"])

    @property
    def current_snapshot_id(self) -> int | None:
        sid = self.raw.get("current-snapshot-id")
        return None if sid is None or sid == -1 else int(sid)

    def schema_fields(self) -> list[dict[str, Any]]:
        """Columns of the current schema: id, name, type (pyiceberg's spelling), required."""
        current = self.raw.get("current-schema-id")
        for schema in self.raw.get("schemas", []):
            if schema.get("schema-id") == current:
                return [
                    {
                        "id": f["id"],
                        "name": f["name"],
                        "type": type_string(f["type"]),
                        "required": bool(f["required"]),
                    }
                    for f in schema["fields"]
                ]
        raise Unsupported(f"{self.location}: no current schema")

    def spec_strings(self) -> list[str]:
        """Fields of the default partition spec as pyiceberg's ``str(PartitionField)``."""
        default = self.raw.get("default-spec-id")
        for spec in self.raw.get("partition-specs", []):
            if spec.get("spec-id") == default:
                return [self._spec_string(f) for f in spec["fields"]]
        raise Unsupported(f"{self.location}: no default partition spec")

    def _spec_string(self, field: dict[str, Any]) -> str:
        """One field as partitioning.spec_strings spells it: ``month(time)``, ``bucket(16, id)``."""
        column = self._column_names().get(field["source-id"], f"<field {field['source-id']}>")
        name, _, param = str(field["transform"]).partition("[")
        if name == "identity":
            return column
        if param:
            return f"{name}({param.rstrip(']')}, {column})"
        return f"{name}({column})"

    def _column_names(self) -> dict[int, str]:
        """Field id -> dotted name in the current schema (nested struct fields included)."""
        current = self.raw.get("current-schema-id")
        names: dict[int, str] = {}

        def walk(fields: list[dict[str, Any]], prefix: str) -> None:
            for f in fields:
                names[f["id"]] = prefix + f["name"]
                kind = f.get("type")
                if isinstance(kind, dict) and kind.get("type") == "struct":
                    walk(kind.get("fields", []), prefix + f["name"] + ".")

        for schema in self.raw.get("schemas", []):
            if schema.get("schema-id") == current:
                walk(schema.get("fields", []), "")
        return names

    def refs(self) -> dict[str, int]:
        refs = {k: int(v["snapshot-id"]) for k, v in (self.raw.get("refs") or {}).items()}
        current = self.current_snapshot_id
        if current is not None and "main" not in refs:
            refs["main"] = current  # as pyiceberg's metadata model fills it in
        return refs

    def snapshots(self) -> list[dict[str, Any]]:
        """snapshots.list_snapshots: one dict per snapshot, oldest first."""
        by_id: dict[int, list[str]] = {}
        for ref_name, sid in self.refs().items():
            by_id.setdefault(sid, []).append(ref_name)
        current = self.current_snapshot_id
        out = []
        for snap in self.raw.get("snapshots", []):
            summary = {k: str(v) for k, v in (snap.get("summary") or {}).items()}
            operation = summary.pop("operation", None)
            sid = int(snap["snapshot-id"])
            parent = snap.get("parent-snapshot-id")
            out.append(
                {
                    "snapshot_id": sid,
                    "parent_id": None if parent is None else int(parent),
                    "timestamp": datetime.fromtimestamp(snap["timestamp-ms"] / 1000, tz=UTC),
                    "operation": str(operation),
                    "summary": summary,
                    "refs": sorted(by_id.get(sid, [])),
                    "current": sid == current,
                }
            )
        return sorted(out, key=lambda s: s["timestamp"])

    def _snapshot(self, snapshot_id: int) -> dict[str, Any]:
        for snap in self.raw.get("snapshots", []):
            if snap["snapshot-id"] == snapshot_id:
                return dict(snap)
        raise Unsupported(f"{self.location}: no snapshot {snapshot_id}")

    def data_files(
        self, snapshot_id: int | None, *, deletes: bool = False
    ) -> Iterator[tuple[str, int, int]]:
        """(path, record_count, file_size_in_bytes) of every live data file of a snapshot
        (what pyiceberg's unfiltered plan_files reads), with ``deletes`` also its delete
        files (what fetch_manifest_entry lists); nothing for None."""
        if snapshot_id is None:
            return
        snap = self._snapshot(snapshot_id)
        if "manifest-list" not in snap:
            raise Unsupported(f"{self.location}: snapshot {snapshot_id} has no manifest list")
        try:
            _, manifests = read_container(read_bytes(snap["manifest-list"]))
            for manifest in list(manifests):
                if manifest.get("content", _DATA) != _DATA and not deletes:
                    continue
                _, entries = read_container(read_bytes(manifest["manifest_path"]))
                for entry in entries:
                    f = entry["data_file"]
                    if entry["status"] == _DELETED:
                        continue
                    if f.get("content", _DATA) != _DATA and not deletes:
                        continue
                    yield f["file_path"], f["record_count"], f["file_size_in_bytes"]
        except (UnsupportedAvro, KeyError, IndexError, ValueError) as exc:
            raise Unsupported(f"{self.location}: cannot read manifests ({exc})") from None

    def file_entries(self) -> Iterator[tuple[bool, str, int]]:
        """(is current, path, size) of every file of every snapshot, current snapshot
        first (lifecycle/status.py's entries)."""
        current = self.current_snapshot_id
        ids = [int(s["snapshot-id"]) for s in self.raw.get("snapshots", [])]
        for sid in sorted(ids, key=lambda i: i == current, reverse=True):
            for path, _, size in self.data_files(sid, deletes=True):
                yield sid == current, path, size

    def describe(self) -> dict[str, Any]:
        """The dict of commands/basic.describe_table, read without pyiceberg."""
        current = self.current_snapshot_id
        files = list(self.data_files(current))
        return {
            "name": self.name,
            "location": self.table_location,
            "metadata": self.location,
            "schema": self.schema_fields(),
            "partition_spec": self.spec_strings(),
            "snapshots": len(self.raw.get("snapshots", [])),
            "current_snapshot": current,
            "files": len(files),
            "rows": sum(f[1] for f in files),
            "bytes": sum(f[2] for f in files),
            "lineage": read_lineage(self._summary(current)),
        }

    def _summary(self, snapshot_id: int | None) -> dict[str, str]:
        for snap in self.raw.get("snapshots", []):
            if snap.get("snapshot-id") == snapshot_id:
                return {k: str(v) for k, v in (snap.get("summary") or {}).items()}
        return {}
