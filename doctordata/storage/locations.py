"""The one canonical form of a file location, and the one rule for which tier holds it.

Iceberg metadata, fsspec listings, users and older versions of doctordata spell the same
file in many ways: ``/a/b``, ``file:/a/b``, ``file:///a/b``, ``/a//b``, ``/a/x/../b``, a
path through a symlink; ``s3://``, ``s3a://`` or ``s3n://``. Every question of the form
"is this the same file?", "is this file below that directory?" or "which tier holds it?"
compares :func:`canonical` forms, never raw strings: comparing raw strings is how orphan
cleanup once deleted a compacted table (``data//f.parquet`` is ``data/f.parquet``).

The canonical form:

- local files: ``file://`` + the absolute path with symlinks resolved (``realpath``:
  ``//``, ``.``, ``..`` and trailing slashes go away, and ``..`` after a symlink means
  what the kernel means by it). A file that does not exist is resolved as far as its
  directories exist.
- S3 (``s3``, ``s3a``, ``s3n``): ``s3://bucket/key``. Keys are taken literally: on S3
  ``a//b`` and ``a/b`` are two different objects, so only the scheme and a trailing
  slash are normalised. Writers never produce ``//`` (see :func:`join`).
- any other scheme: ``scheme://netloc/path`` without a trailing slash.

Like pyiceberg, a location is read with ``urlsplit``: no percent-decoding, and ``?`` or
``#`` start a query or fragment even in a bare path.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from doctordata.storage.tier import Tier

S3_SCHEMES = ("s3", "s3a", "s3n")


def split(location: str) -> tuple[str, str]:
    """The location as spelled, split for I/O: ('file', '/abs/path') or ('s3', 'bucket/key').

    No normalisation beyond the scheme (use :func:`canonical` to compare)."""
    if "?" not in location and "#" not in location and location.isprintable():
        # The common spellings without urlsplit (a backup maps every file it holds).
        if location.startswith("/"):
            return "file", location
        if location.startswith("file:///"):
            return "file", location[7:]
    parts = urlsplit(location)
    scheme = parts.scheme or "file"
    if scheme == "file":
        return "file", parts.path or "/"
    if scheme in S3_SCHEMES:
        return "s3", f"{parts.netloc}{parts.path}"
    return scheme, f"{parts.netloc}{parts.path}"


class Canonicalizer:
    """:func:`canonical_parts` for many locations: resolved directories are remembered.

    Create one per operation (one orphan cleanup, one backup walk), not per process: the
    cache assumes directories do not turn into symlinks while it lives.
    """

    def __init__(self, *, resolve: bool = True) -> None:
        self.resolve = resolve
        self._dirs: dict[str, str] = {}

    def parts(self, location: str) -> tuple[str, str]:
        scheme, path = split(location)
        if scheme != "file":
            return scheme, path.rstrip("/") if path.rstrip("/") else path
        return "file", self._local(path)

    def __call__(self, location: str) -> str:
        return unsplit(*self.parts(location))

    def _local(self, path: str) -> str:
        if not path.startswith("/"):
            path = os.path.abspath(path)
        if not self.resolve:
            normal = posixpath.normpath(path)
            return "/" + normal.lstrip("/")  # POSIX keeps a leading '//'; we do not
        head, tail = posixpath.split(path)
        if tail in ("", ".", ".."):
            return os.path.realpath(path)
        real_head = self._dirs.get(head)
        if real_head is None:
            real_head = os.path.realpath(head)
            self._dirs[head] = real_head
        full = posixpath.join(real_head, tail)
        return os.path.realpath(full) if os.path.islink(full) else full


def canonical_parts(location: str, *, resolve: bool = True) -> tuple[str, str]:
    """('file', '/real/abs/path') or ('s3', 'bucket/key'): see the module docstring.

    ``resolve=False`` skips symlink resolution (a purely lexical normal form)."""
    return Canonicalizer(resolve=resolve).parts(location)


def canonical(location: str, *, resolve: bool = True) -> str:
    """The canonical spelling: ``file:///real/path`` or ``s3://bucket/key``.

    >>> canonical("/tmp/../tmp//x/", resolve=False)
    'file:///tmp/x'
    >>> canonical("s3a://bucket/lake/t/")
    's3://bucket/lake/t'
    """
    return Canonicalizer(resolve=resolve)(location)


def unsplit(scheme: str, path: str) -> str:
    """('file', '/a') -> 'file:///a'; ('s3', 'b/k') -> 's3://b/k'."""
    if scheme == "file":
        return "file://" + path
    return f"{scheme}://{path}"


def is_within(child: tuple[str, str], root: tuple[str, str]) -> bool:
    """True if canonical ``child`` is ``root`` or lies below it (both from canonical_parts)."""
    if child[0] != root[0]:
        return False
    base = root[1].rstrip("/")
    return child[1] == root[1] or child[1].startswith(base + "/")


def relative_to(child: tuple[str, str], root: tuple[str, str]) -> str:
    """The part of canonical ``child`` below canonical ``root`` ('' for the root itself)."""
    if not is_within(child, root):
        raise ValueError(f"{unsplit(*child)} is not below {unsplit(*root)}")
    return child[1][len(root[1].rstrip("/")) + 1 :] if child[1] != root[1] else ""


def join(base: str, *parts: str) -> str:
    """``base`` + '/' + parts, never producing ``//`` and refusing '.'/'..' segments.

    Every path a writer invents (table directories, data paths) is built with this.

    >>> join("file:///lake/warehouse/", "hn", "", "items/")
    'file:///lake/warehouse/hn/items'
    """
    segments: list[str] = []
    for part in parts:
        for seg in part.split("/"):
            if seg in (".", ".."):
                raise ValueError(f"path segment {seg!r} in {part!r}: not allowed in a location")
            if seg:
                segments.append(seg)
    root = base.rstrip("/") or base
    if not segments:
        return root
    return root + "/" + "/".join(segments) if root != "/" else "/" + "/".join(segments)


def is_lexically_canonical(location: str) -> bool:
    """True if ``location`` has no empty (``//``), '.' or '..' segment and no trailing
    slash: what a writer must produce."""
    scheme, path = split(location)
    segments = path.split("/")
    if scheme == "file":
        segments = segments[1:]
    return all(s not in ("", ".", "..") for s in segments)


# -- which tier holds a location ----------------------------------------------------------
def tier_root(tier: Tier, canon: Canonicalizer | None = None) -> tuple[str, str]:
    """A tier's root in canonical parts."""
    return (canon or Canonicalizer()).parts(tier.url)


class TierIndex:
    """The one path -> tier rule: the tier whose canonical root is the longest one that
    holds the canonical location (so nested tiers resolve to the innermost one)."""

    def __init__(self, tiers: Mapping[str, Tier], canon: Canonicalizer | None = None) -> None:
        self.canon = canon or Canonicalizer()
        self.tiers = dict(tiers)
        roots = [(tier_root(t, self.canon), name) for name, t in tiers.items()]
        self.roots = sorted(roots, key=lambda r: -len(r[0][1]))

    def locate(self, location: str) -> tuple[str | None, str]:
        """(tier name, path below its root), or (None, canonical path) if below none."""
        parts = self.canon.parts(location)
        for root, name in self.roots:
            if is_within(parts, root):
                return name, relative_to(parts, root)
        return None, parts[1]

    def tier_of(self, location: str) -> Tier | None:
        name, _ = self.locate(location)
        return self.tiers[name] if name is not None else None

    def on_every_tier(self, relative: str) -> list[tuple[str, str]]:
        """Canonical parts of ``relative`` below each tier root (the mover keeps a file's
        relative path when it moves it, so a table owns the same subtree on every tier)."""
        return [parts for _, parts in self.each_tier(relative)]

    def each_tier(self, relative: str) -> list[tuple[Tier, tuple[str, str]]]:
        """(tier, canonical parts of ``relative`` below its root) for every tier."""
        out = []
        for (scheme, root), name in self.roots:
            path = root.rstrip("/") + "/" + relative if relative else root
            out.append((self.tiers[name], (scheme, path)))
        return out


def tier_of(location: str, tiers: Mapping[str, Tier]) -> Tier | None:
    """The tier holding ``location`` (longest canonical root wins), or None."""
    return TierIndex(tiers).tier_of(location)


def within_any(child: tuple[str, str], roots: Iterable[tuple[str, str]]) -> tuple[str, str] | None:
    """The first of ``roots`` that holds ``child`` (all canonical parts), else None."""
    for root in roots:
        if is_within(child, root):
            return root
    return None
