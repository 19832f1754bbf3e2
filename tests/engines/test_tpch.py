"""All 22 TPC-H queries through the router equal DuckDB's answers on the raw tables."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from benchmarks.tpch_data import TpchData, generate, load
from tests.engines.conftest import ENGINE_OF, ENGINE_TARGETS, clickhouse_url_for, same_rows

pytestmark = pytest.mark.clickhouse


@pytest.fixture(scope="session")
def tpch() -> TpchData:
    return generate(0.01)


@pytest.fixture(scope="module")
def tpch_root(tpch: TpchData, tmp_path_factory: pytest.TempPathFactory) -> Any:
    import doctordata as dd

    root = tmp_path_factory.mktemp("tpch") / "lake"
    with dd.connect(root) as lh:
        load(lh, tpch)
    return root


@pytest.fixture(scope="module")
def tpch_lakehouses(request: pytest.FixtureRequest, tpch_root: Any) -> Iterator[dict[str, Any]]:
    """target -> Lakehouse over the one loaded root, opened on first use."""
    import doctordata as dd

    opened: dict[str, Any] = {}

    class Lazy(dict[str, Any]):
        def __missing__(self, target: str) -> Any:
            url = clickhouse_url_for(target, request) or clickhouse_url_for("chdb", request)
            opened[target] = dd.connect(tpch_root, engines={"clickhouse": url})
            return opened[target]

    yield Lazy()
    for lh in opened.values():
        lh.close()


@pytest.mark.parametrize("number", range(1, 23))
@pytest.mark.parametrize("target", ENGINE_TARGETS)
def test_tpch_query(
    target: str, number: int, tpch: TpchData, tpch_lakehouses: dict[str, Any]
) -> None:
    lh = tpch_lakehouses[target]
    result = lh.sql(tpch.queries[number], engine=ENGINE_OF[target])
    want = tpch.answers[number]
    got = result.fetchall()
    assert len(got) == len(want), f"Q{number}: {len(got)} rows, expected {len(want)}"
    assert same_rows(got, want, ordered=False), f"Q{number}: {got[:3]} != {want[:3]}"
    assert result.stats.files_planned > 0


def test_tpch_date_range_prunes_partitions(tpch_lakehouses: dict[str, Any]) -> None:
    lh = tpch_lakehouses["duckdb"]
    query = (
        "SELECT count(*) FROM tpch.lineitem "
        "WHERE l_shipdate >= DATE '1995-01-01' AND l_shipdate < DATE '1995-02-01'"
    )
    result = lh.sql(query)
    scan = result.stats.scans[0]
    assert scan.files_planned == 1, scan
    assert scan.files_skipped > 70
    assert "l_shipdate" in scan.row_filter
    everything = lh.sql("SELECT count(*) FROM tpch.lineitem").stats.scans[0]
    assert everything.files_skipped == 0
    assert result.fetchall()[0][0] > 0
