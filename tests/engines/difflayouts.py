"""The differential test's three tables, written the awkward ways real tables get written.

tests/engines/diffgen.py says what the rows are; this module writes them into a lake so
that the files disagree with each other in every way Iceberg allows, and returns the rows
the table holds at the end (the *logical* tables). test_differential.py loads those into a
plain DuckDB database (no lake, no router) as the reference for every engine and planner.

The layouts (each a way a read once went wrong, or could):

- diff.fact: five appends (many files); partition evolution between them (month(day) ->
  + identity g (a nullable string with '', NULL, 'a b/c', 'x%y', 'é=1', '..', values
  that look like numbers, dates and 'null') and truncate(3, s) -> month(day) removed, day(day),
  hour(ts) and bucket(4, k) added); schema evolution (``n`` written as int and widened to
  long, ``s`` written as ``s_old`` and renamed, ``flag`` added by the second append, so
  the first append's files lack it: NULL); a sort order set before the third append;
  one append whose ``x`` is all NULL, one with NaN, inf and -inf in ``x``, one with
  more empty strings; a copy-on-write delete (pyiceberg rewrites the files).
- diff.dim: identity partitions on a nullable string (``cat``) and a string with spaces
  (``name``), year(since).
- diff.other: bucket(3, id) and identity ``g`` (the same awkward values), three appends,
  and a position-delete file (as a merge-on-read writer leaves one).
"""

from __future__ import annotations

import itertools
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

# Identity-partition values that have broken path-based readers: the text of the folder
# name is not the value (escaping), or looks like another type, or like NULL.
AWKWARD = ["a b/c", "x%y", "é=1", "..", "1", "2025-01-01", "null", "NULL", " ", "a=b&c"]

CHUNKS = (0, 60, 120, 180, 210, 240)  # fact's appends: [0, 60), [60, 120), ...


def _set(table: pa.Table, column: str, values: list[Any]) -> pa.Table:
    i = table.schema.get_field_index(column)
    return table.set_column(i, column, pa.array(values, table.schema.field(i).type))


def logical_before_deletes(tables: dict[str, pa.Table]) -> dict[str, pa.Table]:
    """diffgen.make_tables() with the values the layouts need (awkward strings, NaN, ...)."""
    fact = tables["diff.fact"]
    ids = fact.column("id").to_pylist()
    g = fact.column("g").to_pylist()
    g = [AWKWARD[i % len(AWKWARD)] if i % 7 == 3 else v for i, v in zip(ids, g, strict=True)]
    x = fact.column("x").to_pylist()
    special = {121: float("nan"), 125: float("inf"), 130: float("-inf"), 140: float("nan")}
    x = [
        None if 60 < i <= 120 else special.get(i, v)  # the second append: x all NULL
        for i, v in zip(ids, x, strict=True)
    ]
    s = fact.column("s").to_pylist()
    s = ["" if i > 180 and i % 3 == 0 else v for i, v in zip(ids, s, strict=True)]
    # The last appends (hour(ts), day(day) partitions): a few hours and days, few files.
    ts = fact.column("ts").to_pylist()
    ts = [
        v if i <= CHUNKS[3] or v is None else v.replace(month=4, day=3, hour=i % 2)
        for i, v in zip(ids, ts, strict=True)
    ]
    day = fact.column("day").to_pylist()
    day = [
        v if i <= CHUNKS[3] or v is None else v.replace(month=5, day=1 + i % 2)
        for i, v in zip(ids, day, strict=True)
    ]
    flag = fact.column("flag").to_pylist()
    flag = [None if i <= 60 else v for i, v in zip(ids, flag, strict=True)]  # added later
    for name, values in (("g", g), ("x", x), ("s", s), ("ts", ts), ("day", day), ("flag", flag)):
        fact = _set(fact, name, values)

    other = tables["diff.other"]
    og = other.column("g").to_pylist()
    og = [AWKWARD[j % len(AWKWARD)] if j % 5 == 1 else v for j, v in enumerate(og)]
    other = _set(other, "g", og)
    return {**tables, "diff.fact": fact, "diff.other": other}


FACT_DELETE_WHERE = "id IN ({})"  # as a where string (no arithmetic there)


def build(lh: Any, tables: dict[str, pa.Table]) -> dict[str, pa.Table]:
    """Write ``tables`` (diffgen.make_tables()) into ``lh`` as the layouts above; return
    the rows the lake's tables hold afterwards, with the lake's final types."""
    tables = logical_before_deletes(tables)
    lh.create_namespace("diff")
    fact = _build_fact(lh, tables["diff.fact"])
    lh.create_table("diff.dim", tables["diff.dim"], partition_by=["cat", "year(since)"])
    other = _build_other(lh, tables["diff.other"])
    return {"diff.fact": fact, "diff.dim": tables["diff.dim"], "diff.other": other}


def _build_fact(lh: Any, fact: pa.Table) -> pa.Table:
    from pyiceberg.types import LongType

    def chunk(lo: int, hi: int) -> pa.Table:
        return fact.slice(lo, hi - lo)

    first = (
        chunk(CHUNKS[0], CHUNKS[1])
        .drop_columns(["flag"])
        .rename_columns(["s_old" if c == "s" else c for c in fact.column_names if c != "flag"])
    )
    first = first.set_column(
        first.schema.get_field_index("n"), "n", pc.cast(first.column("n"), pa.int32())
    )
    lh.create_table("diff.fact", first.schema, partition_by=["year(day)"])
    lh.append("diff.fact", first)
    table = lh.table("diff.fact")
    with table.update_schema() as update:
        update.rename_column("s_old", "s")
        update.update_column("n", LongType())
    lh.evolve_partitions("diff.fact", add=["g"], remove=["year(day)"])
    lh.append("diff.fact", chunk(CHUNKS[1], CHUNKS[2]), evolve=True)  # adds flag
    lh.evolve_partitions("diff.fact", add=["bucket(2, k)"], remove=["g"])
    lh.set_sort_order("diff.fact", ["ts", "id DESC"])
    lh.append("diff.fact", chunk(CHUNKS[2], CHUNKS[3]))
    # Copy-on-write: the files holding these rows are rewritten (in the current spec).
    doomed = [i for i in fact.column("id").to_pylist() if i % 11 == 0 and i <= CHUNKS[3]]
    lh.delete("diff.fact", FACT_DELETE_WHERE.format(", ".join(map(str, doomed))))
    lh.evolve_partitions("diff.fact", add=["hour(ts)", "day(day)"], remove=["bucket(2, k)"])
    for lo, hi in itertools.pairwise(CHUNKS[3:]):
        lh.append("diff.fact", chunk(lo, hi))
    keep = pc.invert(pc.is_in(fact.column("id"), pa.array(doomed, pa.int64())))
    return fact.filter(keep)


def _build_other(lh: Any, other: pa.Table) -> pa.Table:
    from tests.lifecycle.deletes import add_position_deletes

    lh.create_table("diff.other", other.schema, partition_by=["g"])
    lh.append("diff.other", other.slice(0, 30))
    lh.evolve_partitions("diff.other", add=["truncate(1, g)", "bucket(3, id)"], remove=["g"])
    lh.append("diff.other", other.slice(30))
    table = lh.table("diff.other")
    target = max(table.scan().plan_files(), key=lambda t: t.file.record_count).file
    import pyarrow.parquet as pq

    path = target.file_path.removeprefix("file://")
    written = pq.read_table(path).to_pylist()
    positions = [0, len(written) - 1] if len(written) > 1 else [0]
    add_position_deletes(table, target, positions)
    # Remove one logical row equal to each deleted one.
    rows = other.to_pylist()
    for pos in positions:
        gone = {k: written[pos][k] for k in other.column_names}
        rows.remove(next(r for r in rows if r == gone))
    return pa.Table.from_pylist(rows, schema=other.schema)
