"""Which manifests may hold files of given partitions, judged from the manifest list alone.

Each manifest's entry in the manifest list records, per partition field, the lowest and
highest value in it and whether nulls or NaNs occur. A manifest can only hold a file of
partition ``p`` if every field of ``p`` lies within that field's bounds, so a swap of a
few partitions reads only the manifests that may hold them. This is a bisection per
field and manifest; pyiceberg's manifest evaluator needs an ``Or`` of one predicate per
partition, built and bound per commit (34 ms of a 64-partition move's commit).

The test is conservative: missing bounds, or values that do not compare, mean "read it".
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyiceberg.manifest import ManifestFile, PartitionFieldSummary
    from pyiceberg.partitioning import PartitionSpec
    from pyiceberg.schema import Schema
    from pyiceberg.typedef import Record


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


@dataclass(frozen=True)
class _Field:
    """The values one partition field takes in the wanted partitions."""

    type: Any  # the partition field's result type (pyiceberg PrimitiveType)
    values: list[Any]  # distinct, sorted, neither null nor NaN
    has_null: bool
    has_nan: bool
    comparable: bool  # False: the values did not sort; every manifest may hold them

    def may_be_in(self, summary: PartitionFieldSummary) -> bool:
        from pyiceberg.conversions import from_bytes

        if not self.comparable:
            return True
        if self.has_null and summary.contains_null is not False:
            return True
        if self.has_nan and summary.contains_nan is not False:
            return True
        if not self.values:
            return False  # only nulls / NaNs wanted, and the manifest has none
        if summary.lower_bound is None or summary.upper_bound is None:
            return True
        try:
            low = from_bytes(self.type, summary.lower_bound)
            high = from_bytes(self.type, summary.upper_bound)
            at = bisect_left(self.values, low)
            return at < len(self.values) and bool(self.values[at] <= high)
        except (TypeError, ValueError):
            return True


class PartitionFilter:
    """``may_hold(manifest)``: can ``manifest`` hold a file of one of ``partitions``?"""

    def __init__(self, spec: PartitionSpec, schema: Schema, partitions: Iterable[Record]) -> None:
        self.spec_id = spec.spec_id
        types = [f.field_type for f in spec.partition_type(schema).fields]
        columns: list[list[Any]] = [[] for _ in types]
        for partition in partitions:
            for pos in range(min(len(partition), len(types))):
                columns[pos].append(partition[pos])
        self._fields = [_field(t, column) for t, column in zip(types, columns, strict=True)]

    def may_hold(self, manifest: ManifestFile) -> bool:
        if manifest.partition_spec_id != self.spec_id:
            return True  # other spec: fields differ; let the caller read it
        summaries = manifest.partitions
        if not summaries or len(summaries) != len(self._fields):
            return True
        return all(f.may_be_in(s) for f, s in zip(self._fields, summaries, strict=True))


def _field(type_: Any, column: list[Any]) -> _Field:
    plain = {v for v in column if v is not None and not _is_nan(v)}
    try:
        values, comparable = sorted(plain), True
    except TypeError:
        values, comparable = list(plain), False
    return _Field(
        type=type_,
        values=values,
        has_null=any(v is None for v in column),
        has_nan=any(_is_nan(v) for v in column),
        comparable=comparable,
    )
