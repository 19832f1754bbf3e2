"""Pre-flight checks: is a tier there, mounted, writable, with room to spare?

The mover runs every check on every tier it will touch *before* it copies a byte, so an
unmounted NAS or a wrong S3 key ends the run with nothing changed. An authentication
failure is always reported as such, never as "missing".
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from doctordata.config import parse_size
from doctordata.errors import TierUnavailableError

if TYPE_CHECKING:
    from doctordata.storage.tier import Tier

# botocore error codes that mean "these credentials are wrong", whatever the HTTP status.
_AUTH_CODES = (
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "AccessDenied",
    "InvalidToken",
    "ExpiredToken",
    "AuthorizationHeaderMalformed",
    "403",
    "Forbidden",
)


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check on one tier."""

    tier: str
    check: str  # exists, mounted, writable, min_free, reachable, credentials, bucket
    ok: bool
    detail: str = ""


def _fail(tier: Tier, check: str, detail: str) -> TierUnavailableError:
    exc = TierUnavailableError(
        f"tier {tier.name!r} ({tier.url}) failed the {check!r} check: {detail}"
    )
    exc.tier = tier.name  # type: ignore[attr-defined]
    exc.check = check  # type: ignore[attr-defined]
    return exc


def free_bytes(tier: Tier) -> int | None:
    """Free bytes on a local tier's filesystem; None for object stores (unbounded)."""
    if not tier.is_local:
        return None
    try:
        return shutil.disk_usage(tier.root).free
    except OSError:
        return None


def check_local(tier: Tier, *, need_bytes: int = 0, expect_data: bool = False) -> None:
    """Raise TierUnavailableError unless the local tier can take ``need_bytes`` more."""
    root = tier.root
    if not os.path.isdir(root):
        raise _fail(
            tier,
            "exists",
            f"directory {root} does not exist; mount the disk or create the directory "
            f"(mkdir -p {root}), or fix tiers.{tier.name}.url in doctordata.toml",
        )
    if expect_data and not os.listdir(root):
        raise _fail(
            tier,
            "mounted",
            f"{root} is empty although the catalog has files on this tier; the disk is "
            "probably not mounted. Mount it and run again",
        )
    probe = os.path.join(root, f".doctordata-probe-{uuid.uuid4().hex}")
    try:
        with open(probe, "wb") as fh:
            fh.write(b"probe")
            fh.flush()
            os.fsync(fh.fileno())
        os.remove(probe)
    except OSError as exc:
        raise _fail(
            tier,
            "writable",
            f"cannot write to {root} ({exc.strerror or exc}); fix its permissions or mount "
            "it read-write",
        ) from None
    if tier.min_free is not None or need_bytes:
        floor = parse_size(tier.min_free) if tier.min_free is not None else 0
        free = free_bytes(tier) or 0
        if free - need_bytes < floor:
            raise _fail(
                tier,
                "min_free",
                f"{free} bytes free, {need_bytes} needed, and min_free = "
                f"{tier.min_free or 0} must remain; free space on the disk or lower "
                f"tiers.{tier.name}.min_free",
            )


def is_auth_error(exc: BaseException) -> bool:
    """True if the S3 server refused the credentials (never for a server that is down)."""
    if isinstance(exc, PermissionError):
        return True
    name = type(exc).__name__
    if isinstance(exc, ConnectionError | TimeoutError) or "Connect" in name or "Timeout" in name:
        return False
    # Whole words only: a bucket or host name may contain "403".
    text = f"{name} {exc}"
    return any(re.search(rf"\b{re.escape(code)}\b", text) for code in _AUTH_CODES)


def check_s3(tier: Tier) -> None:
    """Raise TierUnavailableError unless the bucket answers and accepts a write."""
    fs = tier.fs
    bucket = tier.root.split("/", 1)[0]
    probe = f"{tier.root}/.doctordata-probe-{uuid.uuid4().hex}"
    try:
        fs.invalidate_cache()
        fs.ls(bucket, detail=False)
    except FileNotFoundError:
        raise _fail(
            tier,
            "bucket",
            f"bucket {bucket!r} does not exist at {tier.endpoint or 'AWS'}; create it or "
            f"fix tiers.{tier.name}.url",
        ) from None
    except Exception as exc:
        if is_auth_error(exc):
            raise credentials_refused(tier, exc) from None
        raise _fail(
            tier,
            "reachable",
            f"cannot reach {tier.endpoint or 'S3'} ({type(exc).__name__}: {exc}); check "
            f"tiers.{tier.name}.endpoint and the network",
        ) from None
    try:
        fs.pipe(probe, b"probe")
        fs.rm(probe)
    except Exception as exc:
        check = "credentials" if is_auth_error(exc) else "writable"
        raise _fail(
            tier,
            check,
            f"cannot write to s3://{tier.root} ({type(exc).__name__}); the credentials need "
            "s3:PutObject and s3:DeleteObject on the bucket",
        ) from None


def check_tier(tier: Tier, *, need_bytes: int = 0, expect_data: bool = False) -> None:
    """Run every pre-flight check of ``tier``; raise TierUnavailableError on the first failure."""
    if tier.is_local:
        check_local(tier, need_bytes=need_bytes, expect_data=expect_data)
    else:
        check_s3(tier)


def run_checks(tier: Tier, *, expect_data: bool = False) -> list[CheckResult]:
    """Every check as a result row (for `doctordata doctor` / `tiers`), never raising."""
    try:
        check_tier(tier, expect_data=expect_data)
    except TierUnavailableError as exc:
        return [CheckResult(tier.name, getattr(exc, "check", "?"), False, str(exc))]
    return [CheckResult(tier.name, "all", True, "ok")]


def credentials_refused(tier: Tier, exc: BaseException) -> TierUnavailableError:
    """The error for an S3 server that refused our keys (never reported as "offline")."""
    return _fail(
        tier,
        "credentials",
        f"the S3 server refused the credentials ({type(exc).__name__}); check "
        "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY",
    )
