"""Result: the rows of one query plus what it took to get them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl
    import pyarrow as pa


@dataclass
class TableScanStats:
    """Planning figures for one table reference."""

    table: str
    alias: str
    snapshot_id: int | None
    # The pushed-down Iceberg row filter, as text ("AlwaysTrue()" when nothing was pushed).
    row_filter: str
    files_planned: int
    files_skipped: int
    bytes_planned: int
    delete_files: int
    planning_ms: float
    # "files" (planned Parquet files), "pyiceberg" (materialised to apply delete files)
    # or "serving-copy" (a fresh native copy made by publish()).
    source: str = "files"
    # Tiers holding the planned files (each must be online when the query runs).
    tiers: tuple[str, ...] = ()


@dataclass
class QueryStats:
    """What the router did: engine, SQL it sent, files planned/skipped, time per phase."""

    engine: str
    sql: str = ""
    translated_sql: str = ""
    scans: list[TableScanStats] = field(default_factory=list)
    # Phase name -> milliseconds (parse, safety, resolve, plan, transpile, execute).
    timings_ms: dict[str, float] = field(default_factory=dict)
    rows: int = 0
    # True when the engine SQL came from the plan cache (no table changed since it was built).
    plan_cached: bool = False
    # The instant now()/current_date/current_timestamp were folded to, once for the whole
    # query (pruning and engine alike): 'YYYY-MM-DD HH:MM:SS.ffffff+00'; None if not called.
    now: str | None = None
    # engine='auto': why it picked this engine (engines/auto.py); empty otherwise.
    engine_reason: str = ""

    @property
    def files_planned(self) -> int:
        return sum(s.files_planned for s in self.scans)

    @property
    def files_skipped(self) -> int:
        return sum(s.files_skipped for s in self.scans)

    @property
    def bytes_planned(self) -> int:
        return sum(s.bytes_planned for s in self.scans)

    def as_dict(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "translated_sql": self.translated_sql,
            "files_planned": self.files_planned,
            "files_skipped": self.files_skipped,
            "bytes_planned": self.bytes_planned,
            "rows": self.rows,
            "plan_cached": self.plan_cached,
            "timings_ms": dict(self.timings_ms),
            "scans": [vars(s) for s in self.scans],
        }


class Result:
    """Rows of a query. ``.arrow()``, ``.df()``, ``.pl()``, ``.fetchall()``; ``.stats``."""

    def __init__(self, table: pa.Table, stats: QueryStats, plan: str | None = None) -> None:
        self._table = table
        self.stats = stats
        # Engine plan text when the query ran with explain=True.
        self.plan = plan

    def arrow(self) -> pa.Table:
        return self._table

    def df(self) -> pd.DataFrame:
        return self._table.to_pandas()

    def pl(self) -> pl.DataFrame:
        try:
            import polars
        except ImportError as exc:
            from doctordata.errors import MissingDependencyError

            raise MissingDependencyError("polars", "dataframes", "Result.pl()") from exc
        out = polars.from_arrow(self._table)
        assert isinstance(out, polars.DataFrame)
        return out

    def fetchall(self) -> list[tuple[Any, ...]]:
        columns = [c.to_pylist() for c in self._table.columns]
        return list(zip(*columns, strict=True)) if columns else []

    @property
    def columns(self) -> list[str]:
        return list(self._table.column_names)

    def __len__(self) -> int:
        return self._table.num_rows

    def __repr__(self) -> str:
        return (
            f"Result(rows={self._table.num_rows}, columns={self.columns}, "
            f"engine={self.stats.engine!r}, files_planned={self.stats.files_planned}, "
            f"files_skipped={self.stats.files_skipped})"
        )
