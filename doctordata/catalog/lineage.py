"""Lineage of a snapshot: which source snapshots and which dbt invocation built it.

The dbt adapter (transform/writes.py) records these snapshot summary properties on every
mart it writes; ``describe`` (pyiceberg or the fast reader) reads them back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

INVOCATION_PROPERTY = "doctordata.dbt.invocation-id"
SOURCES_PROPERTY = "doctordata.dbt.sources"  # JSON {"ns.table": snapshot id}
AS_OF_PROPERTY = "doctordata.dbt.as-of"
MODEL_PROPERTY = "doctordata.dbt.mode"


def read_lineage(summary: Mapping[str, str]) -> dict[str, Any]:
    """Lineage properties of one snapshot summary (empty when dbt did not write it)."""
    out: dict[str, Any] = {}
    if INVOCATION_PROPERTY in summary:
        out["dbt_invocation_id"] = summary[INVOCATION_PROPERTY]
    if SOURCES_PROPERTY in summary:
        out["sources"] = json.loads(summary[SOURCES_PROPERTY])
    if AS_OF_PROPERTY in summary:
        out["as_of"] = summary[AS_OF_PROPERTY]
    if MODEL_PROPERTY in summary:
        out["mode"] = summary[MODEL_PROPERTY]
    return out
