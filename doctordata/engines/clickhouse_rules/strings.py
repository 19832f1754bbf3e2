"""String functions that count characters, as DuckDB's do."""

from __future__ import annotations

from sqlglot import exp

# DuckDB's string functions count characters; ClickHouse's plain ones count bytes (and
# upper/lower change ASCII letters only). Their UTF-8 forms take the same arguments.
_UTF8_FUNCTIONS: dict[type[exp.Expr], tuple[str, tuple[str, ...]]] = {
    exp.Upper: ("upperUTF8", ("this",)),
    exp.Lower: ("lowerUTF8", ("this",)),
    exp.Left: ("leftUTF8", ("this", "expression")),
    exp.Right: ("rightUTF8", ("this", "expression")),
    exp.Substring: ("substringUTF8", ("this", "start", "length")),
}


def utf8_strings(root: exp.Expr) -> exp.Expr:
    for node in list(root.find_all(*_UTF8_FUNCTIONS)):
        name, keys = _UTF8_FUNCTIONS[type(node)]
        args = [node.args[k] for k in keys if node.args.get(k) is not None]
        node.replace(exp.Anonymous(this=name, expressions=args))
    return root
