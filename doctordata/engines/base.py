"""The Engine interface: a name, a sqlglot dialect, capability flags and execute().

Engines differ as data (``Capabilities``, type maps), not as if-chains in the router.
This module never imports an implementation; see ``doctordata.engines.ENGINES``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from doctordata.workspace import Workspace

if TYPE_CHECKING:
    import pyarrow as pa

    from doctordata.catalog.reader import CatalogReader
    from doctordata.engines.plan_cache import PlanCache
    from doctordata.engines.result import LazyRows
    from doctordata.engines.scan import ScanPlan


@dataclass(frozen=True)
class Capabilities:
    """What an engine can do; the router reads these flags instead of engine names."""

    # execute_batches() streams record batches instead of materialising first.
    streaming: bool = False
    # The engine can hold native serving copies of tables (publish()).
    native_tables: bool = False
    # Parquet columns are matched by Iceberg field id (renames need no per-file mapping).
    field_id_reads: bool = False
    # The engine enforces its own read-only/file-access sandbox in addition to the router.
    sandboxed: bool = False
    # Scans may be planned by engines/fast_scan.py (no pyiceberg Table): the engine needs
    # only the planned file list, read by field id, from a ScanPlan.
    fast_planning: bool = False


class QueryHost(Workspace, Protocol):
    """What engines and the router need: a Workspace plus its engines and plan cache."""

    @property
    def plan_cache(self) -> PlanCache: ...

    @property
    def catalog_opened(self) -> bool:
        """True once the pyiceberg catalog is open (a plan-cache hit then asks it instead of
        opening a read-only sqlite3 connection)."""
        ...

    @property
    def catalog_reader(self) -> CatalogReader | None:
        """The SQLite catalog's read-only reader, open across queries (None where the
        fast path does not apply: another catalog kind, a moved lake, ...)."""
        ...

    def engine(self, name: str) -> Engine:
        """The engine called ``name`` ("duckdb", "clickhouse"), created on first use."""
        ...


class Engine(ABC):
    """A query engine that turns SQL in its own dialect into Arrow."""

    name: ClassVar[str]
    # sqlglot dialect the router transpiles to.
    dialect: ClassVar[str]
    capabilities: ClassVar[Capabilities] = Capabilities()

    def __init__(self, lh: QueryHost) -> None:
        self.lh = lh

    @abstractmethod
    def execute(
        self, sql: str, *, read_only: bool = True, timeout: float | None = None
    ) -> pa.Table:
        """Run one statement in this engine's dialect and return its rows.

        ``read_only=False`` is for doctordata's own statements (publish); user SQL always
        runs read-only after the router's checks. ``timeout``: seconds before the query
        is stopped with QueryTimeoutError (None = engines.query_timeout, 0 = no limit);
        a query past the memory limit raises QueryMemoryError. Either way the engine
        stays usable for the next query.
        """

    def execute_result(self, sql: str, *, timeout: float | None = None) -> pa.Table | LazyRows:
        """Run user SQL for a Result: Arrow, or (DuckDB) a result read on first use."""
        return self.execute(sql, timeout=timeout)

    def execute_batches(
        self, sql: str, *, timeout: float | None = None
    ) -> Iterator[pa.RecordBatch]:
        """Stream the result; engines without streaming materialise first."""
        yield from self.execute(sql, timeout=timeout).to_batches()

    def execute_row_chunks(self, sql: str, *, timeout: float | None = None) -> Iterator[Any]:
        """A stream for the CLI preview: first ``(columns, Arrow type names)`` and then
        lists of row tuples where the engine can give Python rows equal to its Arrow
        batches' (DuckDB); else first None, then execute_batches()'s batches."""
        yield None
        yield from self.execute_batches(sql, timeout=timeout)

    def query_timeout(self, timeout: float | None) -> float:
        """The limit for one query: ``timeout`` if given, else engines.query_timeout."""
        if timeout is None:
            return float(self.lh.settings.engines.query_timeout)
        if timeout < 0:
            from doctordata.errors import ConfigError

            raise ConfigError(f"timeout={timeout!r} is negative; give seconds, or 0 for none")
        return float(timeout)

    @abstractmethod
    def scan(self, plan: ScanPlan) -> str:
        """SQL text, in this engine's dialect, of a parenthesised subquery reading one plan."""

    def native_tables(self) -> set[str]:
        """Lower-case "db.table" names of engine-native tables the router may reference."""
        return set()

    def redact(self, sql: str) -> str:
        """``sql`` with any credentials the engine inlined replaced by '***' (for stats/logs)."""
        return sql

    def serving_copies(self) -> dict[str, int]:
        """ "ns.table" -> Iceberg snapshot id of each native serving copy made by publish()."""
        return {}

    def serving_scan(self, table: str, schema: Any) -> str:
        """SQL reading the serving copy ``table`` (its quoted name) whose Iceberg schema is
        ``schema``, with the values typed as a scan of the files would type them."""
        return table

    def publish(self, name: str, plan: ScanPlan, snapshot_id: int) -> int:
        """Make or refresh a native serving copy of ``plan``; returns rows copied."""
        from doctordata.errors import UnsupportedSQLError

        raise UnsupportedSQLError(
            f"the {self.name} engine cannot hold serving copies; publish to engine='clickhouse'"
        )

    def explain(self, sql: str, *, timeout: float | None = None) -> str:
        """The engine's plan for ``sql`` as text."""
        table = self.execute(f"EXPLAIN {sql}", timeout=timeout)
        return "\n".join(str(v) for v in table.column(table.num_columns - 1).to_pylist())

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the engine may not be used afterwards."""
