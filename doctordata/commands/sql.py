"""`doctordata sql "SELECT ..."`: a bounded preview by default, or every row streamed as
csv / json / jsonl / markdown / parquet to stdout or --output FILE (commands/output.py)."""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
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


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?")
# TYPE:VALUE prefixes of --param (an allow-list: anything else is a plain string)
_TYPED: dict[str, Callable[[str], Any]] = {
    "str": str,
    "int": int,
    "float": float,
    "decimal": Decimal,
    "date": dt.date.fromisoformat,
    "timestamp": dt.datetime.fromisoformat,
}
PARAM_HELP = (
    "A value for a placeholder, bound as a literal (never spliced into the SQL); repeat it. "
    "VALUE fills ?, $1, $2 in order; NAME=VALUE fills $NAME (use one style per query). "
    'VALUE: 42 (int), 4.2 or 1e3 (float), true/false, null, "text" (a JSON string), '
    "TYPE:VALUE with TYPE str|int|float|decimal|date|timestamp, else the text as it is. "
    "Example: --param user=pg --param since=date:2026-11-01"
)


def parse_params(values: tuple[str, ...]) -> list[Any] | dict[str, Any] | None:
    """--param values as lh.sql's ``params``: a list (VALUE), a dict (NAME=VALUE) or None."""
    if not values:
        return None
    named: dict[str, Any] = {}
    positional: list[Any] = []
    for raw in values:
        name, sep, text = raw.partition("=")
        if sep and _NAME.fullmatch(name):
            if name in named:
                raise InvalidArgumentError(
                    f"--param {raw!r}: ${name} is given twice; pass each name once"
                )
            named[name] = _param_value(text, raw)
        else:
            positional.append(_param_value(raw, raw))
    if named and positional:
        raise InvalidArgumentError(
            f"--param: {len(positional)} value(s) without a name and {len(named)} named "
            f"({', '.join(sorted(named))}); use VALUE for ?/$1 or NAME=VALUE for $NAME, not both "
            "(a text value holding '=' is written as a JSON string: --param '\"a=b\"')"
        )
    return named or positional


def _param_value(text: str, raw: str) -> Any:
    """One --param VALUE: a JSON scalar, TYPE:VALUE, or the text itself."""
    kind, sep, rest = text.partition(":")
    if sep and kind in _TYPED:
        try:
            return _TYPED[kind](rest)
        except (ValueError, InvalidOperation):
            raise InvalidArgumentError(
                f"--param {raw!r}: {rest!r} is not a {kind}; e.g. int:42, float:0.5, "
                "decimal:1.10, date:2026-11-01, timestamp:2026-11-01T12:00:00"
            ) from None
    if _INT.fullmatch(text):
        return int(text)
    if text in ("null", "true", "false") or text.startswith('"'):
        try:
            return json.loads(text)
        except ValueError:
            raise InvalidArgumentError(
                f"--param {raw!r}: {text} starts like a JSON string but is not one; close the "
                "quotes (--param '\"text\"') or pass the text without them"
            ) from None
    # 4.2, 1e3, -0.5 are floats; nan, inf, 1_000 are text here (float:nan binds a NaN)
    return float(text) if _FLOAT.fullmatch(text) else text


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
@click.option(
    "--param", "-p", "param_values", multiple=True, metavar="[NAME=]VALUE", help=PARAM_HELP
)
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
    param_values: tuple[str, ...],
) -> None:
    """Run one read-only SQL query (QUERY, or stdin when omitted) on DuckDB or ClickHouse.

    \b
      doctordata sql "SELECT type, count(*) FROM hackernews.items GROUP BY 1"
      doctordata sql --engine clickhouse --format csv "SELECT ..."
      doctordata sql --as-of 2026-11-01 "SELECT count(*) FROM hackernews.items"
      doctordata sql --max-rows 100 "SELECT * FROM hackernews.items"
      doctordata sql -o items.parquet "SELECT * FROM hackernews.items"
      echo "SELECT 42" | doctordata sql --format jsonl
      doctordata sql "SELECT * FROM hackernews.items WHERE by = ? AND score > ?" \\
          --param pg --param 100
      doctordata sql "SELECT * FROM hackernews.items WHERE time >= $since" \\
          --param since=timestamp:2026-11-01T00:00:00
    """
    from doctordata.commands import output as out

    fmt = out.format_for(fmt, output)
    if fmt == "table" and output is not None:
        raise InvalidArgumentError(
            f"--output {output}: the table preview is for the terminal; pass --format "
            "csv|json|jsonl|markdown|parquet to write every row to a file"
        )
    params = parse_params(param_values)
    text = query if query is not None else sys.stdin.read()
    lh = open_lakehouse(ctx)
    # Streamed: neither the preview nor a file holds every row at once.
    result = lh.sql(
        text,
        engine=engine,
        as_of=_as_of(as_of),
        explain=explain,
        timeout=timeout,
        params=params,
        stream=True,
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
