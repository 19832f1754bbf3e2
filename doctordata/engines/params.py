"""Query parameters: bind ``?`` / ``$1`` / ``$name`` placeholders to literal nodes.

Values never go through string formatting: each becomes a sqlglot literal node in the parsed
tree, so the generator quotes it for the engine's dialect, the safety checks see the bound
query, and pushdown can use the value. Only the Python types below are accepted (an
allow-list); anything else is refused with the parameter's name.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlglot import exp

from doctordata.errors import InvalidArgumentError

Params = Sequence[Any] | Mapping[str, Any]


def number_placeholders(query: str, dialect: str) -> str:
    """``query`` with each ``?`` token renamed ``$1``, ``$2``, ... in the order written.

    sqlglot's tree order is not the text order (LIMIT, WITH), so positions are fixed on the
    tokens, where a ``?`` inside a string or comment is not a placeholder.
    """
    if "?" not in query:
        return query
    from sqlglot.dialects.dialect import Dialect
    from sqlglot.errors import TokenError
    from sqlglot.tokens import TokenType

    try:
        tokens = Dialect.get_or_raise(dialect).tokenize(query)
    except TokenError:
        return query  # the parser reports the syntax error
    out: list[str] = []
    last = 0
    number = 0
    for token in tokens:
        if token.token_type == TokenType.PLACEHOLDER and token.text == "?":
            number += 1
            out.append(query[last : token.start])
            out.append(f"${number}")
            last = token.end + 1
    out.append(query[last:])
    return "".join(out)


def bind(root: exp.Expr, params: Params | None) -> None:
    """Replace every placeholder in ``root`` (in place) by the matching value of ``params``.

    ``params`` is a sequence for ``$1, $2, ...`` (1-based; ``?`` is numbered by
    number_placeholders before parsing), or a mapping for ``$name``. Placeholders without params, params without placeholders, and unknown or
    missing names raise InvalidArgumentError.
    """
    holders = list(root.find_all(exp.Placeholder))
    if params is None:
        if holders:
            raise InvalidArgumentError(
                f"the query has {len(holders)} parameter placeholder(s) ('?' or '$name') but "
                "no params; pass them, e.g. lh.sql('... WHERE id = ?', params=[42])"
            )
        return
    if isinstance(params, (str, bytes)) or not isinstance(params, (Sequence, Mapping)):
        raise InvalidArgumentError(
            f"params={params!r} must be a list/tuple (for '?' or '$1') or a dict (for "
            "'$name'), e.g. params=[42] or params={'id': 42}"
        )
    used: set[str | int] = set()
    for holder in holders:
        key = _key(holder, params)
        used.add(key)
        value = params[key] if isinstance(params, Mapping) else params[int(key)]  # type: ignore[index]
        holder.replace(literal(value, key))
    given: set[str | int] = set(params) if isinstance(params, Mapping) else set(range(len(params)))
    unused = given - used
    if unused:
        shown = sorted(str(k if isinstance(params, Mapping) else int(k) + 1) for k in unused)
        raise InvalidArgumentError(
            f"params given but not used by the query: {', '.join(shown)}; the query names "
            f"{len(holders)} placeholder(s). Remove them or add '?'/'$name' to the query"
        )


def _key(holder: exp.Placeholder, params: Params) -> str | int:
    name = str(holder.args.get("this") or "")
    if isinstance(params, Mapping):
        if not name or name.isdigit():
            raise InvalidArgumentError(
                "params is a dict, so every placeholder must be named ('$name'); the query "
                "has '?' or '$1'. Pass a list instead, or write $name in the query"
            )
        if name not in params:
            raise InvalidArgumentError(
                f"parameter ${name} has no value in params (given: {sorted(params)}); "
                f"add params[{name!r}]"
            )
        return name
    if name and not name.isdigit():
        raise InvalidArgumentError(
            f"the query names parameter ${name}, so params must be a dict, e.g. "
            f"params={{{name!r}: ...}}"
        )
    if not name:
        raise InvalidArgumentError("number '?' placeholders with number_placeholders() first")
    index = int(name) - 1
    if not 0 <= index < len(params):
        raise InvalidArgumentError(
            f"placeholder number {index + 1} has no value: params has {len(params)} value(s)"
        )
    return index


def literal(value: Any, key: str | int = "?") -> exp.Expr:
    """The sqlglot node for one parameter value (typed as DuckDB types a bound value)."""
    if value is None or isinstance(value, (bool, str, int)):
        return exp.convert(value)
    if isinstance(value, float):
        text = repr(value) if math.isfinite(value) else str(value)
        return exp.cast(exp.Literal.string(text), exp.DataType.build("DOUBLE"))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise InvalidArgumentError(f"parameter {_label(key)} is {value!r}; pass a float")
        _sign, digits, exponent = value.as_tuple()
        assert isinstance(exponent, int)
        scale = max(0, -exponent)
        precision = min(38, max(len(digits), scale + 1))
        kind = exp.DataType.build(f"DECIMAL({precision}, {scale})")
        return exp.cast(exp.Literal.string(str(value)), kind)
    if isinstance(value, dt.datetime):
        zone = "TIMESTAMPTZ" if value.tzinfo is not None else "TIMESTAMP"
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), exp.DataType.build(zone))
    if isinstance(value, dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.build("DATE"))
    raise InvalidArgumentError(
        f"parameter {_label(key)} is a {type(value).__name__} ({value!r}); params accept "
        "str, int, float, bool, None, Decimal, datetime.date and datetime.datetime"
    )


def _label(key: str | int) -> str:
    return f"${key}" if isinstance(key, str) else f"number {key + 1}"
