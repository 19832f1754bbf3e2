"""TPC-DS SF 0.01 from DuckDB's tpcds extension (offline wheel), loaded into Iceberg tables.

The generated tables are written once per session as Parquet under a temporary directory;
DuckDB's answers (the reference) are computed over views of those same Parquet files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.tpch_data import qualify

NAMESPACE = "tpcds"


@dataclass
class TpcdsData:
    files: dict[str, Path]  # table name -> its Parquet file
    queries: dict[int, str]  # query number -> SQL over namespace-qualified tables
    raw: dict[int, str]  # query number -> the query as tpcds_queries() gives it
    answers: dict[int, list[tuple[Any, ...]]]  # DuckDB's answer over the Parquet files


def generate(directory: Path, scale: float = 0.01) -> TpcdsData:
    import duckdb

    from doctordata.engines.extensions import load_extension

    con = duckdb.connect()
    load_extension(con, "tpcds")
    con.execute(f"CALL dsdgen(sf={scale})")
    names = [r[0] for r in con.execute("SHOW TABLES").fetchall()]
    files = {}
    for name in names:
        files[name] = directory / f"{name}.parquet"
        con.execute(f"COPY {name} TO '{files[name]}' (FORMAT parquet)")
    raw = dict(con.execute("SELECT query_nr, query FROM tpcds_queries()").fetchall())
    con.close()
    # The reference: DuckDB over the very Parquet files that are loaded into the lakehouse.
    con = duckdb.connect()
    for name, path in files.items():
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{path}')")
    answers = {n: con.execute(q).fetchall() for n, q in raw.items()}
    con.close()
    queries = {n: qualify(q, set(names), NAMESPACE) for n, q in raw.items()}
    return TpcdsData(files, queries, raw, answers)


def load(lh: Any, data: TpcdsData, namespace: str = NAMESPACE) -> None:
    import pyarrow.parquet as pq

    lh.create_namespace(namespace)
    for name, path in data.files.items():
        lh.create_table(f"{namespace}.{name}", pq.read_table(path))
