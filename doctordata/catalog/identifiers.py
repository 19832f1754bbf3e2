"""Namespace and table names, validated before anything touches the filesystem.

pyiceberg accepts names such as ``../../escape`` and writes outside the warehouse, so
every name passes through :func:`parse_table_name` / :func:`check_namespace` first.
"""

from __future__ import annotations

import re

from doctordata.errors import IdentifierError

MAX_LENGTH = 128
# fullmatch, never match + "$": "$" also matches before a trailing newline ("t\n").
_PART = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
ALLOWED = "letters, digits and '_', starting with a letter or '_', at most 128 characters"


def check_part(part: str, what: str = "name") -> str:
    if not isinstance(part, str):
        raise IdentifierError(f"{what} must be a string, got {type(part).__name__}")
    shown = part if len(part) <= 60 else part[:57] + "..."
    if not part:
        raise IdentifierError(f"{what} is empty; allowed: {ALLOWED}")
    if len(part) > MAX_LENGTH:
        raise IdentifierError(
            f"{what} {shown!r} is {len(part)} characters long; allowed: {ALLOWED}"
        )
    if not _PART.fullmatch(part):
        raise IdentifierError(f"{what} {shown!r} is not allowed; allowed: {ALLOWED}")
    return part


def check_namespace(name: str) -> str:
    return check_part(name, "namespace")


def parse_table_name(name: str) -> tuple[str, str]:
    """'ns.table' -> ('ns', 'table'), validating both parts."""
    if not isinstance(name, str) or name.count(".") != 1:
        raise IdentifierError(
            f"table name {name!r} must be 'namespace.table' (exactly one dot); each part: {ALLOWED}"
        )
    ns, table = name.split(".")
    return check_namespace(ns), check_part(table, "table name")
