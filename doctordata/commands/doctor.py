"""`doctordata doctor`: is this installation and this lakehouse healthy?"""

from __future__ import annotations

import sys

import click

from doctordata.commands import open_lakehouse

_STYLE = {"OK": "green", "FAIL": "bold red", "SKIP": "dim"}


@click.command()
@click.pass_context
def doctor(ctx: click.Context) -> None:
    """Check installed versions, catalog, tiers, DuckDB extensions, chDB and ClickHouse.

    Exits with status 1 if any check fails; each failure comes with a fix.

    \b
      doctordata doctor
      doctordata --root /srv/lake doctor
    """
    from rich.console import Console
    from rich.table import Table

    from doctordata.errors import DoctorDataError
    from doctordata.health import Check, check_versions, find_lock, run_checks
    from doctordata.secrets import mask_text

    root = "?"
    try:
        lh = open_lakehouse(ctx)
    except DoctorDataError as exc:
        # Still report what can be checked without a lakehouse (the installation).
        rows = [
            *check_versions(find_lock()),
            Check("config", "FAIL", str(exc), "fix doctordata.toml or the --root directory"),
        ]
    else:
        root = str(lh.root)
        rows = run_checks(lh)

    table = Table(title=f"doctordata doctor: {root}")
    for column in ("check", "status", "detail", "fix"):
        table.add_column(column, overflow="fold")
    for row in rows:
        detail, fix = mask_text(row.detail), mask_text(row.fix)
        table.add_row(row.name, f"[{_STYLE[row.status]}]{row.status}[/]", detail, fix)
    console = Console(width=max(Console().width, 120))
    console.print(table)
    failed = [row.name for row in rows if row.failed]
    if failed:
        console.print(f"[bold red]{len(failed)} check(s) failed:[/] {', '.join(failed)}")
        sys.exit(1)
    console.print("[green]all checks passed[/]")
