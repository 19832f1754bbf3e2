"""The tier mover: relocate data files between tiers without ever losing a row.

Per table: journal the intent, copy each file (temporary name, verify size and content,
fsync, rename; lifecycle/copy_pipeline.py) in parallel, then ONE catalog commit that swaps
every old DataFile for its copy (same partition, counts and column stats; only the path
differs). The commit's manifests are staged (catalog/swap.py) while the last copies are
fsynced: after the last fsync and the directory fsyncs, only metadata.json and the
catalog pointer remain to be written. Old copies
stay until no retained snapshot references them, so time travel keeps working; with
``free_now=True`` the snapshots still pointing at them are expired first and the old
copies deleted at once. Files that delete files apply to never move.

Example::

    lh.tier()                                        # apply [[policies]]
    lh.tier("hn.items", to="ssd", where="time > '2026-11-01'")   # bring data back
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from doctordata.catalog.swap import commit_staged, stage_swap
from doctordata.errors import WhereClauseError
from doctordata.lifecycle import journal as jr
from doctordata.lifecycle.copy_pipeline import CopyPipeline
from doctordata.lifecycle.policy import (
    Move,
    Plan,
    plan_explicit,
    plan_policies,
    require_tier,
)
from doctordata.progress import byte_progress
from doctordata.storage.checks import check_tier
from doctordata.storage.offline import TierGuard, mark, offline_error
from doctordata.storage.transfer import remove_quietly, sync_dirs, tmp_name

if TYPE_CHECKING:
    from pyiceberg.table import Table

    from doctordata.catalog.rewrite import StagedRewrite
    from doctordata.workspace import Workspace


@dataclass
class TierReport:
    """What a tier run planned, moved, skipped and freed."""

    dry_run: bool
    planned: list[Move] = field(default_factory=list)
    moved: list[Move] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    expired_snapshots: dict[str, list[int]] = field(default_factory=dict)
    freed: list[str] = field(default_factory=list)  # old copies deleted (free_now)
    freed_bytes: int = 0
    retained: list[str] = field(default_factory=list)  # old copies kept for time travel
    recovered: list[str] = field(default_factory=list)  # cleanup of an interrupted run
    seconds: float = 0.0  # time spent copying (for bytes/s)

    @property
    def bytes_moved(self) -> int:
        return sum(m.size for m in self.moved)

    @property
    def bytes_per_second(self) -> float:
        return self.bytes_moved / self.seconds if self.seconds > 0 else 0.0

    def __str__(self) -> str:
        from doctordata.config import human_bytes

        moves = self.planned if self.dry_run else self.moved
        verb = "would move" if self.dry_run else "moved"
        lines = [f"{verb} {len(moves)} files ({human_bytes(sum(m.size for m in moves))})"]
        if not self.dry_run and self.moved:
            lines[0] += f" at {human_bytes(self.bytes_per_second)}/s"
        for move in moves:
            lines.append(f"  {move.table}: {move.src_path} -> {move.dest} ({move.reason})")
        lines += [f"  FAILED {path}: {why}" for path, why in self.failed]
        lines += [f"  skipped {path}: {why}" for path, why in self.skipped]
        for table, ids in self.expired_snapshots.items():
            lines.append(
                f"expired {len(ids)} snapshots of {table} that referenced the old copies "
                f"(time travel to them is no longer possible): {', '.join(map(str, ids))}"
            )
        if self.freed:
            lines.append(f"freed {len(self.freed)} old copies ({human_bytes(self.freed_bytes)})")
        if self.retained:
            lines.append(
                f"kept {len(self.retained)} old copies for time travel; `doctordata maintain` "
                "deletes them once their snapshots expire (or use --free-now)"
            )
        lines += [f"recovered: {msg}" for msg in self.recovered]
        return "\n".join(lines)


# -- recovery ---------------------------------------------------------------------------


def recover(lh: Workspace, report: TierReport | None = None) -> list[str]:
    """Finish or clean up after runs that died: keep committed copies, delete the rest."""
    from doctordata.catalog.references import table_references
    from doctordata.errors import NotFoundError
    from doctordata.storage.locations import Canonicalizer

    canon = Canonicalizer()  # compare canonical forms, never spellings
    messages: list[str] = []
    for journal in jr.load_all(lh.root):
        try:
            table = lh.table(journal.table)
            referenced = {canon(p) for p in table_references(table).data}
        except NotFoundError:
            table, referenced = None, set()
        if table is not None and journal.state == "freeing" and report is not None:
            # The interrupted run was asked to free space now: finish that first.
            old = {m.src for m in journal.moves if canon(m.dst) in referenced}
            _free_old_copies(lh, journal.table, table, old, report)
            referenced = {canon(p) for p in table_references(lh.table(journal.table)).data}
        removed = kept = freed = 0
        for move in journal.moves:
            dst_tier = lh.tiers.get(move.dest)
            src_tier = lh.tiers.get(move.source)
            if dst_tier is None or src_tier is None:
                continue
            remove_quietly(dst_tier, tmp_name(move.dst))
            if canon(move.dst) in referenced:
                kept += 1
                if journal.state == "freeing" and canon(move.src) not in referenced:
                    freed += remove_quietly(src_tier, move.src)
            else:  # never committed: the source still holds the data
                removed += remove_quietly(dst_tier, move.dst)
        if removed or kept or freed:
            messages.append(
                f"{journal.table}: an interrupted run left {kept} committed moves, "
                f"{removed} uncommitted copies (deleted), {freed} old copies deleted"
            )
        jr.remove(lh.root, journal)
    return messages


# -- the run ----------------------------------------------------------------------------


def _plan(lh: Workspace, names: list[str], to: str | None, where: str | None) -> Plan:
    tables = {name: lh.table(name) for name in names}
    if to is None:
        return plan_policies(tables, lh.settings.policies, lh.tiers)
    plan = Plan()
    for name, table in tables.items():
        row_filter = None
        if where is not None:
            from doctordata.catalog.filters import where_to_expression

            row_filter = where_to_expression(where, table.schema())
        sub = plan_explicit(name, table, lh.tiers, to, row_filter)
        plan.moves += sub.moves
        plan.skipped += sub.skipped
    return plan


def preflight(lh: Workspace, plan: Plan, *, dry_run: bool = False) -> None:
    """Check every tier the plan touches before any byte moves (TierUnavailableError)."""
    fresh = offline_checks(lh, plan)
    need: dict[str, int] = {}
    for move in plan.moves:
        need[move.dest] = need.get(move.dest, 0) + move.size
        need.setdefault(move.source, 0)
    for name, nbytes in need.items():
        tier = lh.tiers[name]
        holds = any(m.source == name for m in plan.moves)
        check_tier(tier, need_bytes=nbytes, expect_data=holds)
    for name in fresh if not dry_run else ():
        mark(lh.tiers[name], lh.root)  # first use: from now on an unmount is recognised


def offline_checks(lh: Workspace, plan: Plan) -> set[str]:
    """Never move onto an offline tier, nor off one (TierOfflineError, nothing moved).
    Returns the destinations that have no marker yet (marked once the checks pass)."""
    guard = TierGuard(lh.tiers, lh.root)
    sources = {m.source for m in plan.moves}
    for name in sorted(sources | {m.dest for m in plan.moves}):
        seen = guard.probe(name)
        # A source without a marker whose directory is empty: the catalog says otherwise.
        if seen.state == "offline" or (seen.state == "unused" and name in sources):
            raise offline_error(lh.tiers[name], seen.detail, "moving files")
    return {m.dest for m in plan.moves if guard.probe(m.dest).state != "online"}


def _stage_quietly(lh: Workspace, name: str, moves: list[Move]) -> StagedRewrite | None:
    """Stage the swap of the verified copies while their fsyncs run; None if staging failed
    (it is retried after the copies, where a failure is reported as a failed commit)."""
    try:
        return stage_swap(
            lh.table(name), [(m.data_file, m.dst_path) for m in moves], _reason(moves)
        )
    except Exception:
        return None


def _reason(moves: list[Move]) -> str:
    return "; ".join(sorted({m.reason for m in moves}))


def _copy_all(
    lh: Workspace, name: str, moves: list[Move], advance: Callable[[int], None], workers: int
) -> tuple[list[tuple[Move, str | None]], StagedRewrite | None, float]:
    """Copy every file through the copy pipeline (lifecycle/copy_pipeline.py), stage the
    catalog swap of the verified copies while the last ones are fsynced, then make the
    copies' directory entries durable (one fsync per directory, in parallel).

    The staging waits for the copy workers: it is Python work that needs the GIL and a
    core, which the copy workers need between their kernel calls; run alongside them it
    slowed the copies more than it saved (benchmarks/tiering, 252 MB). The sync workers
    mostly wait for the disk, so the staging overlaps their fsyncs.

    Returns the copy results, the staged swap of exactly the files that were copied (None
    if staging failed or a copy failed after it) and the seconds spent copying and
    syncing (not waiting for a staging that outlasted the fsyncs)."""
    started = time.monotonic()
    with CopyPipeline(lh.tiers, advance, workers) as pipeline:
        for move in moves:
            pipeline.submit(move)
        verified = pipeline.wait_copied()
        staged = _stage_quietly(lh, name, verified) if verified else None
        try:
            results = pipeline.results()
            done = [m for m, err in results if err is None]
            synced = time.monotonic()
            for dest in {m.dest for m in done}:
                locations = [m.dst_path for m in done if m.dest == dest]
                sync_dirs(lh.tiers[dest], locations, pipeline.pool)
        except BaseException:
            if staged is not None:
                staged.discard()
            raise
    if staged is not None and len(done) != len(verified):
        staged.discard()  # it swaps a file whose fsync failed
        staged = None
    return results, staged, pipeline.last_done - started + time.monotonic() - synced


def _move_table(
    lh: Workspace,
    name: str,
    moves: list[Move],
    report: TierReport,
    advance: Callable[[int], None],
    workers: int,
) -> tuple[Table, list[Move], jr.Journal] | None:
    journal = jr.Journal(
        table=name,
        moves=[jr.JournalMove(m.src_path, m.dst_path, m.source, m.dest) for m in moves],
    )
    jr.save(lh.root, journal)
    results, staged, seconds = _copy_all(lh, name, moves, advance, workers)
    done = [m for m, err in results if err is None]
    report.failed += [(m.src_path, err) for m, err in results if err is not None]
    report.seconds += seconds
    if not done:
        jr.remove(lh.root, journal)
        return None
    # The copies are verified equal to their sources: they inherit the recorded checksums
    # (before the commit, so no referenced copy is ever without one).
    from doctordata.catalog.checksums import carry_recorded

    carry_recorded(lh.settings.catalog_uri, {m.src_path: m.dst_path for m in done})
    try:
        if staged is None:
            staged = stage_swap(
                lh.table(name), [(m.data_file, m.dst_path) for m in done], _reason(done)
            )
        table = commit_staged(staged)
    except Exception as exc:
        # The commit did not land (or we cannot know): recovery decides per file from
        # what the catalog references, exactly as after a crash.
        report.failed += [(m.src_path, f"commit failed: {type(exc).__name__}: {exc}") for m in done]
        report.recovered += recover(lh, report)
        return None
    # Not saved: recovery reads the catalog, not this state, to tell a landed commit from
    # one that did not (a durable write here cost a journal commit per table).
    journal.state = "committed"
    report.moved += done
    return table, done, journal


def _free_old_copies(
    lh: Workspace, name: str, table: Table, old: set[str], report: TierReport
) -> None:
    """Expire the snapshots still referencing ``old`` paths, then delete what they freed."""
    from doctordata.catalog.references import snapshot_references
    from doctordata.lifecycle.maintenance import expire_and_delete

    refs = snapshot_references(table, table.metadata.snapshots)
    protected = {ref.snapshot_id for ref in table.metadata.refs.values()}
    pointing = [sid for sid, files in refs.by_snapshot.items() if files & old]
    blocked = [sid for sid in pointing if sid in protected]
    if blocked:
        report.failed += [
            (p, f"not freed: snapshot {blocked} is a branch head or tag and still references it")
            for p in sorted(old)
        ]
    expire = [sid for sid in pointing if sid not in protected]
    result = expire_and_delete(lh, table, expire)
    if expire:
        report.expired_snapshots[name] = expire
    report.freed += [p for p in result.deleted if p in old]
    report.freed_bytes += sum(result.sizes.get(p, 0) for p in old)


def apply_policies(
    lh: Workspace,
    table: str | None = None,
    *,
    dry_run: bool = False,
    free_now: bool = False,
    to: str | None = None,
    where: str | None = None,
    workers: int = 8,
    progress: bool | None = None,
) -> TierReport:
    """Move data files between tiers by policy, or ``where`` rows of ``table`` ``to`` a tier.

    Every tier involved passes its pre-flight checks before anything moves. Returns a
    TierReport (``print(report)`` for a summary).
    """
    if where is not None and to is None:
        raise WhereClauseError(
            f"where={where!r} needs to=<tier> (e.g. to='ssd'): a where clause picks the "
            "data to move, the policies only move by age"
        )
    if to is not None:
        require_tier(to, lh.tiers)
    names = [table] if table is not None else lh.tables()
    report = TierReport(dry_run=dry_run)
    if dry_run:
        plan = _plan(lh, names, to, where)
        preflight(lh, plan, dry_run=True)
        report.planned, report.skipped = plan.moves, plan.skipped
        return report
    with jr.lifecycle_lock(lh.root, "doctordata tier"):
        report.recovered += recover(lh, report)
        plan = _plan(lh, names, to, where)
        preflight(lh, plan)
        report.planned, report.skipped = plan.moves, plan.skipped
        total = sum(m.size for m in plan.moves)
        with byte_progress("moving", total, progress, transient=True) as advance:
            for name, moves in plan.by_table().items():
                outcome = _move_table(lh, name, moves, report, advance, workers)
                if outcome is None:
                    continue
                committed, done, journal = outcome
                if free_now:
                    journal.state = "freeing"
                    jr.save(lh.root, journal)
                    _free_old_copies(lh, name, committed, {m.src_path for m in done}, report)
                else:
                    report.retained += [m.src_path for m in done]
                jr.remove(lh.root, journal)
    return report
