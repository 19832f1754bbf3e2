"""File pruning without pyiceberg: a conservative evaluator over manifest entries.

A predicate is a small tree of tuples (built by engines/fast_scan.py from the query):

    ("cmp", field_id, domain, op, value)   op in = <> < <= > >=; domain "int" | "micros" | "str"
    ("null", field_id, is_null)            IS NULL (True) / IS NOT NULL (False)
    ("and", [p, ...]) / ("or", [p, ...])
    ("any",)                               not understood: every file may match

A file is dropped only when it certainly holds no row where the predicate is TRUE: from
its partition values (through the transform: day(time) = 20759 bounds ``time`` to that
day), or from its column bounds and null counts (Iceberg's single-value binary encoding).
Each of the two is asked about the whole predicate, as pyiceberg's partition and metrics
evaluators are, so this prunes no file pyiceberg keeps. Before that, a whole manifest is
skipped when its partition summaries in the manifest list (per field of the manifest's
own spec: contains_null and the lowest and highest partition value) exclude every match,
as pyiceberg's manifest evaluator skips it: every transform read here is monotone, so
the summary bounds the source column as a file's partition value does.
Whatever this module does not understand (a float, a decimal, a bucket transform, a
missing or odd bound) keeps the file; the engine evaluates the WHERE on the rows anyway.
Values are compared in one domain per column kind: Python ints for int/long, microseconds
since the epoch for date/timestamp (a date is its midnight, as DuckDB casts it), str for
strings (code point order is UTF-8 byte order, DuckDB's default collation). A
timestamptz is an instant (UTC microseconds, as Iceberg stores it and partitions it).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from doctordata.catalog.reader.avro import Unsupported, UnsupportedAvro, read_container
from doctordata.catalog.reader.metadata import TableMetadata, read_bytes

DAY_US = 86_400_000_000
HOUR_US = 3_600_000_000
_EPOCH = date(1970, 1, 1).toordinal()
_DATA, _DELETED = 0, 2
# Column kind (pyiceberg's type spelling) -> comparison domain.
DOMAINS = {
    "int": "int",
    "long": "int",
    "date": "micros",
    "timestamp": "micros",
    "timestamptz": "micros",  # an instant: UTC microseconds, as stored
    "string": "str",
}


@dataclass(frozen=True)
class DataFile:
    """One live data file of a snapshot, with what pruning reads."""

    path: str
    size: int
    spec_id: int
    partition: Mapping[str, Any]
    value_counts: Mapping[int, int]
    null_counts: Mapping[int, int]
    lower: Mapping[int, bytes]
    upper: Mapping[int, bytes]


def _pairs(items: Any) -> dict[int, Any]:
    if not items:
        return {}
    if isinstance(items, dict):
        return {int(k): v for k, v in items.items()}
    return {int(kv["key"]): kv["value"] for kv in items}


@dataclass
class ManifestCount:
    """How many of a snapshot's data manifests were read and skipped (plan stats)."""

    read: int = 0
    skipped: int = 0
    # Live data files in the skipped manifests, from their counts (None: a count missing).
    files_skipped: int | None = 0


def live_data_files(
    meta: TableMetadata,
    snapshot_id: int,
    evaluator: Evaluator | None = None,
    count: ManifestCount | None = None,
) -> Iterator[DataFile]:
    """The snapshot's live data files in manifest order (pyiceberg's plan_files order).

    With an ``evaluator``, a manifest whose partition summaries (manifest list field
    ``partitions``, read with the manifest's own spec) exclude every match is not read,
    as pyiceberg skips it; ``count`` records what was read and skipped.
    Unsupported when the snapshot has any delete manifest or delete file: the caller
    then plans through pyiceberg, which applies (or materialises) the deletes."""
    snap = next((s for s in meta.raw.get("snapshots", []) if s["snapshot-id"] == snapshot_id), None)
    if snap is None or "manifest-list" not in snap:
        raise Unsupported(f"{meta.location}: no manifest list for snapshot {snapshot_id}")
    count = count if count is not None else ManifestCount()
    try:
        _, listed = read_container(read_bytes(snap["manifest-list"]))
        manifests = list(listed)
        if any(m.get("content", _DATA) != _DATA for m in manifests):
            raise Unsupported("the snapshot has delete files")
        for manifest in manifests:
            spec_id = int(manifest.get("partition_spec_id", 0))
            if evaluator is not None and not _manifest_may_match(evaluator, spec_id, manifest):
                count.skipped += 1
                count.files_skipped = _add_files(count.files_skipped, manifest)
                continue
            count.read += 1
            _, entries = read_container(read_bytes(manifest["manifest_path"]))
            for entry in entries:
                if entry["status"] == _DELETED:
                    continue
                f = entry["data_file"]
                if f.get("content", _DATA) != _DATA:
                    raise Unsupported("the snapshot has delete files")
                yield DataFile(
                    f["file_path"],
                    int(f["file_size_in_bytes"]),
                    spec_id,
                    f.get("partition") or {},
                    _pairs(f.get("value_counts")),
                    _pairs(f.get("null_value_counts")),
                    _pairs(f.get("lower_bounds")),
                    _pairs(f.get("upper_bounds")),
                )
    except (UnsupportedAvro, KeyError, IndexError, ValueError, TypeError) as exc:
        raise Unsupported(f"{meta.location}: cannot read manifests ({exc})") from None


def _manifest_may_match(evaluator: Evaluator, spec_id: int, manifest: Mapping[str, Any]) -> bool:
    summaries = manifest.get("partitions")
    if not summaries:
        return True  # no summaries (an unpartitioned spec, an old writer): read it
    try:
        return evaluator.may_match_manifest(spec_id, summaries)
    except Exception:  # an odd summary: read the manifest
        return True


def _add_files(total: int | None, manifest: Mapping[str, Any]) -> int | None:
    """``total`` plus the manifest's live data files (added + existing), None if unknown."""
    added, existing = manifest.get("added_files_count"), manifest.get("existing_files_count")
    if total is None or not isinstance(added, int) or not isinstance(existing, int):
        return None
    return total + added + existing


# -- decoding bounds ------------------------------------------------------------------------


def decode_bound(kind: str, raw: Any) -> Any:
    """A single-value binary bound as a domain value, or None when it cannot be read."""
    if not isinstance(raw, bytes):
        return None
    if kind in ("int", "long", "date"):
        # A column promoted int -> long keeps 4-byte bounds in its older files.
        if len(raw) == 4:
            n = int(struct.unpack("<i", raw)[0])
        elif len(raw) == 8 and kind != "date":
            n = int(struct.unpack("<q", raw)[0])
        else:
            return None
        return n * DAY_US if kind == "date" else n
    if kind in ("timestamp", "timestamptz"):
        return int(struct.unpack("<q", raw)[0]) if len(raw) == 8 else None
    if kind == "string":
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return None


# Transforms whose result is an int (stored as 4 bytes), whatever the source type.
_INT_RESULTS = ("day", "month", "year", "hour")


def decode_partition_value(transform: str, kind: str, raw: Any) -> Any:
    """A partition summary bound (Iceberg single-value bytes of the transform's result
    type) as the value a manifest entry's partition record holds, or None when unsure."""
    if not isinstance(raw, bytes):
        return None
    if transform in _INT_RESULTS:
        return int(struct.unpack("<i", raw)[0]) if len(raw) == 4 else None
    if transform != "identity" and not transform.startswith("truncate["):
        return None  # bucket, void, unknown: says nothing about the source
    if kind in ("int", "long", "date", "timestamp", "timestamptz"):
        if len(raw) == 4:
            return int(struct.unpack("<i", raw)[0])
        if len(raw) == 8 and kind != "date" and kind != "int":
            return int(struct.unpack("<q", raw)[0])
        return None
    if kind == "string":
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return None


def _month_start_us(months: int) -> int:
    year, month = 1970 + months // 12, months % 12 + 1
    return (date(year, month, 1).toordinal() - _EPOCH) * DAY_US


def partition_range(transform: str, kind: str, value: Any) -> tuple[Any, Any] | None:
    """(lowest, highest) source value (inclusive; None = unbounded) a partition value
    allows for a source column of ``kind``, or None when it says nothing usable."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return None
    domain = DOMAINS.get(kind)
    if domain is None:
        return None
    try:
        if transform == "identity":
            if kind == "date" and isinstance(value, int):
                return value * DAY_US, value * DAY_US
            if (domain == "str") != isinstance(value, str):
                return None
            return value, value
        if domain == "micros" and isinstance(value, int):
            if transform == "day":
                return value * DAY_US, (value + 1) * DAY_US - 1
            if transform == "hour" and kind != "date":
                return value * HOUR_US, (value + 1) * HOUR_US - 1
            if transform == "month":
                return _month_start_us(value), _month_start_us(value + 1) - 1
            if transform == "year":
                return _month_start_us(value * 12), _month_start_us(value * 12 + 12) - 1
        if transform.startswith("truncate[") and transform.endswith("]"):
            width = int(transform[len("truncate[") : -1])
            if width <= 0:
                return None
            if domain == "int" and isinstance(value, int):
                return value, value + width - 1
            if domain == "str" and isinstance(value, str):
                return value, None  # every value starts with this prefix
    except (ValueError, OverflowError):
        return None
    return None


# -- evaluation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Facts:
    """What one file says about one column: value range and nulls (None: unknown)."""

    low: Any = None
    high: Any = None
    all_null: bool = False
    no_nulls: bool = False


class Evaluator:
    """may_match(file): False only when the file certainly has no matching row."""

    def __init__(
        self,
        predicate: tuple[Any, ...],
        kinds: Mapping[int, str],
        specs: Mapping[int, list[tuple[str, int, str]]],
    ) -> None:
        self.predicate = predicate
        self.kinds = kinds  # field id -> column kind (current schema)
        self.specs = specs  # spec id -> [(partition field name, source id, transform)]
        self.source = "partition"  # which facts _eval reads: "partition" or "metrics"

    def may_match(self, f: DataFile) -> bool:
        # Partition values and column statistics are asked separately, each about the
        # whole predicate, as pyiceberg does (so this never prunes a file it keeps).
        for source in ("partition", "metrics"):
            cache: dict[int, _Facts] = {}
            self.source = source

            def facts(field_id: int, cache: dict[int, _Facts] = cache) -> _Facts:
                hit = cache.get(field_id)
                if hit is None:
                    hit = cache[field_id] = self._read_facts(field_id, f)
                return hit

            if not self._eval(self.predicate, facts):
                return False
        return True

    def may_match_manifest(self, spec_id: int, summaries: list[Mapping[str, Any]]) -> bool:
        """False only when a manifest of spec ``spec_id`` with these partition summaries
        (one per partition field of that spec, in order) certainly has no matching file."""
        fields = self.specs.get(spec_id)
        if fields is None or len(fields) != len(summaries):
            return True  # a spec this reader does not know, or odd summaries
        known = self._summary_facts(fields, summaries)
        return self._eval(self.predicate, lambda field_id: known.get(field_id, _Facts()))

    def _summary_facts(
        self, fields: list[tuple[str, int, str]], summaries: list[Mapping[str, Any]]
    ) -> dict[int, _Facts]:
        """Per source field: the range of values and nulls the manifest's files may hold.

        Every transform read here is monotone, so the source values lie between the
        lowest value the lower bound allows and the highest the upper bound allows."""
        lows: dict[int, list[Any]] = {}
        highs: dict[int, list[Any]] = {}
        all_null: set[int] = set()
        no_nulls: set[int] = set()
        for (_, source, transform), summary in zip(fields, summaries, strict=True):
            kind = self.kinds.get(source, "")
            if transform == "void" or DOMAINS.get(kind) is None:
                continue
            lower, upper = summary.get("lower_bound"), summary.get("upper_bound")
            contains_null = summary.get("contains_null")
            if contains_null is False:
                no_nulls.add(source)
            elif contains_null is True and lower is None and upper is None:
                all_null.add(source)  # only NULL partition values (pyiceberg reads it so)
                continue
            low = decode_partition_value(transform, kind, lower)
            high = decode_partition_value(transform, kind, upper)
            low_range = partition_range(transform, kind, low) if low is not None else None
            high_range = partition_range(transform, kind, high) if high is not None else None
            if low_range is not None and low_range[0] is not None:
                lows.setdefault(source, []).append(low_range[0])
            if high_range is not None and high_range[1] is not None:
                highs.setdefault(source, []).append(high_range[1])
        out: dict[int, _Facts] = {}
        for source in {*lows, *highs, *all_null, *no_nulls}:
            out[source] = _Facts(
                max(lows[source]) if source in lows else None,
                min(highs[source]) if source in highs else None,
                source in all_null,
                source in no_nulls,
            )
        return out

    def _eval(self, p: tuple[Any, ...], facts: Callable[[int], _Facts]) -> bool:
        op = p[0]
        if op == "and":
            return all(self._eval(q, facts) for q in p[1])
        if op == "or":
            return any(self._eval(q, facts) for q in p[1])
        if op == "null":
            known = facts(p[1])
            return not known.no_nulls if p[2] else not known.all_null
        if op == "cmp":
            known = facts(p[1])
            return not known.all_null and _may_compare(known, p[3], p[4])
        return True

    def _read_facts(self, field_id: int, f: DataFile) -> _Facts:
        kind = self.kinds.get(field_id, "")
        lows: list[Any] = []
        highs: list[Any] = []
        all_null = no_nulls = False
        if self.source == "metrics":
            return self._metric_facts(field_id, f, kind)
        for name, source, transform in self.specs.get(f.spec_id, []):
            if source != field_id or name not in f.partition:
                continue
            value = f.partition[name]
            if value is None:
                if transform != "void":
                    all_null = True  # every transform but void keeps NULL as NULL
                continue
            if transform != "void":
                no_nulls = True
            bounds = partition_range(transform, kind, value)
            if bounds is not None:
                lows.append(bounds[0])
                highs.append(bounds[1])
        known_lows = [v for v in lows if v is not None]
        known_highs = [v for v in highs if v is not None]
        return _Facts(
            max(known_lows) if known_lows else None,
            min(known_highs) if known_highs else None,
            all_null,
            no_nulls,
        )

    def _metric_facts(self, field_id: int, f: DataFile, kind: str) -> _Facts:
        values, nulls = f.value_counts.get(field_id), f.null_counts.get(field_id)
        return _Facts(
            decode_bound(kind, f.lower.get(field_id)),
            decode_bound(kind, f.upper.get(field_id)),
            all_null=values is not None and nulls is not None and values == nulls,
            no_nulls=nulls == 0,
        )


def _may_compare(facts: _Facts, op: str, value: Any) -> bool:
    low, high = facts.low, facts.high
    try:
        if op == "=":
            return (low is None or low <= value) and (high is None or value <= high)
        if op == "<>":
            return not (low is not None and high is not None and low == high == value)
        if op == "<":
            return low is None or low < value
        if op == "<=":
            return low is None or low <= value
        if op == ">":
            return high is None or high > value
        if op == ">=":
            return high is None or high >= value
    except TypeError:  # a bound of another type than the literal: say nothing
        return True
    return True
