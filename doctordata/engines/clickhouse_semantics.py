"""DuckDB's SQL semantics on ClickHouse, kept as data: session settings and tree transforms.

DuckDB is the reference for every answer. Where ClickHouse has a switch that gives the
standard behaviour, it is in :data:`SETTINGS` (sent with every user query); where it has
none, a sqlglot transform in :data:`TRANSFORMS` rewrites the parsed query before it is
generated in ClickHouse's dialect. Each entry carries a one-line reason and has a test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlglot import exp


@dataclass(frozen=True)
class Setting:
    name: str
    value: Any
    reason: str


@dataclass(frozen=True)
class Transform:
    name: str
    apply: Callable[[exp.Expr], exp.Expr]
    reason: str


SETTINGS: tuple[Setting, ...] = (
    Setting("join_use_nulls", 1, "outer joins fill unmatched columns with NULL, not defaults"),
)

TRANSFORMS: tuple[Transform, ...] = ()


def session_settings() -> dict[str, Any]:
    """The settings of :data:`SETTINGS` as a mapping for clickhouse-connect."""
    return {s.name: s.value for s in SETTINGS}


def apply_transforms(root: exp.Expr) -> exp.Expr:
    """Run every transform over the query's private tree, in order."""
    for transform in TRANSFORMS:
        root = transform.apply(root)
    return root
