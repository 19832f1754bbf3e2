"""What the layers below the facade need from a lakehouse: the Workspace Protocol.

lifecycle/, backup/ and engines/ take a ``Workspace`` (engines a ``QueryHost``, see
engines/base.py) instead of the ``Lakehouse`` facade, so they never import the layer above
them. :class:`doctordata.lakehouse.Lakehouse` satisfies both; a test or a tool may pass any
object that has these attributes.

May import: config, storage/ (types only). Everything below the facade may import it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from pathlib import Path

    from pyiceberg.catalog import Catalog
    from pyiceberg.table import Table

    from doctordata.config import Settings
    from doctordata.storage.tier import Tier


class Workspace(Protocol):
    """One lakehouse root: its settings, tiers and catalog."""

    @property
    def settings(self) -> Settings: ...

    @property
    def root(self) -> Path: ...

    @property
    def tiers(self) -> dict[str, Tier]: ...

    @property
    def hot_tier(self) -> Tier: ...

    @property
    def catalog(self) -> Catalog: ...

    def table(self, name: str) -> Table:
        """The pyiceberg Table called ``ns.name`` (TableNotFoundError if none)."""
        ...

    def tables(self, namespace: str | None = None) -> list[str]:
        """Every table's ``ns.name``, optionally of one namespace."""
        ...
