"""Every patch of pyiceberg internals, in one place, each gated on the pyiceberg version it
was checked against (0.12.x): on any other version ``install()`` does nothing and pyiceberg's
own code runs.

- metadata_updates.py: apply metadata updates without the defensive deep copies.
- metadata_cache.py: reuse parsed metadata.json files (keyed by location, size and mtime).
- metadata_json.py: write metadata.json without re-serializing every old snapshot.
- partition_split.py: split an Arrow table into its partitions in one pass.
- manifest_merge.py: merge manifests on append without rewriting full ones again.
- manifest_list_cache.py: reuse the manifest lists this process wrote instead of reading them.
- snapshot_lookup.py: find a snapshot by id without scanning the whole history.
- avro_write.py: write manifests and manifest lists with cached, compiled Avro writers.
- schema_cache.py: convert and check an append's Arrow schema once per table schema.
- config_cache.py: rebuild pyiceberg's Config only when its sources changed.
- inline_executor.py: run a small append's pool work on the calling thread.

catalog/sql.py installs them when the catalog is opened.
"""
