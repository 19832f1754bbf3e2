"""Rewrite position-delete files when a table's locations change (restore, relocate).

A position-delete file (written by merge-on-read engines: Spark, Trino, Flink, ...) names
the rows it deletes as (``file_path``, ``pos``), ``file_path`` being the data file's
absolute location *inside the Parquet rows*, and the manifest entry describing it carries
that path again as the file's lower/upper bound of the ``file_path`` column (pyiceberg and
Java index delete files by those bounds). Restoring below another root or relocating a
copy maps every data-file location; a delete file copied byte for byte would then name
locations that no longer exist, and the rows it deleted would come back.

So wherever locations are mapped, each position-delete file is rewritten with its
``file_path`` values mapped through the same mapper (same rows, sorted as the spec
requires, same Parquet field ids and codec), and its manifest entry gets the new size,
``file_path`` bounds and column size (:class:`RewrittenDelete`, applied by
avro_paths.rewrite_avro). Equality-delete files hold column values, not locations: they
are copied as they are. A value that is not a location, or a position-delete file that
cannot be rewritten (not Parquet, e.g. a v3 deletion vector in Puffin), is refused with a
LocationError naming the table, the file and the fix: never a silently wrong table.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from doctordata.errors import LocationError

if TYPE_CHECKING:
    import pyarrow as pa

PATH_FIELD_ID = 2147483546  # reserved Iceberg field id of file_path in position deletes
POS_FIELD_ID = 2147483545
_FIELD_ID_KEY = b"PARQUET:field_id"
_CODECS = {"none", "snappy", "gzip", "brotli", "lz4", "zstd"}
_LOCATION_PREFIXES = ("/", "file:/", "s3://", "s3a://", "s3n://")

# doctordata's own compaction leaves partitions with delete files alone, so the fix is
# the writer's: apply the deletes to the data files, then expire what still holds them.
FIX = (
    "apply the deletes where the table is now, with the engine that wrote them (e.g. "
    "Spark's rewrite_data_files with delete-file-threshold=1), and expire the snapshots "
    "that still hold delete files (`doctordata maintain`), then back up / copy it again; "
    "or restore to the original tier URLs (`doctordata restore --in-place`), which puts "
    "every file back as it was"
)


@dataclass(frozen=True)
class RewrittenDelete:
    """What a rewritten position-delete file's manifest entry must now say."""

    size: int
    sha256: str
    lower: bytes | None  # file_path lower/upper bound (full values: always valid bounds)
    upper: bytes | None
    column_sizes: dict[int, int] = field(default_factory=dict)  # field id -> bytes


def is_parquet(data: bytes) -> bool:
    return len(data) >= 12 and data[:4] == b"PAR1" and data[-4:] == b"PAR1"


def _field_index(schema: pa.Schema, field_id: int, name: str) -> int | None:
    """The top-level column with ``field_id``; by name only when the file has no ids."""
    with_ids = False
    for i, f in enumerate(schema):
        value = (f.metadata or {}).get(_FIELD_ID_KEY)
        if value is not None:
            with_ids = True
            if int(value) == field_id:
                return i
    if not with_ids and name in schema.names:
        return schema.get_field_index(name)
    return None


def is_location(value: object) -> bool:
    """True if ``value`` is an absolute location a LocationMapper can place."""
    return isinstance(value, str) and value.startswith(_LOCATION_PREFIXES)


def named_locations(data: bytes) -> list[str] | None:
    """The distinct ``file_path`` values of a position-delete Parquet file (None: not one)."""
    import pyarrow.parquet as pq

    source = pq.ParquetFile(io.BytesIO(data))
    col = _field_index(source.schema_arrow, PATH_FIELD_ID, "file_path")
    if col is None:
        return None
    paths = source.read(columns=[source.schema_arrow.names[col]]).column(0)
    return [str(v) for v in paths.unique().to_pylist()]


def rewrite_position_deletes(
    data: bytes, mapper: Callable[[str], str], *, table: str, location: str
) -> tuple[bytes, RewrittenDelete] | None:
    """``data`` (a delete file of ``table`` at ``location``) with every ``file_path``
    mapped, and what its manifest entry must say; None if it is not a position-delete
    Parquet file (an equality-delete file: nothing in it names a location).

    LocationError if a ``file_path`` value is not a location the mapper can place."""
    import pyarrow.parquet as pq

    source = pq.ParquetFile(io.BytesIO(data))
    schema = source.schema_arrow
    col = _field_index(schema, PATH_FIELD_ID, "file_path")
    if col is None:
        return None
    rows = source.read()
    paths = rows.column(col).combine_chunks().dictionary_encode()
    values = paths.dictionary.to_pylist()
    bad = [v for v in values if not is_location(v)]
    if bad or paths.null_count:
        shown = repr(bad[0]) if bad else "NULL"
        raise LocationError(
            f"table {table}: position-delete file {location} names the data file {shown}, "
            "which is not an absolute location, so it cannot be mapped to the new place "
            f"(its deleted rows would come back); refused, nothing was changed. Fix: {FIX}."
        )
    return _write(source, rows, col, [mapper(v) for v in values], paths)


def _write(
    source: Any, rows: pa.Table, col: int, mapped: list[str], paths: pa.DictionaryArray
) -> tuple[bytes, RewrittenDelete]:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    schema = source.schema_arrow
    new = pc.take(pa.array(mapped, schema.field(col).type), paths.indices)
    rows = rows.set_column(col, schema.field(col), new)
    keys = [(schema.field(col).name, "ascending")]
    pos = _field_index(schema, POS_FIELD_ID, "pos")
    if pos is not None:
        keys.append((schema.field(pos).name, "ascending"))
    rows = rows.sort_by(keys)  # the spec: sorted by file_path, then pos
    meta = source.metadata
    codec = meta.row_group(0).column(0).compression.lower() if meta.num_row_groups else ""
    codec = {"uncompressed": "none"}.get(codec, codec)
    out = io.BytesIO()
    pq.write_table(rows, out, compression=codec if codec in _CODECS else "zstd")
    data = out.getvalue()
    bounds = pc.min_max(new) if len(new) else None
    lower = bounds["min"].as_py().encode() if bounds is not None else None
    upper = bounds["max"].as_py().encode() if bounds is not None else None
    return data, RewrittenDelete(
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        lower=lower,
        upper=upper,
        column_sizes=_column_sizes(data),
    )


def _column_sizes(data: bytes) -> dict[int, int]:
    """Field id -> compressed bytes of each top-level primitive column (manifest metric)."""
    import pyarrow.parquet as pq

    written = pq.ParquetFile(io.BytesIO(data))
    ids: dict[str, int] = {}
    for f in written.schema_arrow:
        value = (f.metadata or {}).get(_FIELD_ID_KEY)
        if value is not None:
            ids[f.name] = int(value)
    sizes: dict[int, int] = {}
    meta = written.metadata
    for rg in range(meta.num_row_groups):
        group = meta.row_group(rg)
        for c in range(group.num_columns):
            chunk = group.column(c)
            fid = ids.get(chunk.path_in_schema)
            if fid is not None:
                sizes[fid] = sizes.get(fid, 0) + chunk.total_compressed_size
    return sizes


def not_rewritable(table: str, location: str, file_format: str) -> LocationError:
    """The refusal for a position-delete file this module cannot rewrite."""
    return LocationError(
        f"table {table}: position-delete file {location} ({file_format}) names data files "
        "by their absolute location, and only Parquet delete files can be rewritten for "
        "the new place (copied as it is, its deleted rows would come back); refused, "
        f"nothing was changed. Fix: {FIX}."
    )
