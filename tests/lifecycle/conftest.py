"""Fixtures for tests/lifecycle: the tiered lakehouses of tests/tiered_lakes.py."""

from tests.tiered_lakes import make_lake

__all__ = ["make_lake"]
