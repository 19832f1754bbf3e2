"""ClickHouse string literals are quoted without sqlglot, and chDB reads back exactly the
string that was quoted (file paths, settings and secrets go through this)."""

from __future__ import annotations

import json

import chdb
from hypothesis import given, settings
from hypothesis import strategies as st

from doctordata.engines.clickhouse import _lit

TRICKY = [
    "a\x00b",
    "",
    "'",
    "\\",
    "\\'",
    "''",
    "a'b\\c",
    "x\\\\'; DROP TABLE t; --",
    "naïve ∂ 😀",
    "\t\n",
]


def _echo(value: str) -> str:
    out = chdb.query(f"SELECT {_lit(value)} AS s", "JSONCompact")
    return json.loads(out.bytes())["data"][0][0]


def test_tricky_strings_round_trip() -> None:
    for value in TRICKY:
        assert _echo(value) == value, value


@settings(max_examples=60, deadline=None)
@given(st.text(st.characters(blacklist_categories=["Cs"])))
def test_any_text_round_trips(value: str) -> None:
    assert _echo(value) == value
