"""A dlt destination that commits load packages to the doctordata catalog.

Why not dlt's filesystem destination with ``table_format="iceberg"`` (dlt 1.31)?

- It builds its own catalog from config (``get_catalog``) and falls back to an in-memory
  SQLite catalog when that config is missing or empty; it cannot take the Lakehouse's
  catalog object, with its SQLite WAL/busy-timeout setup, tiers and FileIO properties.
- When a table is missing from the catalog but its folder has metadata, it registers
  "the newest metadata file in the folder" (``register_table``), which after a failed
  commit is an orphan: exactly what shared/DESIGN.md forbids.
- Its merge upserts in slices of 1,000 rows, one commit each, with an ``In`` filter that
  pyiceberg cannot prune on beyond 200 values: every slice reads every data file.
- Its schema contract can only drop or raise on bad rows, not keep them with a reason.

So this destination receives each Parquet file dlt's normalizer wrote (``batch_size=0``)
and commits it as an upsert on ``id`` (:func:`doctordata.catalog.merge.upsert`), so
replaying a file after a crash never duplicates anything. Rows the catalog refuses go to
``hackernews.rejected_items`` instead of failing the job, so no package stays pending.
"""

from __future__ import annotations

import json
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from doctordata.catalog.commits import commit_errors
from doctordata.catalog.merge import expressions, key_ranges, upsert
from doctordata.errors import DoctorDataError
from doctordata.ingest.hn_schema import ITEMS, LISTS, NAMESPACE, REJECTED, utc_now

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.table import Table

    from doctordata.lakehouse import Lakehouse

DLT_PREFIX = "_dlt_"
# Errors that mean "this data cannot go into this table" (not "try again later", which is
# what a commit conflict or an I/O error means: those propagate and dlt retries the job).
_DATA_ERRORS: tuple[type[BaseException], ...] = (
    DoctorDataError,
    ValueError,
    TypeError,
    NotImplementedError,
)


@dataclass
class LoadStats:
    """What the destination committed (summed over packages)."""

    items_new: int = 0
    items_updated: int = 0
    rejected: int = 0
    list_rows: int = 0
    commits: int = 0
    commit_seconds: float = 0.0
    new_columns: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


TABLES = ("items", "rejected_items", "lists")


def check_table_name(table_name: str) -> None:
    """Refuse (for good: dlt must not retry) rows for a table this destination lacks."""
    if table_name not in TABLES:
        from dlt.common.destination.exceptions import DestinationTerminalException

        raise DestinationTerminalException(
            f"doctordata destination got rows for unknown table {table_name!r}; "
            f"it writes {', '.join(TABLES)} in namespace {NAMESPACE!r}"
        )


class FileWriter(Protocol):
    """What a run commits through: a CatalogWriter, or a CommitProcess (which commits in a
    helper process, in the same order)."""

    stats: LoadStats

    def write_file(self, table_name: str, path: str) -> None:
        """Commit (or queue) the Parquet file ``path`` dlt wrote for ``table_name``."""

    def advance(self, table: str, to: int) -> None:
        """Record that every id below ``to`` is committed, after the writes before it."""

    def flush(self) -> None:
        """Return when everything written so far is committed."""


class CatalogWriter:
    """Commits Arrow data for the ``hackernews`` tables; one instance per run."""

    def __init__(
        self,
        lh: Lakehouse,
        stats: LoadStats | None = None,
        *,
        commit_rows: int = 50_000,
        on_commit: Callable[[str, int], None] | None = None,
    ) -> None:
        self.lh = lh
        self.stats = stats or LoadStats()
        self.commit_rows = commit_rows
        self.on_commit = on_commit
        self._writers: dict[str, Callable[[pa.Table], None]] = {
            "items": self._items,
            "rejected_items": self._rejected,
            "lists": self._lists,
        }

    def write(self, table_name: str, data: pa.Table) -> None:
        """Commit ``data`` for dlt table ``table_name`` (items, rejected_items, lists)."""
        check_table_name(table_name)
        writer = self._writers[table_name]
        started = time.perf_counter()
        writer(data)
        with self.stats.lock:
            self.stats.commit_seconds += time.perf_counter() - started

    def write_file(self, table_name: str, path: str) -> None:
        """Commit the Parquet file ``path`` (one dlt load job) to ``table_name``."""
        import pyarrow.parquet as pq

        check_table_name(table_name)  # before reading the file
        self.write(table_name, pq.read_table(path))

    def advance(self, table: str, to: int) -> None:
        """Record the resume point of ``table`` (every write before this returned)."""
        from doctordata.ingest import state

        state.advance(self.lh, table, to)

    def flush(self) -> None:
        """Nothing to wait for: every write committed before it returned."""

    # -- tables ---------------------------------------------------------------------------
    def _items(self, data: pa.Table) -> None:
        try:
            table, aligned = self._align(ITEMS, data)
        except _DATA_ERRORS as exc:
            # E.g. a value that does not fit a column an earlier run added: keep the rows
            # with the reason instead of failing the job (dlt would retry it forever).
            self._reject_rows(data, f"does not fit {ITEMS}: {exc}")
            return
        aligned = _last_per_key(aligned, "id")
        for start in range(0, aligned.num_rows, self.commit_rows):
            chunk = aligned.slice(start, self.commit_rows)
            try:
                result = upsert(table, chunk, "id")
            except _DATA_ERRORS as exc:
                self._reject_rows(chunk, f"could not be committed to {ITEMS}: {exc}")
                continue
            with self.stats.lock:
                self.stats.items_new += int(result["rows_inserted"])
                self.stats.items_updated += int(result["rows_updated"])
                self.stats.commits += 1
            self._clear_rejections(chunk.column("id"))
            self._notify("items", chunk.num_rows)

    def _rejected(self, data: pa.Table) -> None:
        table, data = self._align(REJECTED, data)
        data = _last_per_key(data, "id")
        if data.num_rows:
            upsert(table, data, "id")
            with self.stats.lock:
                self.stats.rejected += data.num_rows
                self.stats.commits += 1
            self._notify("rejected_items", data.num_rows)

    def _lists(self, data: pa.Table) -> None:
        import pyarrow.compute as pc

        ex = expressions()
        table, data = self._align(LISTS, data)
        if not data.num_rows:
            return
        stamps = pc.unique(data.column("fetched_at")).to_pylist()
        # One snapshot per fetch time: replaying the same package replaces it, never adds.
        match = ex.EqualTo("fetched_at", stamps[0].isoformat())
        for stamp in stamps[1:]:
            match = ex.Or(match, ex.EqualTo("fetched_at", stamp.isoformat()))
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Delete operation did not match")
            with commit_errors(table, "lists overwrite"):
                table.overwrite(data, overwrite_filter=match)
        with self.stats.lock:
            self.stats.list_rows += data.num_rows
            self.stats.commits += 1
        self._notify("lists", data.num_rows)

    # -- helpers ----------------------------------------------------------------------------
    def _align(self, name: str, data: pa.Table) -> tuple[Table, pa.Table]:
        """Drop dlt's columns, add new columns to the table (schema evolution), cast every
        column to the table's type and fill absent ones with nulls."""
        import pyarrow as pa
        from pyiceberg.io.pyarrow import schema_to_pyarrow

        from doctordata.catalog.data import normalize_schema

        data = data.drop_columns([c for c in data.column_names if c.startswith(DLT_PREFIX)])
        table = self.lh.table(name)
        target = schema_to_pyarrow(table.schema(), include_field_ids=False)
        new = [c for c in data.column_names if target.get_field_index(c) < 0]
        if new:
            with commit_errors(table, "adding columns"), table.update_schema() as update:
                update.union_by_name(normalize_schema(data.select(new).schema))
            table = table.refresh()
            target = schema_to_pyarrow(table.schema(), include_field_ids=False)
            with self.stats.lock:
                self.stats.new_columns.extend(f"{name}.{c}" for c in new)
        arrays = []
        for f in target:
            if f.name in data.column_names:
                arrays.append(data.column(f.name).cast(f.type))
            else:
                arrays.append(pa.nulls(data.num_rows, f.type))
        return table, pa.Table.from_arrays(arrays, schema=target)

    def _reject_rows(self, data: pa.Table, reason: str) -> None:
        import pyarrow as pa

        from doctordata.ingest.hn_schema import rejected_schema

        rows = data.to_pylist()
        now = utc_now()
        rejected = pa.Table.from_pylist(
            [
                {
                    "id": row["id"],
                    "raw": json.dumps(row, ensure_ascii=False, default=str),
                    "reason": reason[:2000],
                    "fetched_at": now,
                }
                for row in rows
            ],
            schema=rejected_schema(),
        )
        self._rejected(rejected)

    def _clear_rejections(self, ids: pa.ChunkedArray) -> None:
        """An id that loads fine is no longer rejected (e.g. fixed upstream, re-fetched)."""
        table = self.lh.table(REJECTED)
        snapshot = table.current_snapshot()
        if snapshot is None or snapshot.summary is None:
            return
        if int(snapshot.summary.get("total-records", "0") or 0) == 0:
            return
        import pyarrow.compute as pc

        # Delete only the ids that are there: an In over a whole segment's ids costs ~0.5 s
        # of CPU per commit to build and bind, and prunes nothing beyond 200 values.
        keys = pc.unique(ids).drop_null()
        if len(keys) == 0:
            return
        found = table.scan(
            row_filter=key_ranges("id", keys.to_numpy()), selected_fields=("id",)
        ).to_arrow()
        hits = pc.unique(pc.filter(found["id"], pc.is_in(found["id"], value_set=keys)))
        if len(hits):
            with commit_errors(table, "clearing rejections"):
                table.delete(delete_filter=expressions().In("id", set(hits.to_pylist())))

    def _notify(self, table: str, rows: int) -> None:
        if self.on_commit is not None:
            self.on_commit(table, rows)


def _last_per_key(data: pa.Table, key: str) -> pa.Table:
    """Keep the last row per key (a package can hold an item fetched twice)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if data.num_rows == 0 or pc.count_distinct(data.column(key)).as_py() == data.num_rows:
        return data
    indexed = data.select([key]).append_column("__row", pa.array(range(data.num_rows)))
    last = indexed.group_by(key).aggregate([("__row", "max")]).column("__row_max")
    return data.take(pc.sort_indices(last))


def lakehouse_destination(writer: FileWriter) -> Any:
    """A dlt destination instance that hands each loaded Parquet file to ``writer``."""
    import dlt

    def doctordata_catalog(items: Any, table: Any) -> None:
        # batch_size=0: dlt passes the path of one Parquet file per load job.
        writer.write_file(table["name"], items)

    factory = dlt.destination(
        doctordata_catalog,
        name="doctordata_catalog",
        batch_size=0,
        loader_file_format="parquet",
        naming_convention="direct",
        skip_dlt_columns_and_tables=True,
        max_table_nesting=0,
        # One job at a time: all jobs commit to the same few tables, in order.
        max_parallel_load_jobs=1,
        loader_parallelism_strategy="sequential",
    )
    return factory()
