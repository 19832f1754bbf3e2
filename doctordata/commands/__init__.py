"""CLI subcommands, one module per area; cli.py loads them lazily by name.

May import anything in the package but cli.py; nothing in the package imports commands/.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from doctordata.config import human_bytes

__all__ = ["human_bytes", "open_lakehouse", "open_reader"]

if TYPE_CHECKING:
    from doctordata.catalog.reader import CatalogReader
    from doctordata.lakehouse import Lakehouse


def open_lakehouse(ctx: click.Context) -> Lakehouse:
    """The Lakehouse for the group's --root (closed when the command ends)."""
    from doctordata.lakehouse import connect

    root = (ctx.find_root().obj or {}).get("root")
    lh = connect(root)
    ctx.call_on_close(lh.close)
    return lh


def open_reader(ctx: click.Context, lh: Lakehouse) -> CatalogReader | None:
    """The read-only fast catalog reader (catalog/reader/), or None: use ``lh``'s catalog.

    Read-only commands try it first and take the pyiceberg path on None or on
    ``Unsupported``, which also raises the typed errors (unknown table, offline tier)."""
    from doctordata.catalog.reader import open_reader as _open

    reader = _open(lh.settings, lh.tiers)
    if reader is not None:
        ctx.call_on_close(reader.close)
    return reader
