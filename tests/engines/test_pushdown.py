"""Predicate pushdown is conservative: a table of queries and what may be pushed to `t`."""

from __future__ import annotations

import pytest
import sqlglot
from pyiceberg.schema import Schema
from pyiceberg.types import DateType, DecimalType, LongType, NestedField, StringType
from sqlglot import exp

from doctordata.engines.pushdown import PushdownTarget, pushdown_filters

T = Schema(
    NestedField(1, "id", LongType()),
    NestedField(2, "d", DateType()),
    NestedField(3, "price", DecimalType(15, 2)),
    NestedField(4, "name", StringType()),
)
U = Schema(NestedField(1, "uid", LongType()), NestedField(2, "label", StringType()))

# query -> substrings the filter pushed to table `t` must contain (None: nothing pushed)
CASES: list[tuple[str, list[str] | None]] = [
    ("SELECT * FROM x.t WHERE id = 5", ["id", "5"]),
    ("SELECT * FROM x.t WHERE d >= DATE '1994-01-01' + INTERVAL '1' YEAR", ["9131"]),  # days
    ("SELECT * FROM x.t WHERE price BETWEEN 0.06 - 0.01 AND 0.07", ["0.05", "0.07"]),
    ("SELECT * FROM x.t WHERE name LIKE 'ab%'", ["StartsWith", "ab"]),
    ("SELECT * FROM x.t WHERE id IN (1, 2) AND name IS NULL", ["In", "IsNull"]),
    ("SELECT * FROM x.t a JOIN x.u b ON a.id = b.uid WHERE a.id > 3", ["id", "3"]),
    # literals off the column's grid: the exact equivalent on the grid
    ("SELECT * FROM x.t WHERE price > 0.055", ["GreaterThanOrEqual", "0.06"]),
    ("SELECT * FROM x.t WHERE id > 2.5", ["GreaterThanOrEqual", "3"]),
    ("SELECT * FROM x.t WHERE id > 2.0", ["GreaterThan", "LongLiteral(2)"]),
    ("SELECT * FROM x.t WHERE name NOT LIKE 'ab%'", ["NotStartsWith", "ab"]),
    ("SELECT * FROM x.t WHERE id NOT IN (1, 2)", ["NotNull", "NotIn"]),
    # unsafe, unknown or untranslatable: never pushed, never an error
    ("SELECT * FROM x.t WHERE id = 'abc'", None),  # DuckDB fails on it itself
    ("SELECT * FROM x.t WHERE name = 5", None),
    ("SELECT * FROM x.t WHERE lower(name) = 'a'", None),
    ("SELECT * FROM x.t WHERE id = (SELECT max(uid) FROM x.u)", None),
    ("SELECT * FROM x.u LEFT JOIN x.t ON t.id = u.uid WHERE t.id = 1", None),
    ("SELECT * FROM x.t RIGHT JOIN x.u ON t.id = u.uid WHERE t.id = 1", None),
    ("SELECT * FROM x.t, x.u WHERE id = uid", None),  # join condition, not a filter
    ("WITH c AS (SELECT 1 AS id) SELECT * FROM x.t, c WHERE id = 1", None),  # ambiguous
    ("SELECT * FROM x.t WHERE id = 1 OR uid = 2", None),
]


def _targets(tree: exp.Expr) -> tuple[dict[int, PushdownTarget], exp.Table]:
    targets = {}
    t_node = None
    for node in tree.find_all(exp.Table):
        if node.name == "t":
            t_node = node
            targets[id(node)] = PushdownTarget(node, T)
        elif node.name == "u":
            targets[id(node)] = PushdownTarget(node, U)
    assert t_node is not None
    return targets, t_node


@pytest.mark.parametrize(("query", "expected"), CASES)
def test_pushdown_case(query: str, expected: list[str] | None) -> None:
    tree = sqlglot.parse_one(query, read="duckdb")
    targets, t_node = _targets(tree)
    pushed = pushdown_filters(tree, targets).get(id(t_node))
    if expected is None:
        assert pushed is None, f"{query!r} pushed {pushed}"
    else:
        assert pushed is not None, f"{query!r} pushed nothing"
        for part in expected:
            assert part in str(pushed), f"{part!r} not in {pushed}"
