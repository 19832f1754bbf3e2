"""Key-range-pruned upsert: exact merge semantics, and new ids never read old files."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from doctordata.catalog.merge import MAX_RANGES, key_ranges, upsert


def _batch(ids: list[int], version: int) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "v": pa.array([version] * len(ids), pa.int64()),
            "kids": pa.array([[i, i + 1] for i in ids], pa.list_(pa.int64())),
        }
    )


@pytest.fixture
def table(lh: Any) -> Any:
    schema = pa.schema(
        [
            pa.field("id", pa.int64(), nullable=False),
            pa.field("v", pa.int64()),
            pa.field("kids", pa.list_(pa.int64())),
        ]
    )
    lh.create_table("t.m", schema)
    return lh.table("t.m")


def _aligned(table: Any, data: pa.Table) -> pa.Table:
    from pyiceberg.io.pyarrow import schema_to_pyarrow

    return data.cast(schema_to_pyarrow(table.schema(), include_field_ids=False))


def test_upsert_inserts_replaces_and_never_duplicates(table: Any) -> None:
    for lo in range(0, 3000, 500):  # six files of consecutive ids
        result = upsert(table, _aligned(table, _batch(list(range(lo, lo + 500)), 1)), "id")
        assert result == {"rows_updated": 0, "rows_inserted": 500}
        table = table.refresh()
    # A replay of a whole batch (>200 present keys) plus scattered updates and new ids.
    changed = [*range(1000, 1500), 7, 2999, 3000, 3001]
    result = upsert(table, _aligned(table, _batch(changed, 2)), "id")
    assert result == {"rows_updated": 502, "rows_inserted": 2}
    rows = table.refresh().scan().to_arrow()
    ids = rows.column("id").to_pylist()
    assert sorted(ids) == list(range(3002))
    versions = dict(zip(ids, rows.column("v").to_pylist(), strict=True))
    assert {i for i, v in versions.items() if v == 2} == set(changed)


def test_new_ids_prune_every_existing_file(table: Any) -> None:
    for lo in range(0, 4000, 400):
        upsert(table, _aligned(table, _batch(list(range(lo, lo + 400)), 1)), "id")
        table = table.refresh()
    assert len(list(table.scan().plan_files())) == 10
    new_keys = np.arange(4000, 9000)  # 5,000 keys: far beyond pyiceberg's In pruning limit
    assert list(table.scan(row_filter=key_ranges("id", new_keys)).plan_files()) == []
    scattered = np.array([5, 1203, 1207, 3999])
    assert len(list(table.scan(row_filter=key_ranges("id", scattered)).plan_files())) == 3


def test_key_ranges_cover_every_key_with_at_most_max_ranges() -> None:
    from pyiceberg.expressions.visitors import bind
    from pyiceberg.io.pyarrow import expression_to_pyarrow
    from pyiceberg.schema import Schema
    from pyiceberg.types import LongType, NestedField

    schema = Schema(NestedField(1, "id", LongType(), required=True))
    keys = np.unique(np.random.default_rng(3).integers(0, 1_000_000, 5000))
    expr = key_ranges("id", keys)
    assert repr(expr).count("GreaterThanOrEqual") == MAX_RANGES
    as_arrow = expression_to_pyarrow(bind(schema, expr, case_sensitive=True))
    assert pa.table({"id": keys}).filter(as_arrow).num_rows == len(keys)
    outside = pa.table({"id": np.array([int(keys.min()) - 1, int(keys.max()) + 1])})
    assert outside.filter(as_arrow).num_rows == 0
    single = key_ranges("id", np.array([5, 6, 7]))
    assert repr(single).count("GreaterThanOrEqual") == 1


def test_appends_above_the_recorded_maximum_skip_planning_but_stay_exact(table: Any) -> None:
    from doctordata.catalog.merge import MAX_PREFIX, max_key

    upsert(table, _aligned(table, _batch(list(range(0, 1000)), 1)), "id")
    table = table.refresh()
    assert table.current_snapshot().summary[MAX_PREFIX + "id"] == "999"
    # Someone else writes a larger id without our summary property...
    table.append(_aligned(table, _batch([5000], 1)))
    table = table.refresh()
    assert max_key(table, "id") == 5000  # ...so the maximum comes from file bounds
    result = upsert(table, _aligned(table, _batch([5000, 1000], 2)), "id")
    assert result == {"rows_updated": 1, "rows_inserted": 1}
    ids = table.refresh().scan().to_arrow().column("id").to_pylist()
    assert sorted(ids) == [*range(1001), 5000]
