"""Predicate pushdown: WHERE conjuncts that touch one Iceberg table -> its scan's row filter.

Conservative by construction: the router keeps the full WHERE in the query, so a pushed
filter only prunes files. A conjunct is pushed only when every column in it provably
belongs to that one table reference, the table is not on the NULL-supplying side of an
outer join, the conjunct has no subquery, and filters.try_convert can express it exactly
(with DuckDB's semantics: NULL, NaN, float32 literals, the session time zone for
timestamptz). Anything else, including any failure while translating, is simply not pushed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlglot import exp

if TYPE_CHECKING:
    from pyiceberg.expressions import BooleanExpression
    from pyiceberg.schema import Schema


@dataclass(frozen=True)
class PushdownTarget:
    """One Iceberg table reference that may receive filters."""

    node: exp.Table
    schema: Schema

    @property
    def column_names(self) -> set[str]:
        return {f.name.lower() for f in self.schema.fields}


def pushdown_filters(
    root: exp.Expr, targets: Mapping[int, PushdownTarget]
) -> dict[int, BooleanExpression]:
    """id(table node) -> pyiceberg row filter for every target something could be pushed to."""
    from pyiceberg.expressions import And

    out: dict[int, BooleanExpression] = {}
    for key, conjuncts in pushdown_conjuncts(root, targets).items():
        filters = [
            f for f in (_convert(c, targets[key].schema) for c in conjuncts) if f is not None
        ]
        if not filters:
            continue
        combined = filters[0]
        for f in filters[1:]:
            combined = And(combined, f)
        out[key] = combined
    return out


def pushdown_conjuncts(
    root: exp.Expr, targets: Mapping[int, PushdownTarget]
) -> dict[int, list[exp.Expr]]:
    """id(table node) -> the WHERE conjuncts that provably concern that reference alone
    (the candidates for its row filter; engines/fast_scan.py prunes with them too)."""
    found: dict[int, list[exp.Expr]] = {}
    if root.find(exp.Where) is None:
        return found  # nothing to push (and no scope analysis to import)
    from sqlglot.optimizer.scope import traverse_scope

    for scope in traverse_scope(root):
        select = scope.expression
        if not isinstance(select, exp.Select) or not select.args.get("where"):
            continue
        local = {
            alias.lower(): targets[id(src)]
            for alias, src in scope.sources.items()
            if isinstance(src, exp.Table) and id(src) in targets
        }
        if not local:
            continue
        nullable = _nullable_aliases(select)
        has_opaque = len(local) != len(scope.sources)
        for conjunct in _conjuncts(select.args["where"].this):
            alias = _owner(conjunct, local, has_opaque)
            if alias is None or alias in nullable:
                continue
            found.setdefault(id(local[alias].node), []).append(conjunct)
    return found


def _conjuncts(node: exp.Expr) -> list[exp.Expr]:
    if isinstance(node, exp.Paren):
        return _conjuncts(node.this)
    if isinstance(node, exp.And):
        return _conjuncts(node.left) + _conjuncts(node.right)
    return [node]


def _nullable_aliases(select: exp.Select) -> set[str]:
    """Aliases on the NULL-supplying side of an outer join in this SELECT."""
    seen: list[str] = []
    from_ = select.args.get("from") or select.args.get("from_")
    if from_ is not None and isinstance(from_.this, exp.Expr):
        seen.append(from_.this.alias_or_name.lower())
    nullable: set[str] = set()
    for join in select.args.get("joins") or []:
        name = join.this.alias_or_name.lower()
        side = (join.side or "").upper()
        if side in ("LEFT", "FULL"):
            nullable.add(name)
        if side in ("RIGHT", "FULL"):
            nullable.update(seen)
        seen.append(name)
    return nullable


def _owner(conjunct: exp.Expr, local: Mapping[str, PushdownTarget], has_opaque: bool) -> str | None:
    if conjunct.find(exp.Select, exp.Subquery, exp.AggFunc, exp.Window) is not None:
        return None
    owners: set[str] = set()
    columns = list(conjunct.find_all(exp.Column))
    if not columns:
        return None
    for col in columns:
        if col.args.get("db") or col.args.get("catalog"):
            return None
        if col.table:
            owners.add(col.table.lower())
            continue
        if has_opaque:
            return None  # a CTE/subquery source might own this name too
        holders = [a for a, t in local.items() if col.name.lower() in t.column_names]
        if len(holders) != 1:
            return None
        owners.add(holders[0])
    if len(owners) != 1:
        return None
    owner = owners.pop()
    return owner if owner in local else None


_FOLDABLE = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Interval, exp.DateAdd, exp.DateSub)


def normalised(conjunct: exp.Expr) -> exp.Expr:
    """A copy of the conjunct with unqualified columns and constant arithmetic folded."""
    node = conjunct.copy()
    for col in node.find_all(exp.Column):
        col.set("table", None)
    try:
        # Fold constant arithmetic (DATE '1994-01-01' + INTERVAL '1' YEAR, 0.06 - 0.01).
        if node.find(*_FOLDABLE) is not None:
            from sqlglot.optimizer.simplify import simplify

            node = simplify(node)
    except Exception:
        node = conjunct.copy()
        for col in node.find_all(exp.Column):
            col.set("table", None)
    return node


def _convert(conjunct: exp.Expr, schema: Schema) -> Any:
    from doctordata.catalog.filters import try_convert

    node = normalised(conjunct)
    # The exact filter (filters.py: DuckDB's reading of the literals, NULL and NaN), or None
    # when it cannot be built: then this conjunct prunes nothing, and the query still runs.
    converted = try_convert(node, schema)  # type: ignore[arg-type]
    if converted is None:
        # CAST(ts AS DATE) = d, date_trunc('month', ts) >= t: the range of ts they imply.
        from doctordata.engines.time_ranges import as_range

        types = {f.name.lower(): str(f.field_type) for f in schema.fields}
        implied = as_range(node, types)
        if implied is not None:
            converted = try_convert(implied, schema)  # type: ignore[arg-type]
    return converted
