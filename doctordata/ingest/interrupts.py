"""A SIGINT/SIGTERM that dlt held back, delivered again where stopping is safe.

While dlt's normalize and load steps run, ``dlt.common.runtime.signals.intercepted_signals``
replaces the process's handlers: a first signal only sets dlt's flag, and dlt clears
that flag when the step ends (``_clear_signals``). If the step finished its work anyway
(every load job had started), the signal is gone and the run goes on to exit 0.

:func:`held_signals` records each signal dlt takes (it wraps the public
``set_received_signal`` that dlt's handler calls); :func:`deliver` sends it to this
process again with ``signal.raise_signal``, once dlt has put the process's own handlers
back. Whoever owns the process then decides, as if dlt had never been there: the CLI's
handler stops the command (exit 130/143), Python's default handler raises
KeyboardInterrupt in a script, a helper that ignores SIGINT ignores it. The ingest calls
:func:`deliver` between segments and after a step that dlt stopped because of the signal.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# Signals dlt took while a run was active, oldest first; runs: how many are active.
_held: list[int] = []
_runs = [0]
_lock = threading.Lock()


@contextmanager
def held_signals() -> Iterator[None]:
    """Record the signals dlt intercepts while the ``with`` block runs (nestable)."""
    _hook_dlt()
    with _lock:
        if _runs[0] == 0:
            _held.clear()
        _runs[0] += 1
    try:
        yield
    finally:
        with _lock:
            _runs[0] -= 1
            if _runs[0] == 0:
                _held.clear()


def pending() -> int | None:
    """The first signal dlt held back and nobody delivered yet, if any."""
    return _held[0] if _held else None


def discard() -> None:
    """Forget the held signals (the process's own handler already acted on a later one)."""
    _held.clear()


def deliver() -> None:
    """Send a held-back signal to this process again (a no-op when there is none, and in
    any thread but the main one, the only one Python runs signal handlers in).

    The process's handler runs before this returns, so an exception it raises (the CLI's
    ``Interrupted``, Python's KeyboardInterrupt) comes out of this call.
    """
    if not _held or threading.current_thread() is not threading.main_thread():
        return
    signum = _held[0]
    _held.clear()
    signal.raise_signal(signum)


def _hook_dlt() -> None:
    """Wrap dlt's ``set_received_signal`` once (idempotent); dlt's handler looks it up
    in its module at each call, so the wrapper sees every signal dlt takes."""
    from dlt.common.runtime import signals as dlt_signals

    original: Any = getattr(dlt_signals, "set_received_signal", None)
    if original is None or getattr(original, "_doctordata_hook", False):
        return

    def set_received_signal(sig: int) -> None:
        # Runs inside dlt's signal handler (main thread): no locks, no I/O.
        if _runs[0] and sig:
            _held.append(sig)
        original(sig)

    set_received_signal._doctordata_hook = True  # type: ignore[attr-defined]
    dlt_signals.set_received_signal = set_received_signal
