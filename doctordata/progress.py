"""Byte progress bars for long work (backup, verify, restore, tier): rich, on stderr, only on
a terminal unless asked. One implementation; a leaf module anything may import."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def byte_progress(
    description: str, total: int | None, enabled: bool | None = None, *, transient: bool = False
) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(n_bytes)``; draws a bar on stderr when it is a tty (or ``enabled``).
    ``transient``: the bar disappears when the work ends."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled or total == 0:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    lock = threading.Lock()
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=transient) as bar:
        task = bar.add_task(description, total=total)

        def advance(n: int) -> None:
            with lock:
                bar.advance(task, n)

        yield advance
