"""CLI subcommands, one module per area; cli.py loads them lazily by name."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from doctordata.lakehouse import Lakehouse


def open_lakehouse(ctx: click.Context) -> Lakehouse:
    """The Lakehouse for the group's --root (closed when the command ends)."""
    from doctordata.lakehouse import connect

    root = (ctx.find_root().obj or {}).get("root")
    lh = connect(root)
    ctx.call_on_close(lh.close)
    return lh


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"
