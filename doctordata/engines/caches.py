"""Every process-wide cache of the query path, in one place, sized together, cleared together.

The router caches what only depends on immutable inputs: parsed statements (by query
text), pushed-down filters (by query and schema identity), loaded tables (by metadata
location), file plans (by manifest list), rename checks (by metadata location) and Parquet
footers (by data file path: data files are never rewritten in place). A hit is therefore
never stale; the caches are bounded so a long-lived process does not grow without end.
Each Lakehouse's plan cache (engines/plan_cache.py) is separate: it is keyed by the
tables' *current* metadata and checked on every use.

``configure(entries)`` sizes them from ``engines.plan_cache_size`` (a Lakehouse calls it
when it makes its plan cache); ``clear_all()`` empties them (tests, and ``publish``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

# Entries per cache for engines.plan_cache_size = 128 (the default), scaled linearly.
_DEFAULT_ENTRIES = 128


class BoundedCache(Generic[K, V]):
    """A thread-safe mapping that forgets its oldest entries past ``size`` (``size`` 0:
    keeps nothing)."""

    def __init__(self, name: str, per_default: int) -> None:
        self.name = name
        self.per_default = per_default  # entries at the default plan_cache_size
        self.size = per_default
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            return self._entries.get(key)

    def put(self, key: K, value: V) -> None:
        with self._lock:
            if self.size <= 0:
                return
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def resize(self, size: int) -> None:
        with self._lock:
            self.size = max(0, size)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


_ALL: dict[str, BoundedCache[object, object]] = {}


def cache(name: str, per_default: int) -> BoundedCache[K, V]:
    """The process-wide cache called ``name`` (created on first use)."""
    found = _ALL.get(name)
    if found is None:
        found = _ALL[name] = BoundedCache(name, per_default)
    return found  # type: ignore[return-value]


def configure(entries: int) -> None:
    """Size every cache for ``engines.plan_cache_size = entries`` (0 turns them off)."""
    for c in _ALL.values():
        c.resize(c.per_default * entries // _DEFAULT_ENTRIES if entries else 0)


def clear_all() -> None:
    for c in _ALL.values():
        c.clear()


def sizes() -> dict[str, tuple[int, int]]:
    """name -> (entries held, limit): for `doctordata doctor` and tests."""
    return {name: (len(c), c.size) for name, c in sorted(_ALL.items())}
