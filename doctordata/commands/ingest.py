"""`doctordata ingest ...` (load data with dlt) and `doctordata dev hn-api` (its test server)."""

from __future__ import annotations

import time
from typing import Any

import click

from doctordata.commands import open_lakehouse


@click.group()
def ingest() -> None:
    """Load data into the lakehouse with dlt."""


@ingest.command("hackernews")
@click.option(
    "--base-url",
    default=None,
    help="HN API root including /v0/ (default: config ingest.hackernews_base_url, "
    "https://hacker-news.firebaseio.com/v0/).",
)
@click.option(
    "--max-items",
    type=click.IntRange(min=1),
    default=None,
    help="Fetch at most this many new ids in this run (default: up to maxitem).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    default=None,
    help="Concurrent HTTP requests (default: config ingest.workers).",
)
@click.option("--no-updates", is_flag=True, help="Skip re-fetching items from updates.json.")
@click.option("--no-lists", is_flag=True, help="Skip the top/new/best/... story lists.")
@click.option(
    "--publish",
    is_flag=True,
    help="Afterwards refresh the ClickHouse serving copy of hackernews.items (lh.publish).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def hackernews(
    ctx: click.Context,
    base_url: str | None,
    max_items: int | None,
    workers: int | None,
    no_updates: bool,
    no_lists: bool,
    publish: bool,
    as_json: bool,
) -> None:
    """Load HackerNews items, updates and story lists into hackernews.* (incremental).

    Ctrl-C / SIGTERM stops after the commit in flight (exit 130 / 143); run the same
    command again to continue from the last committed segment.

    \b
      doctordata ingest hackernews --max-items 100000
      doctordata ingest hackernews --base-url http://127.0.0.1:8765/v0/ --workers 16
      doctordata ingest hackernews --no-updates --no-lists --json
    """
    from doctordata.ingest.hackernews import run

    lh = open_lakehouse(ctx)
    with _Progress(enabled=not as_json) as progress:
        report = run(
            lh,
            base_url=base_url,
            max_items=max_items,
            workers=workers,
            progress=progress,
            updates=not no_updates,
            lists=not no_lists,
            publish="clickhouse" if publish else None,
        )
    if as_json:
        import json

        click.echo(json.dumps(report.as_dict(), indent=2, default=str))
        return
    _summary(report)


def _summary(report: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"HackerNews ids {report.start_id}..{report.end_id} (maxitem {report.maxitem})",
        show_header=False,
    )
    rows = [
        ("items new", report.items_new),
        ("items updated", report.items_updated),
        ("items rejected", report.items_rejected),
        ("ids without item (null)", report.items_missing),
        ("re-fetched from updates.json", report.updates_fetched),
        ("list rows", report.list_rows),
        ("requests (retries)", f"{report.requests} ({report.retries})"),
        ("rows/s", f"{report.rows_per_second:,.0f}"),
        (
            "time",
            f"{report.seconds:.1f} s  "
            + ", ".join(f"{k} {v:.1f}s" for k, v in report.timings.items()),
        ),
    ]
    if report.new_columns:
        rows.append(("new columns", ", ".join(report.new_columns)))
    for name, rows_published in report.published.items():
        rows.append(("published", f"{name}: {rows_published} rows on ClickHouse"))
    if report.pending_recovered:
        rows.append(("recovered", "finished a load package left by an interrupted run"))
    for name, value in rows:
        table.add_row(name, str(value))
    Console().print(table)


class _Progress:
    """run()'s progress(phase, advance, total) callback: bars on a terminal
    (doctordata.progress), else one plain line per commit."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._bars: Any = None
        self._advance: Any = None
        self._committed = 0

    def __enter__(self) -> _Progress:
        import sys

        if self.enabled and sys.stderr.isatty():
            from doctordata.progress import phase_progress

            self._bars = phase_progress(enabled=True)
            self._advance = self._bars.__enter__()
        return self

    def __call__(self, phase: str, advance: int, total: int) -> None:
        if self._advance is not None:
            self._advance(phase, advance, total)
        elif self.enabled and phase == "commit":
            # Not a terminal: a plain line per commit, for logs (and for whoever waits
            # on the run's progress, like the signal tests).
            self._committed += advance
            click.echo(f"ingest: committed {advance:,} rows ({self._committed:,} so far)", err=True)

    def __exit__(self, *exc: Any) -> None:
        if self._bars is not None:
            self._bars.__exit__(*exc)


@click.command("hn-api")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port (0 = any free port).",
)
@click.option(
    "--items",
    type=click.IntRange(min=1),
    default=5000,
    show_default=True,
    help="Items to generate.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Dataset seed.")
@click.option(
    "--error-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    help="Fraction of responses answered with 5xx/429.",
)
@click.option(
    "--slow-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    help="Fraction of responses delayed by --slow-seconds.",
)
@click.option("--slow-seconds", type=click.FloatRange(min=0), default=0.5, show_default=True)
@click.option(
    "--truncate-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    help="Fraction of responses with a truncated body.",
)
@click.option(
    "--grow-every",
    type=click.FloatRange(min=0),
    default=0.0,
    help="Every N seconds add --grow-items items and change scores (0 = never).",
)
@click.option("--grow-items", type=click.IntRange(min=0), default=100, show_default=True)
def hn_api(
    host: str,
    port: int,
    items: int,
    seed: int,
    error_rate: float,
    slow_rate: float,
    slow_seconds: float,
    truncate_rate: float,
    grow_every: float,
    grow_items: int,
) -> None:
    """Serve a generated HackerNews API (the /v0/ JSON of hacker-news.firebaseio.com)."""
    from doctordata.ingest.hn_api import Faults, start_server

    try:
        faults = Faults(
            error_rate=error_rate,
            slow_rate=slow_rate,
            slow_seconds=slow_seconds,
            truncate_rate=truncate_rate,
            seed=seed,
        )
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    try:
        server = start_server(items=items, seed=seed, port=port, host=host, faults=faults)
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {exc.strerror}; pick another --port (0 = any)"
        ) from None
    click.echo(
        f"HackerNews API at {server.url} ({items} items, seed {seed}); Ctrl-C to stop", err=False
    )
    try:
        while True:
            time.sleep(grow_every or 3600)
            if grow_every:
                growth = server.grow(new_items=grow_items, changed=max(1, grow_items // 5))
                click.echo(
                    f"grew: maxitem {server.dataset.maxitem}, {len(growth.changed_ids)} changed",
                    err=True,
                )
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
