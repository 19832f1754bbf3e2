"""Open the Iceberg catalog: pyiceberg's SqlCatalog (SQLite or Postgres) or a REST catalog.

SQLite runs in WAL mode with a busy timeout so several processes can commit to one file;
pyiceberg's compare-and-swap commit plus its retry (table property
``commit.retry.num-retries``, set on every table we create) makes concurrent appends safe.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from doctordata.config import Settings, mask_url
from doctordata.errors import (
    CatalogAuthError,
    CatalogError,
    CatalogUnavailableError,
    ConfigError,
    StorageError,
)
from doctordata.secrets import mask_text

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog

    from doctordata.storage.tier import Tier

FILE_IO = "doctordata.catalog.fileio.DurableFileIO"


def prepare_root(settings: Settings) -> None:
    """Create the root (and local hot-tier directory); fail clearly if not writable."""
    root = settings.root
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(
            f"cannot create the lakehouse root {root}: {exc.strerror}. Choose a writable "
            "directory with connect(root=...) or DOCTORDATA_ROOT."
        ) from None
    if not os.access(root, os.W_OK | os.X_OK):
        raise StorageError(
            f"the lakehouse root {root} is not writable by this user. Fix its permissions "
            "or choose another root with connect(root=...) or DOCTORDATA_ROOT."
        )
    hot = settings.tiers[settings.hot_tier]
    if hot.url.startswith("file://"):
        path = Path(urlsplit(hot.url).path)
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(
                f"cannot create the hot tier {settings.hot_tier!r} at {path}: {exc.strerror}"
            ) from None


def check_root(settings: Settings) -> None:
    """What :func:`prepare_root` would refuse, checked without creating anything: the
    nearest existing ancestor of the root must be a writable directory."""
    root = settings.root
    existing = root
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if existing == root:
        usable = root.is_dir() and os.access(root, os.W_OK | os.X_OK)
    else:
        usable = existing.is_dir() and os.access(existing, os.W_OK | os.X_OK)
    if not usable:
        why = "is not a directory" if not existing.is_dir() else "is not writable"
        raise StorageError(
            f"cannot create the lakehouse root {root}: {existing} {why}. Choose a writable "
            "directory with connect(root=...) or DOCTORDATA_ROOT."
        )


def _sqlite_pragmas(engine: Any, busy_timeout_ms: int) -> None:
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cur.execute("PRAGMA journal_mode = WAL")
        # FULL: a commit survives a power cut, not only a process crash.
        cur.execute("PRAGMA synchronous = FULL")
        cur.close()


def catalog_properties(settings: Settings, tiers: dict[str, Tier]) -> dict[str, str]:
    props: dict[str, str] = {
        "uri": settings.catalog_uri,
        "warehouse": tiers[settings.hot_tier].url,
        "py-io-impl": FILE_IO,
        **tier_properties(settings, tiers),
    }
    # One FileIO reads every tier. The first S3 tier's endpoint/keys are the defaults; each
    # S3 tier's own are also stored under its bucket, and DurableFileIO uses those for
    # that bucket's paths, so tiers on different S3 servers are all readable.
    remote = [tier for tier in tiers.values() if not tier.is_local]
    if remote:
        props.update(remote[0].pyiceberg_properties())
    owner: dict[str, Tier] = {}
    for tier in remote:
        bucket = urlsplit(tier.url).netloc
        own = tier.pyiceberg_properties()
        first = owner.setdefault(bucket, tier)
        if first is not tier and first.pyiceberg_properties() != own:
            raise ConfigError(
                f"tiers {first.name!r} and {tier.name!r} both use bucket {bucket!r} but with "
                "different endpoints or regions; one bucket name can be read through one "
                "endpoint only. Give one of them another bucket."
            )
        props.update({bucket_property(bucket, k): v for k, v in own.items()})
    props.update(settings.catalog.properties)
    return props


def tier_properties(settings: Settings, tiers: dict[str, Tier]) -> dict[str, str]:
    """The tiers and root, so the FileIO can tell an offline tier from a missing file."""
    import json

    from doctordata.catalog.fileio import ROOT_PROPERTY, TIERS_PROPERTY

    described = [
        {"name": t.name, "url": t.url, "endpoint": t.endpoint, "region": t.region}
        for t in tiers.values()
    ]
    return {TIERS_PROPERTY: json.dumps(described), ROOT_PROPERTY: str(settings.root)}


def bucket_property(bucket: str, key: str) -> str:
    """The catalog property holding ``key`` (e.g. s3.endpoint) for one bucket's paths."""
    from doctordata.catalog.fileio import BUCKET_PREFIX

    return f"{BUCKET_PREFIX}{bucket}.{key}"


def catalog_exists(settings: Settings) -> bool:
    """False only for a SQLite catalog whose file does not exist (yet)."""
    path = settings.sqlite_file
    return path is None or path.exists()


# Set on the stand-in returned for a root that has no catalog yet (see open_catalog).
ABSENT = "_doctordata_absent_catalog"


def is_absent(catalog: Catalog) -> bool:
    """True for the empty, read-only stand-in of a catalog that does not exist yet."""
    return bool(getattr(catalog, ABSENT, False))


def open_catalog(
    settings: Settings, tiers: dict[str, Tier], *, guard: bool = True, create: bool = True
) -> Catalog:
    """The pyiceberg catalog for these settings. Errors never contain a password.

    ``guard``: refuse an empty or unreadable catalog over a warehouse that holds tables,
    and a half-finished restore (catalog_guard.py); only restore itself turns it off.
    ``create=False``: a SQLite catalog file that does not exist is not created; instead an
    empty catalog that refuses writes stands in for it (:func:`is_absent`), so listing
    the tables of a root without a lakehouse has no side effect. Creating a namespace or a
    table opens the real one with ``create=True``."""
    from doctordata.catalog.speedups import metadata_updates, partition_split

    # These speed-ups lean on pyiceberg 0.12 internals; on another version: plain pyiceberg.
    fast_commits = metadata_updates.install()
    partition_split.install()
    from doctordata.catalog.speedups import (
        avro_write,
        config_cache,
        inline_executor,
        manifest_list_cache,
        manifest_merge,
        residual_nulls,
        schema_cache,
        snapshot_lookup,
    )

    residual_nulls.install()
    snapshot_lookup.install()
    manifest_merge.install()
    manifest_list_cache.install()
    avro_write.install()
    inline_executor.install()
    config_cache.install()
    schema_cache.install()
    props = catalog_properties(settings, tiers)
    uri = settings.catalog_uri
    shown = mask_url(uri)
    if settings.catalog.type == "rest" or uri.startswith(("http://", "https://")):
        from pyiceberg.catalog.rest import RestCatalog

        return RestCatalog(settings.catalog.name, **props)
    scheme = urlsplit(uri).scheme
    if not scheme.startswith(("sqlite", "postgresql")):
        raise ConfigError(
            f"catalog.uri = {shown!r}: unsupported database; use sqlite:///path/catalog.db "
            "or postgresql+psycopg2://user@host/db"
        )
    if scheme.startswith("postgresql"):
        try:
            import psycopg2  # noqa: F401
        except ImportError as exc:
            from doctordata.errors import MissingDependencyError

            raise MissingDependencyError("psycopg2", "postgres", "a Postgres catalog") from exc
    from pyiceberg.catalog.sql import SqlCatalog
    from sqlalchemy.exc import OperationalError, SQLAlchemyError

    from doctordata.catalog import catalog_guard

    if guard:
        catalog_guard.check_before_open(settings, tiers)
    if not create and not catalog_exists(settings):
        from doctordata.catalog.moved import missing_catalog_moved

        if (moved := missing_catalog_moved(settings)) is not None:
            raise moved
        return _absent_catalog(settings, props)
    if scheme.startswith("sqlite"):
        db_path = Path(uri.split(":///", 1)[1]) if ":///" in uri else None
        if db_path is not None:
            db_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        if fast_commits:
            from doctordata.catalog.speedups.metadata_cache import caching_sql_catalog

            catalog = _open_sql_catalog(caching_sql_catalog(), settings, props)
        else:
            catalog = _open_sql_catalog(SqlCatalog, settings, props)
    except OperationalError as exc:
        text = str(exc.orig) if exc.orig is not None else str(exc)
        text = text.replace(uri, shown or "")
        if _refused_credentials(text):
            raise _auth_error(shown or "", "password authentication failed") from None
        raise CatalogError(
            f"cannot open the catalog database {shown}: {_first_line(text)}"
        ) from None
    except SQLAlchemyError as exc:
        raise CatalogError(
            f"cannot open the catalog database {shown}: {type(exc).__name__}"
        ) from None
    if guard:
        try:
            from doctordata.catalog.moved import check_not_moved

            catalog_guard.check_after_open(settings, tiers, catalog)
            check_not_moved(settings.root, tiers, catalog)
        except BaseException:
            close_catalog(catalog)
            raise
    return catalog


def _absent_catalog(settings: Settings, props: dict[str, str]) -> Catalog:
    """An empty in-memory SQLite catalog that refuses writes (PRAGMA query_only)."""
    from pyiceberg.catalog.sql import SqlCatalog
    from sqlalchemy import create_engine, event
    from sqlalchemy.pool import StaticPool

    # StaticPool: one connection, so every thread sees the one empty schema.
    engine = create_engine("sqlite://", poolclass=StaticPool)
    catalog = SqlCatalog(
        settings.catalog.name, **{**props, "uri": "sqlite://", "init_catalog_tables": "false"}
    )
    catalog.engine.dispose()
    catalog.engine = engine
    catalog.create_tables()
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA query_only = ON")

    @event.listens_for(engine, "connect")
    def _read_only(dbapi_conn: Any, _record: Any) -> None:  # pragma: no cover - StaticPool
        dbapi_conn.execute("PRAGMA query_only = ON")

    setattr(catalog, ABSENT, True)
    return catalog


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def _open_sql_catalog(cls: Any, settings: Settings, props: dict[str, str]) -> Catalog:
    """SqlCatalog builds its engine in __init__; ours must be set up before first use:
    SQLite needs our pragmas, a server database our connection-error translation."""
    from sqlalchemy import create_engine

    # Build the engine ourselves, then let SqlCatalog create its tables on it.
    # init_catalog_tables=false avoids a first engine we'd discard.
    engine = create_engine(props["uri"], pool_pre_ping=False)
    if settings.catalog_uri.startswith("sqlite"):
        _sqlite_pragmas(engine, settings.catalog.busy_timeout_ms)
    else:
        _server_errors(engine)
    catalog = cls(settings.catalog.name, **{**props, "init_catalog_tables": "false"})
    catalog.engine.dispose()
    catalog.engine = engine
    _create_tables(catalog)
    return catalog


def _server_errors(engine: Any) -> None:
    """Connection failures of a catalog server, on open or on any later call, become
    CatalogUnavailableError (or CatalogAuthError) naming the host, never the password."""
    from sqlalchemy import event
    from sqlalchemy.exc import OperationalError

    url = engine.url
    where = mask_url(url.render_as_string(hide_password=True)) or ""

    @event.listens_for(engine, "handle_error")
    def _on_error(context: Any) -> None:
        exc = context.original_exception
        if not isinstance(context.sqlalchemy_exception, OperationalError):
            return
        if context.connection is not None and not context.is_disconnect:
            return  # a statement failed on a live connection: not ours to rename
        text = mask_text(_first_line(str(exc)))
        if url.password:
            text = text.replace(str(url.password), "***")
        if _refused_credentials(text):
            raise _auth_error(where, text) from None
        raise CatalogUnavailableError(
            f"the catalog database at {where} is not reachable ({text}). Start the "
            "database server, or fix the host and port in catalog.uri; nothing was "
            "committed by the call that failed."
        ) from None


def _refused_credentials(text: str) -> bool:
    return "password" in text.lower() or "authentication" in text.lower()


def _auth_error(where: str, detail: str) -> CatalogAuthError:
    """The one message for a catalog server that refused our credentials (masked URL)."""
    return CatalogAuthError(
        f"the catalog database at {where} refused the credentials ({detail}). Check the "
        "user and password in catalog.uri (set it with DOCTORDATA__CATALOG__URI to keep it "
        "out of files)."
    )


def _create_tables(catalog: Any) -> None:
    from sqlalchemy.exc import OperationalError

    for attempt in range(20):
        try:
            catalog.create_tables()
            return
        except OperationalError as exc:  # two processes creating the schema at once
            if "already exists" in str(exc) or attempt == 19:
                if "already exists" in str(exc):
                    return
                raise
            import time

            time.sleep(0.05 * (attempt + 1))


def close_catalog(catalog: Catalog) -> None:
    engine = getattr(catalog, "engine", None)
    if engine is not None:
        engine.dispose()
