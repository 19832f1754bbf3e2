"""Small deterministic tables for catalog tests."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa


def items(ids: range | list[int], day0: dt.datetime = dt.datetime(2026, 1, 1)) -> pa.Table:
    ids = list(ids)
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "time": pa.array([day0 + dt.timedelta(hours=6 * i) for i in ids], pa.timestamp("us")),
            "type": pa.array(["story" if i % 3 else "comment" for i in ids], pa.string()),
            "score": pa.array([i % 17 for i in ids], pa.int32()),
        }
    )
