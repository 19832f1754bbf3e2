"""Storage tiers (SSD, NAS, S3) on fsspec, placement policies and the mover."""

from doctordata.storage.tier import Tier, tiers_from_settings

__all__ = ["Tier", "tiers_from_settings"]
