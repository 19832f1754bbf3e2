"""Reuse a query's engine SQL while every table it reads is still at the same metadata.

Everything the router does before executing (parse, safety checks, name resolution, time
travel, pushdown, pyiceberg planning, transpiling) depends only on the query text, its
options and the tables' metadata files. Iceberg never changes a metadata file in place:
each commit writes a new one and moves the catalog pointer. So a repeated query (a
dashboard refresh, a benchmark loop) may reuse the SQL built last time once one catalog
lookup per table shows every pointer unchanged; any commit, by this process or another,
is a miss.

Not cached: plans read through pyiceberg (delete files, renamed nested fields: their rows
are written to a per-query scratch file), plans that read a ClickHouse serving copy or an
engine-native table (those change without an Iceberg commit), write-mode queries, and
failures. A cached plan names only Iceberg tables, and Iceberg names win over native ones,
so a native table created later cannot change what it reads. ``lh.publish`` empties the
cache so the next queries use the fresh copy; a copy published by another process is used
from the table's next commit on.

A cached plan is only text: unchanged metadata does not mean the files are still there.
Each entry keeps its planned files, and the router checks them again on every hit
(datafiles.check_files), so a file deleted since is an error, never fewer rows.

Persistent: with a ``directory`` (``<root>/.doctordata/plans/``), every entry is also a
small JSON file named by a hash of its key and of a fingerprint of everything else the
engine SQL depends on (the settings as repr shows them, doctordata's version and the code
that plans and translates: :func:`code_fingerprint`), so a new
process (`doctordata sql` run again, a cron script, a dbt model) skips parsing and
planning too. A file is used under exactly the rule above: its key matches and every
table's current metadata location is the one recorded; otherwise it is deleted. Plans
whose engine SQL holds a secret (``sql != translated_sql``: S3 keys in a scan) stay in
memory only. Files are written whole (temporary file + rename), so a crash or two
processes writing one entry leave either entry, never half of one; an unreadable file is
a miss. At most ``size`` files are kept (the least recently written go first).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from doctordata.engines.datafiles import PlannedFile
from doctordata.engines.result import TableScanStats

_FORMAT = 1  # of the files; bump when CachedPlan changes
# as_of values whose equality means "the same snapshot" for the same metadata.
_AS_OF_TYPES = (type(None), int, str, dt.datetime, dt.date)


@dataclass(frozen=True)
class CachedPlan:
    engine: str
    # ("namespace.table", metadata location) of every Iceberg table the query reads.
    locations: tuple[tuple[str, str], ...]
    sql: str  # what the engine runs
    translated_sql: str  # the same, redacted for stats
    scans: tuple[TableScanStats, ...]
    # The data files ``sql`` reads, checked again before each reuse.
    files: tuple[PlannedFile, ...] = ()


def code_fingerprint(packages: tuple[Path, ...] | None = None) -> str:
    """A digest of the name, size and mtime of every module that plans a query or writes
    its engine SQL (doctordata/engines, doctordata/catalog). The version alone is not
    enough: an edited or reinstalled checkout keeps its version while its rules change,
    and a persisted plan from the old rules must not be reused. Stats only, never reads."""
    if packages is None:
        here = Path(__file__).resolve().parent
        packages = (here, here.parent / "catalog")
    digest = hashlib.sha256()
    for package in packages:
        for folder, dirs, files in os.walk(package):
            dirs.sort()
            for name in sorted(files):
                if name.endswith(".py"):
                    st = os.stat(os.path.join(folder, name))
                    rel = os.path.relpath(os.path.join(folder, name), package)
                    digest.update(f"{rel}:{st.st_size}:{st.st_mtime_ns};".encode())
    return digest.hexdigest()[:16]


class PlanCache:
    """Least recently used (query, options) -> CachedPlan; ``size`` 0 keeps nothing."""

    def __init__(self, size: int, directory: Path | None = None, fingerprint: str = "") -> None:
        self.size = size
        self.directory = directory if size > 0 else None
        self.fingerprint = fingerprint
        self._entries: OrderedDict[tuple[Any, ...], CachedPlan] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(
        query: str, dialect: str, engine: str, as_of: Any, read_only: bool
    ) -> tuple[Any, ...] | None:
        """The cache key, or None when these options are not cacheable."""
        if type(as_of) not in _AS_OF_TYPES:
            return None
        # The type is part of the key: as_of=1 (a snapshot id) is not as_of=True. So is
        # the process's zone (TZ): a translation can depend on DuckDB's session zone (a
        # TIMESTAMPTZ as text on ClickHouse), and plans on disk are shared by processes.
        zone = os.environ.get("TZ")
        return (dialect, engine, read_only, type(as_of).__name__, as_of, zone, query)

    def get(self, key: tuple[Any, ...], current: Callable[[str], str | None]) -> CachedPlan | None:
        """The entry for ``key`` if ``current(name)`` still returns each table's location."""

        def valid(plan: CachedPlan) -> bool:
            return all(current(name) == location for name, location in plan.locations)

        with self._lock:
            entry = self._entries.get(key)
        if entry is not None:
            if valid(entry):
                with self._lock:
                    if key in self._entries:
                        self._entries.move_to_end(key)
                return entry
            with self._lock:
                self._entries.pop(key, None)
        # Another process may have planned it since (or this one, before it started).
        entry = self._load(key)
        if entry is None:
            return None
        if not valid(entry):
            self._unlink(key)
            return None
        self._remember(key, entry)
        return entry

    def put(self, key: tuple[Any, ...], plan: CachedPlan) -> None:
        if self.size <= 0:
            return
        self._remember(key, plan)
        if plan.sql == plan.translated_sql:  # nothing redacted: no secret to write down
            self._store(key, plan)

    def _remember(self, key: tuple[Any, ...], plan: CachedPlan) -> None:
        with self._lock:
            self._entries[key] = plan
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self, *, persistent: bool = False) -> None:
        """Forget the entries in memory; with ``persistent`` the files too."""
        with self._lock:
            self._entries.clear()
        if persistent and self.directory is not None:
            for path in self.directory.glob("*.json"):
                path.unlink(missing_ok=True)

    # -- files ---------------------------------------------------------------------
    def _path(self, key: tuple[Any, ...]) -> tuple[Path, str] | None:
        if self.directory is None:
            return None
        text = repr((_FORMAT, self.fingerprint, key))
        return self.directory / (hashlib.sha256(text.encode()).hexdigest() + ".json"), text

    def _load(self, key: tuple[Any, ...]) -> CachedPlan | None:
        found = self._path(key)
        if found is None:
            return None
        path, text = found
        try:
            raw = json.loads(path.read_bytes())
            if raw.get("key") != text:
                return None  # another key with the same hash: never reuse it
            plan = raw["plan"]
            return CachedPlan(
                engine=plan["engine"],
                locations=tuple((n, loc) for n, loc in plan["locations"]),
                sql=plan["sql"],
                translated_sql=plan["translated_sql"],
                scans=tuple(
                    TableScanStats(**{**s, "tiers": tuple(s["tiers"])}) for s in plan["scans"]
                ),
                files=tuple(PlannedFile(**f) for f in plan["files"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None  # missing, half-written by an older version, or damaged: a miss

    def _store(self, key: tuple[Any, ...], plan: CachedPlan) -> None:
        found = self._path(key)
        if found is None:
            return
        path, text = found
        data = json.dumps({"key": text, "plan": asdict(plan)}).encode()
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(data)
            os.replace(tmp, path)
            self._prune()
        except OSError:
            tmp.unlink(missing_ok=True)  # a read-only root: the cache stays in memory

    def _unlink(self, key: tuple[Any, ...]) -> None:
        found = self._path(key)
        if found is not None:
            found[0].unlink(missing_ok=True)

    def _prune(self) -> None:
        assert self.directory is not None
        files = list(self.directory.glob("*.json"))
        if len(files) <= self.size:
            return

        def age(p: Path) -> float:
            try:
                return p.stat().st_mtime
            except OSError:
                return 0.0

        for path in sorted(files, key=age)[: len(files) - self.size]:
            path.unlink(missing_ok=True)

    def __len__(self) -> int:
        return len(self._entries)
