"""An unreachable S3 tier is offline: TierOfflineError, not a raw botocore/pyarrow error."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

import doctordata as dd
from doctordata.errors import TierOfflineError
from doctordata.storage.offline import MARKER
from tests.tiered_lakes import AGE_POLICY, files_on, rows, write_config

pytestmark = pytest.mark.s3


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens there once the socket closes


def _config(root: Path, bucket: str, endpoint: str, region: str) -> None:
    tiers = {
        "ssd": {"url": str(root / "ssd")},
        "s3": {"url": f"s3://{bucket}/lake", "endpoint": endpoint, "region": region},
    }
    write_config(root, tiers, [{**AGE_POLICY[0], "to": "s3"}])


def test_an_unreachable_s3_tier_is_offline(tmp_path: Path, s3_env: Any, s3_bucket: str) -> None:
    root = tmp_path / "lake"
    _config(root, s3_bucket, s3_env.endpoint, s3_env.region)
    with dd.connect(root) as lh:
        lh.create_table("hn.items", rows(0), partition_by=["day(time)"])
        assert len(lh.tier().moved) == 3
        assert sorted(files_on(lh, "hn.items").values()).count("s3") == 3
        assert s3_env.filesystem().exists(f"{s3_bucket}/lake/{MARKER}")
    down = f"http://127.0.0.1:{_closed_port()}"
    _config(root, s3_bucket, down, s3_env.region)
    with dd.connect(root) as lh:
        recent = "SELECT count(*) FROM hn.items WHERE time > '2025-01-01'"
        assert lh.sql(recent).fetchall() == [(5,)]
        # A TIMESTAMP literal against the timestamptz column: pyiceberg's path prunes it,
        # the fast planner does not; the query needs only the SSD either way.
        typed = "SELECT count(*) FROM hn.items WHERE time > TIMESTAMP '2025-01-01 00:00:00'"
        assert lh.sql(typed).fetchall() == [(5,)]
        for action in (
            lambda: lh.sql("SELECT count(*) FROM hn.items").fetchall(),
            lambda: lh.read("hn.items"),
            lambda: lh.delete("hn.items", "id = 1"),
        ):
            with pytest.raises(TierOfflineError) as err:
                action()
            assert "'s3'" in str(err.value) and down in str(err.value)
        report = lh.maintain(expire_older_than="0s")
        assert "skipped tier 's3', which is offline" in str(report)
    _config(root, s3_bucket, s3_env.endpoint, s3_env.region)
    with dd.connect(root) as lh:
        assert lh.sql("SELECT count(*) FROM hn.items").fetchall() == [(20,)]
