"""CLI: `doctordata dbt`, `doctordata demo`, `doctordata serve`."""

from __future__ import annotations

import sys

import click

from doctordata.commands import open_lakehouse


@click.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option(
    "--target",
    type=click.Choice(["duckdb", "clickhouse"]),
    default="duckdb",
    show_default=True,
    help="dbt-duckdb (marts written to the Iceberg catalog) or dbt-clickhouse.",
)
@click.option(
    "--project-dir",
    type=click.Path(file_okay=False, exists=True),
    default=None,
    help="dbt project (default: the bundled HackerNews project).",
)
@click.option(
    "--publish",
    "publish",
    multiple=True,
    metavar="TABLE",
    help="Refresh the ClickHouse serving copy of TABLE first (dbt-clickhouse sources).",
)
@click.option(
    "--as-of",
    "as_of",
    default=None,
    metavar="TIME|TAG|SNAPSHOT",
    help="Read every source as of then (rebuilds the marts from the sources as they were).",
)
@click.argument("command", type=click.Choice(["build", "run", "test", "compile", "ls"]))
@click.argument("dbt_args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def dbt(
    ctx: click.Context,
    target: str,
    project_dir: str | None,
    publish: tuple[str, ...],
    as_of: str | None,
    command: str,
    dbt_args: tuple[str, ...],
) -> None:
    """Run dbt against the lakehouse with a generated profile.

    Extra arguments go to dbt unchanged: `doctordata dbt build --select marts`.
    Exits 1 naming every failed node.
    """
    from doctordata.transform.runner import run_dbt

    rest = list(dbt_args)
    # Our own options may also follow the dbt command (`dbt build --project-dir x`).
    project_dir = _pop_option(rest, "--project-dir") or project_dir
    target = _pop_option(rest, "--target") or target
    as_of = _pop_option(rest, "--as-of") or as_of
    publish = tuple(publish)
    while (table := _pop_option(rest, "--publish")) is not None:
        publish += (table,)
    dbt_args = tuple(rest)
    lh = open_lakehouse(ctx)
    for table in publish:
        lh.publish(table, engine="clickhouse")
    run = run_dbt(lh, [command, *dbt_args], target=target, project_dir=project_dir, as_of=as_of)
    click.echo(
        f"dbt {command} on {target}: {len(run.nodes)} nodes OK in {run.seconds:.1f} s; "
        f"marts written: {', '.join(s.table for s in run.stores) or 'none'}"
    )


def _pop_option(args: list[str], name: str) -> str | None:
    """Remove ``name value`` / ``name=value`` from ``args``; return the value."""
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            value = args[i + 1]
            del args[i : i + 2]
            return value
        if arg.startswith(name + "="):
            del args[i]
            return arg.split("=", 1)[1]
    return None


@click.command()
@click.option(
    "--root",
    "demo_root",
    type=click.Path(file_okay=False),
    default="demo",
    show_default=True,
    help="Directory for the demo lakehouse (its ssd/ and nas/ tiers live inside).",
)
@click.option("--items", type=click.IntRange(min=10), default=3000, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option(
    "--prefect/--no-prefect",
    "use_prefect",
    default=None,
    help="Run the daily flow under Prefect (default: when Prefect is installed).",
)
def demo(demo_root: str, items: int, seed: int, use_prefect: bool | None) -> None:
    """Run ingest -> dbt -> tier -> maintain -> backup offline on generated HN data."""
    from doctordata.orchestrate.demo import render, run_demo

    report = run_demo(demo_root, items=items, seed=seed, use_prefect=use_prefect)
    render(report)


@click.command()
@click.option("--cron", default=None, help="Cron schedule (default: schedule.daily_cron).")
@click.pass_context
def serve(ctx: click.Context, cron: str | None) -> None:
    """Schedule the daily flow with Prefect (blocks; Ctrl-C stops).

    Run `prefect server start` on the box and export PREFECT_API_URL to see runs in the UI.
    """
    from doctordata.orchestrate.daily import serve_daily

    lh = open_lakehouse(ctx)
    click.echo(f"serving doctordata-daily for {lh.root}", err=True)
    serve_daily(lh.root, cron=cron)
    sys.exit(0)
