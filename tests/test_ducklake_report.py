"""benchmarks/ducklake.py rewrites only the generated part of ducklake.md (above the
marker line) and keeps the hand-written sections below it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from benchmarks.ducklake import MARKER, markdown, write_report

RESULTS = Path(__file__).resolve().parent.parent / "benchmarks" / "results"


def _hand_written(text: str) -> str:
    return text.split(MARKER + "\n", 1)[1]


def test_a_rerun_keeps_the_hand_written_sections(tmp_path: Path) -> None:
    report = tmp_path / "ducklake.md"
    shutil.copy(RESULTS / "ducklake.md", report)
    before = report.read_text()
    assert MARKER in before  # the committed file carries the marker
    result = json.loads((RESULTS / "ducklake.json").read_text())
    result["load"]["doctordata_ms"] = 1234.5  # a new run's figure
    write_report(report, markdown(result))
    after = report.read_text()
    assert _hand_written(after) == _hand_written(before)
    assert "## Bulk load, profiled" in after and "## Appends (issue 18" in after
    generated = after.split(MARKER, 1)[0]
    assert "| bulk load (s) | 1.23 |" in generated
    assert generated.count("# doctordata vs DuckLake") == 1
    write_report(report, markdown(result))  # stable: a second run changes nothing
    assert report.read_text() == after


def test_a_report_without_the_marker_loses_nothing(tmp_path: Path) -> None:
    report = tmp_path / "ducklake.md"
    report.write_text("# old\n\nnotes written by hand\n")
    write_report(report, "# new figures\n")
    text = report.read_text()
    assert text.startswith("# new figures\n\n" + MARKER + "\n")
    assert text.endswith("# old\n\nnotes written by hand\n")
    write_report(report, "# newer figures\n")
    assert report.read_text().startswith("# newer figures\n\n" + MARKER + "\n")
    assert report.read_text().endswith("notes written by hand\n")


def test_a_new_report_is_the_generated_part_and_the_marker(tmp_path: Path) -> None:
    report = tmp_path / "ducklake.md"
    write_report(report, "# figures\n")
    assert report.read_text() == "# figures\n\n" + MARKER + "\n"
