"""The dlt source ``hackernews`` (see :func:`hackernews_source`).

It has three resources:

- ``items``: ids ``start_id..end_id`` from ``item/<id>.json``, fetched concurrently and
  checked against :class:`~doctordata.ingest.hn_schema.ItemContract` (valid rows to
  ``items``, the rest with raw JSON and reason to ``rejected_items``, ``null`` counted as
  missing);
- ``updates``: the already-loaded ids listed in ``updates.json``, re-fetched so changed
  scores, kids and descendants are upserted;
- ``lists``: top/new/best/ask/show/job story lists as snapshots with their fetch time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from doctordata.errors import IngestError
from doctordata.ingest.checked import CheckedBatch, check_batches
from doctordata.ingest.fetcher import Fetcher, Response
from doctordata.ingest.hn_data import LIST_NAMES
from doctordata.ingest.hn_schema import ItemContract, lists_schema, utc_now

# Items per Arrow batch handed to dlt.
DEFAULT_BATCH = 2_000

ProgressFn = Callable[[str, int, int], None]
"""progress(phase, advance, total): phase is "items", "updates" or "commit"."""


@dataclass
class Counters:
    missing: int = 0
    rejected: int = 0
    updates: int = 0


def hackernews_source(
    fetcher: Fetcher,
    *,
    start_id: int,
    end_id: int,
    contract: ItemContract | None = None,
    updates: bool = True,
    lists: bool = True,
    loaded_below: int | None = None,
    batch: int = DEFAULT_BATCH,
    progress: ProgressFn | None = None,
    counters: Counters | None = None,
    items_total: int | None = None,
    responses: Iterable[Response] | None = None,
    checked: Iterable[CheckedBatch] | None = None,
) -> Any:
    """The dlt source for ids ``start_id..end_id`` (plus updates and lists if asked).

    ``loaded_below``: only ids below it are re-fetched from updates.json (newer ones are
    fetched by ``items`` anyway); default ``start_id``. ``responses``: the responses for
    ``start_id..end_id`` in order (e.g. a slice of :meth:`Fetcher.stream`), instead of
    fetching them here; ``checked``: those responses already checked against the contract
    (by a :class:`~doctordata.ingest.fetch_worker.FetchProcess`).
    """
    import dlt

    contract = contract or ItemContract()
    counts = counters or Counters()
    limit = start_id if loaded_below is None else loaded_below
    items_total = items_total or max(0, end_id - start_id + 1)
    fetched_at = utc_now()

    def fetch_rows(
        ids: list[int], phase: str, total: int, ready: Iterable[Response] | None = None
    ) -> Iterator[Any]:
        fetched = (
            iter(ready) if ready is not None else fetcher.map_ordered(f"item/{i}.json" for i in ids)
        )
        yield from emit(check_batches(ids, fetched, contract, fetched_at, batch), phase, total)

    def emit(batches: Iterable[CheckedBatch], phase: str, total: int) -> Iterator[Any]:
        import dlt

        for checked in batches:
            if phase == "items":
                counts.missing += checked.missing
            if checked.items is not None:
                yield dlt.mark.with_table_name(checked.items, "items")
            if checked.rejected is not None:
                counts.rejected += checked.rejected.num_rows
                yield dlt.mark.with_table_name(checked.rejected, "rejected_items")
            if progress:
                progress(phase, checked.ids, total)

    # No static table_name: every batch is marked with its table ("items" or
    # "rejected_items"); dlt's Arrow extractor cannot mix a static name with marks.
    @dlt.resource(name="items", write_disposition="merge", primary_key="id")
    def items() -> Iterator[Any]:
        if checked is not None:
            yield from emit(checked, "items", items_total)
        elif end_id >= start_id:
            ids = list(range(start_id, end_id + 1))
            yield from fetch_rows(ids, "items", items_total, responses)

    @dlt.resource(name="updates", write_disposition="merge", primary_key="id")
    def updates_resource() -> Iterator[Any]:
        listed = fetcher.get("updates.json").value
        ids = listed.get("items") if isinstance(listed, dict) else None
        if not isinstance(ids, list):
            raise IngestError(
                f"{fetcher.base_url}updates.json is not {{'items': [...], 'profiles': [...]}}: "
                f"{str(listed)[:200]}"
            )
        wanted = sorted({i for i in ids if isinstance(i, int) and 0 < i < limit})
        counts.updates += len(wanted)
        yield from fetch_rows(wanted, "updates", len(wanted))

    @dlt.resource(name="lists", table_name="lists", write_disposition="append")
    def lists_resource() -> Iterator[Any]:
        import pyarrow as pa

        rows: list[dict[str, Any]] = []
        responses: Iterator[Response] = fetcher.map_ordered(f"{n}.json" for n in LIST_NAMES)
        for name, resp in zip(LIST_NAMES, responses, strict=True):
            ids = resp.value
            if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
                raise IngestError(f"{resp.url} is not a list of item ids: {resp.raw[:200]}")
            rows += [
                {"list": name, "position": pos, "item_id": i, "fetched_at": fetched_at}
                for pos, i in enumerate(ids)
            ]
        yield pa.Table.from_pylist(rows, schema=lists_schema())

    # dlt starts with the first resource: updates.json and the lists are asked for before
    # the item stream (which may run a segment ahead) starts.
    resources = []
    if updates:
        resources.append(updates_resource())
    if lists:
        resources.append(lists_resource())
    resources.append(items())

    @dlt.source(name="hackernews", max_table_nesting=0, schema_contract="evolve")
    def hackernews() -> Any:
        return resources

    return hackernews()
