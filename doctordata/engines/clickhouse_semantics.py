"""DuckDB's SQL semantics on ClickHouse, kept as data: session settings and tree transforms.

DuckDB is the reference for every answer. Where ClickHouse has a switch that gives the
standard behaviour, it is in :data:`SETTINGS` (sent with every user query); where it has
none, a sqlglot transform in :data:`TRANSFORMS` rewrites the parsed query before it is
generated in ClickHouse's dialect. Each entry carries a one-line reason and has a test.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlglot import exp


@dataclass(frozen=True)
class Setting:
    name: str
    value: Any
    reason: str


SETTINGS: tuple[Setting, ...] = (
    Setting("join_use_nulls", 1, "outer joins fill unmatched columns with NULL, not defaults"),
    Setting("group_by_use_nulls", 1, "ROLLUP/CUBE/GROUPING SETS leave rolled-up keys NULL"),
    Setting(
        "prefer_column_name_to_alias",
        1,
        "a column hides a same-named SELECT alias (SUM(x) AS x, then SUM(x) again)",
    ),
    Setting(
        "allow_lossy_numeric_supertype",
        1,
        "Decimal and Float64 branches of CASE/coalesce unify to Float64 (DuckDB: DOUBLE)",
    ),
    Setting(
        "enable_positional_arguments",
        1,
        "ORDER BY 2 means the second output column (order_by_output_names relies on it)",
    ),
    Setting("aggregate_functions_null_for_empty", 1, "sum() over no rows is NULL, not 0"),
    Setting(
        "session_timezone",
        "UTC",
        "a TIMESTAMP (DateTime64 without zone) is wall-clock time: read in UTC, never in the "
        "server's or the process's zone (hour(ts), CAST(ts AS VARCHAR), string literals); a "
        "TIMESTAMPTZ carries DuckDB's session zone in its type (clickhouse_rules/zones.py)",
    ),
    Setting(
        "enable_named_columns_in_function_tuple",
        1,
        "tuple(x AS a) is a named Tuple(a ...), as DuckDB's struct literal {'a': x}",
    ),
)


def session_settings() -> dict[str, Any]:
    """The settings of :data:`SETTINGS` as a mapping for clickhouse-connect."""
    return {s.name: s.value for s in SETTINGS}


def __getattr__(name: str) -> Any:
    # TRANSFORMS live in engines/clickhouse_transforms.py, which imports sqlglot: the
    # engine's settings must not (a cached ClickHouse query never loads the parser).
    if name == "TRANSFORMS":
        from doctordata.engines.clickhouse_transforms import TRANSFORMS

        return TRANSFORMS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def apply_transforms(root: exp.Expr, schemas: Mapping[str, Any] | None = None) -> exp.Expr:
    """Run every transform over the query's private tree, in order.

    ``schemas`` maps a scanned table's name in the tree to its Iceberg schema: with it, the
    rewrites that depend on an argument's type (round of a float, CAST to an integer) apply.
    """
    transforms: Any = globals().get("TRANSFORMS")  # a test may replace the list
    if transforms is None:
        from doctordata.engines.clickhouse_transforms import TRANSFORMS as transforms
    # A query of no table is typed too (CAST(TIMESTAMP '...' AS VARCHAR) needs its type).
    from doctordata.engines.clickhouse_types import (
        annotate_argument_types,
        record_nested_columns,
    )

    annotate_argument_types(root, schemas or {})
    if schemas:
        record_nested_columns(root, schemas)
    for transform in transforms:
        root = transform.apply(root)
    return root
