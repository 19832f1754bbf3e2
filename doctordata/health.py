"""Health checks behind `doctordata doctor`, usable from Python too.

    from doctordata.health import run_checks
    failed = [c for c in run_checks(lh) if c.failed]

Each check returns rows; a row is OK, FAIL (with a fix) or SKIP (not applicable here).
Checks never raise: whatever goes wrong becomes a FAIL row that names the thing.
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from doctordata.config import mask_url

if TYPE_CHECKING:
    from doctordata.lakehouse import Lakehouse

Status = Literal["OK", "FAIL", "SKIP"]

# Packages whose version decides behaviour; compared with the dev lock when it is found.
KEY_PACKAGES = (
    "pyiceberg",
    "pyarrow",
    "duckdb",
    "sqlglot",
    "sqlalchemy",
    "pydantic",
    "fsspec",
    "chdb",
    "clickhouse-connect",
    "s3fs",
    "psycopg2-binary",
    "dlt",
    "dbt-core",
    "dbt-duckdb",
    "dbt-clickhouse",
    "prefect",
)
# Extensions DuckDB needs beyond what its wheel bundles (parquet, json, icu).
DUCKDB_EXTENSIONS = ("httpfs", "iceberg", "avro", "tpch", "tpcds")
LOCK_FIX = "reinstall from the lock: uv pip install --require-hashes -r requirements/dev.txt"


@dataclass(frozen=True)
class Check:
    """One row of the doctor's report."""

    name: str
    status: Status
    detail: str
    fix: str = ""

    @property
    def failed(self) -> bool:
        return self.status == "FAIL"


def _ok(name: str, detail: str) -> Check:
    return Check(name, "OK", detail)


def _fail(name: str, detail: str, fix: str) -> Check:
    return Check(name, "FAIL", detail, fix)


def _skip(name: str, detail: str) -> Check:
    return Check(name, "SKIP", detail)


# -- versions -------------------------------------------------------------------------


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)


def read_pins(lock: Path) -> dict[str, set[str]]:
    """name -> pinned versions (a universal lock may pin several, one per platform)."""
    pins: dict[str, set[str]] = {}
    for name, version in _PIN.findall(lock.read_text(encoding="utf-8")):
        pins.setdefault(_normalize(name), set()).add(version)
    return pins


def find_lock() -> Path | None:
    """requirements/dev.txt of the source checkout doctordata runs from, if any."""
    source = Path(__file__).resolve().parent.parent
    lock = source / "requirements" / "dev.txt"
    if lock.is_file() and (source / "pyproject.toml").is_file():
        return lock
    return None


def check_versions(lock: Path | None) -> list[Check]:
    """Installed versions of KEY_PACKAGES (and DuckDB's extension wheels) vs the lock."""
    from importlib.metadata import PackageNotFoundError, version

    name = "versions"
    if lock is None:
        return [_skip(name, "no requirements/dev.txt next to the package (not a checkout)")]
    pins = read_pins(lock)
    wanted = [*KEY_PACKAGES, *(f"duckdb-extension-{e}" for e in DUCKDB_EXTENSIONS)]
    wrong: list[str] = []
    missing: list[str] = []
    matched = 0
    for package in wanted:
        pinned = pins.get(_normalize(package))
        if not pinned:
            continue
        try:
            installed = version(package)
        except PackageNotFoundError:
            missing.append(package)
            continue
        if installed in pinned:
            matched += 1
        else:
            wrong.append(f"{package} {installed} (lock: {', '.join(sorted(pinned))})")
    if wrong:
        return [_fail(name, f"differ from {lock}: {'; '.join(wrong)}", LOCK_FIX)]
    detail = f"{matched} key packages match {lock}"
    if missing:
        detail += f"; not installed (optional): {', '.join(missing)}"
    return [_ok(name, detail)]


# -- catalog and tiers ----------------------------------------------------------------


def check_catalog(lh: Lakehouse) -> list[Check]:
    """The catalog database answers (lists its namespaces)."""
    from doctordata.catalog.sql import catalog_exists
    from doctordata.errors import EmptyCatalogError

    uri = mask_url(lh.settings.catalog_uri) or ""
    if not catalog_exists(lh.settings) and not check_moved(lh):
        return [
            _skip(
                "catalog",
                f"no lakehouse here yet: {lh.settings.sqlite_file} does not exist "
                "(`doctordata init` or the first table creates it)",
            )
        ]
    try:
        namespaces = lh.catalog.list_namespaces()
    except EmptyCatalogError as exc:  # its message names the tables and the restore
        return [_fail("catalog", f"{uri}: {exc}", "doctordata restore (see the detail)")]
    except Exception as exc:
        return [
            _fail(
                "catalog",
                f"{uri}: {type(exc).__name__}: {exc}",
                "check catalog.uri in doctordata.toml (server running? credentials?)",
            )
        ]
    return [_ok("catalog", f"{uri} ({len(namespaces)} namespaces)")]


def check_moved(lh: Lakehouse) -> list[Check]:
    """Config paths and catalog locations that point outside a moved or copied root."""
    from doctordata.catalog.moved import config_outside_root, moved_tiers

    rows: list[Check] = []
    for o in config_outside_root(lh.settings):
        rows.append(
            _fail(
                "moved root",
                f"{o.key} names {o.path}, outside the root {lh.root}, which holds {o.inside}: "
                "this lakehouse was moved or copied and its config still names the old "
                "place (a copy would read and write the original)",
                f"set {o.fix} in doctordata.toml (relative paths are relative to the root)",
            )
        )
    for m in moved_tiers(lh.tiers):
        rows.append(
            _fail(
                "moved root",
                f"tier {m.tier!r} ({m.url}) was made at {m.old_url}: its files were copied "
                "or moved here, and the catalog's metadata still names the old place",
                f"run `doctordata --root {lh.root} relocate` (rewrites the locations in this "
                "copy), or use the lakehouse at its original place",
            )
        )
    return rows


def check_integrity(lh: Lakehouse) -> list[Check]:
    """Every file the catalog references exists with its size; the metadata chain holds."""
    from doctordata.backup.integrity import verify

    try:
        report = verify(lh, orphans=False, small_files=False)
    except Exception as exc:
        return [_fail("integrity", _root_cause(exc), "run `doctordata verify` for details")]
    if not report.ok:
        # One row per damaged table, naming it and its first problems.
        rows = []
        for table in report.failed_tables:
            errors = [i for i in report.errors if i.table == table]
            first = "; ".join(i.message for i in errors[:2])
            more = f" (+{len(errors) - 2} more)" if len(errors) > 2 else ""
            fix = f"{errors[0].fix}; `doctordata verify` lists every problem"
            rows.append(_fail(f"integrity {table}", f"{first}{more}", fix))
        for issue in (i for i in report.errors if i.table is None):
            rows.append(_fail("integrity", issue.message, issue.fix))
        return rows
    return [_ok("integrity", f"{report.tables} tables, {report.files_checked} referenced files")]


def check_tiers(lh: Lakehouse) -> list[Check]:
    """Each tier is online (its marker is there), exists and accepts a probe file."""
    from doctordata.catalog.sql import catalog_exists
    from doctordata.storage.checks import run_checks as tier_checks
    from doctordata.storage.offline import TierGuard

    guard = TierGuard(lh.tiers, lh.root)
    with_data: dict[str, int] | None = None
    rows: list[Check] = []
    for tier in lh.tiers.values():
        name = f"tier {tier.name}"
        if tier is lh.hot_tier and not catalog_exists(lh.settings) and _creatable(tier):
            rows.append(_skip(name, f"{tier.url}: not created yet (no lakehouse here yet)"))
            continue
        try:
            seen = guard.probe(tier.name)
            if seen.state == "unused" and with_data is None:
                with_data = _files_per_tier(lh)
            held = (with_data or {}).get(tier.name, 0)
            if seen.state == "offline" or (seen.state == "unused" and held):
                why = (
                    seen.detail
                    if seen.state == "offline"
                    else (f"the catalog references {held} files on it, but it is empty or missing")
                )
                rows.append(_fail(name, f"{tier.url}: OFFLINE: {why}", _offline_fix(tier)))
                continue
            results = tier_checks(tier)
        except Exception as exc:  # e.g. s3fs missing: MissingDependencyError names the fix
            fix = f"fix tiers.{tier.name} in doctordata.toml"
            rows.append(_fail(name, f"{tier.url}: {exc}", fix))
            continue
        failed = [r for r in results if not r.ok]
        if failed:
            # The storage checks' messages already say what to do (mount, mkdir, keys).
            detail = "; ".join(f"{r.check}: {r.detail.split(' check: ', 1)[-1]}" for r in failed)
            fix = f"see the detail, or fix tiers.{tier.name} in doctordata.toml"
            rows.append(_fail(name, f"{tier.url}: {detail}", fix))
        else:
            note = _marker_note(seen.state) or _foreign_marker(lh, tier)
            rows.append(_ok(name, f"{tier.url} online, writable{note}"))
    return rows


def _creatable(tier: Any) -> bool:
    """A local directory that does not exist yet below an existing directory."""
    if not tier.is_local or Path(tier.root).exists():
        return False
    parent = Path(tier.root).parent
    while not parent.exists() and parent.parent != parent:
        parent = parent.parent
    return parent.is_dir()


def _offline_fix(tier: Any) -> str:
    if tier.is_local:
        return f"mount the disk/NAS at {tier.root} (or fix tiers.{tier.name}.url), then rerun"
    return f"check that {tier.endpoint or 'the S3 endpoint'} is up and reachable, then rerun"


def _marker_note(state: str) -> str:
    if state == "unused":
        return " (not used yet; marked on first use)"
    if state == "unmarked":
        return " (no marker yet; written on its next use)"
    return ""


def _foreign_marker(lh: Lakehouse, tier: Any) -> str:
    """A note when the tier's marker was written by another lake (a shared or copied disk)."""
    from doctordata.storage.offline import read_marker

    id_file = Path(lh.root) / ".doctordata" / "lake-id"
    other = read_marker(tier).get("lake")
    if not other or not id_file.is_file() or id_file.read_text().strip() == other:
        return ""
    return f" (its marker names another lake, {other}: is this the right disk?)"


def _files_per_tier(lh: Lakehouse) -> dict[str, int]:
    """Tier -> files the catalog references there (only read when a tier has no marker)."""
    from doctordata.lifecycle.status import tier_status

    out: dict[str, int] = {}
    for row in tier_status(lh).rows:
        out[row.tier] = out.get(row.tier, 0) + row.live_files + row.retained_files
    return out


# -- engines --------------------------------------------------------------------------


def _install_all(ext_dir: str) -> dict[str, Path | None]:
    """INSTALL every extension wheel present into ``ext_dir``; name -> wheel file or None.

    All first, then LOAD: iceberg loads avro itself and must find it already installed.
    """
    import duckdb

    from doctordata.engines.extensions import wheel_extension_path

    paths = {ext: wheel_extension_path(ext, duckdb.__version__) for ext in DUCKDB_EXTENSIONS}
    con = duckdb.connect()
    try:
        # A private extension directory: checking must not change ~/.duckdb.
        con.execute(f"SET extension_directory = '{ext_dir}'")
        for path in paths.values():
            if path is not None:
                con.execute(f"INSTALL '{path}'")
    finally:
        con.close()
    return paths


def _load(ext: str, online: bool, ext_dir: str) -> None:
    import duckdb

    con = duckdb.connect()
    try:
        con.execute(f"SET extension_directory = '{ext_dir}'")
        if online:
            con.execute(f"INSTALL {ext}")
        con.execute(f"LOAD {ext}")
    finally:
        con.close()


def check_duckdb_extensions() -> list[Check]:
    """Each extension loads from its offline wheel, or else installs online."""
    try:
        import duckdb
    except ImportError:
        return [_fail("duckdb", "not installed", "pip install doctordata (duckdb is required)")]
    rows: list[Check] = []
    with tempfile.TemporaryDirectory(prefix="doctordata-doctor-") as ext_dir:
        try:
            paths = _install_all(ext_dir)
        except duckdb.Error as exc:
            fix = f"reinstall the duckdb-extension-*=={duckdb.__version__} wheels"
            return [_fail("duckdb extensions", f"cannot install: {exc}", fix)]
        for ext, path in paths.items():
            name = f"duckdb {ext}"
            source = "offline wheel" if path is not None else "downloaded (online)"
            try:
                _load(ext, path is None, ext_dir)
            except duckdb.Error as exc:
                rows.append(
                    _fail(
                        name,
                        f"cannot load ({source}): {str(exc).splitlines()[0]}",
                        f"pip install 'duckdb-extension-{ext}=={duckdb.__version__}'",
                    )
                )
                continue
            rows.append(_ok(name, f"loads ({source})"))
    return rows


def check_chdb() -> list[Check]:
    """chDB (embedded ClickHouse) imports."""
    try:
        import chdb
    except ImportError as exc:
        return [_fail("chdb", f"cannot import: {exc}", "pip install 'doctordata[clickhouse]'")]
    return [_ok("chdb", f"chdb {getattr(chdb, '__version__', '?')} importable")]


def check_clickhouse_server(lh: Lakehouse) -> list[Check]:
    """The configured ClickHouse server answers, when engines.clickhouse is http(s)://."""
    url = lh.settings.engines.clickhouse or ""
    masked = mask_url(url) or ""
    if not url.startswith(("http://", "https://")):
        return [_skip("clickhouse server", f"not configured (engines.clickhouse = {masked})")]
    try:
        import clickhouse_connect
    except ImportError:
        return [
            _fail(
                "clickhouse server",
                "clickhouse-connect is not installed",
                "pip install 'doctordata[clickhouse]'",
            )
        ]
    driver_log = logging.getLogger("clickhouse_connect")
    level = driver_log.level
    driver_log.setLevel(logging.CRITICAL)  # its own warning would repeat our FAIL row
    try:
        client = clickhouse_connect.get_client(dsn=url, connect_timeout=5, send_receive_timeout=10)
        try:
            server_version = client.command("SELECT version()")
        finally:
            client.close()
    except Exception as exc:
        return [
            _fail(
                "clickhouse server",
                f"{masked}: {_redact(_root_cause(exc), url)}",
                "start the server or fix engines.clickhouse (host, port, user, password)",
            )
        ]
    finally:
        driver_log.setLevel(level)
    return [_ok("clickhouse server", f"{masked} (ClickHouse {server_version})")]


def _root_cause(exc: BaseException, limit: int = 300) -> str:
    """The innermost OS-level error (e.g. connection refused), else the first message line."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.strerror:
            return f"{type(seen).__name__}: {seen.strerror}"
        seen = seen.__cause__ or seen.__context__
    first = (str(exc).splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first[:limit]}"


def _redact(text: str, url: str) -> str:
    """Remove the URL's password from an error message, wherever it appears."""
    from urllib.parse import urlsplit

    text = text.replace(url, mask_url(url) or "")
    password = urlsplit(url).password
    return text.replace(password, "***") if password else text


def run_checks(lh: Lakehouse, *, lock: Path | None = None) -> list[Check]:
    """Run every check; ``lock`` defaults to the checkout's requirements/dev.txt."""
    checks: Iterable[Callable[[], list[Check]]] = (
        lambda: check_versions(lock or find_lock()),
        lambda: check_moved(lh),
        lambda: check_catalog(lh),
        lambda: check_tiers(lh),
        lambda: check_integrity(lh),
        check_duckdb_extensions,
        check_chdb,
        lambda: check_clickhouse_server(lh),
    )
    rows: list[Check] = []
    for check in checks:
        rows.extend(check())
    return rows
