"""Backup, restore and integrity checks: copies of the catalog, metadata and data files.

Owns: taking a backup (backup.py: what to copy, incremental against the previous one,
previous.py), the copy kernel and its store (copy.py, store.py), the backup manifest,
targets (where a backup may be written), pruning, verification, the catalog snapshot
that a restore replays, restore itself (rewriting Iceberg's absolute paths, avro_paths.py)
and the integrity check of a live lake against its recorded checksums.

May import: catalog/, storage/, config, errors. Never lifecycle/ or engines/ (siblings),
never lakehouse.py.
"""
