"""Incremental state of the HackerNews load, kept in the catalog next to the data.

The next id to fetch is a property of ``hackernews.items``. It only moves forward after
every row of the ids below it has been committed, so after a crash it can only point at
ids that are already loaded again (their upsert is idempotent), never past lost ones.
dlt's own pipeline state is not used for this: it lives in a local working directory that
can be lost or run ahead of the catalog.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from doctordata.lakehouse import Lakehouse

NEXT_ID = "doctordata.hackernews.next-id"


def next_id(lh: Lakehouse, table: str) -> int:
    """The first id not yet loaded (1 for an empty lakehouse)."""
    return int(lh.table(table).properties.get(NEXT_ID, "1"))


def advance(lh: Lakehouse, table: str, to: int) -> int:
    """Record that every id below ``to`` is committed; never moves backwards."""
    tbl = lh.table(table)
    current = int(tbl.properties.get(NEXT_ID, "1"))
    if to > current:
        with tbl.transaction() as tx:
            tx.set_properties({NEXT_ID: str(to)})
        return to
    return current
