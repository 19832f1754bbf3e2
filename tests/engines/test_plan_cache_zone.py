"""A cached plan is a plan for one time zone.

How a TIMESTAMPTZ becomes text on ClickHouse is decided when the query is translated, from
DuckDB's session zone (the process's TZ): '+00' in UTC, '+09' in Tokyo. The plan cache
(in memory and on disk, shared by every process of the lake) must not hand a plan made
under one zone to a process in another.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

pytestmark = pytest.mark.clickhouse

QUERY = "SELECT CAST(ts AS VARCHAR) AS v FROM s.t"


def test_a_plan_made_in_utc_is_not_reused_in_another_zone(
    tmp_path: Path, connect: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from doctordata.engines import clickhouse_arrow

    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setattr(clickhouse_arrow, "duckdb_time_zone", lambda: "UTC")
    lh = connect("chdb", tmp_path / "lake")
    ts = pa.array([datetime(2026, 1, 1, 12, tzinfo=UTC)], pa.timestamp("us", tz="UTC"))
    lh.create_table("s.t", pa.table({"ts": ts}))
    assert lh.sql(QUERY, engine="clickhouse").fetchall() == [("2026-01-01 12:00:00+00",)]

    # The same lake in a process whose zone is Tokyo (TZ is what a new process reads;
    # DuckDB's zone is patched because ICU keeps the first zone it read in this process).
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    monkeypatch.setattr(clickhouse_arrow, "duckdb_time_zone", lambda: "Asia/Tokyo")
    tokyo = [("2026-01-01 21:00:00+09",)]
    assert lh.sql(QUERY, engine="clickhouse").fetchall() == tokyo
    other = connect("chdb", tmp_path / "lake")  # the plan on disk, a fresh lakehouse
    assert other.sql(QUERY, engine="clickhouse").fetchall() == tokyo
