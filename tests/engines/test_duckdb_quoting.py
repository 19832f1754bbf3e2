"""engines/duckdb.py quotes names and paths itself (a cached plan runs without sqlglot):
its quoting must be exactly sqlglot's duckdb generator's."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlglot import exp

from doctordata.engines.duckdb import _ident, _lit


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_quoting_matches_sqlglot(value: str) -> None:
    assert _lit(value) == exp.Literal.string(value).sql("duckdb")
    assert _ident(value) == exp.to_identifier(value, quoted=True).sql("duckdb")


def test_quotes_and_backslashes() -> None:
    assert _lit("it's a\\b") == "'it''s a\\b'"
    assert _ident('x"y') == '"x""y"'
