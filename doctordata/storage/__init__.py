"""Bytes and places: storage tiers (SSD, NAS, S3) on fsspec, the one canonical location
form and path -> tier rule (locations.py), offline-tier guards, local copies with fsync,
transfers between tiers, free-space checks and write-back.

May import: config, errors. Nothing above it (catalog/, lifecycle/, backup/, engines/).
"""

from doctordata.storage.tier import Tier, tiers_from_settings

__all__ = ["Tier", "tiers_from_settings"]
