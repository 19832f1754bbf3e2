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
    """Run ingest -> dbt -> tier -> maintain -> backup offline on generated HN data.

    \b
      doctordata demo
      doctordata demo --root /tmp/demo --items 10000 --no-prefect
    """
    from doctordata.orchestrate.demo import render, run_demo

    report = run_demo(demo_root, items=items, seed=seed, use_prefect=use_prefect)
    render(report)


@click.command()
@click.option("--cron", default=None, help="Cron schedule (default: schedule.daily_cron).")
@click.option(
    "--only",
    default=None,
    metavar="STEPS",
    help="Run only these steps, comma-separated: ingest,transform,tier,maintain,backup.",
)
@click.option(
    "--base-url",
    default=None,
    help="HN API root for the ingest step (default: config ingest.hackernews_base_url).",
)
@click.option(
    "--max-items",
    type=click.IntRange(min=1),
    default=None,
    help="Ingest at most this many new ids per run.",
)
@click.pass_context
def serve(
    ctx: click.Context,
    cron: str | None,
    only: str | None,
    base_url: str | None,
    max_items: int | None,
) -> None:
    """Run the daily flow on its schedule (blocks; Ctrl-C stops).

    With PREFECT_API_URL set, runs go through that Prefect server. Without it, serve
    starts and supervises a local Prefect server (127.0.0.1, a free port, its database
    in <root>/.prefect/server.db, its log in <root>/.prefect/server.log) and stops it on
    exit: Prefect's temporary server would accept the schedule and never run it.

    \b
      doctordata serve
      doctordata serve --cron "0 3 * * *" --only ingest,backup
    """
    from doctordata.orchestrate.daily import serve_daily

    steps = [s.strip() for s in only.split(",") if s.strip()] if only is not None else None
    root = open_lakehouse(ctx).root
    click.echo(f"serving doctordata-daily for {root}", err=True)
    serve_daily(
        root,
        cron=cron,
        base_url=base_url,
        max_items=max_items,
        only=steps,
        announce=lambda line: click.echo(line, err=True),
    )
    sys.exit(0)
