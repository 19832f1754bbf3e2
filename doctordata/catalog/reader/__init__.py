"""A read-only fast path over a SQLite catalog: the standard library only.

pyiceberg stays the writer and the reference. Opening its SqlCatalog imports SQLAlchemy,
pydantic models of the whole metadata and (through pyiceberg.io.pyarrow) pandas: about
3 s of CPU before a command does anything. Read-only commands (`tables`, `describe`,
`snapshots`, `tiers`) and the persistent plan cache need much less: the catalog's rows
(sqlite3, read-only, WAL-safe), one metadata.json (json) and, for file counts, the
manifests (avro.py). :func:`open_reader` returns None whenever this path does not apply
(a Postgres or REST catalog, no catalog file yet); any surprise while reading raises
:class:`Unsupported`, and the caller then takes the pyiceberg path, which also produces
the typed errors (a missing table, an offline tier, a damaged metadata file).
tests/catalog/test_fast_reader.py checks that both paths agree on every table shape.

tables.py serves the query planner: a real pyiceberg Table loaded from the catalog row and
metadata.json, whose FileIO opens local files with ``open()`` (pyiceberg's core, not its
Arrow FileIO or SQLAlchemy), so a new query prunes with pyiceberg's own code.
tests/engines/test_fast_planning.py checks it plans exactly as the SqlCatalog path.
"""

from __future__ import annotations

from doctordata.catalog.reader.catalog import CatalogReader, Unsupported, open_reader

__all__ = ["CatalogReader", "Unsupported", "open_reader"]
