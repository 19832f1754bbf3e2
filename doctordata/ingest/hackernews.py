"""HackerNews into the lakehouse with dlt: :func:`run` (the source is in
:mod:`doctordata.ingest.hn_source`).

:func:`run` loads everything from the catalog's resume point to ``maxitem.json`` in
segments; each segment is one dlt load package committed by
:mod:`doctordata.ingest.destination` (in a commit process on longer runs), after which
the resume point advances.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from doctordata.errors import IngestError, MissingDependencyError
from doctordata.ingest import interrupts, state
from doctordata.ingest.commit_worker import CommitProcess
from doctordata.ingest.destination import (
    CatalogWriter,
    FileWriter,
    LoadStats,
    lakehouse_destination,
)
from doctordata.ingest.fetch_worker import FetchGroup, FetchSpec
from doctordata.ingest.fetcher import Fetcher, RetryPolicy
from doctordata.ingest.hn_schema import (
    ITEM_FIELDS,
    ITEMS,
    LISTS,
    NAMESPACE,
    REJECTED,
    ItemContract,
    items_schema,
    kind_of_arrow,
    lists_schema,
    rejected_schema,
    utc_now,
)
from doctordata.ingest.hn_source import DEFAULT_BATCH, Counters, ProgressFn, hackernews_source

if TYPE_CHECKING:
    from doctordata.lakehouse import Lakehouse

PIPELINE_NAME = "doctordata_hackernews"
# Ids per load package and commit: the unit re-fetched after a crash. Larger segments
# mean fewer snapshots (each one makes later commits a little slower) and more memory
# (the fetcher runs up to a segment ahead while a segment commits); the last segment of a
# run is cut short (see _segments), since nothing overlaps with its commit.
DEFAULT_SEGMENT = 10_000
# Fetch processes of a run with helpers (they share the run's workers).
FETCH_PROCESSES = 2

# Thousands of small commits: let pyiceberg merge manifests so planning stays fast.
MERGE = {"commit.manifest-merge.enabled": "true"}


@dataclass
class IngestReport:
    """What one :func:`run` did."""

    base_url: str
    start_id: int
    end_id: int  # last id fetched (start_id - 1 when there was nothing new)
    maxitem: int
    items_new: int = 0
    items_updated: int = 0
    items_rejected: int = 0
    items_missing: int = 0  # ids the API answered with null
    updates_fetched: int = 0
    list_rows: int = 0
    new_columns: list[str] = field(default_factory=list)
    requests: int = 0
    retries: int = 0
    segments: int = 0
    pending_recovered: bool = False
    published: dict[str, int] = field(default_factory=dict)  # table -> rows in serving copy
    # Peak RSS of the helper processes ("fetch", "commit"); empty: no helpers
    helper_peak_rss_mib: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    # extract/normalize/load/commit/publish seconds (summed over segments); fetch: seconds
    # until the last item was extracted (commits overlap with it); http_total sums the
    # time of all requests
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def rows_per_second(self) -> float:
        rows = self.items_new + self.items_updated + self.items_rejected
        return rows / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rows_per_second": round(self.rows_per_second, 1)}


# -- running it ---------------------------------------------------------------------------
def ensure_tables(lh: Lakehouse) -> None:
    """Create the hackernews tables with explicit types if they do not exist."""
    lh.create_namespace(NAMESPACE)
    existing = set(lh.tables(NAMESPACE))
    if ITEMS not in existing:
        lh.create_table(
            ITEMS, items_schema(), partition_by=["day(time)"], exist_ok=True, properties=MERGE
        )
    if REJECTED not in existing:
        lh.create_table(REJECTED, rejected_schema(), exist_ok=True)
    if LISTS not in existing:
        lh.create_table(
            LISTS, lists_schema(), partition_by=["day(fetched_at)"], exist_ok=True, properties=MERGE
        )


def _contract_for(lh: Lakehouse) -> ItemContract:
    """Fields that earlier runs added to hackernews.items are part of the contract."""
    from pyiceberg.io.pyarrow import schema_to_pyarrow

    schema = schema_to_pyarrow(lh.table(ITEMS).schema(), include_field_ids=False)
    return ItemContract(
        extra={f.name: kind_of_arrow(f.type) for f in schema if f.name not in ITEM_FIELDS}
    )


@contextmanager
def _exclusive(path: Path) -> Iterator[int]:
    """One ingestion per lakehouse at a time (the lock dies with the process)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IngestError(
                f"another HackerNews ingestion is running on this lakehouse (lock {path}); "
                "wait for it to finish"
            ) from None
        try:
            yield fh.fileno()
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _pipeline(lh: Lakehouse, destination: Any) -> Any:
    import dlt

    pipeline = dlt.pipeline(
        pipeline_name=PIPELINE_NAME,
        pipelines_dir=str(_work_dir(lh)),
        destination=destination,
        dataset_name=NAMESPACE,
    )
    # The resume point lives in the catalog (state.py), not in dlt's pipeline state. Left
    # on, dlt adds its state table to a package whenever that state changed (e.g. the
    # first package of a fresh pipeline); our destination skips dlt tables, and dlt's
    # loader then waits its full 1 s poll interval for that skipped job to signal that it
    # is done.
    pipeline.config.restore_from_destination = False
    return pipeline


def _work_dir(lh: Lakehouse) -> Path:
    return Path(lh.root) / "ingest" / "dlt"


def _recover_pending(lh: Lakehouse, destination: Any) -> tuple[Any, bool]:
    """The dlt pipeline, after finishing load packages a killed run left behind, or after
    discarding them (and dlt's whole working dir) if they cannot load; (pipeline, finished).

    Discarding loses nothing: the resume point in the catalog has not moved past them, so
    their ids are fetched again.
    """
    pipeline = _pipeline(lh, destination)
    if not pipeline.has_pending_data:
        return pipeline, False
    try:
        if pipeline.list_extracted_load_packages():
            pipeline.normalize()
        if pipeline.list_normalized_load_packages():
            pipeline.load()
    except Exception as exc:  # any failure: the data will be re-fetched, never block the run
        _raise_interrupt(exc)
        shutil.rmtree(Path(pipeline.working_dir), ignore_errors=True)
        return _pipeline(lh, destination), False
    return pipeline, True


def run(
    lh: Lakehouse,
    *,
    base_url: str | None = None,
    max_items: int | None = None,
    workers: int | None = None,
    progress: ProgressFn | None = None,
    segment: int = DEFAULT_SEGMENT,
    batch: int = DEFAULT_BATCH,
    retry: RetryPolicy | None = None,
    updates: bool = True,
    lists: bool = True,
    publish: str | None = None,
    helpers: bool | None = None,
) -> IngestReport:
    """Load HackerNews from ``base_url`` into ``hackernews.*``, continuing the last run.

    ``max_items`` caps how many new ids this run fetches (default: up to maxitem.json);
    ``workers`` is the number of concurrent requests (default: settings ingest.workers);
    ``publish="clickhouse"`` refreshes the ClickHouse serving copy of hackernews.items
    (``lh.publish``) after the load. ``helpers``: fetch and check the new items in one
    helper process (:mod:`~doctordata.ingest.fetch_worker`) and commit in another
    (:mod:`~doctordata.ingest.commit_worker`), so the run uses more than one core;
    default: when the run has more than one segment (a one-segment run has nothing to
    overlap, and the helpers' start-up would only add time).
    Raises IngestError when the API stays unreachable after retries; what was committed
    before that stays committed and the next run continues from there.

    Example::

        report = run(lh, base_url="http://127.0.0.1:8765/v0/", max_items=10_000)
        print(report.items_new, report.items_updated, report.items_rejected)
    """
    try:
        import dlt  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError("dlt", "ingest", "HackerNews ingestion") from exc
    # dlt's anonymous telemetry would try to reach the internet on every run.
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    if max_items is not None and max_items < 0:
        raise IngestError(f"max_items = {max_items}: use a positive number, or omit it")
    if segment < 1 or batch < 1:
        raise IngestError(f"segment = {segment}, batch = {batch}: both must be at least 1")
    url = base_url or lh.settings.ingest.hackernews_base_url
    started = time.perf_counter()
    with (
        interrupts.held_signals(),
        _exclusive(_work_dir(lh) / "lock") as lock_fd,
        Fetcher(url, workers=workers or lh.settings.ingest.workers, retry=retry) as fetcher,
    ):
        # Ask the API first: when it is down, fail before touching the catalog.
        maxitem = fetcher.get("maxitem.json").value
        if not isinstance(maxitem, int) or isinstance(maxitem, bool):
            raise IngestError(f"{fetcher.base_url}maxitem.json is not an integer: {maxitem!r}")
        ensure_tables(lh)
        stats = LoadStats()
        on_commit = (lambda _t, n: progress("commit", n, 0)) if progress else None
        start = state.next_id(lh, ITEMS)
        end = maxitem if max_items is None else min(maxitem, start + max_items - 1)
        segments = _segments(start, end, segment)
        if helpers is None:
            helpers = len(segments) > 1
        with contextlib.ExitStack() as stack:
            fetch: FetchGroup | None = None
            writer: CatalogWriter | CommitProcess
            if helpers:
                # Started first: their imports overlap with each other and with setup.
                if end >= start:
                    spec = FetchSpec(
                        base_url=fetcher.base_url,
                        workers=fetcher.workers,
                        retry=fetcher.retry,
                        segments=segments,
                        extra_fields=_contract_for(lh).extra,
                        fetched_at=utc_now(),
                        batch=batch,
                        ahead=segment,
                    )
                    fetch = stack.enter_context(
                        FetchGroup(spec, FETCH_PROCESSES, label=str(lh.root), keep_fds=(lock_fd,))
                    )
                writer = stack.enter_context(
                    CommitProcess(
                        lh.settings,
                        _work_dir(lh) / "commit-spool",
                        stats,
                        on_commit=on_commit,
                        keep_fds=(lock_fd,),
                    )
                )
            else:
                # Files a killed run's commit process left were never committed: their
                # ids are fetched again.
                shutil.rmtree(_work_dir(lh) / "commit-spool", ignore_errors=True)
                writer = CatalogWriter(lh, stats, on_commit=on_commit)
            pipeline, recovered = _recover_pending(lh, lakehouse_destination(writer))
            interrupts.deliver()
            report = _load(
                lh,
                pipeline,
                fetcher,
                fetch,
                (start, end, segments, maxitem),
                batch,
                updates,
                lists,
                progress,
                writer,
            )
        report.pending_recovered = recovered
        if isinstance(writer, CommitProcess):
            report.helper_peak_rss_mib["commit"] = writer.peak_rss_mib
        if fetch is not None:
            report.helper_peak_rss_mib["fetch"] = round(fetch.peak_rss_mib, 1)
            fetch.add_stats_to(fetcher.stats)
        report.requests, report.retries = fetcher.stats.requests, fetcher.stats.retries
        report.timings["http_total"] = round(fetcher.stats.seconds, 3)
        report.timings["commit"] = round(stats.commit_seconds, 3)
        if publish:
            t0 = time.perf_counter()
            published = lh.publish(ITEMS, engine=publish)
            report.published = {ITEMS: int(getattr(published, "rows", 0))}
            report.timings["publish"] = round(time.perf_counter() - t0, 3)
    report.seconds = time.perf_counter() - started
    return report


def _load(
    lh: Lakehouse,
    pipeline: Any,
    fetcher: Fetcher,
    fetch: FetchGroup | None,
    plan: tuple[int, int, list[tuple[int, int]], int],
    batch: int,
    updates: bool,
    lists: bool,
    progress: ProgressFn | None,
    writer: FileWriter,
) -> IngestReport:
    """Load ids ``start..end`` segment by segment (plan: start, end, segments, maxitem),
    each fetched by ``fetch`` (a fetch process) if given, else by a stream of ``fetcher``."""
    start, end, segments, maxitem = plan
    report = IngestReport(
        base_url=fetcher.base_url, start_id=start, end_id=max(end, start - 1), maxitem=maxitem
    )
    contract = _contract_for(lh)
    counters = Counters()
    # fetch: from the start until the last item was extracted, commits overlapping with it
    timings = {"extract": 0.0, "normalize": 0.0, "load": 0.0, "fetch": 0.0}
    started = time.perf_counter()
    # One ordered stream of every new id, fetched up to a segment ahead: while a segment is
    # normalized and committed, the next one is being fetched.
    stream = None
    if fetch is None:
        ahead = max(1, segments[0][1] - segments[0][0] + 1)
        stream = fetcher.stream((f"item/{i}.json" for i in range(start, end + 1)), ahead=ahead)
    try:
        for n, (low, high) in enumerate(segments):
            count = max(0, high - low + 1)
            source = hackernews_source(
                fetcher,
                start_id=low,
                end_id=high,
                contract=contract,
                updates=updates and n == 0,
                lists=lists and n == 0,
                loaded_below=start,
                batch=batch,
                progress=progress,
                counters=counters,
                items_total=end - start + 1,
                responses=itertools.islice(stream, count) if stream is not None else None,
                checked=fetch.segment(low, high) if fetch is not None and count else None,
            )
            _run_package(pipeline, source, timings, started)
            if high >= low:
                writer.advance(ITEMS, high + 1)
            report.segments += 1
            # A signal dlt held back while the segment's steps ran stops the run here.
            interrupts.deliver()
        writer.flush()
        interrupts.deliver()
    finally:
        if stream is not None:
            stream.close()
    stats = writer.stats
    report.items_new, report.items_updated = stats.items_new, stats.items_updated
    report.items_rejected, report.items_missing = counters.rejected, counters.missing
    report.updates_fetched, report.list_rows = counters.updates, stats.list_rows
    report.new_columns = sorted(set(stats.new_columns))
    report.timings.update({k: round(v, 3) for k, v in timings.items()})
    return report


def _segments(start: int, end: int, segment: int) -> list[tuple[int, int]]:
    """The id ranges (low, high) of the load packages for ids ``start..end``: ``segment``
    ids each, except that the last one is cut to at most a quarter segment.

    Every commit but the last overlaps with fetching the next ids; the last one is all the
    run waits for after the final response, so it is kept short.
    """
    if end < start:
        return [(start, start - 1)]  # nothing new: one package for updates and lists
    ranges = [(low, min(low + segment - 1, end)) for low in range(start, end + 1, segment)]
    low, high = ranges[-1]
    tail = max(1, segment // 4)
    if high - low + 1 > tail:
        ranges[-1:] = [(low, high - tail), (high - tail + 1, high)]
    return ranges


def _run_package(pipeline: Any, source: Any, timings: dict[str, float], started: float) -> None:
    """extract -> normalize -> load one package; unwrap dlt's step errors into ours.

    Adds each step's seconds to ``timings``; ``timings["fetch"]``: seconds from
    ``started`` to the end of this extract step.
    """
    from dlt.pipeline.exceptions import PipelineStepFailed

    steps: list[tuple[str, Callable[[], Any]]] = [
        ("extract", lambda: pipeline.extract(source)),
        ("normalize", pipeline.normalize),
        ("load", pipeline.load),
    ]
    for step, call in steps:
        t0 = time.perf_counter()
        try:
            call()
        except PipelineStepFailed as exc:
            _raise_interrupt(exc)
            cause = _root_cause(exc)
            if isinstance(cause, IngestError):
                raise cause from exc
            raise IngestError(f"HackerNews {step} step failed: {cause}") from exc
        timings[step] += time.perf_counter() - t0
        if step == "extract":
            timings["fetch"] = time.perf_counter() - started


def _raise_interrupt(exc: BaseException) -> None:
    """Stop as the process's signal handler says when a signal ended the failed step:
    re-raise an interrupt that handler already raised inside the step (the step's error
    only wraps it), else deliver a signal dlt held back (dlt's SignalReceivedException)."""
    from dlt.common.exceptions import SignalReceivedException

    current: BaseException | None = exc
    seen: set[int] = set()
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, KeyboardInterrupt) and not isinstance(
            current, SignalReceivedException
        ):
            interrupts.discard()  # delivering the held one now would be a second signal
            raise current from None
        current = current.__cause__ or current.__context__
    interrupts.deliver()


def _root_cause(exc: BaseException) -> BaseException:
    """The first IngestError in the exception chain, else the innermost exception."""
    current: BaseException | None = exc
    last = exc
    while current is not None:
        if isinstance(current, IngestError):
            return current
        last = current
        current = current.__cause__ or current.__context__
    return last


def table_stats(lh: Lakehouse) -> dict[str, int]:
    """Row counts of the hackernews tables (from snapshot summaries, no data read)."""
    out = {}
    for name in (ITEMS, REJECTED, LISTS):
        snap = lh.table(name).current_snapshot()
        summary = snap.summary if snap is not None else None
        out[name] = int(summary.get("total-records", "0") or 0) if summary is not None else 0
    return out
