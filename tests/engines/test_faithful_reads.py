"""Every engine reads exactly the planned files, or fails naming the file and its tier.

ClickHouse read a local file list as one glob, and a glob skips paths that match nothing:
with a file deleted (or the NAS unmounted) it returned part of the rows with no error.
Columns whose names pyiceberg sanitises inside the Parquet files (``user-id`` is stored
as ``user_x2Did``) read as NULL on ClickHouse and failed on DuckDB. Each test runs on
every engine target (DuckDB, chDB, the loopback ClickHouse-HTTP endpoint).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyiceberg.types import StringType

from doctordata.errors import DataCorruptionError, DataFileMissingError, TierOfflineError
from tests.engines.conftest import ENGINE_OF

pytestmark = pytest.mark.clickhouse

COUNT = "SELECT count(*) AS n, sum(id) AS s FROM ev.t"


def _two_files(lh: Any) -> list[str]:
    """ev.t: 2000 rows in two partitions (one file each); returns the local file paths."""
    lh.create_namespace("ev")
    ids = pa.array(range(2000), pa.int64())
    lh.create_table(
        "ev.t", pa.table({"id": ids, "k": [str(i % 2) for i in range(2000)]}), partition_by=["k"]
    )
    files = lh.table("ev.t").inspect.files()
    by_k = dict(
        zip(
            [p["k"] for p in files.column("partition").to_pylist()],
            files.column("file_path").to_pylist(),
            strict=True,
        )
    )
    return [by_k[k].removeprefix("file://") for k in ("0", "1")]


def test_deleted_file_fails_naming_it(lh_target: tuple[Any, str]) -> None:
    lh, engine = lh_target
    gone, kept = _two_files(lh)
    assert lh.sql(COUNT, engine=engine).fetchall() == [(2000, 1999000)]
    Path(gone).unlink()
    with pytest.raises(DataFileMissingError, match=r"(?s)" + re.escape(gone) + r".*tier 'ssd'"):
        lh.sql(COUNT, engine=engine)
    # Only planned files matter: a query pruned to the intact partition still runs.
    res = lh.sql("SELECT count(*) FROM ev.t WHERE k = '1'", engine=engine)
    assert res.fetchall() == [(1000,)]
    assert Path(kept).exists()


def test_cached_plan_on_a_deleted_file_still_fails(lh_target: tuple[Any, str]) -> None:
    lh, engine = lh_target
    gone, _ = _two_files(lh)
    assert lh.sql(COUNT, engine=engine).fetchall() == [(2000, 1999000)]
    again = lh.sql(COUNT, engine=engine)
    assert again.stats.plan_cached and again.fetchall() == [(2000, 1999000)]
    Path(gone).unlink()
    with pytest.raises(DataFileMissingError, match=re.escape(gone)):
        lh.sql(COUNT, engine=engine)


def test_directory_in_place_of_a_file_fails(lh_target: tuple[Any, str]) -> None:
    # ClickHouse read a directory named like the file as an empty file.
    lh, engine = lh_target
    gone, _ = _two_files(lh)
    Path(gone).unlink()
    Path(gone).mkdir()
    with pytest.raises(DataFileMissingError, match="not a regular file"):
        lh.sql(COUNT, engine=engine)


def test_unmounted_tier_fails_naming_the_tier(
    target: str, connect: Callable[..., Any], tmp_path: Path
) -> None:
    nas = tmp_path / "nas"
    nas.mkdir()
    tiers = {"ssd": {"url": str(tmp_path / "lake" / "warehouse")}, "nas": {"url": str(nas)}}
    lh = connect(target, tiers=tiers)
    engine = ENGINE_OF[target]
    lh.create_namespace("ev")
    lh.create_table("ev.old", pa.table({"id": pa.array(range(15), pa.int64())}))
    lh.tier("ev.old", to="nas")
    lh.create_table("ev.new", pa.table({"id": pa.array(range(15, 25), pa.int64())}))
    query = "SELECT count(*) FROM (SELECT id FROM ev.old UNION ALL SELECT id FROM ev.new)"
    assert lh.sql(query, engine=engine).fetchall() == [(25,)]
    # Unmount: the mount point stays, empty.
    nas.rename(tmp_path / "nas-away")
    nas.mkdir()
    with pytest.raises((DataFileMissingError, TierOfflineError), match=r"(?s)'nas'.*mount"):
        lh.sql(query, engine=engine)
    assert lh.sql("SELECT count(*) FROM ev.new", engine=engine).fetchall() == [(10,)]


# -- damaged files (issue 13, item 11) --------------------------------------------------
def test_truncated_file_fails_naming_it(lh_target: tuple[Any, str]) -> None:
    lh, engine = lh_target
    damaged, _ = _two_files(lh)
    data = Path(damaged).read_bytes()
    Path(damaged).write_bytes(data[: len(data) // 2])
    with pytest.raises(
        DataCorruptionError, match=r"(?s)" + re.escape(damaged) + r".*manifest records"
    ):
        lh.sql(COUNT, engine=engine)


def test_file_replaced_by_another_parquet_file_fails(lh_target: tuple[Any, str]) -> None:
    # A valid Parquet file of another size: both engines used to read its rows silently.
    lh, engine = lh_target
    replaced, _ = _two_files(lh)
    pq.write_table(pa.table({"id": pa.array([7], pa.int64()), "k": ["0"]}), replaced)
    with pytest.raises(DataCorruptionError, match=re.escape(replaced)):
        lh.sql(COUNT, engine=engine)


def test_garbled_footer_of_the_same_size_fails_naming_the_file(
    lh_target: tuple[Any, str],
) -> None:
    # Same size, so the plan-time check passes; the engine's decoding error must name the
    # file (DuckDB's does not: the router finds it from the planned files' footers).
    lh, engine = lh_target
    damaged, _ = _two_files(lh)
    raw = bytearray(Path(damaged).read_bytes())
    footer = struct.unpack("<I", raw[-8:-4])[0]
    raw[len(raw) - 8 - footer : len(raw) - 8] = b"\xab" * footer
    Path(damaged).write_bytes(bytes(raw))
    with pytest.raises(DataCorruptionError, match=re.escape(damaged)):
        lh.sql(COUNT, engine=engine)


# -- column names pyiceberg sanitises ----------------------------------------------------
ODD = pa.table(
    {
        "user-id": pa.array([1, 2, 3, 4], pa.int64()),
        "first name": ["ann", "bob", "cy", None],
        "a.b": [0.5, 1.5, 2.5, 3.5],
        "1st": ["w", "x", "y", "z"],
    }
)


def test_non_avro_column_names_read_their_values(lh_target: tuple[Any, str]) -> None:
    lh, engine = lh_target
    lh.create_namespace("ev")
    lh.create_table("ev.odd", ODD)
    res = lh.sql(
        'SELECT "user-id", "first name", "a.b", "1st" FROM ev.odd '
        'WHERE "user-id" >= 2 AND "first name" IS NOT NULL AND "a.b" < 3 ORDER BY 1',
        engine=engine,
    )
    assert res.fetchall() == [(2, "bob", 1.5, "x"), (3, "cy", 2.5, "y")]
    star = lh.sql("SELECT * FROM ev.odd ORDER BY 1", engine=engine)
    assert star.columns == ["user-id", "first name", "a.b", "1st"]
    assert star.fetchall() == [tuple(r.values()) for r in ODD.to_pylist()]


def test_non_avro_names_after_rename_and_add(lh_target: tuple[Any, str]) -> None:
    lh, engine = lh_target
    lh.create_namespace("ev")
    lh.create_table("ev.odd", ODD)
    with lh.table("ev.odd").update_schema() as update:
        update.rename_column("user-id", "uid")
        update.rename_column("a.b", "ratio %")
        update.add_column("last-name", StringType())
    lh.append(
        "ev.odd",
        pa.table(
            {
                "uid": pa.array([5], pa.int64()),
                "first name": ["dee"],
                "ratio %": [4.5],
                "1st": ["v"],
                "last-name": ["doe"],
            }
        ),
    )
    res = lh.sql(
        'SELECT uid, "first name", "ratio %", "last-name" FROM ev.odd '
        'WHERE "ratio %" > 1 AND uid <> 3 ORDER BY uid',
        engine=engine,
    )
    assert res.fetchall() == [(2, "bob", 1.5, None), (4, None, 3.5, None), (5, "dee", 4.5, "doe")]
    assert lh.sql(
        "SELECT count(*) FROM ev.odd WHERE \"last-name\" = 'doe'", engine=engine
    ).fetchall() == [(1,)]


def test_non_avro_name_inside_a_struct(lh_target: tuple[Any, str]) -> None:
    lh, engine = lh_target
    lh.create_namespace("ev")
    rows = pa.table({"id": pa.array([1, 2], pa.int64()), "p": [{"in-ner": 10}, {"in-ner": 20}]})
    lh.create_table("ev.nested", rows)
    res = lh.sql('SELECT id, p."in-ner" AS v FROM ev.nested ORDER BY id', engine=engine)
    assert res.fetchall() == [(1, 10), (2, 20)]


# -- an S3 tier (SeaweedFS) ---------------------------------------------------------------
@pytest.mark.s3
@pytest.mark.parametrize("engine", ["duckdb", "clickhouse"])
def test_s3_file_deleted_or_damaged_fails_naming_it(
    connect: Callable[..., Any], s3_env: Any, s3_bucket: str, engine: str
) -> None:
    tiers = {"s3": {"url": f"s3://{s3_bucket}/lake", "endpoint": s3_env.endpoint}}
    lh = connect("chdb", tiers=tiers)
    lh.create_namespace("ev")
    data = pa.table({"id": pa.array(range(30), pa.int64()), "k": [str(i % 3) for i in range(30)]})
    lh.create_table("ev.t", data, partition_by=["k"])
    files = lh.table("ev.t").inspect.files()
    by_k = dict(
        zip(
            [p["k"] for p in files.column("partition").to_pylist()],
            files.column("file_path").to_pylist(),
            strict=True,
        )
    )
    gone, empty, garbled = (by_k[k] for k in ("0", "1", "2"))
    fs = s3_env.filesystem()
    assert lh.sql(COUNT, engine=engine).fetchall() == [(30, 435)]

    raw = bytearray(fs.cat(garbled.removeprefix("s3://")))
    footer = struct.unpack("<I", raw[-8:-4])[0]
    raw[len(raw) - 8 - footer : len(raw) - 8] = b"\xab" * footer
    fs.pipe(garbled.removeprefix("s3://"), bytes(raw))
    with pytest.raises(DataCorruptionError, match=re.escape(garbled)):
        lh.sql("SELECT sum(id) FROM ev.t WHERE k = '2'", engine=engine)

    fs.pipe(empty.removeprefix("s3://"), b"")  # ClickHouse skipped empty S3 files
    with pytest.raises(DataCorruptionError, match=re.escape(empty)):
        lh.sql("SELECT count(*) FROM ev.t WHERE k = '1'", engine=engine)

    fs.rm(gone.removeprefix("s3://"))
    with pytest.raises(DataFileMissingError, match=r"(?s)" + re.escape(gone) + r".*tier 's3'"):
        lh.sql("SELECT count(*) FROM ev.t WHERE k = '0'", engine=engine)


def test_engine_errors_about_a_file_are_typed(lh_target: tuple[Any, str]) -> None:
    # A file that disappears after the plan-time check: the engine's own error is
    # translated (DuckDB's IO error, ClickHouse's FILE_DOESNT_EXIST / INCORRECT_DATA).
    lh, engine = lh_target
    eng = lh.engine(engine)
    root = Path(lh.tiers["ssd"].root)
    root.mkdir(parents=True, exist_ok=True)
    gone, bad = root / "gone.parquet", root / "bad.parquet"
    bad.write_bytes(b"PAR1 not parquet at all")
    reads = {
        "duckdb": "SELECT * FROM read_parquet(['{}'])",
        "clickhouse": "SELECT * FROM file('{}', 'Parquet', 'id Nullable(Int64)')",
    }
    with pytest.raises(DataFileMissingError, match=r"(?s)" + re.escape(str(gone)) + ".*'ssd'"):
        eng.execute(reads[engine].format(gone))
    with pytest.raises(DataCorruptionError, match=r"(?s)" + re.escape(str(bad)) + ".*'ssd'"):
        eng.execute(reads[engine].format(bad))
