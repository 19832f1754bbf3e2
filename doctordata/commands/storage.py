"""`doctordata tier`, `doctordata tiers`, `doctordata maintain`."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import click

from doctordata.commands import human_bytes, open_lakehouse, open_reader

if TYPE_CHECKING:
    from doctordata.lakehouse import Lakehouse


@click.command()
@click.option("--table", default=None, help="Only this table (namespace.table).")
@click.option("--to", default=None, help="Move to this tier instead of applying the policies.")
@click.option("--where", default=None, help="With --to: SQL filter picking the data to move.")
@click.option("--dry-run", is_flag=True, help="Only say what would move.")
@click.option(
    "--free-now",
    is_flag=True,
    help="Delete old copies at once (expires the snapshots that still reference them).",
)
@click.option("--workers", default=4, show_default=True, help="Files copied in parallel.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.pass_context
def tier(
    ctx: click.Context,
    table: str | None,
    to: str | None,
    where: str | None,
    dry_run: bool,
    free_now: bool,
    workers: int,
    no_progress: bool,
) -> None:
    """Move data files between tiers by policy (or --to/--where).

    \b
      doctordata tier --dry-run
      doctordata tier
      doctordata tier --table hn.items --to ssd --where "time > '2026-11-01'"
    """
    lh = open_lakehouse(ctx)
    report = lh.tier(
        table,
        dry_run=dry_run,
        free_now=free_now,
        to=to,
        where=where,
        workers=workers,
        progress=False if no_progress else None,
    )
    click.echo(str(report))
    if report.failed:
        ctx.exit(1)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def tiers(ctx: click.Context, as_json: bool) -> None:
    """Files and bytes per tier per table, and free space per tier.

    \b
      doctordata tiers
      doctordata tiers --json
    """
    lh = open_lakehouse(ctx)
    status = _fast_status(ctx, lh) or lh.tier_status()
    if as_json:
        click.echo(
            json.dumps(
                {
                    "tables": [vars(r) for r in status.rows],
                    "free": status.free,
                    "state": status.state,
                },
                indent=2,
            )
        )
        return
    from doctordata.commands.output import render, terminal_width

    width = terminal_width(sys.stdout)
    rows = [
        [
            row.table,
            row.tier,
            str(row.live_files),
            human_bytes(row.live_bytes),
            str(row.retained_files),
            human_bytes(row.retained_bytes),
        ]
        for row in status.rows
    ]
    heads = ["table", "tier", "files", "bytes", "old copies", "old bytes"]
    lines = render(heads, rows, width=width)
    free = []
    for name, tier_obj in lh.tiers.items():
        space = status.free.get(name)
        state = status.state.get(name, "?")
        shown = "n/a (object store)" if space is None else human_bytes(space)
        free.append([name, tier_obj.url, state.upper() if state == "offline" else state, shown])
    lines += render(["tier", "url", "state", "free"], free, width=width)
    click.echo("\n".join(lines))


@click.command()
@click.option("--table", default=None, help="Only this table (namespace.table).")
@click.option("--no-compact", is_flag=True, help="Skip compaction.")
@click.option(
    "--expire-older-than", default="5d", show_default=True, help="Expire snapshots older than."
)
@click.option("--retain-last", default=1, show_default=True, help="Always keep this many.")
@click.option(
    "--orphan-older-than",
    default="1d",
    show_default=True,
    help="Safety age: never delete an unreferenced file younger than this.",
)
@click.option("--target-file-size", default=None, help="Compaction target, e.g. 128MB.")
@click.option("--dry-run", is_flag=True, help="Only say what would be done.")
@click.pass_context
def maintain(
    ctx: click.Context,
    table: str | None,
    no_compact: bool,
    expire_older_than: str,
    retain_last: int,
    orphan_older_than: str,
    target_file_size: str | None,
    dry_run: bool,
) -> None:
    """Compact small files, expire old snapshots (deleting their files), remove orphans.

    \b
      doctordata maintain --dry-run
      doctordata maintain --table hackernews.items --target-file-size 256MB
      doctordata maintain --expire-older-than 30d --retain-last 10 --no-compact
    """
    from doctordata.config import parse_duration, parse_size

    for name, value in (
        ("--expire-older-than", expire_older_than),
        ("--orphan-older-than", orphan_older_than),
    ):
        try:
            parse_duration(value, name)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint=name) from None
    target = None
    if target_file_size is not None:
        try:
            target = parse_size(target_file_size, "--target-file-size")
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--target-file-size") from None
    lh = open_lakehouse(ctx)
    report = lh.maintain(
        table,
        compact=not no_compact,
        expire_older_than=expire_older_than,
        retain_last=retain_last,
        orphan_older_than=orphan_older_than,
        target_file_size=target,
        dry_run=dry_run,
    )
    click.echo(str(report))
    if not report.ok:  # the other tables were maintained; the failed ones are named above
        ctx.exit(1)


def _fast_status(ctx: click.Context, lh: Lakehouse) -> Any:
    """tier_status read by catalog/reader/ (None: take the pyiceberg path)."""
    from doctordata.catalog.reader import Unsupported
    from doctordata.lifecycle.status import tier_status

    reader = open_reader(ctx, lh)
    if reader is None:
        return None
    try:
        # Every table's metadata first: a table the reader cannot read sends the whole
        # command down the pyiceberg path (which names it), not half of it.
        tables = {name: reader.metadata(name) for name in reader.tables()}
        entries = {name: list(meta.file_entries()) for name, meta in tables.items()}
    except Unsupported:
        return None
    return tier_status(lh, names=list(tables), entries=entries.__getitem__)
