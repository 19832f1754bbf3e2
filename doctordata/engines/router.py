"""The SQL router: one SQL statement over Iceberg tables, run on DuckDB or ClickHouse.

parse (sqlglot, once) -> safety (read-only checks) -> resolve names -> time travel ->
push WHERE conjuncts down -> plan each scan (engines/fast_scan.py, else pyiceberg's
plan_files) -> replace each table reference by the engine's scan of the planned files ->
transpile -> execute -> Result.
"""

from __future__ import annotations

import re
import secrets
import shutil
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from doctordata.engines.caches import BoundedCache, cache
from doctordata.engines.result import LazyRows, QueryStats, Result, TableScanStats
from doctordata.errors import (
    ConfigError,
    DataCorruptionError,
    SQLParseError,
    UnsupportedSQLError,
)

if TYPE_CHECKING:
    from pathlib import Path

    from sqlglot import exp

    from doctordata.engines.base import Engine, QueryHost
    from doctordata.engines.datafiles import PlannedFile
    from doctordata.engines.params import Params
    from doctordata.engines.plan_cache import PlanCache
    from doctordata.engines.pushdown import PushdownTarget
    from doctordata.engines.resolve import Resolution
    from doctordata.engines.scan import ScanPlan


class _Timer:
    def __init__(self, stats: QueryStats) -> None:
        self.stats = stats

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            self.stats.timings_ms[name] = self.stats.timings_ms.get(name, 0.0) + elapsed


def parse(query: str, dialect: str) -> list[exp.Expr | None]:
    """sqlglot parse; syntax errors become SQLParseError with line and column."""
    import sqlglot
    from sqlglot.errors import ParseError, TokenError

    if not isinstance(query, str) or not query.strip():
        raise SQLParseError("the query is empty; pass one SQL statement, e.g. 'SELECT 1'")
    key = (dialect, query)
    pristine = _PARSED.get(key)
    if pristine is not None:
        # The router rewrites the tree in place: hand out a copy, never the cached tree.
        # Copying is several times cheaper than tokenizing and parsing again.
        return [s.copy() if s is not None else None for s in pristine]
    try:
        statements = list(sqlglot.parse(query, read=dialect))
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        where = f" at line {first.get('line')}, column {first.get('col')}" if first else ""
        near = first.get("highlight") if first else None
        detail = first.get("description") or str(exc)
        raise SQLParseError(
            f"SQL syntax error{where}{f' near {near!r}' if near else ''}: {detail}. "
            f"The query is read as the {dialect!r} dialect (engines.dialect in doctordata.toml)."
        ) from None
    except TokenError as exc:
        raise SQLParseError(f"SQL syntax error: {exc} (dialect {dialect!r})") from None
    except RecursionError:
        # sqlglot parses recursively: a few dozen nested parentheses or subqueries exhaust
        # Python's stack. Nothing was cached or changed, so the Lakehouse stays usable.
        raise SQLParseError(
            "the query nests expressions too deeply for the SQL parser (parentheses, "
            "subqueries or NOT chains, a few dozen levels deep). Flatten it: drop redundant "
            "parentheses, write x IN (a, b, c) instead of nested ORs, or move inner "
            "subqueries into WITH clauses"
        ) from None
    _PARSED.put(key, tuple(s.copy() if s is not None else None for s in statements))
    return statements


# (dialect, query text) -> pristine parsed statements; repeated queries skip the parser.
_PARSED: BoundedCache[tuple[str, str], tuple[exp.Expr | None, ...]] = cache("parsed", 256)


def choose_engine(lh: QueryHost, engine: str | None) -> str:
    """Explicit engine, else the config default; 'auto' is decided after resolution."""
    from doctordata.engines import canonical_name

    name = engine or lh.settings.engines.default
    return "auto" if name == "auto" else canonical_name(name)


def _native_lister(lh: QueryHost, engine_name: str) -> Any:
    from doctordata.engines import ENGINES

    candidates = list(ENGINES) if engine_name == "auto" else [engine_name]
    native_engines = [n for n in candidates if _has_native(n)]
    if not native_engines:
        return None

    def listing() -> set[str]:
        names: set[str] = set()
        for n in native_engines:
            names |= lh.engine(n).native_tables()
        return names

    return listing


def _has_native(name: str) -> bool:
    # Capability flags live on the class; only import it when the flag is needed.
    import importlib

    from doctordata.engines import ENGINES

    module, attr = ENGINES[name][0].split(":")
    cls = getattr(importlib.import_module(module), attr)
    return bool(cls.capabilities.native_tables)


def run_query(
    lh: QueryHost,
    query: str,
    *,
    engine: str | None = None,
    as_of: Any = None,
    explain: bool = False,
    read_only: bool = True,
    timeout: float | None = None,
    params: Params | None = None,
    stream: bool = False,
    tables: Mapping[str, Any] | None = None,
) -> Result:
    """Run one SQL statement over the lakehouse; see the module docstring for the phases.

    ``timeout`` (seconds; 0 = none) overrides engines.query_timeout for this query.
    ``params`` binds ``?``/``$1`` (a list) or ``$name`` (a dict) placeholders as literals.
    ``stream=True`` runs the query when the result is first read, batch by batch.
    ``tables`` maps unqualified names in the query to local frames (Arrow, pandas, polars).

    Example::

        run_query(lh, "SELECT count(*) FROM tpch.lineitem WHERE l_shipdate >= '1998-01-01'")
    """
    from doctordata.engines.datafiles import check_files

    _check_timeout(timeout)
    engine_name = choose_engine(lh, engine)
    stats = QueryStats(engine=engine_name, sql=query)
    timer = _Timer(stats)
    dialect = lh.settings.engines.dialect
    cache, key = _plan_cache(lh, query, dialect, engine_name, as_of, read_only)
    copies: dict[str, int] = {}
    unavailable = ""
    if engine_name == "auto":
        from doctordata.engines import auto

        with timer.phase("auto"):
            copies, unavailable = auto.serving_copies(lh)
        if key is not None:  # publishing or refreshing a copy may change the choice
            key = (*key, tuple(sorted(copies.items())))
    frames: dict[str, Any] = {}
    if tables is not None:
        from doctordata.engines.local_frames import check_names

        frames = check_names(tables)
    if params is not None or frames:
        key = None  # the plan embeds the bound values / this call's frames
    if key is not None:
        with timer.phase("cache"):
            hit = _cached(lh, cache, key)
        if hit is not None:
            _require_tiers(lh, {t for s in hit.scans for t in s.tiers})
            with timer.phase("cache"):
                check_files(hit.files, lh.tiers)
            stats.engine = hit.engine
            if engine_name == "auto":
                stats.engine_reason = "plan cache (the choice made when the plan was built)"
            stats.translated_sql = hit.translated_sql
            stats.scans = [replace(s) for s in hit.scans]
            stats.plan_cached = True
            return _execute(
                lh.engine(hit.engine), hit.sql, stats, timer, explain, hit.files, timeout, stream
            )
    # A miss: sqlglot, pyiceberg and the safety checks load only from here on.
    from doctordata.engines import safety
    from doctordata.engines.resolve import resolve

    with timer.phase("parse"):
        from doctordata.engines.params import bind, number_placeholders

        text = query if params is None else number_placeholders(query, dialect)
        statements = parse(text, dialect)
        for statement in statements:
            if statement is not None:
                bind(statement, params)
    with timer.phase("safety"):
        if read_only:
            root = safety.check_statements(statements)
            safety.check_query(root, lh.tiers.values(), (engine_name,))
        else:
            real = [s for s in statements if s is not None]
            if len(real) != 1:
                raise SQLParseError(f"expected exactly one SQL statement, got {len(real)}")
            root = real[0]
    with timer.phase("fold"):
        from doctordata.engines.constants import fold_now

        # now(), current_date, ... -> one literal, the same for pruning and the engine.
        stats.now = fold_now(root)
    scratch = lh.root / ".tmp" / f"q-{secrets.token_hex(8)}"
    files: list[PlannedFile] = []
    streaming = False
    try:
        local_scans = _local_scans(root, frames, scratch)
        with timer.phase("resolve"):
            native = _native_lister(lh, engine_name)
            resolution = resolve(lh, root, native, frozenset(local_scans))
        if engine_name == "auto":
            from doctordata.engines import auto

            engine_name, stats.engine_reason = auto.choose(
                root, resolution, as_of, copies, unavailable
            )
            stats.engine = engine_name
        eng = lh.engine(engine_name)
        # Pushed filters are cached by query text: not when the text does not say it all
        # (a folded now(), bound parameters, local frames).
        source = None if stats.now is not None or params is not None or frames else (dialect, query)
        sql = _build_sql(lh, eng, root, resolution, as_of, timer, scratch, source, files, read_only)
        if local_scans:
            sql = _PLACEHOLDER.sub(
                lambda m: (
                    eng.scan(local_scans[m.group(0)]) if m.group(0) in local_scans else m.group(0)
                ),
                sql,
            )
        stats.translated_sql = eng.redact(sql)
        stats.scans = timer.stats.scans
        if key is not None and not resolution.native:
            _remember(cache, key, eng.name, resolution, sql, stats, files)
        result = _execute(eng, sql, stats, timer, explain, files, timeout, stream, scratch=scratch)
        streaming = result.streaming  # the stream removes the scratch files when done
        return result
    finally:
        if not streaming:
            shutil.rmtree(scratch, ignore_errors=True)


def _local_scans(root: exp.Expr, frames: Mapping[str, Any], scratch: Path) -> dict[str, ScanPlan]:
    """Replace references to local frames by placeholders; placeholder -> the frame's scan."""
    if not frames:
        return {}
    from sqlglot import exp

    from doctordata.engines.local_frames import frame_plan, local_nodes

    scans: dict[str, ScanPlan] = {}
    for i, node in enumerate(local_nodes(root, frames)):
        placeholder = f"__dd_scan_{1000 + i}_{secrets.token_hex(6)}"
        scans[placeholder] = frame_plan(node.name, frames[node.name.lower()], scratch)
        alias = node.args.get("alias") or exp.TableAlias(
            this=exp.to_identifier(node.name, quoted=True)
        )
        node.replace(exp.Table(this=exp.to_identifier(placeholder), alias=alias))
    return scans


def _cached(lh: QueryHost, cache: PlanCache, key: tuple[Any, ...]) -> Any:
    """The cached plan for ``key`` if its tables are unchanged. A SQLite catalog is read
    with sqlite3 (catalog/reader/): a hit then never opens pyiceberg's catalog."""
    # A process that has opened the catalog already asks it (no second connection); else
    # the lakehouse's reader, open across its queries: one SELECT per table.
    reader = None if lh.catalog_opened else lh.catalog_reader
    if reader is None:
        from doctordata.engines.resolve import current_location

        return cache.get(key, lambda name: current_location(lh.catalog, name))
    return cache.get(key, reader.location)


def _require_tiers(lh: QueryHost, names: set[str]) -> None:
    """A cached plan still needs its tiers online (one marker stat per tier)."""
    if names:
        from doctordata.storage.offline import TierGuard

        TierGuard(lh.tiers, lh.root).require_tiers(sorted(names), "this query")


def _check_timeout(timeout: Any) -> None:
    if timeout is None:
        return
    from doctordata.config import MAX_QUERY_TIMEOUT

    number = isinstance(timeout, (int, float)) and not isinstance(timeout, bool)
    if not number or not 0 <= timeout <= MAX_QUERY_TIMEOUT:
        raise ConfigError(
            f"timeout={timeout!r} is not a number of seconds up to {MAX_QUERY_TIMEOUT:.0f} "
            "(a year); pass e.g. timeout=30, or 0 for no limit (the default is "
            "engines.query_timeout)"
        )


def _execute(
    eng: Engine,
    sql: str,
    stats: QueryStats,
    timer: _Timer,
    explain: bool,
    files: Sequence[PlannedFile] = (),
    timeout: float | None = None,
    stream: bool = False,
    scratch: Path | None = None,
) -> Result:
    if stream and not explain:
        return Result(
            None,
            stats,
            batches=_stream(eng, sql, stats, files, timeout, scratch),
            row_chunks=lambda: _stream(
                eng, sql, stats, files, timeout, scratch, eng.execute_row_chunks
            ),
        )
    if explain:
        with timer.phase("explain"):
            plan_text = eng.explain(sql, timeout=timeout)
        import pyarrow as pa

        table = pa.table({"explain": plan_text.splitlines()})
        return Result(table, stats, plan=plan_text)
    with timer.phase("execute"):
        try:
            # An Arrow table, or a DuckDB result read on first use (engines/deferred.py),
            # whose Result fills in stats.rows then.
            table = eng.execute_result(sql, timeout=timeout)
        except DataCorruptionError as exc:
            from doctordata.engines.datafiles import pin_down

            named = pin_down(exc, files, eng.lh.tiers)
            if named is None:
                raise
            raise named from exc
    if not isinstance(table, LazyRows):
        stats.rows = table.num_rows
    return Result(table, stats)


def _stream(
    eng: Engine,
    sql: str,
    stats: QueryStats,
    files: Sequence[PlannedFile],
    timeout: float | None,
    scratch: Path | None,
    items: Callable[..., Iterator[Any]] | None = None,
) -> Iterator[Any]:
    """The engine's batches (or ``items``: its execute_row_chunks), counted into stats;
    scratch files go when the stream ends."""
    try:
        for item in (items or eng.execute_batches)(sql, timeout=timeout):
            if isinstance(item, list):
                stats.rows += len(item)  # Python rows
            elif item is not None and not isinstance(item, tuple):
                stats.rows += item.num_rows  # an Arrow batch
            yield item
    except DataCorruptionError as exc:
        from doctordata.engines.datafiles import pin_down

        named = pin_down(exc, files, eng.lh.tiers)
        if named is None:
            raise
        raise named from exc
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def _plan_cache(
    lh: QueryHost, query: str, dialect: str, engine_name: str, as_of: Any, read_only: bool
) -> tuple[PlanCache, tuple[Any, ...] | None]:
    """The lakehouse's plan cache and this query's key (None: do not use the cache)."""
    from doctordata.engines.clock import mentions_now

    cache = lh.plan_cache
    if cache.size <= 0 or not read_only or mentions_now(query):
        # A query calling now() gets a new instant each time: its plan is not reusable.
        return cache, None
    return cache, cache.key(query, dialect, engine_name, as_of, read_only)


def _remember(
    cache: PlanCache,
    key: tuple[Any, ...],
    engine_name: str,
    resolution: Resolution,
    sql: str,
    stats: QueryStats,
    files: Sequence[PlannedFile] = (),
) -> None:
    """Cache the plan if it only reads Iceberg data files named in ``sql``."""
    from doctordata.engines.plan_cache import CachedPlan

    if any(s.source != "files" for s in stats.scans):
        return  # read through pyiceberg into a scratch file, or from a serving copy
    locations: list[tuple[str, str]] = []
    for ref in resolution.iceberg:
        name = ".".join(ref.table.name())
        locations.append((name, ref.table.metadata_location))
    scans = tuple(replace(s) for s in stats.scans)
    plan = CachedPlan(
        engine_name, tuple(dict.fromkeys(locations)), sql, stats.translated_sql, scans, tuple(files)
    )
    cache.put(key, plan)


def _reachable(guard: Any, plans: list[ScanPlan]) -> bool:
    """Whether every tier the plans' files live on is online (probes are cached)."""
    from doctordata.errors import TierOfflineError, TierUnavailableError

    try:
        for plan in plans:
            guard.require(plan.files, "this query")
    except (TierOfflineError, TierUnavailableError):
        return False
    return True


def _build_sql(
    lh: QueryHost,
    eng: Engine,
    root: exp.Expr,
    resolution: Resolution,
    as_of: Any,
    timer: _Timer,
    scratch: Any,
    source: tuple[str, str] | None = None,
    files: list[PlannedFile] | None = None,
    read_only: bool = True,
) -> str:
    from sqlglot import exp

    from doctordata.engines.fast_scan import fast_plans, use_pyiceberg
    from doctordata.engines.pushdown import PushdownTarget
    from doctordata.engines.scan import plan_scan
    from doctordata.engines.timetravel import check_applied, snapshot_for
    from doctordata.storage.offline import TierGuard

    with timer.phase("plan"):
        guard = TierGuard(lh.tiers, lh.root)
        # The common scans are planned without pyiceberg (engines/fast_scan.py); None: the
        # references now hold pyiceberg Tables and pyiceberg plans them, as before.
        fast = fast_plans(eng, root, resolution, as_of, lh.tiers)
        if fast is not None and not _reachable(guard, fast.plans):
            # The fast planner prunes less than pyiceberg on some predicates (floats,
            # decimals, <>, a TIMESTAMP against a timestamptz): where its files need an
            # offline tier, pyiceberg's pruning decides, as before the fast planner.
            fast = None
            use_pyiceberg(resolution)
        if fast is not None:
            targets, filters = fast.targets, {}
        else:
            for ref in resolution.iceberg:
                ref.snapshot_id = snapshot_for(ref.table, ref.node, as_of)
            targets = {
                id(ref.node): PushdownTarget(ref.node, _schema_at(ref.table, ref.snapshot_id))
                for ref in resolution.iceberg
            }
            filters = _pushdown(root, targets, source)
        served = _served_natively(eng, resolution)
        plans: list[ScanPlan | None] = []
        for i, ref in enumerate(resolution.iceberg):
            if id(ref.node) in served:
                plans.append(None)
                timer.stats.scans.append(
                    TableScanStats(
                        ref.name,
                        ref.alias,
                        ref.snapshot_id,
                        "AlwaysTrue()",
                        0,
                        0,
                        0,
                        0,
                        0.0,
                        source="serving-copy",
                    )
                )
                continue
            row_filter = filters.get(id(ref.node))
            if fast is not None:
                plan, row_filter = fast.plans[i], fast.row_filters[i]
            else:
                plan = plan_scan(
                    ref.name, ref.table, row_filter, ref.snapshot_id, scratch, lh.tiers
                )
            touched = guard.require(plan.files, "this query")
            plans.append(plan)
            if files is not None:
                files.extend(plan.sources)
            timer.stats.scans.append(
                TableScanStats(
                    table=ref.name,
                    alias=ref.alias,
                    snapshot_id=ref.snapshot_id,
                    row_filter=str(row_filter) if row_filter is not None else "AlwaysTrue()",
                    files_planned=len(plan.files),
                    files_skipped=plan.files_skipped,
                    bytes_planned=plan.bytes_planned,
                    delete_files=plan.delete_files,
                    planning_ms=plan.planning_ms,
                    source="pyiceberg" if plan.materialised else "files",
                    tiers=tuple(sorted(touched)),
                    manifests_read=plan.manifests_read,
                    manifests_total=plan.manifests_total,
                )
            )
    with timer.phase("transpile"):
        token = secrets.token_hex(6)
        scans: dict[str, str] = {}
        schemas: dict[str, Any] = {}  # placeholder -> Iceberg schema, for typed rewrites
        for i, (ref, planned) in enumerate(zip(resolution.iceberg, plans, strict=True)):
            alias = ref.node.args.get("alias") or exp.TableAlias(
                this=exp.to_identifier(ref.node.name, quoted=True)
            )
            placeholder = f"__dd_scan_{i}_{token}"
            if planned is None:  # a fresh serving copy, addressed by its own name
                *ns, name = ref.table.name()
                native = exp.Table(
                    this=exp.to_identifier(name, quoted=True),
                    db=exp.to_identifier(".".join(ns), quoted=True),
                )
                schema = targets[id(ref.node)].schema
                scans[placeholder] = eng.serving_scan(native.sql(eng.dialect), schema)
            else:
                scans[placeholder] = eng.scan(planned)
            # A serving copy holds the current snapshot, whose schema this is: the typed
            # rewrites and the nested-NULL refusal apply to it as to the files.
            schemas[placeholder] = targets[id(ref.node)].schema
            ref.node.replace(exp.Table(this=exp.to_identifier(placeholder), alias=alias))
        # Every clause the router applies went with the node it replaced.
        check_applied(root)
        for col in root.find_all(exp.Column):
            # db-qualified columns (ns.t.col) now refer to the alias only.
            if col.args.get("db") is not None:
                col.set("db", None)
                col.set("catalog", None)
        sql = _transpile(root, eng.dialect, schemas)
    if read_only:
        # Checked again as the engine will read it: transpilation must not add a call.
        # The scans substituted below are the router's own and are not user input.
        from doctordata.engines.safety import check_engine_sql

        with timer.phase("safety"):
            check_engine_sql(sql, eng.name, eng.dialect, lh.tiers.values())
    with timer.phase("transpile"):
        if scans:
            # One fixed pattern (the token is random per query, so a pattern built from
            # it would be compiled anew every time); unknown matches stay as written.
            sql = _PLACEHOLDER.sub(lambda m: scans.get(m.group(0), m.group(0)), sql)
    return sql


def _pushdown(
    root: exp.Expr, targets: dict[int, PushdownTarget], source: tuple[str, str] | None
) -> dict[int, Any]:
    """pushdown_filters, reused for the same (dialect, query text) and the same schemas.

    Nothing rewrites the tree before this point, so the query text fixes its shape; the
    result only depends on it and on each target's schema (compared by identity, and a
    table's schema object changes whenever its metadata does).
    """
    from sqlglot import exp

    from doctordata.engines.pushdown import pushdown_filters

    if source is None:
        return pushdown_filters(root, targets)
    tables = list(root.find_all(exp.Table))
    slots = [(i, targets[id(t)].schema) for i, t in enumerate(tables) if id(t) in targets]
    key = (*source, tuple((i, id(schema)) for i, schema in slots))
    hit = _PUSHED.get(key)
    if hit is not None and all(a is b for a, (_, b) in zip(hit[0], slots, strict=True)):
        return {id(tables[i]): f for i, f in hit[1].items()}
    found = pushdown_filters(root, targets)
    by_position = {i: found[id(t)] for i, t in enumerate(tables) if id(t) in found}
    _PUSHED.put(key, (tuple(schema for _, schema in slots), by_position))
    return found


# (dialect, query, ((table position, id(schema)), ...)) -> (schemas, position -> filter).
_PUSHED: BoundedCache[tuple[Any, ...], tuple[tuple[Any, ...], dict[int, Any]]] = cache(
    "pushed filters", 256
)


_PLACEHOLDER = re.compile(r"__dd_scan_\d+_[0-9a-f]{12}")


def _served_natively(eng: Engine, resolution: Resolution) -> set[int]:
    """Table nodes whose current snapshot has a fresh serving copy in ``eng``."""
    if not eng.capabilities.native_tables or not resolution.iceberg:
        return set()
    copies = eng.serving_copies()
    if not copies:
        return set()
    out = set()
    for ref in resolution.iceberg:
        current = ref.table.metadata.current_snapshot_id
        name = ".".join(ref.table.name()).lower()
        if ref.snapshot_id is None and current is not None and copies.get(name) == current:
            out.add(id(ref.node))
    return out


def _schema_at(table: Any, snapshot_id: int | None) -> Any:
    if snapshot_id is None:
        return table.schema()
    snap = table.metadata.snapshot_by_id(snapshot_id)
    if snap is not None and snap.schema_id is not None:
        for schema in table.metadata.schemas:
            if schema.schema_id == snap.schema_id:
                return schema
    return table.schema()


def _transpile(root: exp.Expr, dialect: str, schemas: dict[str, Any] | None = None) -> str:
    from sqlglot.errors import ErrorLevel, UnsupportedError

    try:
        # The tree is this query's private copy and is dropped afterwards, so the generator
        # may transform it in place instead of deep-copying it first.
        if dialect == "clickhouse":
            from doctordata.engines.clickhouse_semantics import apply_transforms

            root = apply_transforms(root, schemas)
        return root.sql(dialect=dialect, unsupported_level=ErrorLevel.RAISE, copy=False)
    except UnsupportedError as exc:
        raise UnsupportedSQLError(
            f"the query cannot run on {dialect}: {exc}. Rewrite that part, or choose "
            "another engine (engine='duckdb' or 'clickhouse')."
        ) from None
