"""Names as DuckDB binds them: aliases, output column names, ORDER BY keys, BOOLEAN outputs."""

from __future__ import annotations

from sqlglot import exp


def alias_case(root: exp.Expr) -> exp.Expr:
    """Spell every unquoted table qualifier and CTE reference like the alias it names."""
    defined: dict[str, str] = {}
    for alias in root.find_all(exp.TableAlias):
        ident = alias.args.get("this")
        if isinstance(ident, exp.Identifier) and not ident.quoted:
            defined.setdefault(ident.name.lower(), ident.name)
    for table in root.find_all(exp.Table):
        if not table.args.get("db") and table.alias:
            defined.setdefault(table.alias.lower(), table.alias)
    if not defined:
        return root
    for node in root.find_all(exp.Column, exp.Table):
        key = "table" if isinstance(node, exp.Column) else "this"
        if isinstance(node, exp.Table) and node.args.get("db"):
            continue
        ident = node.args.get(key)
        if isinstance(ident, exp.Identifier) and not ident.quoted:
            spelled = defined.get(ident.name.lower())
            if spelled is not None and spelled != ident.name:
                node.set(key, exp.to_identifier(spelled))
    return root


def projection_names(root: exp.Expr) -> exp.Expr:
    """``SELECT t.a`` names its column ``a`` (ClickHouse may say ``t.a`` when ``a`` is ambiguous)."""
    for select in list(root.find_all(exp.Select)):
        names = [s.alias_or_name for s in select.expressions]
        for column in select.expressions:
            if not isinstance(column, exp.Column) or not column.table or column.is_star:
                continue
            # Two outputs named `a` (SELECT t.a, u.a) are fine on DuckDB, but two equal
            # aliases are an error on ClickHouse: leave those to ClickHouse's naming.
            if names.count(column.name) == 1:
                column.replace(exp.alias_(column.copy(), column.this.copy()))
    return root


def order_by_output_names(root: exp.Expr) -> exp.Expr:
    """ORDER BY a name means that output column first (as DuckDB), not a same-named input."""
    for query in list(root.find_all(exp.Select, exp.SetOperation)):
        order = query.args.get("order")
        if order is None or any(s.is_star for s in query.selects):
            continue
        names = [s.alias_or_name for s in query.selects]  # named_selects skips unnamed
        for ordered in order.expressions:
            key = ordered.this
            if isinstance(key, exp.Column) and not key.table and names.count(key.name) == 1:
                key.replace(exp.Literal.number(names.index(key.name) + 1))
    return root


# A comparison in ClickHouse is UInt8 (0/1); DuckDB's is BOOLEAN. Only the select list
# is cast: inside WHERE, JOIN ON, CASE and aggregates the UInt8 behaves the same.
# ``s LIKE 'a!%' ESCAPE '!'`` is an Escape node around the LIKE: a predicate too.
_PREDICATES = (exp.Predicate, exp.Connector, exp.Not, exp.Escape)


def boolean_projections(root: exp.Expr) -> exp.Expr:
    for select in list(root.find_all(exp.Select)):
        for projection in select.expressions:
            inner = projection.this if isinstance(projection, exp.Alias) else projection
            if isinstance(inner.unnest(), _PREDICATES):
                inner.replace(exp.cast(inner.copy(), exp.DataType.build("boolean")))
    return root
