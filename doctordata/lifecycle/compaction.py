"""Compaction: bin-pack a partition's small data files into target-size files, one commit.

Files are grouped by (partition spec, partition value, tier) so a compacted file lands on
the tier its inputs were on: compacting cold partitions never pulls them back to the SSD.
A partition with delete files applying to any of its files is left alone (rewriting it
would have to apply the deletes, which is not this module's job).
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyiceberg.manifest import DataFile
    from pyiceberg.table import FileScanTask, Table

    from doctordata.storage.tier import Tier
    from doctordata.workspace import Workspace

# pyiceberg's default target is 512 MiB; a small box reads 128 MiB files just as fast.
DEFAULT_TARGET = 128 * 1024 * 1024


@dataclass
class CompactionResult:
    files_before: int = 0
    files_after: int = 0
    rewritten: list[str] = field(default_factory=list)  # old files replaced
    written: list[str] = field(default_factory=list)
    skipped_partitions: list[str] = field(default_factory=list)  # why, per partition


class _FixedPartition:
    """A partition key whose value is already known (every input shares it), so writing
    needs no partition transform."""

    def __init__(self, record: Any, spec: Any, schema: Any) -> None:
        self.partition = record
        self._spec = spec
        self._schema = schema

    def to_path(self) -> str:
        return str(self._spec.partition_to_path(self.partition, self._schema))


def target_size(table: Table, override: int | None) -> int:
    if override:
        return override
    raw = table.properties.get("write.target-file-size-bytes")
    return int(raw) if raw else DEFAULT_TARGET


def _groups(
    lh: Workspace, table: Table, target: int, offline: frozenset[str] = frozenset()
) -> tuple[dict[tuple[Any, ...], list[FileScanTask]], list[str], int]:
    from doctordata.storage.locations import TierIndex

    index = TierIndex(lh.tiers)
    tasks = list(table.scan().plan_files())
    spec_id = table.metadata.default_spec_id
    with_deletes = {(t.file.spec_id, str(t.file.partition)) for t in tasks if t.delete_files}
    groups: dict[tuple[Any, ...], list[FileScanTask]] = {}
    skipped = sorted(f"{p}: delete files apply" for _, p in with_deletes)
    for task in tasks:
        f = task.file
        key = (f.spec_id, str(f.partition))
        tier = index.tier_of(f.file_path)
        if key in with_deletes or f.spec_id != spec_id or tier is None:
            continue
        if tier.name in offline:
            continue  # the maintenance report names the offline tier once
        if f.file_size_in_bytes >= target * 3 // 4:
            continue  # already big enough
        groups.setdefault((*key, tier.name), []).append(task)
    return {k: v for k, v in groups.items() if len(v) > 1}, skipped, len(tasks)


def _write_group(
    lh: Workspace, table: Table, tasks: list[FileScanTask], tier: Tier, target: int
) -> list[DataFile]:
    from pyiceberg.expressions import AlwaysTrue
    from pyiceberg.io.pyarrow import ArrowScan, write_file
    from pyiceberg.table import WriteTask

    from doctordata.catalog.sort_order import sort_for
    from doctordata.errors import StorageError
    from doctordata.storage.locations import TierIndex, is_lexically_canonical, join

    meta = table.metadata
    data = ArrowScan(meta, table.io, meta.schema(), AlwaysTrue()).to_table(tasks)
    data = sort_for(meta, data)  # each compacted file in the table's sort order
    home, relative = TierIndex(lh.tiers).locate(table.location())
    props = dict(meta.properties)
    if home is not None and home != tier.name:
        props["write.data.path"] = tier.location(
            join(relative, "data"), like=tasks[0].file.file_path
        )
    meta = meta.model_copy(update={"properties": props})
    first = tasks[0].file
    spec = table.specs()[first.spec_id]
    # An unpartitioned spec has no partition path: pyiceberg joins a key's path with '/',
    # so a key here would write '<table>/data//<file>' (a non-canonical location).
    key = _FixedPartition(first.partition, spec, meta.schema()) if spec.fields else None
    disk = sum(t.file.file_size_in_bytes for t in tasks)
    parts = max(1, math.ceil(disk / target))
    rows = max(1, math.ceil(data.num_rows / parts))
    write_uuid = uuid.uuid4()
    writes = [
        WriteTask(
            write_uuid=write_uuid,
            task_id=i,
            schema=meta.schema(),
            record_batches=data.slice(offset, rows).to_batches(),
            partition_key=key,
        )
        for i, offset in enumerate(range(0, data.num_rows, rows))
    ]
    written = list(write_file(table.io, meta, iter(writes)))
    bad = [f.file_path for f in written if not is_lexically_canonical(f.file_path)]
    if bad:
        for f in written:
            table.io.delete(f.file_path)
        raise StorageError(
            f"compaction of {'.'.join(table.name())!r} produced non-canonical locations "
            f"({bad[0]}); nothing was committed. Please report this as a bug."
        )
    return written


def compact(
    lh: Workspace,
    table: Table,
    *,
    target_file_size: int | None = None,
    dry_run: bool = False,
    offline: frozenset[str] = frozenset(),
) -> CompactionResult:
    """Rewrite small files per partition into ~target-size files in one snapshot; files on
    ``offline`` tiers are left alone."""
    target = target_size(table, target_file_size)
    groups, skipped, total = _groups(lh, table, target, offline)
    result = CompactionResult(files_before=total, files_after=total, skipped_partitions=skipped)
    if not groups or dry_run:
        result.rewritten = [t.file.file_path for ts in groups.values() for t in ts]
        return result
    old: list[DataFile] = []
    new: list[DataFile] = []
    for (_, _, tier_name), tasks in groups.items():
        new += _write_group(lh, table, tasks, lh.tiers[tier_name], target)
        old += [t.file for t in tasks]
    from doctordata.catalog.rewrite import rewrite_files

    try:
        rewrite_files(table, old, new, operation="compaction")
    except Exception:
        for f in new:  # never referenced: remove now instead of waiting for orphan cleanup
            table.io.delete(f.file_path)
        raise
    result.rewritten = [f.file_path for f in old]
    result.written = [f.file_path for f in new]
    result.files_after = total - len(old) + len(new)
    return result
