"""Results compared with DuckDB's: NULLs, exact numbers, float tolerance, ORDER BY order."""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

FLOAT_TOLERANCE = 1e-9

_EXACT = (int, Decimal)


def same_value(got: Any, want: Any) -> bool:
    """NULL is only NULL; exact numbers exactly; floats within FLOAT_TOLERANCE (NaN = NaN)."""
    if got is None or want is None:
        return got is None and want is None
    if isinstance(want, bool) or isinstance(got, bool):
        return type(got) is type(want) and got == want
    if isinstance(want, float):
        if not isinstance(got, float):
            return False  # DuckDB says DOUBLE, the engine an exact type
        if math.isnan(want) or math.isnan(got):
            return math.isnan(want) and math.isnan(got)
        return math.isclose(got, want, rel_tol=FLOAT_TOLERANCE, abs_tol=1e-12)
    if isinstance(want, _EXACT):
        # DuckDB's HUGEINT reaches Arrow as DECIMAL(38, 0): an integer either way.
        return isinstance(got, _EXACT) and Decimal(got) == Decimal(want)
    return type(got) is type(want) and bool(got == want)


def same_row(got: Sequence[Any], want: Sequence[Any]) -> bool:
    return len(got) == len(want) and all(map(same_value, got, want))


def _sort_key(row: Sequence[Any]) -> tuple[tuple[bool, str], ...]:
    def one(v: Any) -> tuple[bool, str]:
        if isinstance(v, (float, Decimal)) and not (isinstance(v, float) and math.isnan(v)):
            return (False, f"{float(v):.6e}")
        return (v is None, repr(v))

    return tuple(one(v) for v in row)


def order_keys(query: str) -> list[int]:
    """Output column indexes of the outer ORDER BY, as far as they name output columns."""
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(query, read="duckdb")
    order = tree.args.get("order")
    if order is None:
        return []
    names = [s.alias_or_name for s in tree.selects]
    plain = [s.unalias().sql() for s in tree.selects]
    keys: list[int] = []
    for ordered in order.expressions:
        key = ordered.this
        if isinstance(key, exp.Literal) and key.is_int:
            keys.append(int(key.this) - 1)
        elif isinstance(key, exp.Column) and not key.table and key.name in names:
            keys.append(names.index(key.name))
        elif key.sql() in plain:
            keys.append(plain.index(key.sql()))
        else:
            break  # later keys only order ties of this one: check the prefix
    return keys


def differences(
    got: list[tuple[Any, ...]], want: list[tuple[Any, ...]], keys: list[int]
) -> str | None:
    """Why ``got`` is not DuckDB's ``want`` (None: equal)."""
    if len(got) != len(want):
        return f"{len(got)} rows, DuckDB has {len(want)}"
    for g, w in zip(sorted(got, key=_sort_key), sorted(want, key=_sort_key), strict=True):
        if not same_row(g, w):
            return f"row {g} where DuckDB has {w}"
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        if not same_row([g[k] for k in keys], [w[k] for k in keys]):
            return f"row {i} sorts as {g}, DuckDB's as {w} (ORDER BY columns {keys})"
    return None
