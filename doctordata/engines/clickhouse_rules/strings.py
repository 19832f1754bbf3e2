"""String functions that count characters, as DuckDB's do."""

from __future__ import annotations

from sqlglot import exp

from doctordata.engines.clickhouse_rules.common import INTEGERS, call, is_type
from doctordata.engines.clickhouse_types import arg_types
from doctordata.errors import UnsupportedSQLError

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


def _refuse(node: exp.Expr, why: str, fix: str = "run this query with engine='duckdb'") -> None:
    raise UnsupportedSQLError(
        f"{node.sql('duckdb')} on ClickHouse: {why}, so its answer could differ from "
        f"DuckDB's; {fix}."
    )


# DuckDB's regexp_replace replaces the first match, or every match with the 'g' option;
# ClickHouse's REGEXP_REPLACE is replaceRegexpAll (every match) and takes no options.
def regexp_replace_first(root: exp.Expr) -> exp.Expr:
    for node in list(root.find_all(exp.RegexpReplace)):
        options = node.args.get("modifiers")
        if node.args.get("position") is not None or node.args.get("occurrence") is not None:
            _refuse(node, "a position or occurrence is not translated")
        every = False
        if options is not None:
            if not (isinstance(options, exp.Literal) and options.is_string):
                _refuse(node, "only constant options are translated")
            if set(options.name) - {"g"}:
                _refuse(node, f"the options {options.name!r} are not translated", "use 'g' or none")
            every = "g" in options.name
        name = "replaceRegexpAll" if every else "replaceRegexpOne"
        node.replace(call(name, node.this, node.expression, node.args["replacement"]))
    return root


# format('{}-{}', a, b): ClickHouse's function is format (lower case; FORMAT is unknown).
# Integers, strings, booleans and dates are written alike; DuckDB writes a DECIMAL or a
# DOUBLE its own way (4054.00 as 4054.0) and a TIMESTAMP without zeros: refused.
_FORMATTED = INTEGERS | {
    exp.DataType.Type.VARCHAR,
    exp.DataType.Type.TEXT,
    exp.DataType.Type.BOOLEAN,
    exp.DataType.Type.DATE,
}


_BOOLEAN = frozenset({exp.DataType.Type.BOOLEAN})


def _boolean_text(value: exp.Expr) -> exp.Expr:
    """DuckDB writes a BOOLEAN as true/false (a ClickHouse comparison is 0/1); NULL stays."""
    text = exp.If(
        this=value.copy(), true=exp.Literal.string("true"), false=exp.Literal.string("false")
    )
    return exp.If(this=call("isNull", value), true=exp.Null(), false=text)


# Functions whose result is text whatever sqlglot's typing says (left(g, 2) is untyped).
_TEXT_FUNCTIONS = (
    exp.Left,
    exp.Right,
    exp.Substring,
    exp.Upper,
    exp.Lower,
    exp.Trim,
    exp.DPipe,
    exp.Concat,
    exp.RegexpReplace,
    exp.RegexpExtract,
)


def format_function(root: exp.Expr) -> exp.Expr:
    for node in list(root.find_all(exp.Format)):
        kinds = arg_types(node)
        if len(kinds) != len(node.expressions) or not all(
            is_type(kind, _FORMATTED) or isinstance(arg, (exp.Null, *_TEXT_FUNCTIONS))
            for kind, arg in zip(kinds, node.expressions, strict=True)
        ):
            _refuse(
                node,
                "only integers, strings, booleans and dates are formatted as DuckDB does",
                "CAST the other arguments AS VARCHAR, or run this query with engine='duckdb'",
            )
        args = [
            _boolean_text(arg) if is_type(kind, _BOOLEAN) else arg
            for kind, arg in zip(kinds, node.expressions, strict=True)
        ]
        node.replace(call("format", node.this, *args))
    return root


# len(list) counts elements: ClickHouse's lengthUTF8 (what LENGTH becomes) takes no array.
_LISTS = (exp.Array, exp.ArrayConcat)


def list_length(root: exp.Expr) -> exp.Expr:
    for node in list(root.find_all(exp.Length)):
        arg = node.this
        if isinstance(arg, _LISTS) or (isinstance(arg, exp.DPipe) and arg.find(*_LISTS)):
            # BIGINT as on DuckDB (ClickHouse's length is UInt64: a Variant next to Int64)
            node.replace(call("toInt64", call("length", arg)))
    return root


# string_agg(x, sep ORDER BY k): ClickHouse's groupConcat takes no ORDER BY. The values
# are gathered with their key, NULL values dropped, sorted by the key (NULL keys last,
# ASC or DESC, as DuckDB's default) and joined; NULL where no value is left, as DuckDB.
def ordered_string_agg(root: exp.Expr) -> exp.Expr:
    for node in list(root.find_all(exp.GroupConcat)):
        order = node.this
        if not isinstance(order, exp.Order):
            continue  # no ORDER BY: order-dependent, as on DuckDB
        if isinstance(node.parent, exp.Window) or node.find_ancestor(exp.Filter):
            _refuse(node, "string_agg with ORDER BY over a window or with FILTER is not translated")
        keys = order.expressions
        if len(keys) != 1 or keys[0].args.get("nulls_first"):
            _refuse(
                node,
                "only ORDER BY one key with NULLs last is translated",
                "order by one key, or run this query with engine='duckdb'",
            )
        if isinstance(order.this, exp.Distinct):
            _refuse(node, "DISTINCT with ORDER BY is not translated")
        value, key = order.this, keys[0].this
        separator = node.args.get("separator") or exp.Literal.string(",")
        pair = exp.Identifier(this="_dd_pair")
        first = call("tupleElement", exp.column(pair), exp.Literal.number(1))
        second = call("tupleElement", exp.column(pair), exp.Literal.number(2))
        pairs = call("groupArray", call("tuple", value.copy(), key.copy()))
        present = call(
            "arrayFilter",
            exp.Lambda(this=call("isNotNull", first.copy()), expressions=[pair.copy()]),
            pairs,
        )
        sort = "arrayReverseSort" if keys[0].args.get("desc") else "arraySort"
        ordered = call(sort, exp.Lambda(this=second, expressions=[pair.copy()]), present)
        values = call("arrayMap", exp.Lambda(this=first, expressions=[pair.copy()]), ordered)
        joined = call("arrayStringConcat", values, separator.copy())
        none = exp.EQ(
            this=call("ifNull", exp.Count(this=value.copy()), exp.Literal.number(0)),
            expression=exp.Literal.number(0),
        )
        node.replace(exp.If(this=none, true=exp.Null(), false=joined))
    return root


# DuckDB's LIKE has no escape character unless ESCAPE names one ('x\%' matches 'x\' and
# anything after it); ClickHouse's treats a backslash as one ('x\%' matches 'x%'). Without
# ESCAPE, a backslash in the pattern is doubled: a literal backslash on ClickHouse too.
def like_backslashes(root: exp.Expr) -> exp.Expr:
    for node in list(root.find_all(exp.Like, exp.ILike)):
        if isinstance(node.parent, exp.Escape):
            continue
        pattern = node.expression
        if isinstance(pattern, exp.Literal) and pattern.is_string:
            if "\\" in pattern.name:
                node.set("expression", exp.Literal.string(pattern.name.replace("\\", "\\\\")))
        elif not isinstance(pattern, exp.Null):
            backslash = exp.Literal.string("\\")
            doubled = exp.Literal.string("\\\\")
            node.set("expression", call("replaceAll", pattern, backslash, doubled))
    return root


# regexp_full_match(s, p): the whole string matches (ClickHouse has no such function; its
# match() searches, like DuckDB's regexp_matches).
def regexp_full_match(root: exp.Expr) -> exp.Expr:
    for node in list(root.find_all(exp.RegexpFullMatch)):
        pattern = node.expression
        if isinstance(pattern, exp.Literal) and pattern.is_string:
            whole: exp.Expr = exp.Literal.string(f"^(?:{pattern.name})$")
        else:
            whole = call("concat", exp.Literal.string("^(?:"), pattern, exp.Literal.string(")$"))
        node.replace(exp.cast(call("match", node.this, whole), exp.DataType.build("boolean")))
    return root
