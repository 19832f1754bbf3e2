"""The Iceberg catalog (pyiceberg SqlCatalog) plus what pyiceberg lacks.

Modules: sql (open the catalog), identifiers, partitioning (spec strings), filters
(``where`` strings), tables (table operations), snapshots (time travel, tags),
fileio (durable writes), maintenance, backup, integrity.
"""
