"""The README's "Opening the catalog with plain pyiceberg", run as written (its code block,
with the README's example root replaced by a real one) in a process that never imports
doctordata: the same tables, the same rows, files on the NAS tier included."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow.parquet as pq

import doctordata as dd
from tests.catalog.data import items

README = Path(__file__).resolve().parents[2] / "README.md"
EXAMPLE_ROOT = "/home/me/lake"


def readme_snippet() -> str:
    text = README.read_text()
    section = text.split("## Opening the catalog with plain pyiceberg", 1)[1]
    block = re.search(r"```python\n(.*?)```", section, re.S)
    assert block, "the README section lost its code block"
    return block.group(1)


def run_plain(code: str, child_env: dict[str, str]) -> str:
    """Run ``code`` with plain pyiceberg; fail if doctordata got imported."""
    guard = "import sys\nassert 'doctordata' not in sys.modules, 'doctordata was imported'\n"
    result = subprocess.run(
        [sys.executable, "-c", code + guard],
        env={k: v for k, v in child_env.items() if not k.startswith("PYICEBERG_")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def make_lake(root: Path) -> None:
    (root / "nas").mkdir(parents=True)
    (root / "doctordata.toml").write_text(
        textwrap.dedent(
            """\
            [tiers.ssd]
            url = "warehouse"
            [tiers.nas]
            url = "nas"
            [[policies]]
            table = "hackernews.items"
            column = "time"
            older_than = "30d"
            to = "nas"
            """
        )
    )


def test_the_readme_snippet_reads_the_same_rows(tmp_path: Path, child_env: dict[str, str]) -> None:
    root = tmp_path / "lake"
    make_lake(root)
    with dd.connect(root) as lh:
        lh.create_namespace("hackernews")
        lh.create_table("hackernews.items", items(range(400)), partition_by=["day(time)"])
        assert lh.tier().moved  # 2026 dates: old partitions now live on the NAS tier
        files = lh.table("hackernews.items").inspect.files().column("file_path").to_pylist()
        assert any(lh.tiers["nas"].contains(f) for f in files)
        expected = lh.sql("SELECT count(*) FROM hackernews.items WHERE id < 100").fetchall()
    snippet = readme_snippet()
    assert EXAMPLE_ROOT in snippet
    out = run_plain(snippet.replace(EXAMPLE_ROOT, str(root)), child_env)
    assert out.split() == [str(expected[0][0])]


def test_plain_pyiceberg_sees_every_row_and_its_appends_are_seen(
    tmp_path: Path, child_env: dict[str, str]
) -> None:
    root = tmp_path / "lake"
    make_lake(root)
    with dd.connect(root) as lh:
        lh.create_namespace("hackernews")
        lh.create_table("hackernews.items", items(range(200)), partition_by=["day(time)"])
        lh.tier()
        ours = lh.read("hackernews.items").sort_by("id")
    extra = textwrap.dedent(
        f"""
        import pyarrow as pa
        import pyarrow.parquet as pq
        assert catalog.list_tables("hackernews") == [("hackernews", "items")]
        pq.write_table(items.scan().to_arrow().sort_by("id"), {str(tmp_path / "plain.parquet")!r})
        new = pq.read_table({str(tmp_path / "new.parquet")!r})
        items.append(new.cast(items.schema().as_arrow()))
        """
    )
    pq.write_table(items(range(200, 210)), tmp_path / "new.parquet")
    snippet = readme_snippet().replace(EXAMPLE_ROOT, str(root))
    run_plain(snippet + extra, child_env)
    assert pq.read_table(tmp_path / "plain.parquet").equals(ours)
    with dd.connect(root) as lh:
        assert lh.sql("SELECT count(*), max(id) FROM hackernews.items").fetchall() == [(210, 209)]
