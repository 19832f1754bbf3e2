"""Read-only checks on parsed user SQL, before any engine sees it.

Allowed: exactly one query (SELECT / set operation), reading lakehouse tables, CTEs,
engine-native serving tables and a few side-effect-free table functions (range, unnest,
...), plus file-reading table functions whose paths all lie inside a lakehouse tier.
Refused: everything else, named in the error together with the fix.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from typing import TYPE_CHECKING

from sqlglot import exp

from doctordata.errors import ReadOnlyViolationError

if TYPE_CHECKING:
    from doctordata.storage.tier import Tier

# Table functions that read nothing outside the query itself.
SAFE_TABLE_FUNCTIONS = frozenset(
    {"range", "generate_series", "unnest", "numbers", "zeros", "values", "generate_subscripts"}
)

# Table functions that read files by path: allowed only for literal paths inside a tier.
FILE_TABLE_FUNCTIONS = frozenset(
    {
        "read_parquet",
        "parquet_scan",
        "read_csv",
        "read_csv_auto",
        "read_json",
        "read_json_auto",
        "read_ndjson",
        "file",
        "s3",
    }
)

# Functions that reach outside the lakehouse (files, network, other databases, the
# environment or arbitrary SQL strings) wherever they appear.
FORBIDDEN_FUNCTIONS = frozenset(
    {
        "read_text",
        "read_blob",
        "glob",
        "url",
        "urlcluster",
        "remote",
        "remotesecure",
        "cluster",
        "clusterallreplicas",
        "hdfs",
        "hdfscluster",
        "s3cluster",
        "gcs",
        "azureblobstorage",
        "mysql",
        "postgresql",
        "postgres_scan",
        "sqlite_scan",
        "sqlite",
        "jdbc",
        "odbc",
        "mongodb",
        "redis",
        "executable",
        "input",
        "iceberg",
        "iceberglocal",
        "iceberg_scan",
        "icebergs3",
        "iceberg_metadata",
        "iceberg_snapshots",
        "deltalake",
        "delta_scan",
        "hudi",
        "getenv",
        "query",
        "query_table",
        "parquet_metadata",
        "parquet_schema",
        "parquet_file_metadata",
        "parquet_kv_metadata",
        "read_xlsx",
        "st_read",
        "sniff_csv",
        "dictionary",
        "merge",
        "filesystem",
        "loop",
        "view",
        "viewifpermitted",
        "fuzzjson",
        "generaterandom",
        "duckdb_secrets",
        "duckdb_settings",
        "which_secret",
        "load_aws_credentials",
    }
)

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


def function_name(node: exp.Expr) -> str:
    """Lower-case SQL name of a function node (Anonymous or a typed sqlglot function)."""
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    if isinstance(node, exp.Func):
        return node.sql_name().lower()
    return ""


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


def check_query(root: exp.Expr, tiers: Iterable[Tier]) -> None:
    """Refuse writes anywhere in the tree (data-modifying CTEs too) and escaping functions."""
    tier_list = list(tiers)
    for node in root.walk():
        if isinstance(node, _FORBIDDEN_CLASSES):
            raise ReadOnlyViolationError(
                f"read-only mode refuses {_label(node)} (found inside the query: "
                f"{node.sql()[:80]!r}); {_FIX}"
            )
        if isinstance(node, exp.Select) and node.args.get("settings"):
            raise ReadOnlyViolationError(
                "read-only mode refuses a SETTINGS clause; engine settings come from "
                "doctordata.toml [engines]"
            )
        if isinstance(node, exp.Func):
            name = function_name(node)
            if name in FORBIDDEN_FUNCTIONS:
                raise ReadOnlyViolationError(
                    f"{name}() reads outside the lakehouse and is refused; query lakehouse "
                    "tables by name (ns.table) instead"
                )
        if isinstance(node, exp.Table):
            _check_table_source(node, tier_list)


def _check_table_source(table: exp.Table, tiers: list[Tier]) -> None:
    source = table.this
    if isinstance(source, exp.Func):
        name = function_name(source)
        if name in SAFE_TABLE_FUNCTIONS:
            return
        if name in FILE_TABLE_FUNCTIONS:
            _check_paths(name, source, tiers)
            return
        raise ReadOnlyViolationError(
            f"table function {name or source.sql()[:40]}() is refused in read-only "
            f"queries; allowed: {', '.join(sorted(SAFE_TABLE_FUNCTIONS))}, or lakehouse tables"
        )
    # DuckDB parses `FROM file('/x')` as a table named file with a column alias list.
    if (
        not table.args.get("db")
        and table.name.lower() in FORBIDDEN_FUNCTIONS | FILE_TABLE_FUNCTIONS
    ):
        raise ReadOnlyViolationError(
            f"{table.name}() reads outside the lakehouse and is refused; query lakehouse "
            "tables by name (ns.table) instead"
        )


def _check_paths(name: str, func: exp.Expr, tiers: list[Tier]) -> None:
    literals = [lit for lit in func.find_all(exp.Literal) if lit.is_string]
    others = [
        a
        for a in func.iter_expressions()
        if not isinstance(a, (exp.Literal, exp.Array, exp.PropertyEQ, exp.EQ, exp.Kwarg))
    ]
    if not literals or others:
        raise ReadOnlyViolationError(
            f"{name}() needs literal file paths inside a lakehouse tier in read-only mode"
        )
    for lit in literals[:1] if name in ("file", "s3") else literals:
        path = str(lit.this)
        if not any(_inside(path, t) for t in tiers):
            roots = ", ".join(t.url for t in tiers)
            raise ReadOnlyViolationError(
                f"{name}({path!r}) is outside the lakehouse tiers ({roots}) and is refused; "
                "read lakehouse tables by name instead"
            )


def _inside(path: str, tier: Tier) -> bool:
    if any(ch in path for ch in "*?[{"):
        return False  # globs could escape the prefix after expansion
    if "://" in path:
        scheme, rest = path.split("://", 1)
        normal = f"{scheme}://{posixpath.normpath(rest)}"
    else:
        if not path.startswith("/"):
            return False
        normal = posixpath.normpath(path)
    return tier.contains(normal)
