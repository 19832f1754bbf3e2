"""`doctordata tier` stopped by SIGTERM / Ctrl-C between two tables: exit 143/130, no
traceback, the first table's moves kept, the lake healthy, and a rerun moves the rest.
The signal is sent while the command is held after its first table's commit
(tests/cli/paused_cli.py), so it cannot finish first, whatever the machine's speed."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

import doctordata as dd
from tests.cli.test_signals import (
    SIGNALS,
    _assert_interrupted,
    _paused,
    _send,
    _start,
    _start_paused,
    _wait_for,
)
from tests.tiered_lakes import files_on, rows, sorted_rows

TABLES = ("t.a", "t.b")


@pytest.mark.parametrize(("signum", "code"), SIGNALS)
def test_tier_stops_cleanly_between_tables_and_a_rerun_moves_the_rest(
    make_lake: Callable[..., Any], signum: int, code: int
) -> None:
    lake = make_lake()
    for i, name in enumerate(TABLES):
        lake.create_table(name, rows(i * 1000), partition_by=["day(time)"])
    root = str(lake.root)
    before = {name: sorted_rows(lake, name) for name in TABLES}
    lake.close()

    with _paused("doctordata.lifecycle.mover:_move_table") as (env, rfd, wfd):
        proc = _start_paused(["--root", root, "tier", "--no-progress"], env, rfd)
        seen = _wait_for(proc, "paused after _move_table")
        _send(proc, signum)
        os.close(wfd)
        err = _assert_interrupted(proc, seen, signum, code)
    assert "run `doctordata tier` again" in err, err

    with dd.connect(root) as lh:
        assert lh.verify().ok
        tiers = {name: sorted(files_on(lh, name).values()) for name in TABLES}
        # one table moved its 3 old days, the other was never reached
        assert sorted(tiers.values()) == [["nas"] * 3 + ["ssd"], ["ssd"] * 4], tiers
        assert {name: sorted_rows(lh, name) for name in TABLES} == before

    again = _start(["--root", root, "tier", "--no-progress"])
    out, err = again.communicate(timeout=600)
    assert again.returncode == 0, out + err
    with dd.connect(root) as lh:
        assert lh.verify().ok
        for name in TABLES:
            assert sorted(files_on(lh, name).values()) == ["nas"] * 3 + ["ssd"]
            assert sorted_rows(lh, name).equals(before[name])
