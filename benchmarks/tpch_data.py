"""TPC-H SF 0.01 from DuckDB's tpch extension (offline wheel), loaded into Iceberg tables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# lineitem and orders are partitioned by month of their date column, as the issue asks.
PARTITIONS = {"lineitem": ["month(l_shipdate)"], "orders": ["month(o_orderdate)"]}
NAMESPACE = "tpch"


@dataclass
class TpchData:
    tables: dict[str, Any]  # name -> pyarrow.Table
    queries: dict[int, str]  # query number -> SQL over namespace-qualified tables
    answers: dict[int, list[tuple[Any, ...]]]  # DuckDB's answer on the raw tables


def qualify(query: str, tables: set[str], namespace: str = NAMESPACE) -> str:
    """Put ``namespace.`` in front of every TPC-H table name (sqlglot, not string edits)."""
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(query, read="duckdb")
    for table in tree.find_all(exp.Table):
        if table.name in tables and not table.args.get("db"):
            table.set("db", exp.to_identifier(namespace))
    return tree.sql("duckdb")


def generate(scale: float = 0.01) -> TpchData:
    import duckdb

    from doctordata.engines.extensions import load_extension

    con = duckdb.connect()
    load_extension(con, "tpch")
    con.execute(f"CALL dbgen(sf={scale})")
    names = [r[0] for r in con.execute("SHOW TABLES").fetchall()]
    tables = {n: con.table(n).to_arrow_table() for n in names}
    raw = dict(con.execute("SELECT query_nr, query FROM tpch_queries()").fetchall())
    answers = {n: con.execute(q).fetchall() for n, q in raw.items()}
    queries = {n: qualify(q, set(names)) for n, q in raw.items()}
    con.close()
    return TpchData(tables, queries, answers)


def load(lh: Any, data: TpchData, namespace: str = NAMESPACE) -> None:
    lh.create_namespace(namespace)
    for name, table in data.tables.items():
        lh.create_table(f"{namespace}.{name}", table, partition_by=PARTITIONS.get(name))
