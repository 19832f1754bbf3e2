"""Tier policies: which data files should live on which tier.

A policy matches tables by a glob over "namespace.table". The first policy whose glob
matches a table picks the *group*: every policy with that same glob applies to the table
(so "older than 90d -> nas" and "older than 2y -> s3" work together, and a table-specific
group overrides a "*" default). Within a group a file goes to the coldest tier whose age
rule it passes; ``keep_below`` rules then move the oldest remaining files off the tier
just before their destination until that tier is under its limit.

A file's age is the newest value of the policy's column in it (column statistics, else
the partition range), or its modification time when the policy names no column.
Automatic policies only move data colder (down the configured tier order).
"""

from __future__ import annotations

import calendar
import fnmatch
import os
import re
import shutil
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from doctordata.config import PolicyConfig, parse_duration, parse_size
from doctordata.errors import TierNotFoundError, suggest

if TYPE_CHECKING:
    from pyiceberg.manifest import DataFile
    from pyiceberg.table import Table

    from doctordata.storage.tier import Tier

_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
_DAY = 86400


@dataclass(frozen=True)
class LiveFile:
    """A data file of a table's current snapshot, and where it lives."""

    table: str
    data_file: DataFile
    tier: str | None  # None: outside every configured tier
    has_deletes: bool
    current_spec: bool  # written with the table's current partition spec

    @property
    def path(self) -> str:
        return str(self.data_file.file_path)

    @property
    def size(self) -> int:
        return int(self.data_file.file_size_in_bytes)


@dataclass(frozen=True)
class Move:
    """One planned file move."""

    table: str
    data_file: DataFile
    source: str
    dest: str
    src_path: str
    dst_path: str
    size: int
    reason: str


@dataclass
class Plan:
    """Planned moves plus the files that qualified but will not move, with why."""

    moves: list[Move] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)

    def by_table(self) -> dict[str, list[Move]]:
        out: dict[str, list[Move]] = {}
        for move in self.moves:
            out.setdefault(move.table, []).append(move)
        return out


def require_tier(name: str, tiers: dict[str, Tier]) -> Tier:
    if name not in tiers:
        raise TierNotFoundError(
            f"no tier called {name!r}; configured tiers: {', '.join(tiers)}."
            f"{suggest(name, tiers)} Add [tiers.{name}] to doctordata.toml to create it."
        )
    return tiers[name]


def live_files(
    table_name: str, table: Table, tiers: dict[str, Tier], row_filter: Any = None
) -> list[LiveFile]:
    """Data files of the current snapshot (optionally only those that may match a filter)."""
    from pyiceberg.expressions import AlwaysTrue

    if table.current_snapshot() is None:
        return []
    spec_id = table.metadata.default_spec_id
    scan = table.scan(row_filter=row_filter if row_filter is not None else AlwaysTrue())
    from doctordata.storage.locations import TierIndex

    index = TierIndex(tiers)
    out = []
    for task in scan.plan_files():
        tier = index.tier_of(task.file.file_path)
        out.append(
            LiveFile(
                table=table_name,
                data_file=task.file,
                tier=tier.name if tier else None,
                has_deletes=bool(task.delete_files),
                current_spec=task.file.spec_id == spec_id,
            )
        )
    return out


# -- ages ------------------------------------------------------------------------------


def _months_to_epoch(months: int) -> float:
    year, month = divmod(months, 12)
    return float(calendar.timegm((1970 + year, month + 1, 1, 0, 0, 0)))


# Partition transform -> end of the partition's range (epoch seconds) from its value.
_TRANSFORM_END = {
    "hour": lambda v: (v + 1) * 3600.0,
    "day": lambda v: (v + 1) * float(_DAY),
    "month": lambda v: _months_to_epoch(v + 1),
    "year": lambda v: _months_to_epoch((v + 1) * 12),
}


def _value_seconds(value: Any, type_name: str) -> float | None:
    """A column value as epoch seconds: timestamps, dates, or integers taken as Unix seconds."""
    if value is None:
        return None
    if type_name.startswith("timestamp"):
        return float(value) / (1e9 if "_ns" in type_name or "ns" in type_name else 1e6)
    if type_name == "date":
        return (float(value) + 1) * _DAY if not isinstance(value, date) else None
    if type_name in ("int", "long"):
        return float(value)
    return None


def column_age_key(table: Table, data_file: DataFile, column: str) -> float | None:
    """The newest value of ``column`` in a file, as epoch seconds (None if unknown)."""
    from pyiceberg.conversions import from_bytes

    schema = table.schema()
    try:
        fld = schema.find_field(column)
    except ValueError:
        return None
    type_name = str(fld.field_type)
    raw = (data_file.upper_bounds or {}).get(fld.field_id)
    if raw is not None:
        try:
            return _value_seconds(from_bytes(fld.field_type, raw), type_name)
        except (ValueError, TypeError):
            pass
    spec = table.specs().get(data_file.spec_id)
    if spec is None:
        return None
    for pos, pfield in enumerate(spec.fields):
        if pfield.source_id != fld.field_id:
            continue
        value = data_file.partition[pos]
        if value is None:
            continue
        transform = str(pfield.transform)
        if transform in _TRANSFORM_END:
            return float(_TRANSFORM_END[transform](int(value)))
        if transform == "identity":
            return _value_seconds(value, type_name)
    return None


def file_age_key(location: str, tier: Tier | None) -> float | None:
    """A file's modification time (epoch seconds)."""
    if tier is None:
        return None
    try:
        if tier.is_local:
            return os.stat(tier.fs_path(location)).st_mtime
        info = tier.fs.info(tier.fs_path(location))
        stamp = info.get("LastModified") or info.get("mtime")
        return float(stamp.timestamp()) if stamp is not None else None
    except (OSError, AttributeError):
        return None


# -- policy matching --------------------------------------------------------------------


def policies_for(table_name: str, policies: Sequence[PolicyConfig]) -> list[PolicyConfig]:
    """The policy group of a table: every policy sharing the first matching glob."""
    for policy in policies:
        if fnmatch.fnmatchcase(table_name, policy.table):
            return [p for p in policies if p.table == policy.table]
    return []


def _tier_index(tiers: dict[str, Tier]) -> dict[str, int]:
    return {name: i for i, name in enumerate(tiers)}


def _age_key(
    table: Table, live: LiveFile, column: str | None, tiers: dict[str, Tier]
) -> float | None:
    if column:
        return column_age_key(table, live.data_file, column)
    return file_age_key(live.path, tiers.get(live.tier or ""))


def _movable(live: LiveFile) -> str | None:
    """Why a file may not move (None if it may)."""
    if live.tier is None:
        return "outside every configured tier"
    if live.has_deletes:
        return "delete files apply to it"
    if not live.current_spec:
        return "written with an older partition spec"
    return None


def make_move(live: LiveFile, dest: Tier, tiers: dict[str, Tier], reason: str) -> Move:
    assert live.tier is not None
    from doctordata.storage.locations import canonical_parts, relative_to, tier_root

    src = tiers[live.tier]
    # Canonical: a file spelled 'data//f' (older compactions) moves to 'data/f'.
    relative = relative_to(canonical_parts(live.path), tier_root(src))
    return Move(
        table=live.table,
        data_file=live.data_file,
        source=src.name,
        dest=dest.name,
        src_path=live.path,
        dst_path=dest.location(relative, like=live.path),
        size=live.size,
        reason=reason,
    )


def plan_age_moves(
    table: Table,
    files: Iterable[LiveFile],
    group: Sequence[PolicyConfig],
    tiers: dict[str, Tier],
    *,
    now: float | None = None,
) -> tuple[list[Move], list[tuple[str, str]]]:
    """Moves from a group's older_than rules (each file to the coldest rule it passes)."""
    now = time.time() if now is None else now
    index = _tier_index(tiers)
    rules = [p for p in group if p.older_than is not None]
    moves: list[Move] = []
    skipped: list[tuple[str, str]] = []
    for live in files:
        best: PolicyConfig | None = None
        for rule in rules:
            assert rule.older_than is not None
            if live.tier is not None and index[rule.to] <= index[live.tier]:
                continue  # automatic policies never move data hotter
            key = _age_key(table, live, rule.column, tiers)
            if key is None or key >= now - parse_duration(rule.older_than):
                continue
            if best is None or index[rule.to] > index[best.to]:
                best = rule
        if best is None:
            continue
        why_not = _movable(live)
        if why_not:
            skipped.append((live.path, why_not))
            continue
        what = f"{best.column} " if best.column else "file age "
        moves.append(make_move(live, tiers[best.to], tiers, f"{what}older than {best.older_than}"))
    return moves, skipped


def _tier_limit(spec: str, tier: Tier, data_bytes: int) -> int | None:
    """Bytes that must leave ``tier`` to get under ``spec`` ("400GB" or "80%")."""
    pct = _PERCENT.match(spec)
    if pct:
        if not tier.is_local:
            return None
        usage = shutil.disk_usage(tier.root)
        return max(0, usage.used - int(usage.total * float(pct.group(1)) / 100))
    return max(0, data_bytes - parse_size(spec))


def plan_keep_below(
    candidates: dict[str, tuple[Table, list[LiveFile]]],
    group: Sequence[PolicyConfig],
    tiers: dict[str, Tier],
    already: set[str],
) -> tuple[list[Move], list[tuple[str, str]]]:
    """Oldest-first moves off the tier before each keep_below rule's destination."""
    index = _tier_index(tiers)
    names = list(tiers)
    moves: list[Move] = []
    skipped: list[tuple[str, str]] = []
    for rule in group:
        if rule.keep_below is None or index[rule.to] == 0:
            continue
        watched = tiers[names[index[rule.to] - 1]]
        on_tier = [
            (table, live)
            for table, files in candidates.values()
            for live in files
            if live.tier == watched.name and live.path not in already
        ]
        excess = _tier_limit(rule.keep_below, watched, sum(lv.size for _, lv in on_tier))
        if not excess:
            continue
        aged = sorted(
            on_tier,
            key=lambda tl: _age_key(tl[0], tl[1], rule.column, tiers) or float("inf"),
        )
        for _table, live in aged:
            if excess <= 0:
                break
            why_not = _movable(live)
            if why_not:
                skipped.append((live.path, why_not))
                continue
            moves.append(
                make_move(
                    live, tiers[rule.to], tiers, f"keep {watched.name} below {rule.keep_below}"
                )
            )
            already.add(live.path)
            excess -= live.size
    return moves, skipped


def plan_policies(
    tables: dict[str, Table],
    policies: Sequence[PolicyConfig],
    tiers: dict[str, Tier],
    *,
    now: float | None = None,
) -> Plan:
    """The moves every configured policy asks for, over the given tables."""
    plan = Plan()
    groups: dict[str, tuple[list[PolicyConfig], dict[str, tuple[Table, list[LiveFile]]]]] = {}
    for name, table in tables.items():
        group = policies_for(name, policies)
        if not group:
            continue
        files = live_files(name, table, tiers)
        moves, skipped = plan_age_moves(table, files, group, tiers, now=now)
        plan.moves += moves
        plan.skipped += skipped
        groups.setdefault(group[0].table, (group, {}))[1][name] = (table, files)
    moved = {m.src_path for m in plan.moves}
    for group, candidates in groups.values():
        moves, skipped = plan_keep_below(candidates, group, tiers, moved)
        plan.moves += moves
        plan.skipped += skipped
    return plan


def plan_explicit(
    name: str,
    table: Table,
    tiers: dict[str, Tier],
    to: str,
    row_filter: Any = None,
) -> Plan:
    """Move every file of ``table`` that may hold rows matching ``row_filter`` to ``to``."""
    dest = require_tier(to, tiers)
    plan = Plan()
    for live in live_files(name, table, tiers, row_filter):
        if live.tier == dest.name:
            continue
        why_not = _movable(live)
        if why_not:
            plan.skipped.append((live.path, why_not))
            continue
        plan.moves.append(make_move(live, dest, tiers, f"requested: to {dest.name}"))
    return plan
