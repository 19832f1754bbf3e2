"""DuckDB's SQL semantics on ClickHouse, kept as data: session settings and tree transforms.

DuckDB is the reference for every answer. Where ClickHouse has a switch that gives the
standard behaviour, it is in :data:`SETTINGS` (sent with every user query); where it has
none, a sqlglot transform in :data:`TRANSFORMS` rewrites the parsed query before it is
generated in ClickHouse's dialect. Each entry carries a one-line reason and has a test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlglot import exp


@dataclass(frozen=True)
class Setting:
    name: str
    value: Any
    reason: str


@dataclass(frozen=True)
class Transform:
    name: str
    apply: Callable[[exp.Expr], exp.Expr]
    reason: str


SETTINGS: tuple[Setting, ...] = (
    Setting("join_use_nulls", 1, "outer joins fill unmatched columns with NULL, not defaults"),
)

TRANSFORMS: tuple[Transform, ...] = ()


def session_settings() -> dict[str, Any]:
    """The settings of :data:`SETTINGS` as a mapping for clickhouse-connect."""
    return {s.name: s.value for s in SETTINGS}


def apply_transforms(root: exp.Expr) -> exp.Expr:
    """Run every transform over the query's private tree, in order."""
    for transform in TRANSFORMS:
        root = transform.apply(root)
    return root


# -- found by the random differential test (tests/engines/test_differential.py) ---------
# Appended as independent entries; each is a plain function over the query's private tree.

# DuckDB's string functions count characters; ClickHouse's plain ones count bytes (and
# upper/lower change ASCII letters only). Their UTF-8 forms take the same arguments.
_UTF8_FUNCTIONS: dict[type[exp.Expr], tuple[str, tuple[str, ...]]] = {
    exp.Upper: ("upperUTF8", ("this",)),
    exp.Lower: ("lowerUTF8", ("this",)),
    exp.Left: ("leftUTF8", ("this", "expression")),
    exp.Right: ("rightUTF8", ("this", "expression")),
    exp.Substring: ("substringUTF8", ("this", "start", "length")),
}


def _utf8_strings(root: exp.Expr) -> exp.Expr:
    for node in list(root.find_all(*_UTF8_FUNCTIONS)):
        name, keys = _UTF8_FUNCTIONS[type(node)]
        args = [node.args[k] for k in keys if node.args.get(k) is not None]
        node.replace(exp.Anonymous(this=name, expressions=args))
    return root


# A comparison in ClickHouse is UInt8 (0/1); DuckDB's is BOOLEAN. Only the select list
# is cast: inside WHERE, JOIN ON, CASE and aggregates the UInt8 behaves the same.
_PREDICATES = (exp.Predicate, exp.Connector, exp.Not)


def _boolean_projections(root: exp.Expr) -> exp.Expr:
    for select in list(root.find_all(exp.Select)):
        for projection in select.expressions:
            inner = projection.this if isinstance(projection, exp.Alias) else projection
            if isinstance(inner.unnest(), _PREDICATES):
                inner.replace(exp.cast(inner.copy(), exp.DataType.build("boolean")))
    return root


# sqlglot writes DuckDB's make_date(y, m, d) as DATE_FROM_PARTS, which ClickHouse lacks;
# makeDate32 covers DuckDB's date range (makeDate stops at 2149).
def _make_date(root: exp.Expr) -> exp.Expr:
    for node in list(root.find_all(exp.DateFromParts)):
        args = [node.args.get(k) for k in ("year", "month", "day")]
        if all(a is not None for a in args):
            node.replace(exp.Anonymous(this="makeDate32", expressions=args))
    return root


# DuckDB's TIMESTAMP has microseconds; sqlglot writes it as ClickHouse's DateTime (whole
# seconds, returned as a number through Arrow). Casts and literals become DateTime64(6).
_TIMESTAMP_TYPES = (exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPNTZ)


def _timestamp_microseconds(root: exp.Expr) -> exp.Expr:
    for node in list(root.find_all(exp.DataType)):
        if node.this in _TIMESTAMP_TYPES and not node.expressions:
            micro = exp.DataType.build("DateTime64(6)", dialect="clickhouse")
            micro.set("nullable", None)  # let sqlglot wrap it in Nullable() as it did
            node.replace(micro)
    return root


# GROUPING(expr) must name a GROUP BY key as written; a positional key (GROUP BY ROLLUP
# (1, 2)) is not matched. Positions become the select items they stand for.
def _grouping_keys(root: exp.Expr) -> exp.Expr:
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


# Rolled-up keys that are never NULL (COALESCE(g, ''), a constant) must read NULL on the
# subtotal rows, as in DuckDB. (The same setting is in the TPC-DS work; keep one on merge.)
if not any(s.name == "group_by_use_nulls" for s in SETTINGS):
    SETTINGS = (
        *SETTINGS,
        Setting("group_by_use_nulls", 1, "ROLLUP subtotal rows hold NULL keys, not defaults"),
    )

# sum/avg/min/max over no rows are NULL in SQL; ClickHouse returns 0 unless told
# (count() stays 0 either way).
if not any(s.name == "aggregate_functions_null_for_empty" for s in SETTINGS):
    SETTINGS = (
        *SETTINGS,
        Setting("aggregate_functions_null_for_empty", 1, "sum() over no rows is NULL, not 0"),
    )


# ClickHouse's abs() of a signed integer is unsigned (abs(Int64) is UInt64), and UInt64
# with Int64 in one CASE or UNION makes a Variant that cannot be sorted or summed.
# DuckDB's abs keeps its argument's type; so does if(x < 0, -x, x) on ClickHouse.
def _abs_keeps_type(root: exp.Expr) -> exp.Expr:
    for node in reversed(list(root.find_all(exp.Abs))):  # innermost first
        x = node.this
        negative = exp.LT(this=exp.Paren(this=x.copy()), expression=exp.Literal.number(0))
        node.replace(
            exp.If(this=negative, true=exp.Neg(this=exp.Paren(this=x.copy())), false=x.copy())
        )
    return root


TRANSFORMS = (
    *TRANSFORMS,
    Transform("utf8_strings", _utf8_strings, "upper/lower/left/right/substring count characters"),
    Transform("make_date", _make_date, "make_date(y, m, d) exists on ClickHouse as makeDate32"),
    Transform("timestamp_microseconds", _timestamp_microseconds, "TIMESTAMP is DateTime64(6)"),
    # Before boolean_projections: the keys it copies must be the expressions as written.
    Transform("grouping_keys", _grouping_keys, "GROUPING() names keys, not positions"),
    Transform("boolean_projections", _boolean_projections, "a selected comparison is BOOLEAN"),
    Transform("abs_keeps_type", _abs_keeps_type, "abs(BIGINT) is BIGINT, not UInt64"),
)
