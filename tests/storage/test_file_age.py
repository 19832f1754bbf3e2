"""One rule for a listed file's age, shared by orphan cleanup and `doctordata verify`.

They disagreed on a file whose listing has no timestamp: maintain() treated it as just
written (kept), verify as written in 1970 (reported as an orphan to delete)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from doctordata.storage.tier import modified_at


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        ({"mtime": 1_700_000_000.5}, 1_700_000_000.5),
        ({"LastModified": datetime(2026, 1, 1, tzinfo=UTC)}, 1_767_225_600.0),
        ({"created": 1_600_000_000}, 1_600_000_000.0),
        ({}, None),
        ({"mtime": None}, None),
        ({"mtime": "yesterday"}, None),
        ({"mtime": True}, None),
    ],
)
def test_modified_at(info: dict[str, object], expected: float | None) -> None:
    assert modified_at(info) == expected


def test_orphan_cleanup_and_verify_use_the_same_rule() -> None:
    from doctordata.backup import integrity
    from doctordata.lifecycle import orphans

    assert integrity.modified_at is modified_at
    assert orphans.modified_at is modified_at
