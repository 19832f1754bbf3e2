"""Does a query's text mention a clock function? (No sqlglot: asked on every plan-cache lookup.)"""

from __future__ import annotations

import re

# Any mention (even in a string or a column name) keeps a query out of the plan cache.
_MENTION = re.compile(
    r"\b(now|current_date|current_timestamp|today|get_current_timestamp|"
    r"transaction_timestamp)\b",
    re.IGNORECASE,
)


def mentions_now(query: str) -> bool:
    """True if the query text may call a clock function (then it is not plan-cached)."""
    return _MENTION.search(query) is not None
