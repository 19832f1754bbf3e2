"""All 99 TPC-DS queries (SF 0.01) through the router equal DuckDB's answers on the raw files.

Equal means: the same multiset of rows, NULL only where DuckDB has NULL (never a default),
exact numbers (integers, decimals) exactly, floats within a relative tolerance, and, where
the query ends in ORDER BY, the rows in the order of its sort keys. The reference is DuckDB
itself over the same Parquet files that are loaded into the lakehouse.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.engines.conftest import ENGINE_OF, ENGINE_TARGETS, clickhouse_url_for
from tests.engines.tpcds import TpcdsData, generate, load

pytestmark = pytest.mark.clickhouse

# Queries that cannot be made equal on an engine: number -> reason (xfail, strict). Each
# one is listed in README.md.
CANNOT_BE_EQUAL: dict[str, dict[int, str]] = {"duckdb": {}, "clickhouse": {}}

FLOAT_TOLERANCE = 1e-9


@pytest.fixture(scope="session")
def tpcds(tmp_path_factory: pytest.TempPathFactory) -> TpcdsData:
    return generate(tmp_path_factory.mktemp("tpcds-parquet"), 0.01)


@pytest.fixture(scope="module")
def tpcds_root(tpcds: TpcdsData, tmp_path_factory: pytest.TempPathFactory) -> Path:
    import doctordata as dd

    root = tmp_path_factory.mktemp("tpcds") / "lake"
    with dd.connect(root) as lh:
        load(lh, tpcds)
    return root


@pytest.fixture(scope="module")
def tpcds_lakehouses(request: pytest.FixtureRequest, tpcds_root: Path) -> Iterator[dict[str, Any]]:
    """target -> Lakehouse over the one loaded root, opened on first use."""
    import doctordata as dd

    opened: dict[str, Any] = {}

    class Lazy(dict[str, Any]):
        def __missing__(self, target: str) -> Any:
            url = clickhouse_url_for(target, request) or clickhouse_url_for("chdb", request)
            opened[target] = dd.connect(tpcds_root, engines={"clickhouse": url})
            return opened[target]

    yield Lazy()
    for lh in opened.values():
        lh.close()


# -- comparison --------------------------------------------------------------------
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


@pytest.mark.parametrize("number", range(1, 100))
@pytest.mark.parametrize("target", ENGINE_TARGETS)
def test_tpcds_query(
    request: pytest.FixtureRequest,
    target: str,
    number: int,
    tpcds: TpcdsData,
    tpcds_lakehouses: dict[str, Any],
) -> None:
    engine = ENGINE_OF[target]
    reason = CANNOT_BE_EQUAL[engine].get(number)
    if reason is not None:
        request.applymarker(pytest.mark.xfail(reason=reason, strict=True))
    result = tpcds_lakehouses[target].sql(tpcds.queries[number], engine=engine)
    problem = differences(result.fetchall(), tpcds.answers[number], order_keys(tpcds.raw[number]))
    assert problem is None, f"TPC-DS q{number} on {target}: {problem}"
    assert result.stats.files_planned > 0
