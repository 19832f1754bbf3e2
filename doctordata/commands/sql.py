"""`doctordata sql "SELECT ..."`: a bounded preview by default, or every row streamed as
csv / json / jsonl / markdown / parquet to stdout or --output FILE (commands/output.py)."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from doctordata.commands import open_lakehouse
from doctordata.commands.output import DEFAULT_MAX_ROWS, FORMATS
from doctordata.errors import InvalidArgumentError


def _as_of(value: str | None) -> Any:
    # Long digit strings are snapshot ids; anything else is a tag or a timestamp.
    if value is not None and value.isdigit() and len(value) > 8:
        return int(value)
    return value


@click.command()
@click.argument("query", required=False)
@click.option("--engine", "-e", default=None, help="duckdb, clickhouse or auto (default: config).")
@click.option("--as-of", default=None, help="Snapshot id, tag/branch or timestamp for every table.")
@click.option("--explain", is_flag=True, help="Show the engine's plan instead of running.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default=None,
    help="table: a preview (first/last rows, row count); csv, json, jsonl, markdown, parquet: "
    "every row, streamed. Default: table, or from --output's extension. "
    "Example: --format csv > out.csv",
)
@click.option(
    "--output",
    "-o",
    default=None,
    metavar="FILE",
    help="Write to FILE (appears only when complete) instead of stdout. "
    "Example: --output items.parquet",
)
@click.option(
    "--max-rows",
    type=click.IntRange(min=0),
    default=DEFAULT_MAX_ROWS,
    show_default=True,
    help="Rows the table preview shows (first and last half); 0 = all. Example: --max-rows 100",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=None,
    help="Seconds before the query is stopped (default: engines.query_timeout; 0 = none).",
)
@click.option("--stats", is_flag=True, help="Print files planned/skipped and timings to stderr.")
@click.pass_context
def sql(
    ctx: click.Context,
    query: str | None,
    engine: str | None,
    as_of: str | None,
    explain: bool,
    fmt: str | None,
    output: str | None,
    max_rows: int,
    timeout: float | None,
    stats: bool,
) -> None:
    """Run one read-only SQL query (QUERY, or stdin when omitted) on DuckDB or ClickHouse.

    \b
      doctordata sql "SELECT type, count(*) FROM hackernews.items GROUP BY 1"
      doctordata sql --engine clickhouse --format csv "SELECT ..."
      doctordata sql --as-of 2026-11-01 "SELECT count(*) FROM hackernews.items"
      doctordata sql --max-rows 100 "SELECT * FROM hackernews.items"
      doctordata sql -o items.parquet "SELECT * FROM hackernews.items"
      echo "SELECT 42" | doctordata sql --format jsonl
    """
    from doctordata.commands import output as out

    fmt = out.format_for(fmt, output)
    if fmt == "table" and output is not None:
        raise InvalidArgumentError(
            f"--output {output}: the table preview is for the terminal; pass --format "
            "csv|json|jsonl|markdown|parquet to write every row to a file"
        )
    text = query if query is not None else sys.stdin.read()
    lh = open_lakehouse(ctx)
    # Streamed: neither the preview nor a file holds every row at once.
    result = lh.sql(
        text, engine=engine, as_of=_as_of(as_of), explain=explain, timeout=timeout, stream=True
    )
    if explain:
        click.echo(result.plan or "")
    elif fmt == "table":
        s = result.stats
        footer = f"{s.engine} · files {s.files_planned} planned, {s.files_skipped} skipped"
        out.write_preview(result, max_rows, sys.stdout, footer)
    else:
        out.write_stream(result, fmt, output)
    if stats:
        click.echo(json.dumps(result.stats.as_dict(), default=str, indent=2), err=True)
