"""engine='auto': ClickHouse only where it is better and gives DuckDB's rows, else DuckDB.

DuckDB is the reference for every answer, so 'auto' runs a query on ClickHouse only when
  1. the query reads a ClickHouse-native table (DuckDB cannot read it at all), or
  2. it reads the current snapshot of a table that has a fresh serving copy (publish())
     and every construct in it is on FAITHFUL, the allow-list of query constructs the
     random differential test (tests/engines/test_differential.py) checks to give
     DuckDB's rows on ClickHouse.
Everything else runs on DuckDB, and so does any query when ClickHouse cannot be reached
(the reason is in ``Result.stats.engine_reason``). An allow-list fails closed: a construct
nobody compared keeps the query on DuckDB.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from doctordata.errors import EngineError, MissingDependencyError

if TYPE_CHECKING:
    from doctordata.engines.base import QueryHost
    from doctordata.engines.resolve import Resolution

log = logging.getLogger(__name__)

# sqlglot node classes whose ClickHouse translation gives DuckDB's rows (with the
# settings and transforms of engines/clickhouse_semantics.py). Left out on purpose:
# Round (floats round half to even on ClickHouse), Length (bytes, not characters),
# Cast to an integer type (ClickHouse truncates, DuckDB rounds; see _faithful_cast), and
# everything the differential generator does not produce.
FAITHFUL: frozenset[type[exp.Expr]] = frozenset(
    {
        # statements and clauses
        exp.Select, exp.From, exp.Join, exp.Where, exp.Group, exp.Having, exp.Order,
        exp.Ordered, exp.Limit, exp.With, exp.CTE, exp.Subquery, exp.Union, exp.Distinct,
        exp.Table, exp.TableAlias, exp.Alias, exp.Column, exp.Identifier, exp.Star,
        exp.Paren, exp.Rollup, exp.Grouping, exp.Window, exp.Tuple,
        # literals and types
        exp.Literal, exp.Null, exp.Boolean, exp.DataType, exp.Interval, exp.Var,
        # predicates and logic
        exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.And, exp.Or, exp.Not,
        exp.Is, exp.In, exp.Between, exp.Like,
        # arithmetic and conditionals
        exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.Neg, exp.Abs, exp.Sign, exp.Sqrt,
        exp.Floor, exp.Ceil, exp.Case, exp.If, exp.Coalesce, exp.Nullif, exp.Cast,
        # strings
        exp.Upper, exp.Lower, exp.Trim, exp.Substring, exp.Left, exp.Right, exp.DPipe,
        exp.Replace,
        # dates and timestamps
        exp.Year, exp.Month, exp.Day, exp.DayOfMonth, exp.Quarter, exp.Hour, exp.DateTrunc,
        exp.TimestampTrunc, exp.DateDiff, exp.DateFromParts, exp.DateAdd, exp.DateSub,
        # aggregates and windows
        exp.Count, exp.Sum, exp.Avg, exp.Min, exp.Max, exp.RowNumber, exp.Rank,
        exp.DenseRank,
    }
)  # fmt: skip
# Anonymous calls (functions sqlglot does not model) that were compared.
FAITHFUL_CALLS: frozenset[str] = frozenset()
_INTEGER_TYPES = frozenset(exp.DataType.INTEGER_TYPES)


def unfaithful(root: exp.Expr) -> str | None:
    """The first construct of ``root`` not on the allow-list (its SQL), or None."""
    for node in root.walk():
        if isinstance(node, exp.Anonymous):
            if node.name.lower() in FAITHFUL_CALLS:
                continue
            return node.sql("duckdb")[:80]
        if type(node) not in FAITHFUL:
            return f"{type(node).__name__} ({node.sql('duckdb')[:60]})"
        if isinstance(node, exp.Cast) and node.to.this in _INTEGER_TYPES:
            return f"a cast to an integer type ({node.sql('duckdb')[:60]})"
    return None


def serving_copies(lh: QueryHost) -> tuple[dict[str, int], str]:
    """ClickHouse's fresh-or-not serving copies ("ns.table" -> snapshot id), and why none."""
    try:
        return lh.engine("clickhouse").serving_copies(), ""
    except (MissingDependencyError, EngineError) as exc:
        log.warning("engine='auto': ClickHouse is unavailable, using DuckDB: %s", exc)
        return {}, f"ClickHouse is unavailable ({type(exc).__name__})"


def choose(
    root: exp.Expr,
    resolution: Resolution,
    as_of: Any,
    copies: dict[str, int],
    unavailable: str = "",
) -> tuple[str, str]:
    """(engine name, reason) for one resolved query; see the module docstring."""
    from doctordata.engines.timetravel import TIME_TRAVEL_ARGS

    if resolution.native:
        return "clickhouse", f"reads ClickHouse table {resolution.native[0]}"
    if unavailable:
        return "duckdb", unavailable
    served = []
    for ref in resolution.iceberg:
        name = ".".join(ref.table.name()).lower()
        current = _current_snapshot_id(ref.table)
        travels = any(ref.node.args.get(a) is not None for a in TIME_TRAVEL_ARGS)
        if copies.get(name) is not None and copies[name] == current and not travels:
            served.append(name)
    if not served:
        return "duckdb", "no fresh serving copy of the tables read"
    if as_of is not None:
        return "duckdb", "as_of reads an earlier snapshot; serving copies hold the current one"
    construct = unfaithful(root)
    if construct is not None:
        return "duckdb", f"{construct} is not known to match DuckDB on ClickHouse"
    return "clickhouse", f"serving copy of {', '.join(served)}"


def _current_snapshot_id(table: Any) -> int | None:
    """The table's current snapshot, from the fast reader's metadata when it loaded the
    table (pyiceberg's ``table.metadata`` would load pyiceberg and its model)."""
    from doctordata.catalog.reader.lite import LiteTable

    if isinstance(table, LiteTable):
        return table.meta.current_snapshot_id
    return table.metadata.current_snapshot_id
