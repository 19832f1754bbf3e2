"""`doctordata demo`: the whole daily job offline, on generated HackerNews data.

Layout of the demo root::

    DIR/doctordata.toml    tiers ssd (DIR/ssd) and nas (DIR/nas), one tier policy
    DIR/catalog.db         the Iceberg catalog
    DIR/nas/backups/...    where the daily backup goes (the nas tier)

The local HN-API server serves a dataset generated from ``seed``, so every run with the
same seed and item count produces the same table contents (the report prints a content
fingerprint per table to make that checkable).
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from doctordata.lakehouse import Lakehouse

# The query the report runs on both engines.
COMPARE_SQL = (
    "SELECT type, count(*) AS items, count(DISTINCT by) AS authors, "
    "CAST(coalesce(sum(score), 0) AS BIGINT) AS points "
    "FROM hackernews.items GROUP BY type ORDER BY type"
)
TOP_SQL = (
    "SELECT story_day, score, title FROM marts.top_stories_per_day "
    "WHERE day_rank = 1 ORDER BY story_day"
)
# Share of the dataset's time span (oldest first) the tier policy moves to the NAS.
NAS_SHARE = 0.5


@dataclass
class DemoReport:
    root: Path
    seconds: float
    summary: dict[str, Any]
    tables: list[tuple[str, int, str]] = field(default_factory=list)  # name, rows, fingerprint
    tiers: dict[str, tuple[int, int]] = field(default_factory=dict)  # tier -> files, bytes
    top_stories: list[tuple[Any, ...]] = field(default_factory=list)
    engines: list[tuple[str, float, list[tuple[Any, ...]]]] = field(default_factory=list)


def policy_age_hours(items: int, now: float | None = None) -> int:
    """older_than (hours) that sends the oldest NAS_SHARE of the dataset's days (at least
    one whole day) to the NAS. The cut falls on a day boundary: the mover compares each
    file's newest ``time`` with the threshold, so a day partition moves whole or not at all.
    """
    from doctordata.ingest.hn_data import SECONDS_PER_ID, START_TIME

    days = max(1, int(items * SECONDS_PER_ID / 86400 * NAS_SHARE))
    cutoff = START_TIME + days * 86400
    age = (time.time() if now is None else now) - cutoff
    # Rounded down: the threshold lands just after midnight, before the next day's items.
    return max(1, math.floor(age / 3600))


def write_config(root: Path, items: int) -> Path:
    """The demo root's doctordata.toml (rewritten on each run: the policy age is relative
    to the clock, the data's dates are fixed)."""
    for tier in ("ssd", "nas"):
        # Stands in for the NAS mount, which the tier checks require to exist.
        (root / tier).mkdir(parents=True, exist_ok=True)
    path = root / "doctordata.toml"
    path.write_text(
        "# Written by `doctordata demo`.\n"
        "[tiers.ssd]\n"
        'url = "ssd"\n'
        "[tiers.nas]\n"
        'url = "nas"\n\n'
        "# The oldest half of the generated days moves to the NAS tier.\n"
        "[[policies]]\n"
        'table = "hackernews.items"\n'
        'column = "time"\n'
        f'older_than = "{policy_age_hours(items)}h"\n'
        'to = "nas"\n'
    )
    return path


def run_demo(
    root: str | Path,
    *,
    items: int = 3000,
    seed: int = 42,
    use_prefect: bool | None = None,
) -> DemoReport:
    """Serve the generated API, run the daily job into ``root``, collect the report."""
    from doctordata.ingest.hn_api import start_server
    from doctordata.lakehouse import connect
    from doctordata.orchestrate.daily import run_daily

    root = Path(root).resolve()
    write_config(root, items)
    started = time.perf_counter()
    with start_server(items, seed) as server:
        summary = run_daily(root, base_url=server.url, use_prefect=use_prefect)
    report = DemoReport(root=root, seconds=time.perf_counter() - started, summary=summary)
    with connect(root) as lh:
        collect(lh, report)
    return report


def collect(lh: Lakehouse, report: DemoReport) -> None:
    for name in sorted(lh.tables()):
        data = lh.read(name)
        report.tables.append((name, data.num_rows, fingerprint(data)))
    report.tiers = lh.tier_status().totals()
    report.top_stories = lh.sql(TOP_SQL).fetchall()
    for engine in ("duckdb", "clickhouse"):
        started = time.perf_counter()
        rows = lh.sql(COMPARE_SQL, engine=engine).fetchall()
        report.engines.append((engine, time.perf_counter() - started, rows))


def fingerprint(data: Any) -> str:
    """Order-independent digest of a table's rows (same rows -> same digest)."""
    digests = sorted(
        hashlib.sha256(repr(sorted(r.items())).encode()).digest() for r in data.to_pylist()
    )
    return hashlib.sha256(b"".join(digests)).hexdigest()[:12]


def render(report: DemoReport) -> None:
    """Print the report with rich."""
    from rich.console import Console
    from rich.table import Table

    from doctordata.config import human_bytes

    console = Console()
    console.print(f"[bold]doctordata demo[/bold] in {report.root} ({report.seconds:.0f} s)")
    tables = Table(title="Tables")
    for col in ("table", "rows", "fingerprint"):
        tables.add_column(col)
    for name, rows, digest in report.tables:
        tables.add_row(name, str(rows), digest)
    console.print(tables)
    tiers = Table(title="Bytes per tier")
    for col in ("tier", "files", "bytes"):
        tiers.add_column(col)
    for tier, (files, nbytes) in sorted(report.tiers.items()):
        tiers.add_row(tier, str(files), human_bytes(nbytes))
    console.print(tiers)
    top = Table(title="Top story of each day")
    for col in ("day", "score", "title"):
        top.add_column(col)
    for day, score, title in report.top_stories:
        top.add_row(str(day), str(score), str(title))
    console.print(top)
    console.print(f"[bold]Same query on both engines[/bold]: {COMPARE_SQL}")
    timing = Table()
    for col in ("engine", "ms", "rows"):
        timing.add_column(col)
    for engine, seconds, result in report.engines:
        timing.add_row(engine, f"{seconds * 1000:.1f}", str(len(result)))
    console.print(timing)
    results = {repr(result) for _, _, result in report.engines}
    if len(results) == 1 and report.engines:
        agreed = Table(title="Result (identical on both engines)")
        for col in ("type", "items", "authors", "points"):
            agreed.add_column(col)
        for row in report.engines[0][2]:
            agreed.add_row(*(str(v) for v in row))
        console.print(agreed)
        console.print("engines agree")
    else:
        console.print("[red]engines DISAGREE[/red]")
    steps = ", ".join(f"{k}: {v}" for k, v in report.summary.items() if k != "root")
    console.print(f"[dim]{steps}[/dim]")
