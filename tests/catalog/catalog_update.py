"""Run a callback whenever a catalog row's metadata location is updated (a commit).

Seen where the statement reaches the database driver, so it does not matter whether the
UPDATE was an ORM statement in a Session (pyiceberg) or a prepared one on a connection
(catalog/speedups/metadata_cache.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


def is_catalog_update(statement: str) -> bool:
    return " ".join(statement.split()).upper().startswith("UPDATE ICEBERG_TABLES ")


@contextmanager
def on_catalog_update(callback: Callable[[], None]) -> Iterator[None]:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def before_cursor_execute(*args: Any) -> None:
        if is_catalog_update(str(args[2])):
            callback()

    event.listen(Engine, "before_cursor_execute", before_cursor_execute)
    try:
        yield
    finally:
        event.remove(Engine, "before_cursor_execute", before_cursor_execute)
