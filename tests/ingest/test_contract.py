"""The item schema contract: valid rows, rejections with reasons, schema evolution."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pytest

from doctordata.ingest.hn_schema import ItemContract, items_schema

STORY = {
    "by": "pg",
    "descendants": 2,
    "id": 8863,
    "kids": [8952, 9224],
    "score": 111,
    "time": 1175714200,
    "title": "My YC app: Dropbox",
    "type": "story",
    "url": "http://www.getdropbox.com/u/2/screencast.html",
}


def test_valid_item_becomes_a_typed_row() -> None:
    contract = ItemContract()
    row, reason = contract.check(8863, STORY)
    assert reason is None and row is not None
    table = contract.to_arrow([row])
    assert table.schema.equals(items_schema())
    got = table.to_pylist()[0]
    assert got["time"] == datetime(2007, 4, 4, 19, 16, 40)
    assert got["kids"] == [8952, 9224] and got["deleted"] is False and got["text"] is None
    assert table.schema.field("id").type == pa.int64()
    assert table.schema.field("kids").type == pa.list_(pa.int64())


def test_null_is_missing_not_an_error() -> None:
    assert ItemContract().check(5, None) == (None, None)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ([1, 2], "expected a JSON object or null, got list"),
        ({**STORY, "time": "yesterday"}, "field 'time': expected Unix seconds"),
        ({**STORY, "time": 1175714200000000}, "field 'time': expected Unix seconds"),
        ({**STORY, "kids": ["a"]}, "field 'kids': expected a list of integers"),
        ({**STORY, "score": True}, "field 'score': expected an integer"),
        ({**STORY, "dead": "yes"}, "field 'dead': expected true or false"),
        ({**STORY, "id": 1}, "field 'id' is 1, expected 8863"),
        ({**STORY, "type": "ad"}, "field 'type' is 'ad', expected one of comment, job"),
        ({k: v for k, v in STORY.items() if k != "type"}, "field 'type' is None"),
        ({**STORY, "Bad Key": 1}, "field name 'Bad Key' is not a valid column name"),
    ],
)
def test_schema_violations_are_rejected_with_a_reason(value: object, reason: str) -> None:
    row, got = ItemContract().check(8863, value)
    assert row is None and got is not None and got.startswith(reason), got


def test_new_fields_evolve_the_schema_and_then_bind() -> None:
    contract = ItemContract()
    row, _ = contract.check(8863, {**STORY, "flair": "gold", "ratio": 0.5})
    assert contract.new_fields == {"flair": "str", "ratio": "float"}
    table = contract.to_arrow([row])  # type: ignore[list-item]
    assert table.column("flair").to_pylist() == ["gold"]
    assert table.schema.field("ratio").type == pa.float64()
    # A later value of another type is a rejection, not a crash.
    row2, reason = contract.check(8864, {**STORY, "id": 8864, "flair": [1, 2]})
    assert row2 is None and reason is not None and "field 'flair': expected a string" in reason
