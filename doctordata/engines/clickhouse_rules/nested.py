"""Lists, maps and structs: NULL nested values, struct literals and fields, elements."""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from doctordata.engines.clickhouse_rules.common import call
from doctordata.engines.clickhouse_types import (
    nested_columns,
    nested_element_columns,
    nested_tables,
    struct_columns,
)
from doctordata.errors import UnsupportedSQLError

# -- nested columns: ClickHouse reads a NULL list or map as [] / {} and a NULL struct as a
# tuple of NULLs (no Nullable(Array) or Nullable(Map); a Parquet struct cannot be read as
# Nullable(Tuple)). Its elements and fields read right: x[1], m['k'], s['a'] are NULL on
# both engines. Anything that sees the value itself (count(x), x IS NULL, coalesce(x, ..),
# len(x), SELECT x, SELECT *) would differ from DuckDB: refused, loudly.
_ELEMENT_ACCESS = (exp.Bracket, exp.Dot)


def _nested_refusal(name: str, kind: str, context: str) -> UnsupportedSQLError:
    return UnsupportedSQLError(
        f"column {name!r} is a {kind} that may be NULL, and ClickHouse reads a NULL {kind} "
        f"as empty, so {context} could differ from DuckDB's answer. Run this query with "
        "engine='duckdb', or read only its elements or fields (x[1], x['key'])."
    )


def nested_nulls(root: exp.Expr) -> exp.Expr:
    nested = nested_columns(root)
    if not nested:
        return root
    by_table = nested_tables(root)
    cleared = _plain_columns(root, by_table)
    for column in root.find_all(exp.Column):
        kind = nested.get(column.name.lower())
        if kind is None or column.is_star or id(column) in cleared:
            continue  # a star (t.*) is checked below
        parent = column.parent
        if isinstance(parent, _ELEMENT_ACCESS) and parent.this is column:
            continue
        if isinstance(parent, (exp.Unnest, exp.Explode)):
            continue
        context = parent.sql("duckdb") if parent is not None else column.sql("duckdb")
        raise _nested_refusal(column.name, kind, repr(context))
    for star in root.find_all(exp.Star):
        select = star.parent_select
        if isinstance(star.parent, exp.Count) or select is None:
            continue
        source = select.args.get("from") or select.args.get("from_")
        sources = [source, *(select.args.get("joins") or [])]
        tables = [s.this for s in sources if s is not None and isinstance(s.this, exp.Table)]
        seen = _star_nested(star, tables, by_table) if by_table else list(nested.items())
        if tables and seen:
            name, kind = seen[0]
            raise _nested_refusal(name, kind, "SELECT *")
    return root


def _star_nested(
    star: exp.Star, tables: list[exp.Table], by_table: dict[str, dict[str, str]]
) -> list[tuple[str, str]]:
    """The optional nested columns a star reads from the scanned ``tables`` it covers.

    A table that is not a scan (a CTE's name) was checked where it was defined.
    """
    qualifier = star.parent.table if isinstance(star.parent, exp.Column) else ""
    out: list[tuple[str, str]] = []
    for table in tables:
        if qualifier and qualifier.lower() not in (table.alias_or_name.lower(), ""):
            continue
        out.extend((c, k) for c, k in by_table.get(table.name.lower(), {}).items() if k)
    return out


def _plain_columns(root: exp.Expr, by_table: dict[str, dict[str, str]]) -> set[int]:
    """Columns resolved to a table (or a subquery) where their name is not a nested column.

    A column that cannot be resolved with certainty is not in the set: the refusal, which
    matches by name, then applies to it (loud, never wrong).
    """
    from sqlglot.errors import SqlglotError
    from sqlglot.optimizer.scope import traverse_scope

    if not by_table:
        return set()
    cleared: set[int] = set()
    try:
        scopes = traverse_scope(root)
    except (SqlglotError, KeyError, ValueError):
        return cleared
    for scope in scopes:
        for column in scope.columns:
            # A subquery's column may be listed in the enclosing scope too: it is judged
            # in the scope of the query it is written in.
            if column.parent_select is not scope.expression:
                continue
            if _resolves_to_plain(column, scope, by_table):
                cleared.add(id(column))
    return cleared


def _resolves_to_plain(column: exp.Column, scope: Any, by_table: dict[str, dict[str, str]]) -> bool:
    name = column.name.lower()
    while scope is not None:
        sources = {k.lower(): v for k, v in scope.sources.items()}
        if column.table:
            found = sources.get(column.table.lower())
            provides: dict[str, bool | None] = {column.table.lower(): True} if found else {}
        else:
            provides = {k: _provides(v, name, by_table) for k, v in sources.items()}
        if None in provides.values():
            return False  # a source whose columns are not known
        hits = [k for k, v in provides.items() if v]
        if len(hits) > 1:
            return False
        if hits:
            found = sources[hits[0]]
            if isinstance(found, exp.Table):
                return not by_table.get(found.name.lower(), {}).get(name)
            return True  # a subquery or CTE: its own columns were checked where it reads them
        # Only a subquery sees the columns of the query around it.
        scope = scope.parent if scope.is_subquery or scope.is_correlated_subquery else None
    return False


def _provides(source: Any, name: str, by_table: dict[str, dict[str, str]]) -> bool | None:
    """Whether ``source`` has a column ``name`` (None: not known)."""
    if isinstance(source, exp.Table):
        columns = by_table.get(source.name.lower())
        return None if columns is None else name in columns
    query = getattr(source, "expression", None)
    if not isinstance(query, exp.Query) or any(s.is_star for s in query.selects):
        return None
    return name in {n.lower() for n in query.named_selects}


# DuckDB's struct literal {'a': x} is written tuple(a := x), a syntax error on ClickHouse.
# tuple(x AS a) is a named tuple (setting enable_named_columns_in_function_tuple), but an
# alias is visible in the whole SELECT on ClickHouse: field a clashes with a column alias
# a (Code 179). Inside a lambda an alias stays local, so the tuple is built in one:
# arrayMap((f0, f1) -> tuple(f0 AS a, f1 AS b), [x], [y])[1]; the values stay outside the
# lambda (aggregates and windows cannot be inside it).
def struct_literals(root: exp.Expr) -> exp.Expr:
    _literal_fields(root)
    for node in reversed(list(root.find_all(exp.Struct))):  # innermost first
        items = node.expressions
        if not items or not all(isinstance(i, exp.PropertyEQ) for i in items):
            continue
        params = [exp.to_identifier(f"_dd_field{i}") for i in range(len(items))]
        named = [
            exp.alias_(exp.column(p.copy()), i.this.name, quoted=True)
            for p, i in zip(params, items, strict=True)
        ]
        body = exp.Lambda(this=call("tuple", *named), expressions=params)
        values = [exp.Array(expressions=[i.expression]) for i in items]
        built = call("arrayMap", body, *values)
        node.replace(call("arrayElement", built, exp.Literal.number(1)))
    return root


def _literal_fields(root: exp.Expr) -> None:
    """{'a': x, 'b': y}['b'] and {'a': x}.a are y and x (DuckDB matches the name in any
    case); ClickHouse's [] is for arrays and maps only. Read from the outside in, so
    {'b': {'c': y}}['b']['c'] is y too."""
    changed = True
    while changed:
        changed = False
        for node in list(root.find_all(exp.Bracket, exp.Dot)):
            struct = node.this
            if not isinstance(struct, exp.Struct) or node.root() is not root:
                continue
            key = node.expressions[0].name if _field_key(node) else None
            if isinstance(node, exp.Dot) and isinstance(node.expression, exp.Identifier):
                key = node.expression.name
            items = struct.expressions
            if key is None or not all(isinstance(i, exp.PropertyEQ) for i in items):
                continue
            hits = [i.expression for i in items if i.this.name.lower() == key.lower()]
            if len(hits) == 1:
                node.replace(hits[0].copy())
                changed = True


def _field_key(node: exp.Expr) -> bool:
    keys = node.expressions if isinstance(node, exp.Bracket) else []
    return len(keys) == 1 and isinstance(keys[0], exp.Literal) and keys[0].is_string


# s['a'] reads field a of a struct on DuckDB; ClickHouse's [] is for arrays and maps only.
def struct_fields(root: exp.Expr) -> exp.Expr:
    structs = struct_columns(root)
    if not structs:
        return root
    for node in list(root.find_all(exp.Bracket)):
        column, keys = node.this, node.expressions
        if not isinstance(column, exp.Column) or column.name.lower() not in structs:
            continue
        if len(keys) == 1 and isinstance(keys[0], exp.Literal) and keys[0].is_string:
            node.replace(call("tupleElement", column.copy(), keys[0].copy()))
    return root


# A list (or map) whose elements may not be NULL is Array(T) on ClickHouse, and x[i] past
# its end is T's default (0, ''); DuckDB says NULL. arrayElementOrNull says NULL too.
# After struct_fields: the brackets left index lists and maps.
def list_elements_null(root: exp.Expr) -> exp.Expr:
    from sqlglot.dialects.dialect import Dialect

    generator = Dialect.get_or_raise("clickhouse").generator()
    nested = nested_element_columns(root)
    brackets = [
        node
        for node in root.find_all(exp.Bracket)
        if len(node.expressions) == 1
        and not node.args.get("json_access")
        and not isinstance(node.expressions[0], exp.Slice)
    ]
    for node in brackets:  # all checked before any is rewritten
        _check_nested_element(node, nested)
    for node in brackets:
        # The parser stores literal indices 0-based; the generator adds ClickHouse's base.
        (key,) = generator.bracket_offset_expressions(node)
        node.replace(call("arrayElementOrNull", node.this, key))
    return root


_NESTED_VALUES = (exp.Array, exp.Map, exp.VarMap, exp.Struct, exp.Tuple)


def _check_nested_element(node: exp.Bracket, nested: set[str]) -> None:
    """An element that is itself a list, map or struct has no NULL on ClickHouse: refused.

    x[i][j] or x[i].a read on into the element and stay NULL where DuckDB's are.
    """
    container = node.this
    if isinstance(container, exp.Column):
        nested_element = container.name.lower() in nested  # by name: loud when unsure
    else:
        values = container.expressions if isinstance(container, exp.Array) else []
        nested_element = any(isinstance(v, _NESTED_VALUES) for v in values)
    parent = node.parent
    read_on = isinstance(parent, exp.Bracket | exp.Dot) and parent.this is node
    if nested_element and not read_on:
        raise UnsupportedSQLError(
            f"{node.sql('duckdb')!r} reads an element that is itself a list, map or struct; "
            "past the end of the list (or for a missing key) it is NULL on DuckDB but empty "
            "on ClickHouse. Run this query with engine='duckdb', or read into the element "
            "(x[i][j], x[i].field)."
        )
