"""The catalog side of a tier move: one snapshot swapping each DataFile for its copy.

The copy keeps the DataFile's partition, counts and column stats; only the path differs.
The commit is the rewrite of catalog/rewrite.py (validated like Iceberg's RewriteFiles)
with less work than pyiceberg's overwrite producer does for it: each manifest that may
hold a moved file is read once (pyiceberg reads it twice: once for the DELETED entries,
once to rewrite the survivors), and the snapshot summary computes each changed
partition's path once instead of once per added and once per removed file. The manifests
written are the same: the copies (ADDED), the old files (DELETED), and a rewrite of each
manifest that also held files that did not move (EXISTING).

The swap is *staged* (manifests and manifest list written) while the mover's last
copies are still being fsynced, because nothing references those files until the
catalog pointer moves: the commit after the last fsync then only writes metadata.json
and swaps the pointer. If a copy's fsync fails after staging, the staged files are
deleted and the swap is staged again without it.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from doctordata.storage.transfer import crash_point

if TYPE_CHECKING:
    from pyiceberg.manifest import DataFile
    from pyiceberg.table import Table

    from doctordata.catalog.rewrite import StagedRewrite

OPERATION_PREFIX = "tier-move: "


def relocated(data_file: DataFile, new_path: str) -> DataFile:
    """A copy of ``data_file`` (same partition, counts, stats) at ``new_path``."""
    from pyiceberg.manifest import DataFile

    copy = DataFile(*data_file._data)
    copy._data[1] = new_path
    copy.spec_id = data_file.spec_id
    return copy


@cache
def _swap_producer_class() -> type:
    from collections import defaultdict

    from pyiceberg.manifest import (
        DataFileContent,
        ManifestContent,
        ManifestEntry,
        ManifestEntryStatus,
        ManifestFile,
    )
    from pyiceberg.table import TableProperties
    from pyiceberg.table.snapshots import (
        SnapshotSummaryCollector,
        Summary,
        UpdateMetrics,
        update_snapshot_summaries,
    )
    from pyiceberg.utils.concurrent import ExecutorFactory

    from doctordata.catalog.partition_bounds import PartitionFilter
    from doctordata.catalog.rewrite import producer_class_base

    class _SwapFiles(producer_class_base()):  # type: ignore[misc]
        """A rewrite that reads each candidate manifest once."""

        def _manifests(self) -> list[ManifestFile]:
            parent = self._transaction.table_metadata.snapshot_by_id(self._parent_snapshot_id)
            if parent is None:
                raise ValueError(f"snapshot {self._parent_snapshot_id} not found")
            gone = {f.file_path for f in self._deleted_data_files}
            filters = self._partition_filters()
            kept: list[ManifestFile] = []
            candidates: list[ManifestFile] = []
            for manifest in parent.manifests(self._io):
                if not (manifest.has_added_files() or manifest.has_existing_files()):
                    continue  # only DELETED entries of earlier commits: no live file
                spec_filter = filters.get(manifest.partition_spec_id)
                if (
                    manifest.content == ManifestContent.DATA
                    and spec_filter is not None
                    and spec_filter.may_hold(manifest)
                ):
                    candidates.append(manifest)
                else:
                    kept.append(manifest)
            executor = ExecutorFactory.get_or_create()
            read = executor.map(
                lambda m: m.fetch_manifest_entry(self._io, discard_deleted=True), candidates
            )
            deleted: list[ManifestEntry] = []
            survivors: list[tuple[int, list[ManifestEntry]]] = []
            for manifest, entries in zip(candidates, read, strict=True):
                hits = [
                    e
                    for e in entries
                    if e.data_file.file_path in gone and e.data_file.content == DataFileContent.DATA
                ]
                if not hits:
                    kept.append(manifest)
                    continue
                deleted += hits
                rest = [e for e in entries if e.data_file.file_path not in gone]
                if rest:
                    survivors.append((manifest.partition_spec_id, rest))
            self._validate_required_deletes(deleted)
            jobs = [executor.submit(self._write_added)]
            by_spec: dict[int, list[ManifestEntry]] = defaultdict(list)
            for entry in deleted:
                by_spec[entry.data_file.spec_id].append(entry)
            jobs += [
                executor.submit(self._write, spec_id, ManifestEntryStatus.DELETED, entries)
                for spec_id, entries in by_spec.items()
            ]
            jobs += [
                executor.submit(self._write, spec_id, ManifestEntryStatus.EXISTING, entries)
                for spec_id, entries in survivors
            ]
            return [m for job in jobs for m in job.result()] + kept

        def _partition_filters(self) -> dict[int, PartitionFilter]:
            """Per partition spec of the removed files: which manifests may hold them (a
            file's spec is its manifest's, so manifests of other specs cannot)."""
            by_spec: dict[int, list[Any]] = defaultdict(list)
            for data_file in self._deleted_data_files:
                by_spec[data_file.spec_id].append(data_file.partition)
            schema = self.schema()
            return {
                spec_id: PartitionFilter(self.spec(spec_id), schema, partitions)
                for spec_id, partitions in by_spec.items()
            }

        def _write_added(self) -> list[ManifestFile]:
            if not self._added_data_files:
                return []
            with self.new_manifest_writer(self._transaction.table_metadata.spec()) as writer:
                for data_file in self._added_data_files:
                    writer.add(
                        ManifestEntry.from_args(
                            status=ManifestEntryStatus.ADDED,
                            snapshot_id=self._snapshot_id,
                            data_file=data_file,
                        )
                    )
            return [writer.to_manifest_file()]

        def _write(
            self, spec_id: int, status: ManifestEntryStatus, entries: list[ManifestEntry]
        ) -> list[ManifestFile]:
            """DELETED entries belong to this snapshot; EXISTING keep their own snapshot."""
            with self.new_manifest_writer(self.spec(spec_id)) as writer:
                for entry in entries:
                    writer.add_entry(
                        ManifestEntry.from_args(
                            status=status,
                            snapshot_id=(
                                self._snapshot_id
                                if status == ManifestEntryStatus.DELETED
                                else entry.snapshot_id
                            ),
                            sequence_number=entry.sequence_number,
                            file_sequence_number=entry.file_sequence_number,
                            data_file=entry.data_file,
                        )
                    )
            return [writer.to_manifest_file()]

        def _summary(self, snapshot_properties: dict[str, str] | None = None) -> Summary:
            props = snapshot_properties or {}
            metadata = self._transaction.table_metadata
            limit = int(
                metadata.properties.get(
                    TableProperties.WRITE_PARTITION_SUMMARY_LIMIT,
                    TableProperties.WRITE_PARTITION_SUMMARY_LIMIT_DEFAULT,
                )
            )
            if limit > 0:  # per-partition summaries wanted: pyiceberg's own collector
                summary: Summary = super()._summary(props)
                return summary
            collector = SnapshotSummaryCollector(partition_summary_limit=0)
            schema, specs = metadata.schema(), metadata.specs()
            default_spec = metadata.spec()
            paths: dict[tuple[int, Any], str] = {}

            def touch(data_file: Any, spec: Any) -> None:
                if len(data_file.partition) == 0:
                    return
                partition = data_file.partition
                key = (spec.spec_id, tuple(partition[i] for i in range(len(partition))))
                if key not in paths:
                    paths[key] = spec.partition_to_path(data_file.partition, schema)
                    # counted (changed-partition-count), as pyiceberg's collector does
                    collector.partition_metrics.setdefault(paths[key], UpdateMetrics())

            for data_file in self._added_data_files:
                collector.metrics.add_file(data_file)
                touch(data_file, default_spec)
            for data_file in self._deleted_data_files:
                collector.metrics.remove_file(data_file)
                touch(data_file, specs[data_file.spec_id])
            parent = (
                metadata.snapshot_by_id(self._parent_snapshot_id)
                if self._parent_snapshot_id is not None
                else None
            )
            return update_snapshot_summaries(
                summary=Summary(operation=self._operation, **collector.build(), **props),
                previous_summary=parent.summary if parent is not None else None,
            )

    return _SwapFiles


def stage_swap(table: Table, pairs: list[tuple[DataFile, str]], reason: str) -> StagedRewrite:
    """Write (not commit) one snapshot replacing each old DataFile by its copy."""
    from doctordata.catalog.rewrite import stage_rewrite

    return stage_rewrite(
        table,
        [old for old, _ in pairs],
        [relocated(old, new_path) for old, new_path in pairs],
        operation=OPERATION_PREFIX + reason,
        producer_class=_swap_producer_class(),
    )


def commit_staged(staged: StagedRewrite) -> Table:
    """Swap the catalog pointer to a staged swap (the copies must be durable by now)."""
    crash_point("commit")
    committed = staged.commit()
    crash_point("committed")
    return committed
