"""A full or read-only tier named as such: OSError 28/30 from any write -> StorageError.

pyiceberg and pyarrow write data and metadata files through their own FileIO; their
``OSError`` carries the errno but often no file name. The facade's writing methods run
inside :func:`storage_errors`, which names the tier (the one whose root the message
mentions, else the tier being written), its free space and the fix.
"""

from __future__ import annotations

import errno
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from doctordata.config import human_bytes
from doctordata.errors import DoctorDataError, StorageError
from doctordata.secrets import mask_text

if TYPE_CHECKING:
    from doctordata.storage.tier import Tier

# errno -> (what happened, the fix)
_KNOWN = {
    errno.ENOSPC: ("is full", "free space on it, or move old data off it with `doctordata tier`"),
    errno.EDQUOT: ("is over its quota", "raise the quota or free space on it"),
    errno.EFBIG: ("refused a file that large", "raise the file-size limit (ulimit -f)"),
    errno.EROFS: (
        "is read-only",
        "remount it read-write (or point the tier's url at a writable place)",
    ),
}


def _tier_for(exc: OSError, tiers: Mapping[str, Tier], default: str | None) -> Tier | None:
    text = f"{exc.filename or ''} {exc}"
    for tier in sorted(tiers.values(), key=lambda t: len(t.root), reverse=True):
        if tier.root and tier.root != "/" and tier.root in text:
            return tier
    return tiers.get(default) if default else None


def free_space(tier: Tier) -> str:
    """Free bytes on a local tier ('unknown' for object storage or a missing path)."""
    if not tier.is_local:
        return "unknown (object storage)"
    try:
        return human_bytes(shutil.disk_usage(tier.root).free)
    except OSError:
        return "unknown"


@contextmanager
def storage_errors(tiers: Mapping[str, Tier], default: str | None = None) -> Iterator[None]:
    """Turn a write that failed for lack of space or a read-only mount into StorageError."""
    try:
        yield
    except DoctorDataError:
        raise
    except OSError as exc:
        if exc.errno not in _KNOWN:
            raise
        what, fix = _KNOWN[exc.errno]
        tier = _tier_for(exc, tiers, default)
        where = f"tier {tier.name!r} ({tier.root}, free: {free_space(tier)})" if tier else "storage"
        raise StorageError(
            exc.errno,
            f"{where} {what}: {mask_text(str(exc.strerror or exc))}. The failed step was not committed; "
            f"{fix}, then retry.",
        ) from exc
