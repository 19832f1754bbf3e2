"""SIGINT / SIGTERM in the CLI: stop cleanly, say what was committed and how to resume,
exit 130 (SIGINT) or 143 (SIGTERM), never a traceback.

The first signal raises :class:`Interrupted` (a KeyboardInterrupt, so every ``with`` and
``finally`` on the way out runs: helper processes are stopped, commits in flight finish
or never become visible; every doctordata write is atomic at its catalog commit, so an
interrupt anywhere is at worst a SIGKILL, which the crash tests cover). A second signal
during that clean-up ends the process at once. Libraries that wrap the interrupt in their
own error (dlt's PipelineStepFailed) do not hide it: once a signal arrived, whatever
error ends the command is reported as the interrupt.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXIT_CODES: dict[int, int] = {signal.SIGINT: 130, signal.SIGTERM: 143}

# What an interrupted command left and how to continue it, by command name.
RESUME = {
    "ingest": "run the same command again: it continues after the last committed segment",
    "tier": "run `doctordata tier` again: moved files stay moved, the rest move then "
    "(a half-copied file is an orphan that `doctordata maintain` removes)",
    "maintain": "run `doctordata maintain` again: every finished step is committed",
    "backup": "no backup was recorded (a backup exists only once its manifest is written); "
    "run the same command again: the files already copied are reused, and "
    "`doctordata backup prune` removes the partial one",
    "restore": "the target root is incomplete: run the same restore again with --force "
    "(or remove the root first)",
    "dbt": "models that finished were written; run the same dbt command again "
    "(or --select the remaining models)",
    "sql": "the query was stopped; nothing was written (an --output file appears only "
    "when complete)",
    "demo": "run the demo again",
}
# Commands whose commits are listed (the others never write to the lakehouse's catalog).
WRITERS = {"ingest", "tier", "maintain", "dbt", "demo"}


class Interrupted(KeyboardInterrupt):
    """A SIGINT or SIGTERM arrived."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@dataclass
class _State:
    signum: int | None = None
    started: float = field(default_factory=time.time)
    root: str | None = None


_state = _State()


def install(root: str | None = None) -> None:
    """Handle SIGINT and SIGTERM in this (main) thread; ``root``: the lakehouse's."""
    if threading.current_thread() is not threading.main_thread():
        return
    _state.started = time.time()
    _state.root = root
    for signum in EXIT_CODES:
        signal.signal(signum, _handler)


def received() -> int | None:
    """The signal that interrupted the command, if any."""
    return _state.signum


def _handler(signum: int, frame: Any) -> None:
    if _state.signum is not None:  # a second signal: the user does not want to wait
        sys.stderr.write("\nstopped at once (second signal); rerun the command to continue\n")
        sys.stderr.flush()
        os._exit(EXIT_CODES.get(signum, 130))
    _state.signum = signum
    # Helper threads that fail while the run unwinds (a closed socket, a cancelled
    # future) fail because of the interrupt: their tracebacks would only bury the report.
    threading.excepthook = _quiet
    raise Interrupted(signum)


def _quiet(args: Any) -> None:
    return None


def interrupted_by(exc: BaseException) -> int | None:
    """The signal behind ``exc``: one we received, or a KeyboardInterrupt in its chain."""
    if _state.signum is not None:
        return _state.signum
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, KeyboardInterrupt):
            # ours carry .signum, dlt's SignalReceivedException .signal_code
            code = getattr(cur, "signum", None) or getattr(cur, "signal_code", None)
            return code if code in EXIT_CODES else signal.SIGINT
        cur = cur.__cause__ or cur.__context__
    return None


def message(signum: int, argv: list[str]) -> str:
    """What to tell the user: the signal, what was committed, how to resume."""
    command = next((a for a in argv if not a.startswith("-") and a in RESUME), None)
    name = signal.Signals(signum).name
    lines = [f"interrupted by {name}" + (f" during `doctordata {command}`" if command else "")]
    if command in WRITERS:
        lines.append(_committed())
    lines.append("to resume: " + RESUME.get(command or "", "run the same command again"))
    return "\n".join(lines)


def _committed() -> str:
    """The snapshots committed since the command started, per table."""
    from doctordata.config import CONFIG_FILE, find_root

    try:
        root = find_root(_state.root, os.environ)
        if not (root / CONFIG_FILE).is_file() and not (root / "catalog.db").is_file():
            return "committed before the stop: nothing (no lakehouse)"
        return _list_commits(root)
    except Exception as exc:  # the report must not turn a clean stop into a crash
        return f"committed before the stop: unknown (cannot read the catalog: {exc})"


def _list_commits(root: Path) -> str:
    from doctordata.lakehouse import connect

    since_ms = int(_state.started * 1000)
    parts = []
    with connect(root) as lh:
        for name in lh.tables():
            new = [s for s in lh.snapshots(name) if s["timestamp"].timestamp() * 1000 >= since_ms]
            if new:
                rows = sum(int(s["summary"].get("added-records", 0) or 0) for s in new)
                parts.append(f"{name}: {len(new)} snapshot(s), +{rows:,} rows")
    if not parts:
        return "committed before the stop: nothing"
    return "committed before the stop (kept): " + "; ".join(parts)
