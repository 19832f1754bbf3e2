"""Local frames: ``lh.sql(q, tables={"recent": df})`` joins an in-memory frame by name.

Each frame (Arrow, pandas, polars, anything with the Arrow C stream) is written once to a
Parquet file in the query's scratch directory and read through the same engine scan as a
table, so it works on every engine, and the frame's types are the ones an append of the
same frame would store.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlglot import exp

from doctordata.engines.scan import ScanColumn, ScanPlan
from doctordata.errors import InvalidArgumentError

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def check_names(tables: Mapping[str, Any] | None) -> dict[str, Any]:
    """``tables`` keyed by lower-case name; a bad name is an InvalidArgumentError."""
    if tables is None:
        return {}
    if not isinstance(tables, Mapping):
        raise InvalidArgumentError(
            f"tables={type(tables).__name__} must be a dict of name -> frame, e.g. "
            "tables={'recent': df}"
        )
    out: dict[str, Any] = {}
    for name, frame in tables.items():
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise InvalidArgumentError(
                f"tables key {name!r} is not a plain SQL name (letters, digits, _); the "
                "query refers to it unqualified, e.g. tables={'recent': df}"
            )
        out[name.lower()] = frame
    return out


def local_nodes(root: exp.Expr, tables: Mapping[str, Any]) -> list[exp.Table]:
    """Unqualified table references in ``root`` that name one of ``tables`` (not a CTE)."""
    if not tables:
        return []
    ctes = {cte.alias_or_name.lower() for cte in root.find_all(exp.CTE)}
    return [
        node
        for node in root.find_all(exp.Table)
        if not isinstance(node.this, exp.Func)
        and not node.args.get("db")
        and node.name.lower() in tables
        and node.name.lower() not in ctes
    ]


def frame_plan(name: str, frame: Any, scratch: Path) -> ScanPlan:
    """Write ``frame`` to a scratch Parquet file and describe it as a scan."""
    import pyarrow.parquet as pq

    from doctordata.catalog.data import to_arrow
    from doctordata.catalog.tables import iceberg_schema

    arrow = to_arrow(frame)
    schema = iceberg_schema(arrow.schema)
    scratch.mkdir(parents=True, exist_ok=True)
    path = scratch / f"local-{name}-{uuid.uuid4().hex}.parquet"
    pq.write_table(arrow, path)
    columns = tuple(ScanColumn(f.field_id, f.name, f.field_type, f.required) for f in schema.fields)
    return ScanPlan(
        table=name,
        snapshot_id=None,
        columns=columns,
        files=(str(path),),
        files_total=1,
        bytes_planned=path.stat().st_size,
        has_field_ids=False,
        materialised=True,
    )
