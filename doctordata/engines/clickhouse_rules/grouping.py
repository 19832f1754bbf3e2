"""ROLLUP, CUBE, GROUPING SETS and GROUPING() with DuckDB's grouping sets."""

from __future__ import annotations

from sqlglot import exp

from doctordata.engines.clickhouse_rules.common import call
from doctordata.errors import UnsupportedSQLError


# GROUPING(expr) must name a GROUP BY key as written; a positional key (GROUP BY ROLLUP
# (1, 2)) is not matched. Positions become the select items they stand for.
def grouping_keys(root: exp.Expr) -> exp.Expr:
    for select in list(root.find_all(exp.Select)):
        group = select.args.get("group")
        if group is None or not any(
            g.parent_select is select for g in select.find_all(exp.Grouping)
        ):
            continue
        items = [p.this if isinstance(p, exp.Alias) else p for p in select.expressions]
        for literal in list(group.find_all(exp.Literal)):
            if not literal.is_int or not isinstance(literal.parent, (exp.Group, exp.Rollup)):
                continue
            position = int(literal.name)
            item = items[position - 1] if 1 <= position <= len(items) else None
            if item is not None and not isinstance(item, exp.Star):
                # Parenthesised: sqlglot cannot read back `ROLLUP (a < b)` in ClickHouse.
                key = item.copy() if isinstance(item, exp.Column) else exp.Paren(this=item.copy())
                literal.replace(key)
    return root


# -- ROLLUP, CUBE and GROUPING SETS (the GROUPING family) ---------------------------------
# ClickHouse's WITH ROLLUP / WITH CUBE derive the upper levels from the groups found, so an
# input without rows has no grand-total row (DuckDB: one, count 0 and NULL sums), and they
# merge a key named twice (ROLLUP (k, k) loses a level). Its GROUPING SETS aggregate each
# set from the input, so the empty set gives its row over no rows and repeated keys stay.
# Written as GROUPING SETS, every clause around the GROUP BY (HAVING, GROUPING(), windows,
# ORDER BY, LIMIT) keeps its meaning: one scan, one aggregation step per set.
_GROUPING_CONSTRUCTS = (exp.Rollup, exp.Cube, exp.GroupingSets)


# CUBE of 12 keys; beyond that the rewrite refuses rather than run an enormous query.
MAX_GROUPING_SETS = 4096


def _grouping_refusal(what: str) -> UnsupportedSQLError:
    return UnsupportedSQLError(
        f"{what}: ClickHouse cannot give DuckDB's answer for this GROUP BY. "
        "Run this query with engine='duckdb'."
    )


def _position(key: exp.Expr, select: exp.Select) -> exp.Expr:
    """``ROLLUP (1, 2)``: a position becomes the select item it stands for (as DuckDB)."""
    if not (isinstance(key.unnest(), exp.Literal) and key.unnest().is_int):
        return key
    items = [p.this if isinstance(p, exp.Alias) else p for p in select.expressions]
    position = int(key.unnest().name)
    item = items[position - 1] if 1 <= position <= len(items) else None
    if item is None or isinstance(item, exp.Star) or item.find(exp.Star):
        return key  # ClickHouse resolves it (or fails as DuckDB does)
    # Parenthesised as in grouping_keys: sqlglot cannot read back `ROLLUP (a < b)`.
    return item.copy() if isinstance(item, exp.Column) else exp.Paren(this=item.copy())


def _product(lists: list[list[list[exp.Expr]]]) -> list[list[exp.Expr]]:
    out: list[list[exp.Expr]] = [[]]
    for sets in lists:
        out = [a + b for a in out for b in sets]
        if len(out) > MAX_GROUPING_SETS:
            raise _grouping_refusal(f"more than {MAX_GROUPING_SETS} grouping sets")
    return out


def _grouping_sets(node: exp.Expr, select: exp.Select) -> list[list[exp.Expr]]:
    """The grouping sets one GROUP BY element stands for, in DuckDB's meaning."""
    if isinstance(node, exp.Tuple):
        return _product([_grouping_sets(i, select) for i in node.expressions])
    if isinstance(node, exp.GroupingSets):
        return [s for i in node.expressions for s in _grouping_sets(i, select)]
    if isinstance(node, exp.Paren):  # GROUPING SETS ((a), b): a set of one key
        return _grouping_sets(node.this, select)
    if isinstance(node, (exp.Rollup, exp.Cube)):
        parts = [
            [_position(k, select) for k in (i.expressions if isinstance(i, exp.Tuple) else [i])]
            for i in node.expressions
        ]
        if isinstance(node, exp.Rollup):
            return [[k for p in parts[:n] for k in p] for n in range(len(parts), -1, -1)]
        if len(parts) > 12:
            raise _grouping_refusal(f"CUBE of {len(parts)} keys")
        masks = range(2 ** len(parts) - 1, -1, -1)
        return [[k for i, p in enumerate(parts) if m >> i & 1 for k in p] for m in masks]
    return [[_position(node, select)]]


def _constant(key: exp.Expr) -> bool:
    """A key that reads no column: ClickHouse drops it from the grouping."""
    return key.find(exp.Column, exp.Select, exp.Star, exp.AggFunc, exp.Window) is None


def _materialize_constant(select: exp.Select, key: exp.Expr) -> None:
    """Every use of a constant key in this SELECT (not its subqueries) as materialize(key).

    DuckDB binds a select expression's parts to the keys: ``'x' || 'y'`` with key ``'x'``
    is NULL where 'x' is rolled up. Inside an aggregate the key's value is the same.
    """
    for arg in ("expressions", "having", "qualify", "order", "group"):
        value = select.args.get(arg)
        for part in value if isinstance(value, list) else [value]:
            if not isinstance(part, exp.Expr):
                continue
            hits = [n for n in part.find_all(type(key)) if n == key]
            for node in hits:
                if node.parent_select is select and not node.find_ancestor(
                    exp.Interval, exp.Limit, exp.Offset
                ):
                    node.replace(call("materialize", node.copy()))


def _refuse_positional_repeats(group: exp.Group, select: exp.Select) -> None:
    """A position and another spelling of the same key: two keys on DuckDB, one on ClickHouse.

    DuckDB keeps ``ROLLUP (1, k)`` with ``SELECT k`` as two keys (its GROUPING(k) and the
    select items bind to either), while the same expression written twice is one key.
    """
    spellings: dict[exp.Expr, set[str]] = {}
    positional: set[exp.Expr] = set()
    for leaf in group.find_all(exp.Expr):
        parent = leaf.parent
        if isinstance(leaf, (*_GROUPING_CONSTRUCTS, exp.Tuple)) or not isinstance(
            parent, (exp.Group, *_GROUPING_CONSTRUCTS, exp.Tuple)
        ):
            continue
        key = _position(leaf, select).unnest()
        spellings.setdefault(key, set()).add(leaf.unnest().sql("duckdb"))
        if key is not leaf.unnest() and key != leaf.unnest():
            positional.add(key)
    for key in positional:
        if len(spellings[key]) > 1:
            raise _grouping_refusal(
                f"the grouping key {key.sql('duckdb')!r} is named by position and again"
            )


def grouping_sets_rewrite(root: exp.Expr) -> exp.Expr:
    for select in list(root.find_all(exp.Select)):
        group = select.args.get("group")
        if group is None or group.args.get("all") or group.args.get("totals"):
            continue
        elements = list(group.expressions)
        empty_only = len(elements) == 1 and elements[0] == exp.Tuple()  # GROUP BY ()
        if not empty_only and not any(isinstance(e, _GROUPING_CONSTRUCTS) for e in elements):
            continue
        _refuse_positional_repeats(group, select)
        sets = _product([_grouping_sets(e, select) for e in elements])
        tuples = [exp.Tuple(expressions=[k.copy() for k in s]) for s in sets]
        group.set("expressions", [exp.GroupingSets(expressions=tuples)])
    return root


def constant_keys(root: exp.Expr) -> exp.Expr:
    for select in list(root.find_all(exp.Select)):
        group = select.args.get("group")
        if group is None or not any(isinstance(e, _GROUPING_CONSTRUCTS) for e in group.expressions):
            continue  # a constant key of a plain GROUP BY has one value in every row
        constants: list[exp.Expr] = []
        for construct in group.find_all(*_GROUPING_CONSTRUCTS):
            for key in construct.expressions:
                for item in key.expressions if isinstance(key, exp.Tuple) else [key]:
                    leaf = item.unnest()  # a resolved position is parenthesised
                    positional = isinstance(leaf, exp.Literal) and leaf.is_int
                    if not positional and _constant(leaf) and leaf not in constants:
                        constants.append(leaf.copy())
        for key in constants:
            _materialize_constant(select, key)
    return root
