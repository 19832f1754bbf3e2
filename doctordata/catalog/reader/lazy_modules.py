"""Modules pyiceberg imports eagerly but doctordata's paths never use: executed on first use.

Why: ``pyiceberg.table`` imports ``pyiceberg.expressions.parser`` at module level, which
builds a pyparsing grammar (about a third of a second of CPU), only to parse row filters
given as *strings*; doctordata always passes expression objects. ``pyiceberg.utils.config``
imports strictyaml, which it needs only to read a ``.pyiceberg.yaml`` file. Both are
registered here as lazily executed modules (``importlib.util.LazyLoader``): the import
statement binds a module object at once and its body runs on the first attribute access,
so a string row filter handed straight to pyiceberg, or a .pyiceberg.yaml, still works,
only later. Nothing else changes: the finder answers for the names in ``LAZY`` only and
lets the ordinary finders locate them.

``install()`` runs when doctordata.catalog is imported, before anything in doctordata can
import pyiceberg.table; a module already imported (by the user's own code) stays as it is.
tests/catalog/test_lazy_modules.py checks both modules still work after install().
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import threading
from collections.abc import Sequence
from types import ModuleType

# Module names executed on first attribute access instead of at import.
LAZY = frozenset({"pyiceberg.expressions.parser", "strictyaml"})

_install_lock = threading.Lock()


class LazyFinder:
    """Finds the modules in ``LAZY`` with the ordinary path finder, then wraps the loader.

    A plain class: a meta path finder needs only ``find_spec``, and ``importlib.abc``
    imports importlib.resources (tempfile, zipfile, ...), which nothing else here needs."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in LAZY:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec  # not found (or an unusual loader): the import goes on as usual
        spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


def install() -> None:
    """Put the finder first on ``sys.meta_path`` (once per process)."""
    with _install_lock:
        if not any(isinstance(f, LazyFinder) for f in sys.meta_path):
            sys.meta_path.insert(0, LazyFinder())
