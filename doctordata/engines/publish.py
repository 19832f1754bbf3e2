"""publish: a native serving copy (ClickHouse MergeTree) of an Iceberg table.

The copy is tagged with the Iceberg snapshot it was made from. The router reads the copy
instead of the files only while that snapshot is still the table's current one, so a
stale copy is never served; Iceberg stays the storage of record.
"""

from __future__ import annotations

import secrets
import shutil
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from doctordata.errors import SnapshotNotFoundError

if TYPE_CHECKING:
    from doctordata.engines.base import QueryHost


@dataclass(frozen=True)
class PublishReport:
    table: str
    engine: str
    snapshot_id: int
    rows: int
    seconds: float


def publish(lh: QueryHost, name: str, *, engine: str = "clickhouse") -> PublishReport:
    """Make or refresh the serving copy of ``name`` on ``engine``.

    Example::

        lh.publish("marts.daily_stories")        # then engine="clickhouse" queries use it
    """
    from doctordata.engines import canonical_name
    from doctordata.engines.scan import plan_scan

    started = time.perf_counter()
    engine_name = canonical_name(engine)
    table = lh.table(name)
    snapshot_id = table.metadata.current_snapshot_id
    if snapshot_id is None:
        raise SnapshotNotFoundError(f"table {name!r} has no data yet; append before publishing")
    eng = lh.engine(engine_name)
    full_name = ".".join(table.name())
    scratch = lh.root / ".tmp" / f"publish-{secrets.token_hex(8)}"
    try:
        plan = plan_scan(full_name, table, None, snapshot_id, scratch, lh.tiers)
        rows = eng.publish(full_name, plan, snapshot_id)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return PublishReport(full_name, engine_name, snapshot_id, rows, time.perf_counter() - started)
