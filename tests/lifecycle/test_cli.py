"""`doctordata tier | tiers | maintain` as a user runs them: real processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tiered_lakes import files_on, rows


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in env.items() if not k.startswith("DOCTORDATA")}
    return subprocess.run(
        [sys.executable, "-m", "doctordata", *args],
        env=clean,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def lake(make_lake):  # type: ignore[no-untyped-def]
    lh = make_lake()
    lh.create_table("hn.items", rows(0), partition_by=["day(time)"])
    return lh


def test_tier_dry_run_then_move_then_status(lake, child_env) -> None:  # type: ignore[no-untyped-def]
    root = str(lake.root)
    dry = run(child_env, "--root", root, "tier", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would move 3 files" in dry.stdout
    assert sorted(files_on(lake, "hn.items").values()) == ["ssd"] * 4

    moved = run(child_env, "--root", root, "tier", "--no-progress")
    assert moved.returncode == 0, moved.stderr
    assert "moved 3 files" in moved.stdout and "/s" in moved.stdout
    assert sorted(files_on(lake, "hn.items").values()) == ["nas"] * 3 + ["ssd"]

    status = run(child_env, "--root", root, "tiers", "--json")
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)
    per_tier = {row["tier"]: row for row in data["tables"] if row["table"] == "hn.items"}
    assert per_tier["nas"]["live_files"] == 3 and per_tier["ssd"]["live_files"] == 1
    assert per_tier["ssd"]["retained_files"] == 3  # old copies kept for time travel
    assert data["free"]["nas"] > 0

    table = run(child_env, "--root", root, "tiers")
    assert table.returncode == 0 and "hn.items" in table.stdout and "nas" in table.stdout

    maint = run(child_env, "--root", root, "maintain", "--dry-run", "--expire-older-than", "0s")
    assert maint.returncode == 0, maint.stderr
    assert "would free" in maint.stdout


def test_tier_refuses_with_a_clear_message(lake, child_env) -> None:  # type: ignore[no-untyped-def]
    Path(lake.tiers["nas"].root).rmdir()
    out = run(child_env, "--root", str(lake.root), "tier")
    assert out.returncode == 1
    assert "tier 'nas'" in out.stderr and "'exists'" in out.stderr
    assert "Traceback" not in out.stderr
    bad = run(child_env, "--root", str(lake.root), "maintain", "--expire-older-than", "soon")
    assert bad.returncode == 2 and "--expire-older-than" in bad.stderr
