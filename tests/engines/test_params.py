"""lh.sql(params=...): '?', '$1' and '$name' bound as literals on every engine (issue #20 item 8)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from doctordata.errors import InvalidArgumentError

pytestmark = pytest.mark.clickhouse

DATA = pa.table(
    {
        "id": pa.array([1, 2, 3, 4], pa.int64()),
        "who": pa.array(["ann", "bob", "o'hara", "x' OR '1'='1"]),
        "d": pa.array([date(2026, 1, d) for d in (1, 2, 3, 4)], pa.date32()),
        "ts": pa.array([datetime(2026, 1, 1, h) for h in (1, 2, 3, 4)], pa.timestamp("us")),
        "price": pa.array(
            [Decimal(p) for p in ("1.10", "2.20", "3.30", "4.40")], pa.decimal128(9, 2)
        ),
        "x": pa.array([0.5, 1.5, 2.5, 3.5]),
    }
)


@pytest.fixture
def lh_ev(lh_target: tuple[Any, str]) -> tuple[Any, str]:
    lh, engine = lh_target
    lh.create_table("ev.t", DATA)
    return lh, engine


def _ids(lh: Any, engine: str, query: str, params: Any) -> list[int]:
    return [r[0] for r in lh.sql(query, engine=engine, params=params).fetchall()]


def test_positional_and_named(lh_ev: tuple[Any, str]) -> None:
    lh, engine = lh_ev
    q = "SELECT id FROM ev.t WHERE id >= ? AND who <> ? ORDER BY id"
    assert _ids(lh, engine, q, [2, "bob"]) == [3, 4]
    q = "SELECT id FROM ev.t WHERE id >= $1 AND id < $2 ORDER BY id"
    assert _ids(lh, engine, q, (2, 4)) == [2, 3]
    q = "SELECT id FROM ev.t WHERE who = $who OR id = $id ORDER BY id"
    assert _ids(lh, engine, q, {"who": "o'hara", "id": 1}) == [1, 3]


def test_typed_values(lh_ev: tuple[Any, str]) -> None:
    lh, engine = lh_ev
    q = "SELECT id FROM ev.t WHERE d > ? AND ts < ? AND price <= ? AND x > ? ORDER BY id"
    params = [date(2026, 1, 1), datetime(2026, 1, 1, 4), Decimal("3.30"), 1.0]
    assert _ids(lh, engine, q, params) == [2, 3]
    assert lh.sql("SELECT ? IS NULL", engine=engine, params=[None]).fetchall() == [(True,)]


ATTACKS = ["x' OR '1'='1", "'; DROP TABLE ev.t; --", "ann' --", "\\' OR 1=1 --", "$1", "?"]


def test_injection_stays_a_literal(lh_ev: tuple[Any, str]) -> None:
    lh, engine = lh_ev
    for attack in ATTACKS:
        got = lh.sql("SELECT id, who FROM ev.t WHERE who = ?", engine=engine, params=[attack])
        assert got.fetchall() == ([(4, attack)] if attack == "x' OR '1'='1" else [])
    assert lh.sql("SELECT count(*) FROM ev.t", engine=engine).fetchall() == [(4,)]


def test_question_marks_numbered_in_text_order(lh: Any) -> None:
    lh.create_table("ev.t", DATA)
    q = "WITH s AS (SELECT id FROM ev.t WHERE id > ?) SELECT id, '?' FROM s ORDER BY id LIMIT ?"
    assert lh.sql(q, params=[1, 2]).fetchall() == [(2, "?"), (3, "?")]


def test_pushdown_uses_bound_values(lh: Any) -> None:
    lh.create_table("ev.p", DATA, partition_by=["d"])
    res = lh.sql("SELECT id FROM ev.p WHERE d = ?", params=[date(2026, 1, 3)])
    assert res.fetchall() == [(3,)]
    assert res.stats.files_skipped == 3


def test_bad_params_are_typed_errors(lh: Any) -> None:
    lh.create_table("ev.t", DATA)
    with pytest.raises(InvalidArgumentError, match="no params"):
        lh.sql("SELECT id FROM ev.t WHERE id = ?")
    with pytest.raises(InvalidArgumentError, match="has no value"):
        lh.sql("SELECT id FROM ev.t WHERE id = ? OR id = ?", params=[1])
    with pytest.raises(InvalidArgumentError, match="not used"):
        lh.sql("SELECT id FROM ev.t WHERE id = ?", params=[1, 2])
    with pytest.raises(InvalidArgumentError, match=r"\$who has no value"):
        lh.sql("SELECT id FROM ev.t WHERE who = $who", params={"id": 1})
    with pytest.raises(InvalidArgumentError, match="must be a dict"):
        lh.sql("SELECT id FROM ev.t WHERE who = $who", params=["ann"])
    with pytest.raises(InvalidArgumentError, match="list/tuple"):
        lh.sql("SELECT id FROM ev.t WHERE who = ?", params="ann")
    with pytest.raises(InvalidArgumentError, match="parameter number 1 is a object"):
        lh.sql("SELECT id FROM ev.t WHERE who = ?", params=[object()])
    # A cached plan of the same text must not serve other values.
    q = "SELECT id FROM ev.t WHERE id = ?"
    assert [lh.sql(q, params=[i]).fetchall() for i in (1, 2)] == [[(1,)], [(2,)]]
