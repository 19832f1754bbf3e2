"""Progress bars for long work: bytes (backup, verify, restore, tier) and counted phases
(ingest). rich, on stderr, only on a terminal unless asked. One implementation; a leaf
module anything may import."""

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


@contextmanager
def phase_progress(enabled: bool | None = None) -> Iterator[Callable[[str, int, int], None]]:
    """Yield ``advance(phase, n, total)``: one counted bar per phase ("fetch", "commit"...),
    added the first time the phase reports; drawn on stderr when it is a tty (or
    ``enabled``), gone when the work ends. ``total`` 0 means unknown."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield lambda phase, n, total: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    lock = threading.Lock()
    columns = (
        TextColumn("{task.description:<8}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        tasks: dict[str, object] = {}

        def advance(phase: str, n: int, total: int) -> None:
            with lock:
                task = tasks.get(phase)
                if task is None:
                    task = tasks[phase] = bar.add_task(phase, total=total or None)
                bar.advance(task, n)  # type: ignore[arg-type]

        yield advance
