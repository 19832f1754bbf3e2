"""Map Iceberg file locations to (tier, relative path) and back.

Iceberg metadata holds absolute locations in several spellings of the same file
(``/a/b``, ``file:/a/b``, ``file:///a/b``; ``s3://`` or ``s3a://``). A backup records each
file as its tier name plus the path relative to that tier's root, so a restore can put it
below any other root and rewrite the location to match.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

    from doctordata.storage.tier import Tier

EXTERNAL = ""  # tier name recorded for a file below no configured tier


def split_location(location: str) -> tuple[str, str]:
    """('file', '/abs/path') or ('s3', 'bucket/key')."""
    if "?" not in location and "#" not in location and location.isprintable():
        # The common spellings, without urlsplit (a backup maps every file it holds).
        if location.startswith("/"):
            return "file", location
        if location.startswith("file:///"):
            return "file", location[7:]
    parts = urlsplit(location)
    scheme = parts.scheme or "file"
    if scheme == "file":
        return "file", parts.path
    if scheme in ("s3", "s3a", "s3n"):
        return "s3", f"{parts.netloc}{parts.path}"
    return scheme, f"{parts.netloc}{parts.path}"


def tier_key(tier: Tier) -> tuple[str, str]:
    return ("file" if tier.is_local else "s3"), tier.root.rstrip("/")


def locate(tiers: Mapping[str, Tier], location: str) -> tuple[str, str]:
    """(tier name, path relative to its root); (EXTERNAL, absolute path) if below none.

    The longest matching root wins, so nested tiers resolve to the innermost one.
    """
    scheme, path = split_location(location)
    best: tuple[str, str] | None = None
    best_len = -1
    for name, tier in tiers.items():
        t_scheme, root = tier_key(tier)
        if t_scheme == scheme and path.startswith(root + "/") and len(root) > best_len:
            best, best_len = (name, path[len(root) + 1 :]), len(root)
    return best if best is not None else (EXTERNAL, path)


class Locator:
    """:func:`locate` for many locations against the same tiers (roots computed once)."""

    def __init__(self, tiers: Mapping[str, Tier]) -> None:
        keys = [(tier_key(tier), name) for name, tier in tiers.items()]
        # Longest root first, so nested tiers resolve to the innermost one.
        self._roots = sorted(keys, key=lambda k: -len(k[0][1]))

    def __call__(self, location: str) -> tuple[str, str]:
        scheme, path = split_location(location)
        for (t_scheme, root), name in self._roots:
            if t_scheme == scheme and path.startswith(root + "/"):
                return name, path[len(root) + 1 :]
        return EXTERNAL, path


def fs_for(tiers: Mapping[str, Tier], location: str) -> tuple[AbstractFileSystem, str]:
    """The filesystem that reads ``location`` and the path to give it."""
    scheme, path = split_location(location)
    name, _ = locate(tiers, location)
    if name != EXTERNAL:
        return tiers[name].fs, path
    import fsspec

    fs = fsspec.filesystem("file" if scheme == "file" else scheme)
    return fs, path


class LocationMapper:
    """Rewrites locations below the old tier roots to the same paths below new tier URLs."""

    def __init__(self, old: Mapping[str, Tier], new: Mapping[str, str]) -> None:
        self.old = dict(old)
        self.new = {name: url.rstrip("/") for name, url in new.items()}

    def __call__(self, location: str) -> str:
        name, rel = locate(self.old, location)
        if name not in self.new:
            return location
        # A file below no tier (EXTERNAL) keeps its whole path below the new external root.
        return f"{self.new[name]}/{rel.lstrip('/')}"

    def rewrite_json(self, value: object) -> object:
        """Rewrite every string in a JSON document that is a location below an old tier.

        (Files below no tier appear only in manifests, whose path fields are rewritten by
        field id; in metadata.json a string outside every tier is left alone.)"""
        if isinstance(value, str):
            # Only strings below a tier: a property that merely looks like a path stays.
            if _looks_like_location(value) and locate(self.old, value)[0] != EXTERNAL:
                return self(value)
            return value
        if isinstance(value, list):
            return [self.rewrite_json(v) for v in value]
        if isinstance(value, dict):
            return {k: self.rewrite_json(v) for k, v in value.items()}
        return value


def _looks_like_location(value: str) -> bool:
    return value.startswith(("/", "file:", "s3://", "s3a://", "s3n://"))
