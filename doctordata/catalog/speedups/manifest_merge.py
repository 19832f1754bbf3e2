"""Manifest merging on append that never rewrites a full manifest again.

With ``commit.manifest-merge.enabled`` (catalog/tables.py table_properties), pyiceberg 0.12
packs the manifests of a table into bins of ``commit.manifest.target-size-bytes`` (8 MB)
starting from the newest, and rewrites a bin once it holds ``min-count-to-merge`` (100)
manifests. Every manifest of a table that small appends built fits one bin, so every 99th
append rewrote every entry of the table's history in pure-Python Avro: 344 ms at append
#99, about 500 ms at #990, growing without bound (benchmarks/results/ducklake.md,
"Appends"). Smaller targets do not help: a one-entry manifest is 4.6 KB (the Avro header),
so bins close after a few manifests and merge much more often.

Here a manifest that already holds ``FULL_ENTRIES`` entries or more is left out of the
merge (it stays in the manifest list as it is); the rest merge exactly as pyiceberg
merges them. A merge then rewrites fewer than FULL_ENTRIES + min-count entries, and the
manifest list gains one manifest per FULL_ENTRIES appended files. Which manifests hold
which entries is not part of any table's meaning (readers, time travel and other
writers see the same files). Only pyiceberg 0.12.x is patched; on any other version
``install()`` does nothing.
"""

from __future__ import annotations

from typing import Any

_PATCHED_VERSION = "0.12."
# Entries (files) at which a manifest is full. 1,000 entries is ~60 KB of Avro and a few
# hundred ms to rewrite in pure Python; 256 keeps a merge near 100 ms.
FULL_ENTRIES = 256
_state: dict[str, Any] = {}


def entries(manifest: Any) -> int:
    """The entries a manifest holds (live and deleted), from the manifest list alone."""
    return sum(
        getattr(manifest, name) or 0
        for name in ("added_files_count", "existing_files_count", "deleted_files_count")
    )


def install() -> bool:
    """Patch ``_ManifestMergeManager._merge_group`` once; returns whether it is active."""
    if "installed" in _state:
        return bool(_state["installed"])
    import pyiceberg
    from pyiceberg.table.update.snapshot import _ManifestMergeManager

    active = pyiceberg.__version__.startswith(_PATCHED_VERSION)
    if active:
        original = _ManifestMergeManager._merge_group

        def _merge_group(self: Any, first_manifest: Any, spec_id: int, manifests: list) -> list:
            full = [m for m in manifests if m is not first_manifest and entries(m) >= FULL_ENTRIES]
            if not full:
                return list(original(self, first_manifest, spec_id, manifests))
            rest = [m for m in manifests if m is first_manifest or entries(m) < FULL_ENTRIES]
            merged = list(original(self, first_manifest, spec_id, rest)) if rest else []
            return merged + full

        _ManifestMergeManager._merge_group = _merge_group
    _state["installed"] = active
    return active
