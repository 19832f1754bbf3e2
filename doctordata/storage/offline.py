"""Is a tier there? Tier markers tell an unmounted NAS from an empty directory.

An unmounted mount point is an empty (or missing) directory, and an empty directory also
looks like a tier that was never used. So each tier gets a small marker file at its root
(``.doctordata-tier``: the tier's name and this lake's id) the first time doctordata
uses it, and the lake remembers which tier URLs it marked (``<root>/.doctordata/tiers/``).
A tier whose marker is missing although the lake marked it, or although the catalog
references files on it, is *offline*: operations that need it raise TierOfflineError
(naming the tier, its URL and the fix) instead of reading an empty directory, writing
onto the disk below the mount point, or taking its files for missing.

Lakes made before markers existed: a tier without a marker that holds files the catalog
references (and that are there) is marked on first use, so upgrading locks nobody out.

Cost: one ``stat`` of the marker per tier per operation (a TierGuard remembers its
answers for the operation it serves); an S3 tier costs one HEAD request. Never a listing,
except once on the first use of an unmarked tier.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from doctordata.errors import TierOfflineError
from doctordata.storage.local_copy import write_durably

if TYPE_CHECKING:
    from doctordata.storage.tier import Tier

MARKER = ".doctordata-tier"
State = Literal["online", "offline", "unmarked", "unused"]
# online: marker present. offline: marker absent although this lake marked the tier, or
# the tier cannot be reached. unmarked: no marker but files there (a lake made before
# markers). unused: no marker, never marked, empty or missing directory.


@dataclass(frozen=True)
class TierProbe:
    """What one look at a tier found."""

    tier: str
    url: str
    state: State
    detail: str = ""


# -- the lake's own record --------------------------------------------------------------
def _state_dir(root: Path) -> Path:
    return Path(root) / ".doctordata"


def lake_id(root: Path) -> str:
    """This lake's id (created on first use; kept in ``<root>/.doctordata/lake-id``).

    Written durably (file, its folder, every folder created on the way): a lake that got
    a new id after a power cut would no longer recognise the tiers it marked offline, nor
    its own backups."""
    path = _state_dir(root) / "lake-id"
    found = current_lake_id(root)
    if found is not None:
        return found
    new = uuid.uuid4().hex
    if write_durably(str(path), (new + "\n").encode(), exclusive=True):
        return new
    found = current_lake_id(root)  # another process won the race
    if found is not None:
        return found
    # An empty file (a crash while an older doctordata wrote it): replace it.
    write_durably(str(path), (new + "\n").encode())
    return new


def current_lake_id(root: Path) -> str | None:
    """This lake's id if it has one yet (never creates one)."""
    try:
        return (_state_dir(root) / "lake-id").read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def renew_lake_id(root: Path) -> str:
    """Give the lake at ``root`` a new id (a copy must not keep its original's): returned."""
    new = uuid.uuid4().hex
    write_durably(str(_state_dir(root) / "lake-id"), (new + "\n").encode())
    return new


def adopt_lake_id(root: Path, lake: str) -> None:
    """Give the lake at ``root`` the id ``lake`` (an in-place restore brings a lake back)."""
    if current_lake_id(root) != lake:
        write_durably(str(_state_dir(root) / "lake-id"), (lake + "\n").encode())


def _record(root: Path, tier: Tier) -> Path:
    # Keyed by URL: renaming a tier keeps its record, pointing it elsewhere starts afresh.
    digest = hashlib.sha256(tier.url.rstrip("/").encode()).hexdigest()[:16]
    return _state_dir(root) / "tiers" / f"{digest}.json"


def forget_marked(root: Path, tier: Tier) -> None:
    """Forget that this lake marked ``tier`` (its URL is no longer this lake's: relocated)."""
    with contextlib.suppress(FileNotFoundError):
        _record(root, tier).unlink()


def was_marked(root: Path | None, tier: Tier) -> bool:
    """True if this lake marked ``tier`` before (so a missing marker means offline)."""
    return root is not None and _record(root, tier).exists()


# -- markers ----------------------------------------------------------------------------
def marker_location(tier: Tier) -> str:
    """The marker as the tier's filesystem names it."""
    return f"{tier.root.rstrip('/')}/{MARKER}"


def read_marker(tier: Tier) -> dict[str, str]:
    """The marker's content ({} if absent or unreadable)."""
    try:
        if tier.is_local:  # open(): every command reads markers, fsspec costs ~0.1 s to import
            with open(marker_location(tier), "rb") as fh:
                raw = fh.read()
        else:
            raw = tier.fs.cat_file(marker_location(tier))
        data = json.loads(raw)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def mark(tier: Tier, root: Path) -> None:
    """Write the tier's marker (if absent) and remember in the lake that it was marked.

    The tier's directory must exist (callers check or create it first)."""
    body = {
        "tier": tier.name,
        "url": tier.url,
        "lake": lake_id(root),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    data = (json.dumps(body, indent=1) + "\n").encode()
    location = marker_location(tier)
    if tier.is_local:
        if not os.path.exists(location):
            write_durably(location, data)
    elif not tier.fs.exists(location):
        tier.fs.pipe_file(location, data)
    record = _record(root, tier)
    if not record.exists():  # its folders too: a record lost to a power cut would make
        write_durably(str(record), data)  # the tier look never used, not offline


def mark_hot_tier(tier: Tier, root: Path) -> None:
    """Mark a local hot tier on connect (the lake writes there from its first table on).
    An offline one stays unmarked: marking the empty mount point would hide the outage."""
    if not tier.is_local or not os.path.isdir(tier.root):
        return
    if probe(tier, root).state in ("unused", "unmarked"):
        with contextlib.suppress(OSError):  # a read-only root: marked by a later writer
            mark(tier, root)


def _first_entry(tier: Tier) -> bool:
    """True if the tier's directory holds anything (stops at the first entry)."""
    if tier.is_local:
        try:
            with os.scandir(tier.root) as it:
                return any(True for _ in it)
        except OSError:
            return False
    try:
        return bool(tier.fs.ls(tier.root, detail=False))
    except FileNotFoundError:
        return False


def probe(tier: Tier, root: Path | None) -> TierProbe:
    """Look at ``tier`` once: a stat of its marker (a HEAD request on S3)."""
    if tier.is_local:
        try:
            os.stat(marker_location(tier))
        except (FileNotFoundError, NotADirectoryError):
            return _without_marker(tier, root)
        except OSError as exc:  # EIO, ESTALE (a dead NFS server), EACCES
            return TierProbe(tier.name, tier.url, "offline", f"{exc.strerror or exc}")
        return TierProbe(tier.name, tier.url, "online")
    from doctordata.storage.checks import is_auth_error

    try:
        _quick_fs(tier).info(marker_location(tier), refresh=True)
    except FileNotFoundError:
        try:
            return _without_marker(tier, root)
        except Exception as exc:
            return _s3_failure(tier, exc, is_auth_error(exc))
    except Exception as exc:
        return _s3_failure(tier, exc, is_auth_error(exc))
    return TierProbe(tier.name, tier.url, "online")


_QUICK: dict[tuple[str, str | None], Any] = {}


def _quick_fs(tier: Tier) -> Any:
    """The tier's S3 filesystem without retries: a dead endpoint is known in one try
    (s3fs and botocore otherwise retry for ~15 s before giving up)."""
    key = (tier.url, tier.endpoint)
    if key not in _QUICK:
        import fsspec

        opts = tier.storage_options()
        config = {
            **dict(opts.pop("config_kwargs", {}) or {}),
            "connect_timeout": 5,
            "retries": {"max_attempts": 1},
        }
        fs = fsspec.filesystem("s3", skip_instance_cache=True, config_kwargs=config, **opts)
        fs.retries = 1  # s3fs's own retry loop (a class attribute, not an argument)
        _QUICK[key] = fs
    return _QUICK[key]


def _s3_failure(tier: Tier, exc: BaseException, auth: bool) -> TierProbe:
    if auth:
        from doctordata.storage.checks import credentials_refused

        raise credentials_refused(tier, exc) from None
    where = tier.endpoint or "S3"
    return TierProbe(
        tier.name, tier.url, "offline", f"cannot reach {where} ({type(exc).__name__}: {exc})"
    )


def _without_marker(tier: Tier, root: Path | None) -> TierProbe:
    if was_marked(root, tier):
        return TierProbe(
            tier.name,
            tier.url,
            "offline",
            f"its marker {MARKER} is missing although this lake marked it before",
        )
    if _first_entry(tier):
        return TierProbe(tier.name, tier.url, "unmarked", "holds files but no marker yet")
    return TierProbe(tier.name, tier.url, "unused", "empty or missing, never marked")


def offline_error(tier: Tier, detail: str, what: str = "") -> TierOfflineError:
    """TierOfflineError naming the tier, its URL, why and the fix."""
    fix = (
        f"mount it (is {tier.root} on the NAS mounted?)"
        if tier.is_local
        else f"check that {tier.endpoint} is up and reachable"
        if tier.endpoint
        else "no S3 endpoint is set, so AWS was asked: for MinIO/SeaweedFS pass --endpoint "
        "URL (or set the tier's endpoint in doctordata.toml)"
    )
    need = f"{what} needs tier" if what else "tier"
    exc = TierOfflineError(
        f"{need} {tier.name!r} ({tier.url}), which is offline: {detail}. Fix: {fix}, then "
        "retry; nothing was changed. Queries and writes that touch only other tiers still work."
    )
    exc.tier = tier.name  # type: ignore[attr-defined]
    exc.check = "offline"  # type: ignore[attr-defined]
    return exc


# -- one operation's view ---------------------------------------------------------------
class TierGuard:
    """Tier states for one operation (a query, a write, a maintenance run): each tier is
    looked at once, on first need."""

    def __init__(self, tiers: Mapping[str, Tier], root: Path | None) -> None:
        # root None: the lake's record is unknown (a tier is then offline when its marker
        # is gone and its directory is empty or missing), and nothing gets marked.
        self.tiers = dict(tiers)
        self.root = Path(root) if root is not None else None
        self._seen: dict[str, TierProbe] = {}

    def probe(self, name: str) -> TierProbe:
        if name not in self._seen:
            self._seen[name] = probe(self.tiers[name], self.root)
        return self._seen[name]

    def tier_of(self, location: str) -> Tier | None:
        """The tier holding ``location`` (the deepest root when tiers nest)."""
        # A prefix test per tier first: a plan can hold many thousand files.
        for prefixes, tier in self._prefixes:
            if location.startswith(prefixes):
                return tier
        from doctordata.storage.locations import tier_of

        return tier_of(location, self.tiers)

    @cached_property
    def _prefixes(self) -> list[tuple[tuple[str, ...], Tier]]:
        out: list[tuple[tuple[str, ...], Tier]] = []
        for tier in sorted(self.tiers.values(), key=lambda t: len(t.root), reverse=True):
            root = tier.root.rstrip("/") + "/"
            if tier.is_local:
                out.append(((root, f"file://{root}"), tier))
            else:
                out.append(((f"s3://{root}", f"s3a://{root}"), tier))
        return out

    def offline(self) -> dict[str, TierProbe]:
        """Every tier that is offline (marked before, marker gone; or unreachable)."""
        return {name: seen for name in self.tiers if (seen := self.probe(name)).state == "offline"}

    def unavailable(self) -> set[str]:
        """Tiers whose files cannot be used now: offline ones, and those without a marker
        whose directory is empty or missing (whatever the catalog says is there is not)."""
        return {n for n in self.tiers if self.probe(n).state in ("offline", "unused")}

    def require(self, locations: Iterable[str], what: str = "") -> set[str]:
        """Raise TierOfflineError if a location lies on an offline tier; the tiers touched.

        A tier without a marker that the catalog references files on is offline when
        its directory is empty or missing (an unmounted disk); when it holds the first
        such file, it is an older lake's tier and gets its marker now."""
        first: dict[str, str] = {}
        for location in locations:
            tier = self.tier_of(location)
            if tier is not None:
                first.setdefault(tier.name, location)
        for name, location in first.items():
            self._require_one(self.tiers[name], location, what)
        return set(first)

    def require_tiers(self, names: Iterable[str], what: str = "") -> None:
        """Like :meth:`require` for tiers known to hold data (no file at hand)."""
        for name in names:
            if name in self.tiers:
                self._require_one(self.tiers[name], None, what)

    def _require_one(self, tier: Tier, location: str | None, what: str) -> None:
        seen = self.probe(tier.name)
        if seen.state == "offline":
            raise offline_error(tier, seen.detail, what)
        if seen.state == "unused":
            detail = (
                f"the catalog references files there but {tier.root} is empty or missing "
                "(no marker)"
            )
            raise offline_error(tier, detail, what)
        if seen.state == "unmarked" and self.root and location and _exists(tier, location):
            try:
                mark(tier, self.root)
            except OSError:
                return  # a read-only tier: still usable, marked on a later run
            self._seen[tier.name] = TierProbe(tier.name, tier.url, "online")


def _exists(tier: Tier, location: str) -> bool:
    try:
        return bool(tier.fs.exists(tier.fs_path(location)))
    except OSError:
        return False


def diagnose(
    tiers: Mapping[str, Tier], root: Path | None, location: str, what: str = ""
) -> TierOfflineError | None:
    """After reading ``location`` failed: the TierOfflineError to raise instead, if its
    tier is offline (None: the tier is there, so the file itself is the problem)."""
    guard = TierGuard(tiers, root)
    try:
        guard.require([location], what)
    except TierOfflineError as exc:
        return exc
    return None
