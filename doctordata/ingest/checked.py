"""Fetched items, checked against the item contract in batches (in a run's process or in
its fetch process)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from doctordata.ingest.hn_schema import ItemContract, rejected_schema

if TYPE_CHECKING:
    import pyarrow as pa

    from doctordata.ingest.fetcher import Response


@dataclass
class CheckedBatch:
    """Responses for consecutive ids, checked against the item contract."""

    items: pa.Table | None  # valid items (hackernews.items' columns), None if there are none
    rejected: pa.Table | None  # rejections with raw JSON and reason, None if there are none
    ids: int  # how many ids these responses were for
    missing: int  # ids the API answered with null


def check_batches(
    ids: Iterable[int],
    responses: Iterable[Response],
    contract: ItemContract,
    fetched_at: Any,
    batch: int,
) -> Iterator[CheckedBatch]:
    """Check ``responses`` (one per id of ``ids``, in order) against ``contract``, in
    batches of about ``batch`` rows."""
    import pyarrow as pa

    rows: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    seen = missing = 0

    def cut() -> CheckedBatch:
        return CheckedBatch(
            contract.to_arrow(rows) if rows else None,
            pa.Table.from_pylist(rejected, schema=rejected_schema()) if rejected else None,
            seen,
            missing,
        )

    for item_id, resp in zip(ids, responses, strict=True):
        seen += 1
        row, reason = contract.check(item_id, resp.value)
        if row is not None:
            rows.append(row)
        elif reason is not None:
            rejected.append(
                {"id": item_id, "raw": resp.raw, "reason": reason, "fetched_at": fetched_at}
            )
        else:
            missing += 1
        if len(rows) + len(rejected) >= batch:
            yield cut()
            rows, rejected, seen, missing = [], [], 0, 0
    if seen:
        yield cut()
