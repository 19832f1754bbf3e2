"""Planning a new query's common scans without pyiceberg (no pydantic, no pyiceberg.table).

Why: pyiceberg's plan_files costs a new query ~0.2 s of CPU in imports alone (pydantic,
its metadata model, manifests, expressions). Most queries read a snapshot (the current
one, or one named by time travel) with no delete files; for those this module reads the
manifests itself
(catalog/reader/prune.py) and prunes with a conservative evaluator of the pushed-down
WHERE conjuncts (pushdown.pushdown_conjuncts): a file is skipped only when it certainly
holds no matching row. The plan is the ScanPlan engines/scan.py builds from pyiceberg.

Everything else goes to pyiceberg, as before (:func:`fast_plans` returns None and turns
each table reference into its pyiceberg Table): an engine without the ``fast_planning``
capability (engines/base.py; DuckDB has it, ClickHouse not), delete files,
a name mapping, renamed nested fields, metadata or manifests that are not local, a time
travel target that is not there (pyiceberg's path names the error), anything unexpected. tests/engines/test_fast_planning.py compares
both planners on many table shapes and predicates.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from doctordata.catalog.reader import Unsupported
from doctordata.catalog.reader.lite import LiteSchema, LiteTable, specs
from doctordata.catalog.reader.prune import (
    DAY_US,
    DOMAINS,
    Evaluator,
    ManifestCount,
    live_data_files,
)
from doctordata.engines.caches import BoundedCache, cache
from doctordata.engines.datafiles import PlannedFile, check_files
from doctordata.engines.pushdown import PushdownTarget, normalised, pushdown_conjuncts
from doctordata.engines.scan import ScanColumn, ScanPlan
from doctordata.engines.time_ranges import as_range

if TYPE_CHECKING:
    from doctordata.engines.base import Engine
    from doctordata.engines.resolve import Resolution
    from doctordata.storage.tier import Tier

ANY: tuple[Any, ...] = ("any",)
# Scans planned here in this process (tests use it to tell which planner ran).
PLANNED = [0]
_OPS: dict[type, str] = {
    exp.EQ: "=",
    exp.NEQ: "<>",
    exp.GT: ">",
    exp.GTE: ">=",
    exp.LT: "<",
    exp.LTE: "<=",
}
_FLIP = {"=": "=", "<>": "<>", "<": ">", ">": "<", "<=": ">=", ">=": "<="}
_INTEGER = re.compile(r"^-?\d+$")
# DuckDB reads these strings as the same instant, whatever the session (no zone, no offset).
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?$")
# An instant whatever the session's time zone: the offset is written out.
_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?[+-]\d{2}(:\d{2})?$")


@dataclass
class FastPlans:
    """The plan phase's results for every table reference, as the router uses them."""

    targets: dict[int, PushdownTarget]
    plans: list[ScanPlan]
    row_filters: list[str]


def fast_plans(
    eng: Engine,
    root: exp.Expr,
    resolution: Resolution,
    as_of: Any,
    tiers: Mapping[str, Tier],
) -> FastPlans | None:
    """Plans for every Iceberg reference of the query, or None (then every reference's
    ``table`` is its pyiceberg Table and the router plans with pyiceberg)."""
    refs = resolution.iceberg
    try:
        if refs and _applies(eng, resolution):
            return _plan_all(root, resolution, as_of, tiers)
    except Unsupported:
        pass
    use_pyiceberg(resolution)
    return None


def use_pyiceberg(resolution: Resolution) -> None:
    """Turn every reference's fast-reader table into its pyiceberg Table (to plan there)."""
    for ref in resolution.iceberg:
        if isinstance(ref.table, LiteTable):
            ref.table = ref.table.real()


def _applies(eng: Engine, resolution: Resolution) -> bool:
    if not eng.capabilities.fast_planning:
        return False
    return all(isinstance(ref.table, LiteTable) for ref in resolution.iceberg)


def _plan_all(
    root: exp.Expr, resolution: Resolution, as_of: Any, tiers: Mapping[str, Tier]
) -> FastPlans:
    from doctordata.engines.timetravel import version_clause

    snapshots: list[int | None] = []
    schemas: list[LiteSchema] = []
    targets: dict[int, PushdownTarget] = {}
    for ref in resolution.iceberg:
        table = ref.table
        assert isinstance(table, LiteTable)
        own = version_clause(ref.node)
        snapshot_id = table.snapshot_for(own if own is not None else as_of)
        snapshots.append(snapshot_id)
        schemas.append(table.schema_at(snapshot_id))
        targets[id(ref.node)] = PushdownTarget(ref.node, schemas[-1])
    conjuncts = pushdown_conjuncts(root, targets)
    plans: list[ScanPlan] = []
    filters: list[str] = []
    for ref, snapshot_id, schema in zip(resolution.iceberg, snapshots, schemas, strict=True):
        assert isinstance(ref.table, LiteTable)
        predicate, text = predicate_of(conjuncts.get(id(ref.node), []), schema)
        plans.append(plan_lite(ref.name, ref.table, snapshot_id, predicate, tiers))
        filters.append(text)
    for ref, snapshot_id in zip(resolution.iceberg, snapshots, strict=True):
        ref.snapshot_id = snapshot_id
    return FastPlans(targets, plans, filters)


# -- the pushed conjuncts as a prune.py predicate --------------------------------------------


def predicate_of(conjuncts: list[exp.Expr], schema: LiteSchema) -> tuple[tuple[Any, ...], str]:
    """(predicate, its text for the stats) of the conjuncts pushed to a scan of ``schema``.

    The text is the DuckDB SQL of the conjuncts that prune (understood at least in part),
    "AlwaysTrue()" when none does."""
    columns: dict[str, list[tuple[int, str]]] = {}
    for f in schema.fields:
        columns.setdefault(f.name.lower(), []).append((f.field_id, str(f.field_type)))
    parts: list[tuple[Any, ...]] = []
    texts: list[str] = []
    for conjunct in conjuncts:
        node = normalised(conjunct)
        try:
            p = _translate(node, columns)
            if p == ANY:
                # CAST(ts AS DATE) = d, date_trunc('month', ts) >= t: the range of ts.
                types = {k: v[0][1] for k, v in columns.items() if len(v) == 1}
                implied = as_range(node, types)
                if implied is not None:
                    p = _translate(implied, columns)
        except Exception:  # whatever this cannot read prunes nothing; never an error
            p = ANY
        if p != ANY:
            parts.append(p)
            texts.append(node.sql(dialect="duckdb"))
    if not parts:
        return ANY, "AlwaysTrue()"
    return ("and", parts), " AND ".join(texts)


def _translate(node: exp.Expr, columns: Mapping[str, list[tuple[int, str]]]) -> tuple[Any, ...]:
    if isinstance(node, exp.Paren):
        return _translate(node.this, columns)
    if isinstance(node, (exp.And, exp.Or)):
        left, right = _translate(node.left, columns), _translate(node.right, columns)
        if isinstance(node, exp.And):
            kept = [p for p in (left, right) if p != ANY]
            return ("and", kept) if kept else ANY
        return ANY if ANY in (left, right) else ("or", [left, right])
    if isinstance(node, exp.Not):
        inner = node.this
        if isinstance(inner, exp.Is) and isinstance(inner.expression, exp.Null):
            col = _column(inner.this, columns)
            return ("null", col[0], False) if col and col[1] in DOMAINS else ANY
        return ANY  # NOT of anything else: three-valued logic, not worth the risk
    if isinstance(node, exp.Is):
        col = _column(node.this, columns)
        # Floats are left out: NaN is not NULL, and pyiceberg names NaN in these filters.
        if col and col[1] in DOMAINS and isinstance(node.expression, exp.Null):
            return ("null", col[0], True)
        return ANY
    op = _OPS.get(type(node))
    if op == "<>":
        return ANY  # prunes only single-valued files: not worth a case of its own
    if op is not None:
        this, other = node.args.get("this"), node.args.get("expression")
        if isinstance(other, exp.Column) and not isinstance(this, exp.Column):
            this, other, op = other, this, _FLIP[op]
        return _compare(this, op, other, columns)
    if isinstance(node, exp.Between) and not node.args.get("symmetric"):
        low = _compare(node.this, ">=", node.args.get("low"), columns)
        high = _compare(node.this, "<=", node.args.get("high"), columns)
        # Both bounds or none: DuckDB types the two literals together (pushdown.py too).
        return ANY if ANY in (low, high) else ("and", [low, high])
    if isinstance(node, exp.In) and not node.args.get("query") and not node.args.get("unnest"):
        values = [v for v in node.expressions if not isinstance(v, exp.Null)]
        if not values:
            return ANY
        each = [_compare(node.this, "=", v, columns) for v in values]
        return ANY if ANY in each else ("or", each)
    return ANY


def _column(node: Any, columns: Mapping[str, list[tuple[int, str]]]) -> tuple[int, str] | None:
    if not isinstance(node, exp.Column) or node.args.get("db") or node.args.get("catalog"):
        return None
    found = columns.get(str(node.name).lower(), [])
    # Two columns differing only in case: the engine picks one, so do not guess.
    return found[0] if len(found) == 1 else None


def _compare(
    column: Any, op: str, literal: Any, columns: Mapping[str, list[tuple[int, str]]]
) -> tuple[Any, ...]:
    col = _column(column, columns)
    if col is None:
        return ANY
    field_id, kind = col
    domain = DOMAINS.get(kind)
    value = _literal(literal, kind) if domain is not None else None
    if value is None:
        return ANY
    return ("cmp", field_id, domain, op, value)


def _literal(node: Any, kind: str) -> Any:
    """The literal as a value of the column's domain, read as DuckDB compares it with a
    column of ``kind``; None when unsure (then nothing is pruned on it)."""
    negative = False
    if isinstance(node, exp.Neg):
        node, negative = node.this, True
    if kind in ("int", "long"):
        if isinstance(node, exp.Literal) and not node.is_string and _INTEGER.match(node.this):
            n = int(node.this)
            return -n if negative else n
        return None
    if negative:
        return None
    if kind == "string":
        return str(node.this) if isinstance(node, exp.Literal) and node.is_string else None
    if kind not in ("date", "timestamp", "timestamptz"):
        return None
    typed = None
    if isinstance(node, exp.Cast) and isinstance(node.to, exp.DataType):
        typed = node.to.this
        node = node.this
    if not isinstance(node, exp.Literal) or not node.is_string:
        return None
    text = str(node.this)
    if kind == "timestamptz":
        if typed not in (None, exp.DataType.Type.TIMESTAMPTZ):
            return None
        if _INSTANT.match(text):
            # '... +00' or TIMESTAMPTZ '... +00' (a folded now()): the same instant in
            # any session.
            moment = datetime.fromisoformat(text.replace("T", " "))
            return _micros(moment - datetime(1970, 1, 1, tzinfo=UTC))
        if _TIMESTAMP.match(text):
            # No offset: read in DuckDB's session zone, by DuckDB itself (as pyiceberg's
            # path does through catalog/where_literals.py). Without this a query on recent
            # days planned every older file too, and needed an offline tier that holds
            # only those (tests/storage/test_offline_s3.py).
            from doctordata.catalog.where_literals import epoch_us

            return epoch_us(f"'{text}'", "TIMESTAMPTZ")
        return None
    if typed == exp.DataType.Type.DATE or (typed is None and kind == "date"):
        return _days_us(text) if _DATE.match(text) else None
    if kind == "date":
        return None  # a date against a TIMESTAMP: pushdown.py leaves it to the engine too
    if typed in (exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPNTZ) or typed is None:
        return _timestamp_us(text) if _TIMESTAMP.match(text) else None
    return None  # TIMESTAMPTZ and others: the session time zone decides; do not prune


def _days_us(text: str) -> int:
    d = datetime.strptime(text, "%Y-%m-%d").date()
    return (d.toordinal() - datetime(1970, 1, 1).toordinal()) * DAY_US


def _timestamp_us(text: str) -> int:
    return _micros(datetime.fromisoformat(text.replace("T", " ")) - datetime(1970, 1, 1))


def _micros(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


# -- the plan -------------------------------------------------------------------------------


def plan_lite(
    name: str,
    table: LiteTable,
    snapshot_id: int | None,
    predicate: tuple[Any, ...],
    tiers: Mapping[str, Tier],
) -> ScanPlan:
    """engines/scan.py's ScanPlan of a snapshot (None: the current one), pruned by
    ``predicate``. Unsupported where pyiceberg must plan (delete files, name mapping,
    nested renames)."""
    started = time.perf_counter()
    meta = table.meta
    if "schema.name-mapping.default" in table.properties:
        raise Unsupported("a name mapping")
    renamed, nested = table.renames()
    if nested:
        raise Unsupported("renamed nested fields")
    scanned = snapshot_id if snapshot_id is not None else meta.current_snapshot_id
    schema = table.schema_at(snapshot_id)
    key = (meta.location, scanned, repr(predicate))
    cached = _PLANS.get(key)
    if cached is None:
        files: list[str] = []
        sizes: list[int] = []
        total = 0
        count = ManifestCount()
        if scanned is not None:
            kinds = {f.field_id: str(f.field_type) for f in schema.fields}
            evaluator = Evaluator(predicate, kinds, {i: s.fields for i, s in specs(meta).items()})
            pruning = evaluator if predicate != ANY else None
            for f in live_data_files(meta, scanned, pruning, count):
                total += 1
                if pruning is None or _may_match(evaluator, f):
                    files.append(f.path)
                    sizes.append(f.size)
            # What the snapshot says it holds, as engines/scan.py reports it.
            summary = table.snapshot(scanned).get("summary") or {}
            if summary.get("total-data-files") is not None:
                total = int(summary["total-data-files"])
            elif count.files_skipped is not None:
                total += count.files_skipped
            else:
                raise Unsupported("manifests skipped without file counts")
        cached = (tuple(files), tuple(sizes), total, count.read, count.read + count.skipped)
        _PLANS.put(key, cached)
    paths, sizes_t, total, manifests_read, manifests_total = cached
    sources = tuple(PlannedFile(name, f, s) for f, s in zip(paths, sizes_t, strict=True))
    check_files(sources, tiers)
    columns = tuple(ScanColumn(f.field_id, f.name, f.field_type, f.required) for f in schema.fields)
    plan = ScanPlan(
        table=name,
        snapshot_id=snapshot_id,
        columns=columns,
        files=paths,
        files_total=total,
        bytes_planned=sum(sizes_t),
        renamed=renamed,
        io=LiteIO(table),
        uniform=table.schema_count == 1 and not renamed,
        sources=sources,
        manifests_read=manifests_read,
        manifests_total=manifests_total,
    )
    plan.planning_ms = (time.perf_counter() - started) * 1000
    PLANNED[0] += 1
    return plan


def _may_match(evaluator: Evaluator, f: Any) -> bool:
    try:
        return evaluator.may_match(f)
    except Exception:  # an odd bound or partition value: keep the file
        return True


# (metadata location, snapshot, predicate) -> (files, sizes, total files, manifests read,
# manifests); a metadata file never changes.
_Planned = tuple[tuple[str, ...], tuple[int, ...], int, int, int]
_PLANS: BoundedCache[tuple[str, int | None, str], _Planned] = cache("fast file plans", 512)


class LiteIO:
    """What engines ask of ScanPlan.io (footer reads): local files with open(), others
    through the table's pyiceberg FileIO (loaded on first need)."""

    def __init__(self, table: LiteTable) -> None:
        self._table = table

    def new_input(self, location: str) -> Any:
        from doctordata.catalog.reader.lite import local_path

        path = local_path(location)
        if path is None:
            return self._table.real().io.new_input(location)
        return _LocalInput(path)


class _LocalInput:
    def __init__(self, path: str) -> None:
        self.path = path

    def open(self, seekable: bool = True) -> Any:
        return open(self.path, "rb")  # the caller closes it
