"""Arguments of the public API checked against their annotations before any work starts.

The facade's annotations are the contract: ``name: str``, ``on: Sequence[str]``,
``properties: Mapping[str, str] | None``. A wrong type fails here as InvalidArgumentError
naming the method, the parameter, the value and what fits, instead of deep inside
pyiceberg as an AttributeError. ``**options`` are checked against the function they are
passed on to (unknown names and wrong types alike).
"""

from __future__ import annotations

import functools
import inspect
import numbers
from collections.abc import Callable, Mapping
from typing import Any

from doctordata.errors import InvalidArgumentError
from doctordata.secrets import mask


def _is_str_seq(v: Any) -> bool:
    return isinstance(v, str) or (
        isinstance(v, list | tuple) and all(isinstance(x, str) for x in v)
    )


def _is_str_map(v: Any) -> bool:
    return isinstance(v, Mapping) and all(
        isinstance(k, str) and isinstance(x, str) for k, x in v.items()
    )


_CHECKS: dict[str, Callable[[Any], bool]] = {
    "str": lambda v: isinstance(v, str),
    "int": lambda v: isinstance(v, numbers.Integral) and not isinstance(v, bool),
    "float": lambda v: isinstance(v, numbers.Real) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "None": lambda v: v is None,
    "Sequence[str]": _is_str_seq,
    "Mapping[str, str]": _is_str_map,
}


def _fits(value: Any, annotation: Any) -> bool | None:
    """True/False if the annotation is one we check, None if it is not (Any, classes)."""
    if not isinstance(annotation, str):
        return None
    checks = [_CHECKS.get(part.strip()) for part in annotation.split("|")]
    if not checks or any(c is None for c in checks):
        return None
    return any(c(value) for c in checks if c is not None)


def _shown(value: Any) -> str:
    text = repr(mask(value))
    return text if len(text) <= 80 else text[:77] + "..."


@functools.cache
def _signature(func: Callable[..., Any]) -> inspect.Signature:
    return inspect.signature(func)


# Names checked by catalog/identifiers.py (which names the allowed characters).
_IDENTIFIERS = {"name", "new_name", "namespace", "table"}
# Parameters annotated Any whose values are still of known kinds.
_TIME_REF = "a snapshot id (int), a tag/branch name or ISO time (str), a datetime or None"


def _is_time_ref(value: Any) -> bool:
    import datetime as dt

    return value is None or (isinstance(value, int | str | dt.date) and not isinstance(value, bool))


def check_value(where: str, name: str, value: Any, annotation: Any) -> None:
    if name in ("as_of", "to") and annotation == "Any" and not _is_time_ref(value):
        raise InvalidArgumentError(
            f"{where}: {name} = {_shown(value)} ({type(value).__name__}) does not fit; "
            f"expected {_TIME_REF}"
        )
    texts = [value] if isinstance(value, str) else value if _is_str_seq(value) else []
    if name not in _IDENTIFIERS and any("\x00" in t for t in texts):
        raise InvalidArgumentError(
            f"{where}: {name} = {_shown(value)} contains a NUL character; remove it"
        )
    if _fits(value, annotation) is False:
        raise InvalidArgumentError(
            f"{where}: {name} = {_shown(value)} ({type(value).__name__}) does not fit; "
            f"expected {annotation}"
        )


def check_arguments(
    method: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    """Check a facade call's arguments (``args`` without self) against its annotations."""
    sig = _signature(method)
    where = f"lh.{method.__name__}()"
    try:
        bound = sig.bind(None, *args, **kwargs)
    except TypeError as exc:
        raise InvalidArgumentError(f"{where}: {exc}; signature: {sig}") from None
    for name, value in list(bound.arguments.items())[1:]:
        param = sig.parameters[name]
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            continue
        check_value(where, name, value, param.annotation)
