"""A filter over a table partitioned by a transform of a column holding NULLs plans.

pyiceberg 0.12's residual evaluator compared a NULL partition value with ``<`` and raised
TypeError (catalog/speedups/residual_nulls.py); found by tests/engines/test_differential.py.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

import doctordata as dd

DATA = pa.table(
    {
        "a": pa.array([1, 2, 3, 4], pa.int64()),
        "day": pa.array([date(2025, 1, 5), None, date(2025, 6, 1), None], pa.date32()),
    }
)
PREDICATES = [
    "NOT (a = 1 AND day < DATE '2025-04-03')",
    "a = 2 OR day >= DATE '2025-02-01'",
    "NOT (a = 3 AND day BETWEEN DATE '2025-04-03' AND DATE '2025-09-03')",
    "a > 1 OR day IN (DATE '2025-01-05')",
    "a = 2 OR day IN (DATE '2025-01-05', DATE '2025-06-01')",
    "NOT (a = 4 AND day NOT IN (DATE '2025-01-05', DATE '2025-06-01'))",
]


@pytest.mark.parametrize("predicate", PREDICATES)
def test_filters_over_null_partitions_plan(tmp_path: Path, predicate: str) -> None:
    want = sorted(duckdb.sql(f"SELECT a FROM DATA WHERE {predicate}").fetchall())
    with dd.connect(tmp_path / "lake") as lh:
        lh.create_namespace("n")
        lh.create_table("n.t", DATA, partition_by=["month(day)"])
        got = lh.sql(f"SELECT a FROM n.t WHERE {predicate}").fetchall()
        assert sorted(got) == want
        assert lh.sql(f"SELECT a FROM n.t WHERE {predicate}").stats.scans[0].row_filter != (
            "AlwaysTrue()"
        )  # the filter was pushed down, so the residual evaluator ran
        read = lh.read("n.t", where=predicate.replace("DATE ", ""))
        assert sorted((v,) for v in read.column("a").to_pylist()) == want
