"""Merge on a key column, pruned by key ranges so a commit reads only the files it touches.

pyiceberg stops pruning files with an ``In`` predicate of more than 200 values
(``IN_PREDICATE_LIMIT``): a plain ``In(id, batch_ids)`` upsert of a 10,000-row batch
therefore reads the key column of *every* data file, and a full HackerNews load becomes
quadratic. Here the keys are first grouped into at most :data:`MAX_RANGES` id ranges,
which prune on file bounds at a constant cost per file.

New ids, above everything loaded, are the common case. Each commit records the largest
key in its snapshot summary (``doctordata.max.<key>``); a batch whose smallest key is
above it is a plain append without any planning. When the current snapshot was written by
someone else (compaction, tiering, a user), the maximum is recomputed from file bounds.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.table import Table

# Ranges per pruning predicate: each costs two bound checks per data file in planning.
MAX_RANGES = 64
# pyiceberg's own limit for pruning with In (see the module docstring).
IN_PRUNE_LIMIT = 200
# Snapshot summary property holding the largest key after the commit.
MAX_PREFIX = "doctordata.max."


def upsert(table: Table, data: pa.Table, key: str) -> dict[str, int]:
    """Replace the rows whose ``key`` is in ``data`` and insert the rest, in one commit.

    ``data`` must already have the table's Arrow schema and unique keys. Returns
    ``{"rows_updated": n, "rows_inserted": m}``. Copy-on-write; ``lh.upsert`` uses it for
    single integer keys after validating the data.

    Serializable: if a concurrent commit added or rewrote rows with any of these keys
    after this upsert read the table, the commit fails validation and the upsert is
    redone against the new head (see catalog/commits.py); CommitConflictError after
    ``commits.ATTEMPTS`` attempts.
    """
    from doctordata.catalog.commits import redo_on_conflict

    if data.num_rows == 0:
        return {"rows_updated": 0, "rows_inserted": 0}
    return redo_on_conflict(table, lambda t: _upsert_once(t, data, key), what="upsert")


def _upsert_once(table: Table, data: pa.Table, key: str) -> dict[str, int]:
    import pyarrow.compute as pc

    from doctordata.catalog.commits import guarded_append

    keys = pc.unique(data.column(key)).to_numpy()
    known = max_key(table, key)
    # Record the new maximum only when the old one is known (else it could be too low).
    summary = {} if known is None else {MAX_PREFIX + key: str(max(int(keys.max()), known))}
    # Checked only if the commit lands on a newer head: were any of our keys added since?
    guard = {
        "match": key_ranges(key, keys),
        "columns": (key,),
        "keys": data.select([key]),
        "properties": summary,
        "volatile": (MAX_PREFIX + key,),
    }
    present: Any = []
    if known is None or int(keys.min()) <= known:
        existing = table.scan(row_filter=key_ranges(key, keys), selected_fields=(key,)).to_arrow()
        present = pc.unique(
            pc.filter(existing.column(key), pc.is_in(existing.column(key), pc.unique(data[key])))
        ).to_numpy()
    with table.transaction() as tx:
        if len(present):
            ex = expressions()
            match = ex.In(key, {int(k) for k in present})
            if len(present) > IN_PRUNE_LIMIT:
                match = ex.And(key_ranges(key, present), match)
            with warnings.catch_warnings():
                # The filter matches exactly the present keys; silence "did not match".
                warnings.filterwarnings("ignore", message="Delete operation did not match")
                tx.delete(match)
        guarded_append(tx, data, **guard)
    updated = len(present)
    return {"rows_updated": updated, "rows_inserted": data.num_rows - updated}


def max_key(table: Table, key: str) -> int | None:
    """The largest ``key`` in the table (None: the table has rows but no bounds for it).

    Read from our last snapshot summary when the current snapshot is ours, else from the
    data files' upper bounds (manifests only, no data files are opened).
    """
    from pyiceberg.conversions import from_bytes

    snapshot = table.current_snapshot()
    if snapshot is None:
        return -(2**63)  # empty table: every key is new
    summary = snapshot.summary
    if summary is not None and summary.get(MAX_PREFIX + key) is not None:
        return int(summary[MAX_PREFIX + key])
    field = table.schema().find_field(key)
    best: int | None = None
    for task in table.scan().plan_files():
        bound = (task.file.upper_bounds or {}).get(field.field_id)
        if bound is None:
            return None  # a file without stats for the key: cannot tell
        value = int(from_bytes(field.field_type, bound))
        best = value if best is None else max(best, value)
    return best if best is not None else -(2**63)


def key_ranges(key: str, keys: Any) -> Any:
    """An Or of at most MAX_RANGES ``lo <= key <= hi`` ranges covering ``keys`` (numpy
    integers), cut at the largest gaps between sorted keys."""
    import numpy as np

    ex = expressions()
    ordered = np.sort(np.asarray(keys, dtype=np.int64))
    if len(ordered) > 1:
        gaps = np.diff(ordered)
        cuts = np.sort(np.argsort(gaps, kind="stable")[-(MAX_RANGES - 1) :])
        cuts = cuts[gaps[cuts] > 1]  # adjacent keys never need a cut
    else:
        cuts = np.array([], dtype=np.int64)
    starts = np.concatenate(([0], cuts + 1))
    ends = np.concatenate((cuts, [len(ordered) - 1]))
    ranges = [
        ex.And(
            ex.GreaterThanOrEqual(key, int(ordered[s])), ex.LessThanOrEqual(key, int(ordered[e]))
        )
        for s, e in zip(starts, ends, strict=True)
    ]
    return ranges[0] if len(ranges) == 1 else ex.Or(*ranges)


def expressions() -> Any:
    """pyiceberg.expressions, untyped: mypy cannot follow its generic constructors."""
    from pyiceberg import expressions as ex

    return ex
