"""lh.sql(q, tables={"recent": df}) joins a local Arrow/pandas/polars frame by name."""

from __future__ import annotations

from typing import Any

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from doctordata.errors import InvalidArgumentError, TableNotFoundError

pytestmark = pytest.mark.clickhouse

ITEMS = pa.table({"id": pa.array([1, 2, 3, 4], pa.int64()), "kind": ["a", "b", "a", "c"]})
Q = "SELECT i.id, i.kind, r.score FROM db.items i JOIN recent r ON r.id = i.id ORDER BY i.id"
WANT = [(2, "b", 0.5), (4, "c", 1.5)]


@pytest.mark.parametrize("flavour", ["arrow", "pandas", "polars"])
def test_join_a_local_frame(lh_target: tuple[Any, str], flavour: str) -> None:
    lh, engine = lh_target
    lh.create_table("db.items", ITEMS)
    cols = {"id": [2, 4, 9], "score": [0.5, 1.5, 9.0]}
    frame = {"arrow": pa.table(cols), "pandas": pd.DataFrame(cols), "polars": pl.DataFrame(cols)}
    got = lh.sql(Q, engine=engine, tables={"recent": frame[flavour]})
    assert got.fetchall() == WANT
    # Unaliased, in a subquery, twice, and alongside a CTE of another name.
    q = (
        "WITH k AS (SELECT id FROM db.items WHERE kind <> 'a') "
        "SELECT count(*) FROM recent JOIN k USING (id) "
        "WHERE recent.id IN (SELECT id FROM recent)"
    )
    assert lh.sql(q, engine=engine, tables={"RECENT": frame[flavour]}).fetchall() == [(2,)]


def test_local_frame_names_and_errors(lh: Any) -> None:
    lh.create_table("db.items", ITEMS)
    # A CTE of the same name shadows the frame, as DuckDB's own scoping does.
    q = "WITH recent AS (SELECT 1 AS id) SELECT count(*) FROM recent"
    assert lh.sql(q, tables={"recent": pa.table({"id": [1, 2, 3]})}).fetchall() == [(1,)]
    with pytest.raises(TableNotFoundError):
        lh.sql("SELECT * FROM recent")
    with pytest.raises(InvalidArgumentError, match="plain SQL name"):
        lh.sql("SELECT 1", tables={"a b": pa.table({"x": [1]})})
    with pytest.raises(InvalidArgumentError, match="dict of name"):
        lh.sql("SELECT 1", tables=[pa.table({"x": [1]})])
    # The frame never becomes a table, and no scratch file is left behind.
    lh.sql("SELECT * FROM recent", tables={"recent": pa.table({"x": [1]})}).fetchall()
    assert lh.tables() == ["db.items"]
    assert not list((lh.root / ".tmp").glob("q-*"))
