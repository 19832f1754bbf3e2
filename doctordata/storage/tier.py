"""A Tier: a name, a URL and options that produce an fsspec filesystem."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from doctordata.errors import MissingDependencyError

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

    from doctordata.config import Settings


@dataclass(frozen=True)
class Tier:
    """One storage location. ``url`` is file:///abs/path or s3://bucket/prefix."""

    name: str
    url: str
    endpoint: str | None = None
    region: str | None = None
    min_free: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme or "file"

    @property
    def is_local(self) -> bool:
        return self.scheme == "file"

    @property
    def root(self) -> str:
        """The tier's root as the filesystem sees it (a local path, or bucket/prefix)."""
        parts = urlsplit(self.url)
        if self.is_local:
            return parts.path.rstrip("/") or "/"
        return f"{parts.netloc}{parts.path}".rstrip("/")

    def join(self, *parts: str) -> str:
        """A full URL below the tier root."""
        base = self.url.rstrip("/")
        return "/".join([base, *(p.strip("/") for p in parts if p)])

    def contains(self, location: str) -> bool:
        """True if a file URL or path lies below this tier's root."""
        loc = location
        if self.is_local and loc.startswith("file://"):
            loc = urlsplit(loc).path
        elif not self.is_local:
            parts = urlsplit(loc)
            if parts.scheme not in ("s3", "s3a"):
                return False
            loc = f"{parts.netloc}{parts.path}"
        root = self.root.rstrip("/") + "/"
        return loc.startswith(root)

    def relative(self, location: str) -> str:
        """The part of ``location`` below this tier's root ('ns.db/t/data/x.parquet')."""
        if not self.contains(location):
            raise ValueError(f"{location} is not on tier {self.name!r} ({self.url})")
        return self.fs_path(location)[len(self.root.rstrip("/")) + 1 :]

    def fs_path(self, location: str) -> str:
        """``location`` as this tier's fsspec filesystem names it (a path, or bucket/key)."""
        parts = urlsplit(location)
        if self.is_local:
            return parts.path if parts.scheme == "file" else location
        return f"{parts.netloc}{parts.path}" if parts.scheme else location

    def location(self, relative: str, *, like: str | None = None) -> str:
        """The full location of ``relative`` on this tier.

        Local files keep the style of ``like`` (a bare path or a file:// URL), so a moved
        file is spelled the way pyiceberg spelled the original.
        """
        if self.is_local and like is not None and not like.startswith("file:"):
            return f"{self.root.rstrip('/')}/{relative.lstrip('/')}"
        return self.join(relative)

    def storage_options(self) -> dict[str, Any]:
        """fsspec/pyiceberg options for this tier; S3 keys come from the environment only."""
        if self.is_local:
            return dict(self.options)
        opts: dict[str, Any] = dict(self.options)
        key, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
        if key and secret:
            opts.setdefault("key", key)
            opts.setdefault("secret", secret)
        client_kwargs = dict(opts.pop("client_kwargs", {}) or {})
        if self.endpoint:
            opts.setdefault("endpoint_url", self.endpoint)
        if self.region:
            client_kwargs.setdefault("region_name", self.region)
        if client_kwargs:
            opts["client_kwargs"] = client_kwargs
        return opts

    def pyiceberg_properties(self) -> dict[str, str]:
        """FileIO properties for pyiceberg (s3.endpoint, s3.access-key-id, ...)."""
        if self.is_local:
            return {}
        props: dict[str, str] = {}
        if self.endpoint:
            props["s3.endpoint"] = self.endpoint
        props["s3.region"] = self.region or "us-east-1"
        key, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
        if key and secret:
            props["s3.access-key-id"] = key
            props["s3.secret-access-key"] = secret
        return props

    @cached_property
    def fs(self) -> AbstractFileSystem:
        import fsspec

        if self.is_local:
            return fsspec.filesystem("file", auto_mkdir=True)
        try:
            import s3fs  # noqa: F401
        except ImportError as exc:
            raise MissingDependencyError("s3fs", "s3", f"tier {self.name!r} ({self.url})") from exc
        return fsspec.filesystem("s3", **self.storage_options())

    def __repr__(self) -> str:
        return f"Tier(name={self.name!r}, url={self.url!r}, endpoint={self.endpoint!r})"


def tiers_from_settings(settings: Settings) -> dict[str, Tier]:
    """Tiers in configured order (the first is the hot tier)."""
    return {
        name: Tier(
            name=name,
            url=cfg.url,
            endpoint=cfg.endpoint,
            region=cfg.region,
            min_free=cfg.min_free,
            options=dict(cfg.options),
        )
        for name, cfg in settings.tiers.items()
    }


def modified_at(info: Mapping[str, Any]) -> float | None:
    """A listed file's modification time (epoch seconds) from fsspec's ``info``, or None
    when the filesystem gives none. Callers treat None as "just written": a file of
    unknown age is never deleted or reported as an orphan."""
    stamp: Any = info.get("mtime") or info.get("LastModified") or info.get("created")
    if hasattr(stamp, "timestamp"):
        return float(stamp.timestamp())
    if isinstance(stamp, int | float) and not isinstance(stamp, bool):
        return float(stamp)
    return None
