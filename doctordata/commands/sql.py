"""`doctordata sql "SELECT ..." [--engine] [--as-of] [--explain] [--format table|csv|json]`."""

from __future__ import annotations

import io
import json
import sys
from typing import Any

import click

from doctordata.commands import open_lakehouse


def _as_of(value: str | None) -> Any:
    # Long digit strings are snapshot ids; anything else is a tag or a timestamp.
    if value is not None and value.isdigit() and len(value) > 8:
        return int(value)
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


@click.command()
@click.argument("query", required=False)
@click.option("--engine", "-e", default=None, help="duckdb, clickhouse or auto (default: config).")
@click.option("--as-of", default=None, help="Snapshot id, tag/branch or timestamp for every table.")
@click.option("--explain", is_flag=True, help="Show the engine's plan instead of running.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
    help="Output format.",
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
    fmt: str,
    timeout: float | None,
    stats: bool,
) -> None:
    """Run one read-only SQL query (QUERY, or stdin when omitted) on DuckDB or ClickHouse.

    \b
      doctordata sql "SELECT type, count(*) FROM hackernews.items GROUP BY 1"
      doctordata sql --engine clickhouse --format csv "SELECT ..."
      doctordata sql --as-of 2026-11-01 "SELECT count(*) FROM hackernews.items"
    """
    text = query if query is not None else sys.stdin.read()
    lh = open_lakehouse(ctx)
    result = lh.sql(text, engine=engine, as_of=_as_of(as_of), explain=explain, timeout=timeout)
    if explain:
        click.echo(result.plan or "")
    elif fmt == "csv":
        import pyarrow.csv as pacsv

        buf = io.BytesIO()
        pacsv.write_csv(result.arrow(), buf)
        click.echo(buf.getvalue().decode(), nl=False)
    elif fmt == "json":
        rows = [
            {k: _jsonable(v) for k, v in zip(result.columns, row, strict=True)}
            for row in result.fetchall()
        ]
        click.echo(json.dumps(rows, indent=None))
    else:
        _print_table(result)
    if stats:
        click.echo(json.dumps(result.stats.as_dict(), default=str, indent=2), err=True)


def _print_table(result: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(show_header=True, header_style="bold")
    for name in result.columns:
        table.add_column(name)
    for row in result.fetchall():
        table.add_row(*("NULL" if v is None else str(v) for v in row))
    console = Console(soft_wrap=True)
    console.print(table)
    s = result.stats
    console.print(
        f"{len(result)} rows · {s.engine} · files {s.files_planned} planned, "
        f"{s.files_skipped} skipped",
        style="dim",
    )
