"""DuckDB query deadlines come from one watchdog thread, not a thread per query.

A threading.Timer per query made every call wait for a new thread to be scheduled: on a
loaded box that was milliseconds per query, most of the router's overhead on TPC-DS
(issue 15). Threads are counted with threading.settrace, which every thread started
through the threading module calls once when it starts.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from doctordata.errors import QueryTimeoutError

ENDLESS = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n FROM r) SELECT count(*) FROM r"


@pytest.fixture
def lh(tmp_path: Path) -> Iterator[Any]:
    import doctordata as dd

    with dd.connect(tmp_path / "lake") as lake:
        lake.create_namespace("ev")
        lake.create_table("ev.t", pa.table({"a": pa.array([1, 2, 3], pa.int64())}))
        yield lake


def _threads_started_during(fn: Any) -> set[int]:
    started: set[int] = set()

    def tracer(frame: Any, event: str, arg: Any) -> None:
        started.add(threading.get_ident())

    threading.settrace(tracer)
    try:
        fn()
    finally:
        threading.settrace(None)  # type: ignore[arg-type]
    return started


def test_queries_with_a_timeout_start_no_thread_each(lh: Any) -> None:
    lh.sql("SELECT count(*) FROM ev.t", timeout=60).fetchall()  # the watchdog may start here

    def twenty_queries() -> None:
        for i in range(20):
            got = lh.sql(f"SELECT count(*) + {i} FROM ev.t", timeout=60).fetchall()
            assert got == [(3 + i,)]

    assert _threads_started_during(twenty_queries) == set()


def test_a_timeout_still_stops_a_query_after_many_finished_ones(lh: Any) -> None:
    for _ in range(30):  # their (long) deadlines were registered and dropped
        assert lh.sql("SELECT count(*) FROM ev.t", timeout=300).fetchall() == [(3,)]
    with pytest.raises(QueryTimeoutError, match=r"0\.3 s"):
        lh.sql(ENDLESS, timeout=0.3)
    # The interrupt went to that query's cursor only; the next query runs.
    assert lh.sql("SELECT count(*) FROM ev.t", timeout=300).fetchall() == [(3,)]
    assert lh.sql("SELECT sum(a) FROM ev.t").fetchall() == [(6,)]


def test_concurrent_queries_each_stop_at_their_own_deadline(lh: Any) -> None:
    errors: list[BaseException] = []

    def endless(seconds: float) -> None:
        try:
            lh.sql(ENDLESS, timeout=seconds)
        except BaseException as exc:  # collected and checked below
            errors.append(exc)

    threads = [threading.Thread(target=endless, args=(s,)) for s in (0.4, 0.2, 0.6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(errors) == 3 and all(isinstance(e, QueryTimeoutError) for e in errors)
    assert sorted(str(e).split(" s on")[0][-3:] for e in errors) == ["0.2", "0.4", "0.6"]
