"""The Lakehouse: config + catalog + tiers + engines, behind one small object.

Layer contract (shared/DESIGN.md): this module may import catalog/, storage/, engines/,
config and errors. Heavy work lives in those subpackages; methods here are thin.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from doctordata.config import Settings, load_settings
from doctordata.storage.tier import Tier, tiers_from_settings

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.catalog import Catalog
    from pyiceberg.table import Table

    from doctordata.backup.backup import BackupReport
    from doctordata.backup.integrity import IntegrityReport
    from doctordata.catalog.reader import CatalogReader
    from doctordata.catalog.reader.catalog import SharedReader
    from doctordata.catalog.tables import UpsertResult
    from doctordata.engines.base import Engine
    from doctordata.engines.plan_cache import PlanCache
    from doctordata.engines.publish import PublishReport
    from doctordata.engines.result import Result
    from doctordata.lifecycle.maintenance import MaintenanceReport
    from doctordata.lifecycle.mover import TierReport
    from doctordata.lifecycle.status import TierStatus


_F = TypeVar("_F", bound=Callable[..., Any])


def _checked(method: _F) -> _F:
    """Arguments checked against the annotations (InvalidArgumentError) before any work."""

    @functools.wraps(method)
    def wrapper(self: Lakehouse, *args: Any, **kwargs: Any) -> Any:
        from doctordata.arguments import check_arguments

        check_arguments(method, args, kwargs)
        return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _writes(method: _F) -> _F:
    """Checked arguments; a full or read-only tier raises StorageError naming the tier."""

    @functools.wraps(method)
    def wrapper(self: Lakehouse, *args: Any, **kwargs: Any) -> Any:
        from doctordata.arguments import check_arguments
        from doctordata.storage.write_errors import storage_errors

        check_arguments(method, args, kwargs)
        with storage_errors(self.tiers, self.settings.hot_tier):
            return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


class Lakehouse:
    """One lakehouse root. Create with :func:`doctordata.connect`.

    Example::

        with dd.connect("/srv/lake") as lh:
            lh.create_table("hn.items", arrow_tbl, partition_by=["day(time)"])
            lh.sql("SELECT count(*) FROM hn.items").fetchall()
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.root
        self.tiers: dict[str, Tier] = tiers_from_settings(settings)
        self._catalog: Catalog | None = None
        self._engines: dict[str, Engine] = {}
        self._plan_cache: PlanCache | None = None
        self._catalog_reader: SharedReader | None = None
        self._lock = threading.RLock()

    # -- lifecycle -------------------------------------------------------------------
    @property
    def hot_tier(self) -> Tier:
        return self.tiers[self.settings.hot_tier]

    @property
    def catalog(self) -> Catalog:
        """The real pyiceberg catalog (opened on first use)."""
        with self._lock:
            from doctordata.catalog.sql import catalog_exists, close_catalog, is_absent

            if (
                self._catalog is not None
                and is_absent(self._catalog)
                and catalog_exists(self.settings)
            ):  # another process created it since
                close_catalog(self._catalog)
                self._catalog = None
            if self._catalog is None:
                from doctordata.catalog.sql import open_catalog

                self._catalog = open_catalog(self.settings, self.tiers, create=False)
            return self._catalog

    def create_catalog(self) -> Catalog:
        """Create the root, the hot tier and the catalog if absent; return the catalog.

        Only this (and creating a namespace or a table, which call it) creates a catalog:
        opening a root that has none lists no tables and writes nothing."""
        with self._lock:
            from doctordata.catalog.sql import close_catalog, is_absent, open_catalog

            if self._catalog is not None and is_absent(self._catalog):
                close_catalog(self._catalog)
                self._catalog = None
            if self._catalog is None:
                from doctordata.catalog.sql import prepare_root
                from doctordata.storage.offline import mark_hot_tier

                prepare_root(self.settings)
                mark_hot_tier(self.hot_tier, self.root)
                self._catalog = open_catalog(self.settings, self.tiers)
            return self._catalog

    @property
    def catalog_opened(self) -> bool:
        """Whether :attr:`catalog` has been opened (read-only fast paths skip it if not)."""
        return self._catalog is not None

    @property
    def catalog_reader(self) -> CatalogReader | None:
        """A read-only sqlite3 reader of the catalog kept open across queries (closed by
        close()); None where it does not apply (catalog/reader/catalog.py)."""
        with self._lock:
            if self._catalog_reader is None:
                from doctordata.catalog.reader.catalog import SharedReader

                self._catalog_reader = SharedReader(self.settings, self.tiers)
            shared = self._catalog_reader
        return shared.get()

    @property
    def plan_cache(self) -> PlanCache:
        """Engine SQL of recent queries, reused while their tables are unchanged."""
        with self._lock:
            if self._plan_cache is None:
                from doctordata.engines import caches
                from doctordata.engines.plan_cache import PlanCache, code_fingerprint
                from doctordata.version import __version__

                caches.configure(self.settings.engines.plan_cache_size)
                self._plan_cache = PlanCache(
                    self.settings.engines.plan_cache_size,
                    self.root / ".doctordata" / "plans",
                    fingerprint=f"{__version__} {code_fingerprint()} {self.settings!r}",
                )
            return self._plan_cache

    @_checked
    def engine(self, name: str) -> Engine:
        """The engine called ``name`` ("duckdb", "clickhouse"), created on first use."""
        with self._lock:
            if name not in self._engines:
                from doctordata.engines import create_engine

                self._engines[name] = create_engine(name, self)
            return self._engines[name]

    def close(self) -> None:
        with self._lock:
            for engine in self._engines.values():
                engine.close()
            self._engines.clear()
            if self._plan_cache is not None:
                self._plan_cache.clear()
            if self._catalog_reader is not None:
                self._catalog_reader.close()
                self._catalog_reader = None
            if self._catalog is not None:
                from doctordata.catalog.sql import close_catalog

                close_catalog(self._catalog)
                self._catalog = None

    def __enter__(self) -> Lakehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Lakehouse(root={str(self.root)!r}, tiers={list(self.tiers)})"

    # -- namespaces ------------------------------------------------------------------
    @_writes
    def create_namespace(self, name: str, *, exist_ok: bool = True) -> None:
        from doctordata.catalog import tables
        from doctordata.catalog.identifiers import check_namespace

        check_namespace(name)
        tables.create_namespace(self.create_catalog(), name, exist_ok=exist_ok)

    @_checked
    def namespaces(self) -> list[str]:
        from doctordata.catalog import tables

        return tables.list_namespaces(self.catalog)

    @_checked
    def drop_namespace(self, name: str) -> None:
        from doctordata.catalog import tables

        tables.drop_namespace(self.catalog, name)

    # -- tables ----------------------------------------------------------------------
    @_checked
    def tables(self, namespace: str | None = None) -> list[str]:
        from doctordata.catalog import tables

        return tables.list_tables(self.catalog, namespace)

    @_checked
    def table(self, name: str) -> Table:
        """The real pyiceberg Table."""
        from doctordata.catalog import tables

        return tables.load_table(self.catalog, name)

    @_writes
    def create_table(
        self,
        name: str,
        data_or_schema: Any,
        *,
        partition_by: Sequence[str] | None = None,
        sort_by: Sequence[str] | None = None,
        exist_ok: bool = False,
        properties: Mapping[str, str] | None = None,
    ) -> Table:
        """Create a table from a pyarrow schema or data; data, if given, is appended.
        A Parquet file path gives the schema and the rows, in one commit with the table.

        ``sort_by=["time", "id DESC"]``: the rows of every file written are sorted so."""
        from doctordata.catalog import tables

        return tables.create_table(
            self.create_catalog,
            name,
            data_or_schema,
            partition_by=partition_by,
            sort_by=sort_by,
            exist_ok=exist_ok,
            properties=properties,
            commit_retries=self.settings.catalog.commit_retries,
            tiers=self.tiers,
        )

    @_writes
    def append(
        self, name: str, data: Any, *, evolve: bool = False, branch: str | None = None
    ) -> Table:
        """Append rows; ``branch="exp"`` commits to a branch made with lh.branch()."""
        from doctordata.catalog import tables

        return tables.append(self.table(name), data, evolve=evolve, branch=branch)

    @_writes
    def set_sort_order(self, name: str, sort_by: Sequence[str] | None) -> Table:
        """Sort the rows of files written from now on (appends, compaction) by ``sort_by``
        (``["time", "id DESC"]``; None or [] for no order)."""
        from doctordata.catalog.sort_order import set_sort_order

        return set_sort_order(self.table(name), sort_by)

    @_writes
    def overwrite(self, name: str, data: Any, where: str | None = None) -> Table:
        from doctordata.catalog import tables

        return tables.overwrite(self.table(name), data, where=where)

    @_writes
    def delete(self, name: str, where: str) -> Table:
        from doctordata.catalog import tables

        return tables.delete(self.table(name), where)

    @_writes
    def upsert(self, name: str, data: Any, on: Sequence[str]) -> UpsertResult:
        from doctordata.catalog import tables

        return tables.upsert(self.table(name), data, on=on)

    @_writes
    def add_files(self, name: str, paths: Sequence[str]) -> Table:
        from doctordata.catalog import tables

        return tables.add_files(self.table(name), paths, tiers=self.tiers, catalog=self.catalog)

    @_writes
    def drop_table(self, name: str, purge: bool = False) -> None:
        from doctordata.catalog import tables

        tables.drop_table(self.catalog, name, purge=purge)

    @_writes
    def rename_table(self, name: str, new_name: str) -> Table:
        from doctordata.catalog import tables

        return tables.rename_table(self.catalog, name, new_name)

    @_checked
    def snapshots(self, name: str) -> list[dict[str, Any]]:
        from doctordata.catalog import snapshots

        return snapshots.list_snapshots(self.table(name))

    @_writes
    def tag(self, name: str, tag: str, as_of: Any = None, *, force: bool = False) -> None:
        """Tag the current (or ``as_of``) snapshot so time travel can name it.

        An existing tag is moved to another snapshot only with ``force=True``.
        """
        from doctordata.catalog import snapshots

        snapshots.create_tag(self.table(name), tag, as_of, force=force)

    @_writes
    def branch(self, name: str, branch: str, as_of: Any = None) -> None:
        from doctordata.catalog import snapshots

        snapshots.create_branch(self.table(name), branch, as_of)

    @_writes
    def rollback(self, name: str, to: Any) -> int:
        """Make an earlier snapshot (id, tag or time) current again; returns its id."""
        from doctordata.catalog import snapshots

        return snapshots.rollback(self.table(name), to)

    @_writes
    def evolve_partitions(
        self, name: str, *, add: Sequence[str] = (), remove: Sequence[str] = ()
    ) -> Table:
        """Partition evolution: add fields ("month(time)") or remove them by spec string."""
        from doctordata.catalog import partitioning

        return partitioning.evolve(self.table(name), add=add, remove=remove)

    @_checked
    def read(self, name: str, *, where: str | None = None, as_of: Any = None) -> pa.Table:
        """Read a table (or a filtered/time-travelled part of it) into Arrow via pyiceberg."""
        from doctordata.catalog import snapshots

        return snapshots.read(self.table(name), where=where, as_of=as_of)

    # -- queries (engines/) ----------------------------------------------------------
    @_checked
    def sql(
        self,
        query: str,
        *,
        engine: str | None = None,
        as_of: Any = None,
        explain: bool = False,
        read_only: bool = True,
        timeout: float | None = None,
        params: Sequence[Any] | Mapping[str, Any] | None = None,
        stream: bool = False,
        tables: Mapping[str, Any] | None = None,
    ) -> Result:
        """Run one SQL statement over the lakehouse on DuckDB or ClickHouse.

        ``timeout``: seconds before the query is stopped with QueryTimeoutError (default
        engines.query_timeout; 0 = no limit). ``params``: values for ``?``/``$1`` (a list)
        or ``$name`` (a dict) placeholders, bound as literals, never spliced as text::

            lh.sql("SELECT * FROM hn.items WHERE by = $user", params={"user": "pg"})

        ``stream=True``: run the query when the result is first read and read it batch by
        batch (``.record_batches()``, ``.to_reader()``, ``.to_parquet(path)``,
        ``.write_csv(path)``) without holding every row in memory. ``tables``: local
        frames (Arrow, pandas, polars) the query names unqualified::

            lh.sql("SELECT * FROM hn.items JOIN recent USING (id)", tables={"recent": df})
        """
        from doctordata.engines.router import run_query

        return run_query(
            self,
            query,
            engine=engine,
            as_of=as_of,
            explain=explain,
            read_only=read_only,
            timeout=timeout,
            params=params,
            stream=stream,
            tables=tables,
        )

    @_writes
    def publish(self, name: str, *, engine: str = "clickhouse") -> PublishReport:
        """Make or refresh a native serving copy of an Iceberg table on ``engine``."""
        from doctordata.engines.publish import publish

        report = publish(self, name, engine=engine)
        # Cached plans read files; the next queries should find the fresh copy instead.
        self.plan_cache.clear(persistent=True)
        return report

    # -- storage lifecycle (lifecycle/) ----------------------------------------------------
    @_writes
    def tier(
        self,
        table: str | None = None,
        *,
        dry_run: bool = False,
        free_now: bool = False,
        to: str | None = None,
        where: str | None = None,
        workers: int = 8,
        progress: bool | None = None,
    ) -> TierReport:
        """Apply the tier policies (or move ``where`` rows of ``table`` ``to`` a tier).

        ``workers``: parallel copies; ``progress``: bar on/off (default: on a terminal).
        ``free_now``: delete the old copies at once instead of at the next maintain()."""
        from doctordata.lifecycle.mover import apply_policies

        return apply_policies(
            self,
            table,
            dry_run=dry_run,
            free_now=free_now,
            to=to,
            where=where,
            workers=workers,
            progress=progress,
        )

    @_checked
    def tier_status(self) -> TierStatus:
        """Files and bytes per tier per table, and free space per tier."""
        from doctordata.lifecycle.status import tier_status

        return tier_status(self)

    @_writes
    def maintain(
        self,
        table: str | None = None,
        *,
        compact: bool = True,
        expire_older_than: str = "5d",
        retain_last: int = 1,
        orphan_older_than: str = "1d",
        target_file_size: int | None = None,
        dry_run: bool = False,
    ) -> MaintenanceReport:
        """Compaction, snapshot expiry (deleting unreferenced files), orphan cleanup.

        Example: ``lh.maintain("hn.items", expire_older_than="1d", retain_last=3)``."""
        from doctordata.lifecycle.maintenance import maintain

        return maintain(
            self,
            table,
            compact=compact,
            expire_older_than=expire_older_than,
            retain_last=retain_last,
            orphan_older_than=orphan_older_than,
            target_file_size=target_file_size,
            dry_run=dry_run,
        )

    # -- safety (backup/) -------------------------------------------------------------
    @_writes
    def backup(
        self,
        to: str = "nas",
        *,
        progress: bool | None = None,
        workers: int | None = None,
        endpoint: str | None = None,
        durable: bool = True,
        create: bool = False,
    ) -> BackupReport:
        """Back up the catalog, metadata and data to a tier name or a path/URL ``to``.

        A target directory that does not exist is refused unless ``create=True``.
        ``workers``: files copied in parallel (None: backup/store.py's DEFAULT_WORKERS,
        imported here so that opening a lakehouse does not load the backup code)."""
        from doctordata.backup.backup import backup
        from doctordata.backup.store import DEFAULT_WORKERS

        if workers is None:
            workers = DEFAULT_WORKERS

        return backup(
            self,
            to,
            progress=progress,
            workers=workers,
            endpoint=endpoint,
            durable=durable,
            create=create,
        )

    @_checked
    def verify(
        self,
        *,
        table: str | None = None,
        orphans: bool = True,
        small_files: bool = True,
        orphan_min_age: str = "1h",
        small_file_size: str | int = "16MB",
        small_file_count: int = 20,
        deep: bool = False,
    ) -> IntegrityReport:
        """Check that every referenced file exists with its recorded size (``deep``: and
        sha256), and report orphans and small-file problems."""
        from doctordata.backup.integrity import verify

        return verify(
            self,
            table=table,
            orphans=orphans,
            small_files=small_files,
            orphan_min_age=orphan_min_age,
            small_file_size=small_file_size,
            small_file_count=small_file_count,
            deep=deep,
        )


def connect(
    root: str | os.PathLike[str] | None = None,
    *,
    config: str | os.PathLike[str] | Mapping[str, Any] | Settings | None = None,
    **overrides: Any,
) -> Lakehouse:
    """Open the lakehouse at ``root`` (its catalog is created by the first create_*).

    Root: argument > $DOCTORDATA_ROOT > ./doctordata.toml > ./lakehouse. Overrides use the
    config key names: ``connect(engines__default="clickhouse")`` or
    ``connect(catalog={"uri": "postgresql+psycopg2://..."})``.
    """
    settings = load_settings(root, config=config, **overrides)
    from doctordata.catalog.sql import catalog_exists, check_root, prepare_root

    lh = Lakehouse(settings)
    # A root without a catalog stays untouched until the first create_* (create_catalog).
    if not catalog_exists(settings):
        check_root(settings)
    else:
        prepare_root(settings)
        from doctordata.storage.offline import mark_hot_tier

        mark_hot_tier(lh.hot_tier, lh.root)
    return lh
