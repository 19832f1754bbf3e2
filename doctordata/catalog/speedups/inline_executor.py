"""Run pyiceberg's thread-pool work of a small append on the calling thread.

pyiceberg 0.12 hands every data file write, the new manifest, the delete manifests, the
existing-manifest list and each merge bin of an append to its shared thread pool, and the
calling thread waits for each result at once. For a small append (issue 18: 100 rows, one
file) nothing runs in parallel: each hand-off only adds a thread wake-up and a GIL
round-trip (~4 ms of an append was spent waiting on those futures in a profile, most of it
the work itself, the rest the hand-offs; more on a loaded machine). Inside :func:`inline`
pyiceberg's ``ExecutorFactory.get_or_create()`` answers an executor that runs each task
at once on the calling thread and returns a finished future (an exception is kept in it,
as a pool would). Other threads, and appends outside :func:`inline`, keep the pool.
The work, its order of completion and its results are the same; only who runs it changes.
Only pyiceberg 0.12.x is patched; on any other version ``install()`` does nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from typing import Any

_PATCHED_VERSION = "0.12."
_state: dict[str, Any] = {}
_local = threading.local()


class InlineExecutor(Executor):
    """An Executor that runs each task when it is submitted, on the submitting thread."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:  # the caller gets it from future.result(), as from a pool
            future.set_exception(exc)
        else:
            future.set_result(result)
        return future


_INLINE = InlineExecutor()


@contextmanager
def inline() -> Iterator[None]:
    """pyiceberg's pool work started by this thread inside the block runs on this thread."""
    depth = getattr(_local, "depth", 0)
    _local.depth = depth + 1
    try:
        yield
    finally:
        _local.depth = depth


def active() -> bool:
    """Whether this thread is inside :func:`inline`."""
    return bool(getattr(_local, "depth", 0))


def install() -> bool:
    """Patch pyiceberg 0.12.x's ExecutorFactory (idempotent); whether it is active."""
    if _state.get("installed"):
        return True
    import pyiceberg
    from pyiceberg.utils.concurrent import ExecutorFactory

    if not pyiceberg.__version__.startswith(_PATCHED_VERSION):
        return False
    original = ExecutorFactory.get_or_create
    if not callable(original):
        return False

    def get_or_create() -> Executor:
        if getattr(_local, "depth", 0):
            return _INLINE
        return original()

    _state["original"] = original
    ExecutorFactory.get_or_create = staticmethod(get_or_create)
    _state["installed"] = True
    return True
