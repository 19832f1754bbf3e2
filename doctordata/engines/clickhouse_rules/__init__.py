"""The sqlglot rules that give DuckDB's semantics on ClickHouse, one module per family.

Each rule is a plain function over a query's private tree; their order, names and reasons
are listed in one place, engines/clickhouse_transforms.py (:data:`TRANSFORMS`).
"""
