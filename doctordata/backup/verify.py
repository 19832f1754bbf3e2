"""Verify a backup: re-read and checksum every object its manifest needs."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from doctordata.backup.manifest import BackupManifest
from doctordata.backup.store import (
    DEFAULT_WORKERS,
    BackupTarget,
    hash_file,
)
from doctordata.backup.targets import BackupInfo, open_backup

if TYPE_CHECKING:
    from doctordata.workspace import Workspace


@dataclass
class BackupVerifyReport:
    id: str
    url: str
    files: int
    bytes: int
    seconds: float
    # (file location in the source, object path, problem)
    bad: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.bad

    def __str__(self) -> str:
        from doctordata.config import human_bytes

        head = "OK" if self.ok else f"{len(self.bad)} BAD FILES"
        lines = [
            f"backup {self.id} at {self.url}: {head}",
            f"  checked {self.files} files, {human_bytes(self.bytes)} in {self.seconds:.1f} s",
        ]
        lines += [f"  {path}: {problem} (object {obj})" for path, obj, problem in self.bad]
        return "\n".join(lines)


# -- verify -------------------------------------------------------------------------------
def verify_objects(
    target: BackupTarget,
    manifest: BackupManifest,
    *,
    progress: bool | None = None,
    workers: int = DEFAULT_WORKERS,
) -> BackupVerifyReport:
    """Re-read and checksum every object ``manifest`` needs."""
    from doctordata.progress import byte_progress

    started = time.monotonic()
    checks: dict[str, tuple[str, int]] = {}  # sha -> (a location it holds, size)
    for f in manifest.files:
        checks.setdefault(f.sha256, (f.path, f.size))
    if manifest.catalog.get("object"):
        checks.setdefault(
            manifest.catalog["object"],
            ("<catalog database copy>", int(manifest.catalog.get("size", 0))),
        )
    bad: list[tuple[str, str, str]] = []

    def check(item: tuple[str, tuple[str, int]]) -> None:
        sha, (path, size) = item
        obj = target.object_path(sha)
        try:
            got, got_size = hash_file(target.fs, obj, advance)
        except FileNotFoundError:
            bad.append((path, obj, "object missing from the backup store"))
            return
        if got_size != size:
            bad.append((path, obj, f"size {got_size} bytes, expected {size}"))
        elif got != sha:
            bad.append((path, obj, f"checksum mismatch (sha256 {got[:12]}…, expected {sha[:12]}…)"))

    total = sum(size for _, size in checks.values())
    with byte_progress("verify", total, progress) as advance, ThreadPoolExecutor(workers) as pool:
        list(pool.map(check, checks.items()))
    return BackupVerifyReport(
        id=manifest.id,
        url=f"{target.url}/{manifest.id}",
        files=len(checks),
        bytes=total,
        seconds=time.monotonic() - started,
        bad=sorted(bad),
    )


def verify_backup(
    lh: Workspace | None,
    backup: str | BackupInfo | None = None,
    *,
    to: str = "nas",
    progress: bool | None = None,
    endpoint: str | None = None,
) -> BackupVerifyReport:
    """Re-read and checksum every file of a backup (the latest one by default).

    Returns a report whose ``bad`` lists each damaged or missing file by its location.
    """
    target, manifest = open_backup(backup, lh=lh, to=to, endpoint=endpoint)
    return verify_objects(target, manifest, progress=progress)
