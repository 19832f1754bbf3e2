"""Manifest pruning by partition bounds: never skips a manifest that may hold a wanted
partition, skips the ones whose bounds exclude it."""

from __future__ import annotations

from typing import Any

import pytest
from pyiceberg.conversions import to_bytes
from pyiceberg.manifest import ManifestContent, ManifestFile, PartitionFieldSummary
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.transforms import IdentityTransform
from pyiceberg.typedef import Record
from pyiceberg.types import DoubleType, NestedField, StringType

from doctordata.catalog.partition_bounds import PartitionFilter
from doctordata.catalog.swap import commit_staged, stage_swap
from tests.tiered_lakes import OLD_DAYS, files_on, local_path, rows, sorted_rows

SCHEMA = Schema(
    NestedField(1, "x", DoubleType(), required=False),
    NestedField(2, "s", StringType(), required=False),
)
SPEC = PartitionSpec(
    PartitionField(source_id=1, field_id=1000, transform=IdentityTransform(), name="x"),
    PartitionField(source_id=2, field_id=1001, transform=IdentityTransform(), name="s"),
    spec_id=0,
)


def _summary(kind: Any, low: Any, high: Any, null: bool = False, nan: bool = False) -> Any:
    return PartitionFieldSummary.from_args(
        contains_null=null,
        contains_nan=nan,
        lower_bound=None if low is None else to_bytes(kind, low),
        upper_bound=None if high is None else to_bytes(kind, high),
    )


def _manifest(*summaries: Any, spec_id: int = 0) -> ManifestFile:
    return ManifestFile.from_args(
        manifest_path="file:///m.avro",
        manifest_length=1,
        partition_spec_id=spec_id,
        content=ManifestContent.DATA,
        sequence_number=1,
        min_sequence_number=1,
        added_snapshot_id=1,
        added_files_count=1,
        existing_files_count=0,
        deleted_files_count=0,
        added_rows_count=1,
        existing_rows_count=0,
        deleted_rows_count=0,
        partitions=list(summaries),
    )


def _s(low: str, high: str, null: bool = False) -> Any:
    return _summary(StringType(), low, high, null=null)


def _x(low: float | None, high: float | None, null: bool = False, nan: bool = False) -> Any:
    return _summary(DoubleType(), low, high, null=null, nan=nan)


def test_bounds_decide_per_field() -> None:
    wanted = PartitionFilter(SPEC, SCHEMA, [Record(1.5, "b"), Record(7.0, "q")])
    assert wanted.may_hold(_manifest(_x(1.0, 2.0), _s("a", "c")))
    assert wanted.may_hold(_manifest(_x(7.0, 7.0), _s("q", "q")))  # bounds are inclusive
    assert not wanted.may_hold(_manifest(_x(2.0, 6.0), _s("a", "z")))  # x between values
    assert not wanted.may_hold(_manifest(_x(1.0, 9.0), _s("c", "p")))  # s between values
    assert not wanted.may_hold(_manifest(_x(8.0, 9.0), _s("a", "z")))


def test_nulls_and_nans_are_matched_by_the_summary_flags() -> None:
    nulls = PartitionFilter(SPEC, SCHEMA, [Record(None, "b")])
    assert not nulls.may_hold(_manifest(_x(1.0, 2.0), _s("a", "c")))
    assert nulls.may_hold(_manifest(_x(1.0, 2.0, null=True), _s("a", "c")))
    assert nulls.may_hold(_manifest(_x(None, None, null=True), _s("a", "c")))  # only nulls
    nans = PartitionFilter(SPEC, SCHEMA, [Record(float("nan"), "b")])
    assert not nans.may_hold(_manifest(_x(1.0, 2.0), _s("a", "c")))
    assert nans.may_hold(_manifest(_x(1.0, 2.0, nan=True), _s("a", "c")))


@pytest.mark.parametrize(
    "manifest",
    [
        _manifest(_x(None, None), _s("a", "c")),  # no bounds recorded
        _manifest(),  # no partition summaries at all
        _manifest(_x(8.0, 9.0), _s("x", "z"), spec_id=3),  # another spec: not judged
    ],
)
def test_missing_information_means_read_the_manifest(manifest: ManifestFile) -> None:
    assert PartitionFilter(SPEC, SCHEMA, [Record(1.5, "b")]).may_hold(manifest)


def test_values_that_do_not_compare_never_prune() -> None:
    odd = PartitionFilter(SPEC, SCHEMA, [Record(1.5, "b"), Record("not a float", "b")])
    assert odd.may_hold(_manifest(_x(8.0, 9.0), _s("a", "c")))


def test_real_manifests_one_day_each(make_lake) -> None:  # type: ignore[no-untyped-def]
    """Four appends, one day each: only the manifest of the moved day is read and
    rewritten; the swap keeps the other three manifests as they are."""
    lh = make_lake()
    lh.create_table("hn.items", rows(0, days=[OLD_DAYS[0]]), partition_by=["day(time)"])
    for i, day in enumerate([*OLD_DAYS[1:], OLD_DAYS[0]], start=1):
        lh.append("hn.items", rows(100 * i, days=[day]))
    table = lh.table("hn.items")
    manifests = table.current_snapshot().manifests(table.io)
    assert len(manifests) == 4  # one per commit (manifests merge from 100 on)
    day2 = [t.file for t in table.scan().plan_files() if "2020-01-02" in t.file.file_path]
    wanted = PartitionFilter(table.spec(), table.schema(), [f.partition for f in day2])
    holding = {
        m.manifest_path
        for m in manifests
        if any("2020-01-02" in e.data_file.file_path for e in m.fetch_manifest_entry(table.io))
    }
    assert {m.manifest_path for m in manifests if wanted.may_hold(m)} == holding
    assert len(holding) == 1

    expected = sorted_rows(lh, "hn.items")
    pairs = []
    for old in day2:
        new = old.file_path.replace(lh.tiers["ssd"].root, lh.tiers["nas"].root)
        local_path(new).parent.mkdir(parents=True, exist_ok=True)
        local_path(new).write_bytes(local_path(old.file_path).read_bytes())
        pairs.append((old, new))
    committed = commit_staged(stage_swap(table, pairs, "t"))
    after = {m.manifest_path for m in committed.current_snapshot().manifests(committed.io)}
    assert {m.manifest_path for m in manifests} - holding <= after  # reused, not rewritten
    assert sorted_rows(lh, "hn.items").equals(expected)
    assert sorted(p for p, t in files_on(lh, "hn.items").items() if t == "nas") == sorted(
        new for _, new in pairs
    )
