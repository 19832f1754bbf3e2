"""A NULL partition value compares as SQL NULL in pyiceberg's residual evaluator.

pyiceberg 0.12's ``ResidualVisitor`` compares a partition value with a literal using
Python's ``<``: for a file whose partition value is NULL (``month(day)`` of rows whose
``day`` is NULL) a filter such as ``day >= '2025-04-03'`` inside an OR raised
``TypeError: '<' not supported between 'NoneType' and 'int'`` while planning, so
``lh.sql("... WHERE NOT (x = 1 AND day < DATE '2025-04-03')")`` failed on any table
partitioned by a transform of a column holding NULLs. Found by the random differential
test (tests/engines/test_differential.py).

A comparison with NULL is never true, so a NULL partition value makes every comparison
and IN residual AlwaysFalse (the partition cannot hold a matching row). doctordata does
not use residuals to filter rows (the engines apply the whole WHERE), so this only stops
the crash. Only pyiceberg 0.12.x is patched; on any other version ``install()`` does
nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_PATCHED_VERSION = "0.12."
# The visitor methods that compare the partition value with one literal or a set.
_COMPARISONS = (
    "visit_less_than",
    "visit_less_than_or_equal",
    "visit_greater_than",
    "visit_greater_than_or_equal",
    "visit_equal",
    "visit_not_equal",
    "visit_in",
    "visit_not_in",
)
_state: dict[str, Any] = {}


def _null_is_false(original: Callable[..., Any]) -> Callable[..., Any]:
    def visit(self: Any, term: Any, *args: Any, **kwargs: Any) -> Any:
        if term.eval(self.struct) is None:
            return self.visit_false()
        return original(self, term, *args, **kwargs)

    visit.__name__ = original.__name__
    visit.__doc__ = original.__doc__
    return visit


def install() -> bool:
    """Patch ``ResidualVisitor`` once; returns whether the patch is active."""
    if "installed" in _state:
        return bool(_state["installed"])
    import pyiceberg
    from pyiceberg.expressions.visitors import ResidualVisitor

    active = pyiceberg.__version__.startswith(_PATCHED_VERSION)
    if active:
        for name in _COMPARISONS:
            setattr(ResidualVisitor, name, _null_is_false(getattr(ResidualVisitor, name)))
    _state["installed"] = active
    return active
