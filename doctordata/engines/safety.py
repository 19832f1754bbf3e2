"""Read-only checks on parsed user SQL, before any engine sees it. The sandbox fails closed.

Allowed: exactly one query (SELECT / set operation) reading lakehouse tables, CTEs and
engine-native serving tables, whose every function call is on the target engine's
allow-list (engines/allowlist.py): pure scalar, aggregate and window functions, table
functions that make rows from their arguments, and file-reading table functions whose
literal paths all lie inside a lakehouse tier. Refused: everything else (writes, settings,
system schemas, and any function not listed), named in the error together with the fix.

The router runs these checks twice: on the tree parsed in the user's dialect, and on the
engine SQL after transpilation (re-parsed in the engine's dialect), so a rewrite by the
transpiler cannot introduce a call that was never checked. The engines' own sandboxes
(DuckDB's locked external access, ClickHouse's readonly) are the second wall.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn

from sqlglot import exp

from doctordata.engines import allowlist
from doctordata.errors import ReadOnlyViolationError, UnsupportedSQLError

if TYPE_CHECKING:
    from doctordata.storage.tier import Tier


@dataclass(frozen=True)
class EngineRules:
    """What one engine's sandbox lets user SQL call (see engines/allowlist.py)."""

    engine: str
    # Lower-case names of functions sqlglot leaves untyped (Anonymous and friends).
    functions: frozenset[str]
    # Aggregates that combinator suffixes may extend (ClickHouse: sumIf, uniqMerge).
    aggregates: frozenset[str]
    combinators: tuple[str, ...]
    table_functions: frozenset[str]
    file_table_functions: frozenset[str]
    # None: options are literal keyword arguments (DuckDB); a set: (path[, format]) only.
    file_formats: frozenset[str] | None

    def allows(self, name: str) -> bool:
        """``name`` (lower case) is an allowed scalar/aggregate/window function."""
        return name in self.functions or self._combined(name)

    def _combined(self, name: str) -> bool:
        if name in self.aggregates:
            return True
        return any(
            name.endswith(c) and len(name) > len(c) and self._combined(name[: -len(c)])
            for c in self.combinators
        )


RULES: dict[str, EngineRules] = {
    "duckdb": EngineRules(
        engine="duckdb",
        functions=allowlist.DUCKDB_FUNCTIONS,
        aggregates=frozenset(),
        combinators=(),
        table_functions=allowlist.DUCKDB_TABLE_FUNCTIONS,
        file_table_functions=allowlist.DUCKDB_FILE_TABLE_FUNCTIONS,
        file_formats=None,
    ),
    "clickhouse": EngineRules(
        engine="clickhouse",
        functions=allowlist.CLICKHOUSE_FUNCTIONS | allowlist.CLICKHOUSE_REWRITTEN,
        aggregates=allowlist.CLICKHOUSE_AGGREGATES,
        combinators=allowlist.CLICKHOUSE_COMBINATORS,
        table_functions=allowlist.CLICKHOUSE_TABLE_FUNCTIONS,
        file_table_functions=allowlist.CLICKHOUSE_FILE_TABLE_FUNCTIONS,
        file_formats=allowlist.CLICKHOUSE_FILE_FORMATS,
    ),
}

# sqlglot nodes that carry the function's own name instead of being a typed class.
_NAMED_CALLS = (exp.Anonymous, exp.AnonymousAggFunc, exp.ParameterizedAgg)

# Statement kinds (sqlglot classes) that write, change state or escape; the first match
# names the refusal.
_FORBIDDEN_NODES: tuple[tuple[str, str], ...] = (
    ("Insert", "INSERT"),
    ("Update", "UPDATE"),
    ("Delete", "DELETE"),
    ("Merge", "MERGE"),
    ("Create", "CREATE"),
    ("Drop", "DROP"),
    ("Alter", "ALTER"),
    ("TruncateTable", "TRUNCATE"),
    ("Copy", "COPY"),
    ("Attach", "ATTACH"),
    ("Detach", "DETACH"),
    ("Install", "INSTALL"),
    ("Pragma", "PRAGMA"),
    ("Set", "SET"),
    ("Use", "USE"),
    ("Command", "a non-query command"),
    ("Transaction", "a transaction"),
    ("Commit", "COMMIT"),
    ("Rollback", "ROLLBACK"),
    ("Into", "SELECT INTO"),
    ("Export", "EXPORT"),
    ("LoadData", "LOAD DATA"),
    ("Analyze", "ANALYZE"),
    ("Grant", "GRANT"),
    ("Revoke", "REVOKE"),
    ("Describe", "DESCRIBE"),
    ("Show", "SHOW"),
    ("Summarize", "SUMMARIZE"),
    ("Cache", "CACHE"),
    ("Uncache", "UNCACHE"),
)
FORBIDDEN_NODE_TYPES: tuple[tuple[type[exp.Expr], str], ...] = tuple(
    (getattr(exp, cls), label) for cls, label in _FORBIDDEN_NODES if hasattr(exp, cls)
)

_FORBIDDEN_CLASSES = tuple(cls for cls, _ in FORBIDDEN_NODE_TYPES)

_FIX = "lh.sql() runs one read-only query; use the doctordata API (lh.append, lh.delete, ...)"
_LIST = "doctordata/engines/allowlist.py"


def function_name(node: exp.Expr) -> str:
    """Lower-case SQL name of a function node (Anonymous or a typed sqlglot function)."""
    if isinstance(node, _NAMED_CALLS):
        return str(node.name).lower()
    if isinstance(node, exp.Func):
        return node.sql_name().lower()
    return ""


def rules_for(engines: Iterable[str]) -> list[EngineRules]:
    """The rules of each named engine ("auto" means every engine it may pick)."""
    names = [n for e in engines for n in (RULES if e == "auto" else [e])]
    return [RULES[n] for n in dict.fromkeys(names)]


def check_statements(statements: list[exp.Expr | None]) -> exp.Expr:
    """Exactly one statement, and it is a query; returns it."""
    real = [s for s in statements if s is not None]
    if len(real) != 1:
        raise ReadOnlyViolationError(
            f"expected exactly one SQL statement, got {len(real)}; send statements one "
            "at a time (a ';' inside a string or identifier is fine)"
        )
    root = real[0]
    if not isinstance(root, exp.Query):
        raise ReadOnlyViolationError(f"read-only mode refuses {_label(root)} statements; {_FIX}")
    return root


def _label(node: exp.Expr) -> str:
    for cls, label in FORBIDDEN_NODE_TYPES:
        if isinstance(node, cls):
            if isinstance(node, exp.Command):
                return str(node.name).upper() or label
            return label
    return type(node).__name__.upper()


def check_query(
    root: exp.Expr, tiers: Iterable[Tier], engines: Iterable[str] = ("duckdb", "clickhouse")
) -> None:
    """Refuse writes anywhere in the tree, settings, system schemas and unlisted functions.

    A call must be allowed on every engine in ``engines`` (the router passes the target
    engine; for engine="auto" the engine SQL is checked again once the engine is chosen).
    """
    tier_list = list(tiers)
    rules = rules_for(engines)
    for node in root.walk():
        if isinstance(node, _FORBIDDEN_CLASSES):
            raise ReadOnlyViolationError(
                f"read-only mode refuses {_label(node)} (found inside the query: "
                f"{node.sql()[:80]!r}); {_FIX}"
            )
        if isinstance(node, exp.Select):
            _check_select_clauses(node)
        if isinstance(node, exp.Table):
            _check_table(node, tier_list, rules)
        elif isinstance(node, exp.Func):
            if not (isinstance(node.parent, exp.Table) and node.arg_key == "this"):
                _check_call(node, rules)
        elif isinstance(node, exp.Column) and not node.table:
            _check_bare_name(node)


def check_engine_sql(sql: str, engine: str, dialect: str, tiers: Iterable[Tier]) -> None:
    """The same checks on the SQL the engine will run, re-parsed in its own dialect."""
    import sqlglot
    from sqlglot.errors import ParseError, TokenError

    try:
        statements = list(sqlglot.parse(sql, read=dialect))
    except (ParseError, TokenError) as exc:
        raise UnsupportedSQLError(
            f"the query, translated to {dialect}, could not be read back to check it "
            f"before running it ({str(exc)[:200]}); rewrite it in {dialect} syntax "
            "(engines.dialect) or use the other engine"
        ) from None
    check_query(check_statements(statements), tiers, (engine,))


def _check_select_clauses(node: exp.Select) -> None:
    if node.args.get("settings"):
        raise ReadOnlyViolationError(
            "read-only mode refuses a SETTINGS clause; engine settings come from "
            "doctordata.toml [engines] (query_timeout, memory limits)"
        )
    if node.args.get("format"):
        raise ReadOnlyViolationError(
            "read-only mode refuses a FORMAT clause; doctordata picks the result format "
            "(use Result.arrow(), .df() or `doctordata sql --format`)"
        )


def _check_call(node: exp.Func, rules: list[EngineRules]) -> None:
    if not isinstance(node, _NAMED_CALLS):
        cls = type(node).__name__
        if cls not in allowlist.SQLGLOT_FUNCTIONS:
            _refuse_function(node.sql_name().lower(), rules[0].engine)
        return
    raw = str(node.name)
    name = raw.lower()
    # ASCII only: str.lower() folds some look-alikes (the Kelvin sign K) onto ASCII names.
    if not raw.isascii() or not name:
        _refuse_function(raw, rules[0].engine)
    for r in rules:
        if not r.allows(name):
            _refuse_function(raw, r.engine)


def _refuse_function(name: str, engine: str) -> NoReturn:
    raise ReadOnlyViolationError(
        f"function {name!r}() is refused: it is not on the {engine} sandbox's allow-list of "
        f"pure scalar, aggregate and window functions ({_LIST}). Functions that read files, "
        "settings, the environment or the host never run in lakehouse queries; query "
        "tables by name (ns.table). If it is a pure function you need, add it to the list."
    )


def _check_bare_name(node: exp.Column) -> None:
    if node.name.lower() in allowlist.BARE_CALLS_REFUSED:
        raise ReadOnlyViolationError(
            f"{node.name!r} is refused: ClickHouse evaluates it as the function "
            f"{node.name}() when no column has that name, and that function reads the "
            "session or the host. Qualify a real column with its table (t.col)."
        )


def _check_table(table: exp.Table, tiers: list[Tier], rules: list[EngineRules]) -> None:
    for part in (table.args.get("catalog"), table.args.get("db")):
        if isinstance(part, exp.Identifier) and part.name.lower() in allowlist.SYSTEM_SCHEMAS:
            raise ReadOnlyViolationError(
                f"{table.sql()[:80]} is refused: the {part.name} schema holds the engine's "
                "own catalog and settings, not lakehouse data; list tables with lh.tables() "
                "or `doctordata tables`"
            )
    source = table.this
    if not isinstance(source, exp.Func):
        alias = table.args.get("alias")
        if isinstance(alias, exp.TableAlias) and alias.columns and not alias.name:
            # DuckDB's parser reads `FROM file('/x')` as table "file" with a column list.
            _refuse_table_function(table.name.lower(), rules)
        return
    name = function_name(source)
    if not name.isascii():
        _refuse_table_function(name, rules)
    if all(name in r.table_functions for r in rules):
        return
    if all(name in r.table_functions or name in r.file_table_functions for r in rules):
        _check_paths(name, source, tiers, rules)
        return
    _refuse_table_function(name, rules)


def _refuse_table_function(name: str, rules: list[EngineRules]) -> NoReturn:
    allowed = sorted({n for r in rules for n in r.table_functions | r.file_table_functions})
    raise ReadOnlyViolationError(
        f"table function {name}() is refused in read-only queries; allowed: "
        f"{', '.join(allowed)} (file readers only with literal paths inside a lakehouse "
        "tier), or lakehouse tables by name"
    )


def _check_paths(name: str, func: exp.Func, tiers: list[Tier], rules: list[EngineRules]) -> None:
    positional: list[exp.Expr] = []
    options: list[exp.Expr] = []
    for given in func.iter_expressions():
        option = isinstance(given, (exp.EQ, exp.PropertyEQ, exp.Kwarg))
        (options if option else positional).append(given)
    formats = [
        r.file_formats
        for r in rules
        if r.file_formats is not None and name in r.file_table_functions
    ]
    paths: list[exp.Expr] = []
    if formats:  # ClickHouse file()/s3(): (path[, format]) only
        if options or not 1 <= len(positional) <= 2:
            _bad_arguments(name, "takes (path) or (path, format) in read-only queries")
        paths = positional[:1]
        if len(positional) == 2:
            fmt = positional[1]
            text = fmt.name if isinstance(fmt, (exp.Literal, exp.Column)) else ""
            if not all(text.lower() in f for f in formats):
                _bad_arguments(name, f"format {fmt.sql()[:40]} is not one of the allowed formats")
    else:
        paths = positional
        for opt in options:
            if not isinstance(opt.expression, (exp.Literal, exp.Boolean, exp.Null)):
                _bad_arguments(name, "options must be literal values")
    literals: list[exp.Literal] = []
    for arg in paths:
        items = arg.expressions if isinstance(arg, exp.Array) else [arg]
        for item in items:
            if not (isinstance(item, exp.Literal) and item.is_string):
                _bad_arguments(name, "needs literal file paths inside a lakehouse tier")
            literals.append(item)
    if not literals:
        _bad_arguments(name, "needs literal file paths inside a lakehouse tier")
    for lit in literals:
        path = str(lit.this)
        if not any(_inside(path, t) for t in tiers):
            roots = ", ".join(t.url for t in tiers)
            raise ReadOnlyViolationError(
                f"{name}({path!r}) is outside the lakehouse tiers ({roots}) and is refused; "
                "read lakehouse tables by name instead"
            )


def _bad_arguments(name: str, why: str) -> NoReturn:
    raise ReadOnlyViolationError(
        f"{name}() {why}; the call is refused (read lakehouse tables by name instead)"
    )


def _inside(path: str, tier: Tier) -> bool:
    """True if ``path`` lies below ``tier``'s root once both are in canonical form (``..``
    and ``//`` folded, symlinks resolved: a link inside a tier pointing outside is outside)."""
    from doctordata.storage.locations import canonical_parts, is_within, tier_root

    if any(ch in path for ch in "*?[{"):
        return False  # globs could escape the prefix after expansion
    if "://" not in path and not path.startswith("/"):
        return False
    return is_within(canonical_parts(path), tier_root(tier))
