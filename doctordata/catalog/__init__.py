"""The Iceberg catalog (pyiceberg SqlCatalog) plus what pyiceberg lacks.

Owns: opening the catalog (sql.py, catalog_guard.py), identifiers, partition spec strings
(partitioning.py), ``where`` strings (filters.py, where_literals.py, where_domains.py),
table operations (tables.py, data.py, merge.py, commits.py), snapshots and tags, durable
writes (fileio.py) and recorded checksums, what a table references (references.py),
file-rewrite commits (rewrite.py, swap.py, partition_bounds.py), and every
pyiceberg patch (speedups/).

May import: storage/, config, errors. Never engines/, lifecycle/, backup/ or lakehouse.py.
"""

from doctordata.catalog.reader import lazy_modules as _lazy_modules

# Before anything below can import pyiceberg.table: its string-filter parser (pyparsing)
# and strictyaml run on first use only (catalog/reader/lazy_modules.py says why).
_lazy_modules.install()
