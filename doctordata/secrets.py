"""The one way config values are shown: secrets masked by key name and by URL part.

Every repr, log line and error message that formats a config value goes through
:func:`mask` (a value whose shape is known) or :func:`mask_text` (free text such as a
driver's error message). Secrets are recognised by an allow-list of *safe* shapes turned
around: a key whose name has a secret-like word in it is masked whatever its value, and in
a URL the userinfo password and every query parameter with such a name are masked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"

# Words that make a key name secret, matched against the name's parts split on . _ - and
# case changes (``s3.secret-access-key``, ``sslpassword``, ``X-Amz-Signature``, ``apiKey``).
SECRET_WORDS = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "pass",
        "passphrase",
        "secret",
        "token",
        "key",
        "apikey",
        "credential",
        "credentials",
        "auth",
        "authorization",
        "signature",
        "sig",
        "sas",
        "cookie",
    }
)
# Substrings that make a key secret even when glued to other words (``sslpassword``).
SECRET_SUBSTRINGS = ("password", "passwd", "secret", "token", "credential", "apikey")

_SPLIT = re.compile(r"[^a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>`]+")
# key=value and 'key': 'value' pairs in free text (a driver message, a dict's repr).
_PAIR_EQ = re.compile(
    r"(?P<key>[A-Za-z_][\w.-]*)(?P<sep>\s*=\s*)(?P<q>['\"]?)(?P<val>[^\s'\",;&)]+)"
)
_PAIR_REPR = re.compile(
    r"(?P<q1>['\"])(?P<key>[^'\"]+)(?P=q1)(?P<sep>\s*:\s*)(?P<q2>['\"])(?P<val>.*?)(?<!\\)(?P=q2)"
)


def is_secret_key(name: object) -> bool:
    """True if a config key or URL parameter called ``name`` holds a secret."""
    if not isinstance(name, str):
        return False
    lowered = _CAMEL.sub("_", name).lower()
    if any(s in lowered for s in SECRET_SUBSTRINGS):
        return True
    return any(part in SECRET_WORDS for part in _SPLIT.split(lowered) if part)


def mask_url(url: str | None) -> str | None:
    """A URL with its userinfo password and secret query parameters replaced by ``***``.

    ``postgresql://u:pw@h/db?sslpassword=x&sslmode=require``
    -> ``postgresql://u:***@h/db?sslpassword=***&sslmode=require``.
    """
    if not url:
        return url
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "<unparseable url>"
    netloc = parts.netloc
    if password is not None:
        host = netloc.rsplit("@", 1)[1]
        netloc = f"{parts.username or ''}:{MASK}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(is_secret_key(k) for k, _ in pairs):
            query = urlencode([(k, MASK if is_secret_key(k) else v) for k, v in pairs], safe="*")
    fragment = MASK if parts.fragment and "=" in parts.fragment else parts.fragment
    if (netloc, query, fragment) == (parts.netloc, parts.query, parts.fragment):
        return url
    return urlunsplit(parts._replace(netloc=netloc, query=query, fragment=fragment))


def mask(value: Any, key: object = None) -> Any:
    """``value`` (a config value, possibly nested) safe to print.

    A value under a secret key name becomes ``***``; strings that are URLs lose their
    password and secret parameters; mappings and sequences are masked item by item.
    """
    if key is not None and is_secret_key(key) and value not in (None, "", {}, []):
        return MASK
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {k: mask(v, k) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return type(value)(mask(v) for v in value)
    return value


def mask_text(text: str) -> str:
    """Free text with every URL masked and every ``secret_key=value`` pair masked."""
    if not isinstance(text, str):
        return text
    out = _URL_IN_TEXT.sub(lambda m: mask_url(m.group(0)) or "", text)

    def _pair(m: re.Match[str]) -> str:
        if not is_secret_key(m.group("key")) or m.group("val") == MASK:
            return m.group(0)
        return (
            m.group(0)[: m.start("val") - m.start(0)]
            + MASK
            + m.group(0)[m.end("val") - m.start(0) :]
        )

    out = _PAIR_REPR.sub(_pair, out)
    return _PAIR_EQ.sub(_pair, out)
