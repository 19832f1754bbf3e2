"""The DuckDB types of the arguments that some ClickHouse rewrites depend on.

``round(x)`` and ``CAST(x AS INT)`` must be written differently on ClickHouse when ``x`` is
a float or a decimal, and left alone when it is a string. The parsed query does not say
which: this module types a copy of the tree with sqlglot's optimizer (qualify, then
annotate_types) against the scanned tables' Iceberg schemas, and records the type of
each argument in ``node.meta`` of the original nodes. Where the copy cannot be typed (a
query sqlglot cannot qualify, a column of a local frame), nothing is recorded and the
rewrites leave the node as it is: an unknown type never triggers a rewrite.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlglot import exp
from sqlglot.errors import SqlglotError

from doctordata.engines.duckdb import TYPE_MAP as DUCKDB_TYPES

# meta key of a node whose arguments' types are recorded: a tuple, one DataType (or
# None) per argument in TYPED_ARGS[type(node)]
ARG_TYPES = "dd_arg_types"
BRANCH_TYPES = "dd_branch_types"  # on a CASE / coalesce / if(): its values' types
OUTPUT_TYPES = "dd_output_types"  # on a SELECT that is a UNION's branch: its columns' types
_PROBE = "dd_probe"
_VALUE_PROBE = "dd_value_probe"
_BRANCH_PROBE = "dd_branch_probe"

TYPED_ARGS: dict[type[exp.Expr], tuple[str, ...]] = {
    exp.Round: ("this",),
    exp.Cast: ("this",),
    exp.TryCast: ("this",),
    exp.Mod: ("this", "expression"),
    exp.Sum: ("this",),
    exp.IntDiv: ("this", "expression"),
    exp.Sub: ("this", "expression"),
    exp.Add: ("this", "expression"),
    exp.TimestampTrunc: ("this",),
    exp.DateTrunc: ("this",),
    exp.In: ("this",),
    exp.Between: ("this", "low", "high"),
    exp.EQ: ("this", "expression"),
    exp.NEQ: ("this", "expression"),
    exp.GT: ("this", "expression"),
    exp.GTE: ("this", "expression"),
    exp.LT: ("this", "expression"),
    exp.LTE: ("this", "expression"),
}

# Added for the rules of chsem5 (kept apart from the table above).
TYPED_ARGS.update(
    {
        exp.Ordered: ("this",),  # a sort key (a position's is the output column's)
        exp.Lag: ("this", "default"),
        exp.Lead: ("this", "default"),
    }
)
# chsem6: quantiles are computed differently for each input type.
TYPED_ARGS.update(
    {kind: ("this",) for kind in (exp.Median, exp.PercentileCont, exp.PercentileDisc)}
)
TYPED_ARGS[exp.Quantile] = ("this",)
TYPED_ARGS.update({exp.Floor: ("this",), exp.Ceil: ("this",)})
# chsem8: the operands of || are turned into text as DuckDB writes them.
TYPED_ARGS[exp.DPipe] = ("this", "expression")
TYPED_ARGS[exp.Concat] = ("expressions",)  # a list: one type per argument
# diffgen: max of doubles is NaN once a value is NaN (clickhouse_rules/numbers.py).
TYPED_ARGS[exp.Max] = ("this",)
# diffgen: integer arithmetic is checked for overflow (clickhouse_rules/numbers.py).
TYPED_ARGS[exp.Mul] = ("this", "expression")
TYPED_ARGS[exp.Format] = ("expressions",)  # format's arguments: only some are translated

# Functions that count or step in a calendar (clickhouse_rules/zones.py refuses them on a
# TIMESTAMPTZ outside UTC): both operands typed.
CALENDAR_NODES: tuple[type[exp.Expr], ...] = (
    exp.DateDiff,
    exp.DateAdd,
    exp.DateSub,
    exp.DateBin,
    exp.TimestampDiff,
    exp.TimestampAdd,
    exp.TimestampSub,
)
TYPED_ARGS.update({kind: ("this", "expression") for kind in CALENDAR_NODES})
TYPED_ARGS[exp.Anonymous] = ("expressions",)
# chtime2: strftime and date parts of a DATE, TIMESTAMP or TIMESTAMPTZ (clickhouse_rules/
# texts.formatted_times, times.date_parts).
TYPED_ARGS.update({exp.TimeToStr: ("this",), exp.Extract: ("expression",)})
TYPED_ARGS.update(
    {
        kind: ("this",)
        for kind in (
            *(exp.TimeToUnix, exp.DayOfWeek, exp.DayOfWeekIso, exp.DayOfYear),
            *(exp.DayOfMonth, exp.Week, exp.WeekOfYear, exp.Quarter),
            *(exp.LastDay, exp.UnixToTime, exp.Dayname, exp.Monthname),
            *(exp.Year, exp.Month, exp.Day, exp.Hour, exp.Minute, exp.Second),
        )
    }
)
# root meta: set when the query reads TIMESTAMPTZ values and could not be typed
UNTYPED = "dd_untyped_zoned"

# Iceberg primitive type (str()) -> the DuckDB type it reads as (the DuckDB engine's own
# map: the reference semantics); nested types stay unknown.
_ICEBERG_TYPES = DUCKDB_TYPES
_DECIMAL = re.compile(r"decimal\((\d+),\s*(\d+)\)")


def duckdb_columns(schema: Any) -> dict[str, str]:
    """An Iceberg schema's top-level columns as ``{name: DuckDB type}`` (known types only)."""
    out = {}
    for field in schema.fields:
        text = str(field.field_type)
        decimal = _DECIMAL.fullmatch(text)
        if decimal is not None:
            out[field.name.lower()] = f"DECIMAL({decimal.group(1)}, {decimal.group(2)})"
        elif text in _ICEBERG_TYPES:
            out[field.name.lower()] = _ICEBERG_TYPES[text]
    return out


def annotate_argument_types(root: exp.Expr, schemas: Mapping[str, Any]) -> None:
    """Record the DuckDB type of each argument of the nodes in :data:`TYPED_ARGS`."""
    from sqlglot.optimizer.annotate_types import annotate_types
    from sqlglot.optimizer.qualify import qualify

    nodes = list(root.find_all(*TYPED_ARGS))
    values = [node for node in root.find_all(*_CONDITIONALS) if branch_values(node)]
    branches = set_operation_branches(root)
    if not nodes and not values and not branches:
        return
    for i, node in enumerate(nodes):
        node.meta[_PROBE] = i
    for i, value in enumerate(values):
        value.meta[_VALUE_PROBE] = i
    for i, branch in enumerate(branches):
        branch.meta[_BRANCH_PROBE] = i
    copy = root.copy()
    for node in nodes:
        node.meta.pop(_PROBE, None)
    for value in values:
        value.meta.pop(_VALUE_PROBE, None)
    for branch in branches:
        branch.meta.pop(_BRANCH_PROBE, None)
    mapping: dict[str, object] = {n.lower(): duckdb_columns(s) for n, s in schemas.items()}
    _decimal_literals(copy)
    try:
        qualify(
            copy,
            schema=mapping,
            dialect="duckdb",
            validate_qualify_columns=False,
            quote_identifiers=False,
            identify=False,
        )
        annotate_types(copy, schema=mapping, dialect="duckdb", expression_metadata=_metadata())
    except (SqlglotError, KeyError, ValueError):
        # untyped: every typed rewrite leaves the query as written
        if _reads_zoned(root, mapping):
            root.meta[UNTYPED] = True
        return
    for typed in copy.find_all(*TYPED_ARGS):
        index = typed.meta.get(_PROBE)
        if index is None or type(nodes[index]) is not type(typed):
            continue
        keys = TYPED_ARGS[type(typed)]
        args = [typed.args.get(k) for k in keys]
        flat = [a for arg in args for a in (arg if isinstance(arg, list) else [arg])]
        types = tuple(_known(a) for a in flat)
        nodes[index].meta[ARG_TYPES] = types
    for typed in copy.find_all(*_CONDITIONALS):
        index = typed.meta.get(_VALUE_PROBE) if typed.meta else None
        if index is not None and type(values[index]) is type(typed):
            values[index].meta[BRANCH_TYPES] = [_known(v) for v in branch_values(typed)]
    for typed in copy.find_all(exp.Select):
        index = typed.meta.get(_BRANCH_PROBE) if typed.meta else None
        original = branches[index] if index is not None else None
        # a star expanded by qualify: positions no longer match the original's
        if original is not None and len(typed.expressions) == len(original.expressions):
            original.meta[OUTPUT_TYPES] = [_known(e) for e in typed.expressions]


def _reads_zoned(root: exp.Expr, mapping: Mapping[str, Any]) -> bool:
    """Whether the query names the TIMESTAMPTZ type or scans a TIMESTAMPTZ column."""
    tz = exp.DataType.Type.TIMESTAMPTZ
    if any(node.this == tz for node in root.find_all(exp.DataType)):
        return True
    return any(kind == "TIMESTAMPTZ" for columns in mapping.values() for kind in columns.values())


def set_operation_branches(root: exp.Expr) -> list[exp.Select]:
    """The SELECTs whose rows a UNION / INTERSECT / EXCEPT combines (through parentheses)."""
    out: list[exp.Select] = []
    for node in root.find_all(exp.SetOperation):
        for side in (node.this, node.expression):
            while isinstance(side, exp.Subquery):
                side = side.this
            if isinstance(side, exp.Select):
                out.append(side)
    return out


def output_types(select: exp.Select) -> list[exp.DataType | None]:
    """The recorded types of a set operation branch's columns (None where not known)."""
    recorded = select.meta.get(OUTPUT_TYPES) if select.meta else None
    return list(recorded) if recorded is not None else [None for _ in select.expressions]


_CONDITIONALS = (exp.Case, exp.Coalesce, exp.If)


def branch_values(node: exp.Expr) -> list[exp.Expr]:
    """The values a CASE, coalesce or if() chooses among (a CASE's WHENs are its Ifs)."""
    if isinstance(node, exp.Coalesce):
        return [node.this, *node.expressions]
    if isinstance(node, exp.Case):
        out = [i.args["true"] for i in node.args.get("ifs") or []]
        return out + ([node.args["default"]] if node.args.get("default") is not None else [])
    if isinstance(node, exp.If) and not isinstance(node.parent, exp.Case):
        return [v for v in (node.args.get("true"), node.args.get("false")) if v is not None]
    return []


def branch_types(node: exp.Expr) -> list[exp.DataType | None]:
    """The recorded types of :func:`branch_values` (None where not known)."""
    recorded = node.meta.get(BRANCH_TYPES) if node.meta else None
    return list(recorded) if recorded is not None else [None for _ in branch_values(node)]


def _metadata() -> Any:
    """DuckDB's typing rules as sqlglot has them, with what it gets wrong here corrected."""
    from sqlglot.dialects.dialect import Dialect

    def keeps_type(annotator: Any, node: exp.Expr) -> exp.Expr:
        return annotator._annotate_by_args(node, "this")  # as sqlglot's own rules do

    metadata = Dialect.get_or_raise("duckdb").EXPRESSION_METADATA
    sum_annotator = metadata.get(exp.Sum, {}).get("annotator")

    def sum_type(annotator: Any, node: exp.Expr) -> exp.Expr:
        if sum_annotator is not None:
            node = sum_annotator(annotator, node)
        else:
            node = annotator._annotate_by_args(node, "this")
        kind = getattr(node.this, "type", None)
        if isinstance(kind, exp.DataType) and kind.is_type(exp.DataType.Type.DECIMAL):
            params = kind.expressions
            scale = params[1] if len(params) > 1 else exp.Literal.number(0 if params else 3)
            scale = scale.this if isinstance(scale, exp.DataTypeParam) else scale
            node.type = exp.DataType.build(f"DECIMAL(38, {scale.name})")
        return node

    def rounded_type(annotator: Any, node: exp.Expr) -> exp.Expr:
        node = keeps_type(annotator, node)
        kind = node.type
        if not isinstance(kind, exp.DataType) or not kind.is_type(exp.DataType.Type.DECIMAL):
            return node
        digits = node.args.get("decimals") if isinstance(node, exp.Round) else None
        if digits is not None and not (isinstance(digits, exp.Literal) and digits.is_int):
            return node  # a computed or signed precision: kept as sqlglot has it
        params = [p.this if isinstance(p, exp.DataTypeParam) else p for p in kind.expressions]
        if len(params) == 2 and all(isinstance(p, exp.Literal) for p in params):
            n = int(digits.name) if digits is not None else 0
            scale = min(int(params[1].name), max(n, 0))
            node.type = exp.DataType.build(f"DECIMAL({params[0].name}, {scale})")
        return node

    # round/floor/ceil of a DECIMAL(p, s) are DECIMAL(p, n), n the digits kept (sqlglot:
    # DOUBLE or unknown; DuckDB: round(DECIMAL(12, 2), 0) is DECIMAL(12, 0)).
    fixed: dict[type[exp.Expr], dict[str, Any]] = {
        kind: {"annotator": rounded_type} for kind in (exp.Round, exp.Floor, exp.Ceil)
    }
    # sum(DECIMAL(p, s)) is DECIMAL(38, s) (sqlglot: DECIMAL(p, s)).
    fixed[exp.Sum] = {"annotator": sum_type}

    def quantile_type(annotator: Any, node: exp.Expr) -> exp.Expr:
        node = keeps_type(annotator, node)
        kind = node.type
        discrete = isinstance(node, exp.PercentileDisc | exp.Quantile)
        if not discrete and not (
            isinstance(kind, exp.DataType) and kind.is_type(exp.DataType.Type.DECIMAL)
        ):
            node.type = exp.DataType.build("DOUBLE")  # (a date's is a TIMESTAMP: refused)
        return node

    arithmetic: dict[type[exp.Expr], Any] = {
        k: metadata.get(k, {}).get("annotator") for k in (exp.Add, exp.Sub, exp.Mul)
    }

    def decimal_arithmetic(annotator: Any, node: exp.Expr) -> exp.Expr:
        default = arithmetic.get(type(node))
        node = default(annotator, node) if default is not None else node
        sides = [_decimal_params(getattr(node, k).type) for k in ("this", "expression")]
        if any(side is None for side in sides):
            return node
        (p1, s1), (p2, s2) = sides  # type: ignore[misc]
        if isinstance(node, exp.Mul):  # two DECIMAL(18)s or less stay in 18 digits
            scale, width = s1 + s2, p1 + p2
            width = 18 if width > 18 and max(p1, p2) <= 18 else width
        else:
            scale = max(s1, s2)
            width = max(p1 - s1, p2 - s2) + scale + 1
        if scale <= 38:
            node.type = exp.DataType.build(f"DECIMAL({min(width, 38)}, {scale})")
        return node

    # DECIMAL + - * DECIMAL: DuckDB's width and scale (sqlglot: one side's type).
    for operator in (exp.Add, exp.Sub, exp.Mul):
        fixed[operator] = {"annotator": decimal_arithmetic}

    # quantile_disc is of its argument's type, median/quantile_cont of a DECIMAL too (sqlglot:
    # DOUBLE); of an integer or a float they are DOUBLE.
    for kind in (exp.Median, exp.PercentileCont, exp.PercentileDisc, exp.Quantile):
        fixed[kind] = {"annotator": quantile_type}
    return {**metadata, **fixed}


def _decimal_params(kind: Any) -> tuple[int, int] | None:
    """(precision, scale) of a DECIMAL type with both written out, else None."""
    if not isinstance(kind, exp.DataType) or not kind.is_type(exp.DataType.Type.DECIMAL):
        return None
    params = [p.this if isinstance(p, exp.DataTypeParam) else p for p in kind.expressions]
    if len(params) != 2 or not all(isinstance(p, exp.Literal) and p.is_int for p in params):
        return None
    return int(params[0].name), int(params[1].name)


def _decimal_literals(copy: exp.Expr) -> None:
    """``2.5`` is DECIMAL(2, 1) on DuckDB; sqlglot would type it DOUBLE."""
    for literal in list(copy.find_all(exp.Literal)):
        text = str(literal.this)
        if literal.is_string or "." not in text or "e" in text.lower():
            continue
        whole, fraction = text.lstrip("+-").split(".", 1)
        digits = max(len(whole.lstrip("0")) + len(fraction), len(fraction), 1)
        if digits <= 38:
            literal.replace(exp.cast(literal.copy(), f"DECIMAL({digits}, {len(fraction)})"))


def _known(arg: Any) -> exp.DataType | None:
    kind = getattr(arg, "type", None)
    if not isinstance(kind, exp.DataType) or kind.this == exp.DataType.Type.UNKNOWN:
        return None
    return kind


def arg_types(node: exp.Expr) -> tuple[exp.DataType | None, ...]:
    """The recorded argument types of ``node`` (all None when it was not typed)."""
    recorded = node.meta.get(ARG_TYPES) if node.meta else None
    if recorded is None:
        return tuple(None for _ in TYPED_ARGS.get(type(node), ()))
    return tuple(recorded)


NESTED_COLUMNS = "dd_nested_columns"  # root meta: {column name: "list" | "map" | "struct"}
STRUCT_COLUMNS = "dd_struct_columns"  # root meta: names of struct columns (optional or not)


def record_nested_columns(root: exp.Expr, schemas: Mapping[str, Any]) -> None:
    """Record the scanned tables' optional list, map and struct columns on ``root.meta``.

    ClickHouse has no Nullable(Array) or Nullable(Map) and cannot read a Parquet struct as
    Nullable(Tuple): a NULL one reads as empty, so its NULL-ness is lost on that engine.
    """
    from pyiceberg.types import ListType, MapType, StructType

    kinds = {ListType: "list", MapType: "map", StructType: "struct"}
    found: dict[str, str] = {}
    structs: set[str] = set()
    for schema in schemas.values():
        for field in schema.fields:
            kind = kinds.get(type(field.field_type))
            if kind is not None and not field.required:
                found.setdefault(field.name.lower(), kind)
            if kind == "struct":
                structs.add(field.name.lower())
    if found:
        root.meta[NESTED_COLUMNS] = found
    if structs:
        root.meta[STRUCT_COLUMNS] = structs
    nested_elements = {
        field.name.lower()
        for schema in schemas.values()
        for field in schema.fields
        if isinstance(field.field_type, ListType | MapType)
        and isinstance(_element_type(field.field_type), ListType | MapType | StructType)
    }
    if nested_elements:
        root.meta[NESTED_ELEMENTS] = nested_elements
    by_table = {name.lower(): _optional_nested(schema, kinds) for name, schema in schemas.items()}
    if any(any(columns.values()) for columns in by_table.values()):
        root.meta[NESTED_TABLES] = by_table


def nested_columns(root: exp.Expr) -> dict[str, str]:
    """What :func:`record_nested_columns` recorded (empty when nothing was)."""
    recorded = root.meta.get(NESTED_COLUMNS) if root.meta else None
    return dict(recorded or {})


def struct_columns(root: exp.Expr) -> set[str]:
    """The struct columns :func:`record_nested_columns` recorded (lower case)."""
    recorded = root.meta.get(STRUCT_COLUMNS) if root.meta else None
    return set(recorded or ())


NESTED_TABLES = "dd_nested_tables"  # root meta: {scanned table: {column: kind}}


def _optional_nested(schema: Any, kinds: Mapping[type, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for field in schema.fields:
        kind = kinds.get(type(field.field_type))
        optional = kind is not None and not field.required
        out[field.name.lower()] = kind if optional and kind is not None else ""
    return out


def nested_tables(root: exp.Expr) -> dict[str, dict[str, str]]:
    """Each scanned table's columns, by the table's name in the tree: {column: kind}.

    The kind is "list", "map" or "struct" for an optional nested column, else "".
    """
    recorded = root.meta.get(NESTED_TABLES) if root.meta else None
    return {name: dict(columns) for name, columns in (recorded or {}).items()}


NESTED_ELEMENTS = "dd_nested_elements"  # root meta: lists/maps whose elements are nested


def _element_type(kind: Any) -> Any:
    return getattr(kind, "element_type", None) or getattr(kind, "value_type", None)


def nested_element_columns(root: exp.Expr) -> set[str]:
    """Lists and maps whose elements are lists, maps or structs (lower case names)."""
    recorded = root.meta.get(NESTED_ELEMENTS) if root.meta else None
    return set(recorded or ())
