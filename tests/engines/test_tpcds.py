"""All 99 TPC-DS queries (SF 0.01) through the router equal DuckDB's answers on the raw files.

Equal means: the same multiset of rows, NULL only where DuckDB has NULL (never a default),
exact numbers (integers, decimals) exactly, floats within a relative tolerance, and, where
the query ends in ORDER BY, the rows in the order of its sort keys. The reference is DuckDB
itself over the same Parquet files that are loaded into the lakehouse.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.engines.compare import differences, order_keys
from tests.engines.conftest import ENGINE_OF, ENGINE_TARGETS, clickhouse_url_for
from tests.engines.tpcds import TpcdsData, generate, load

pytestmark = pytest.mark.clickhouse

# Queries that cannot be made equal on an engine: number -> reason (xfail, strict). Each
# one is listed in README.md.
CANNOT_BE_EQUAL: dict[str, dict[int, str]] = {"duckdb": {}, "clickhouse": {}}


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
