"""The layering of shared/DESIGN.md, checked on the source: imports point down only.

Every ``import`` in the package is read with ``ast`` (function-level and TYPE_CHECKING
imports included) and mapped to its floor. An import that points to a higher floor, or
sideways to another package on the same floor, fails the test naming the file, the line
and the import; so does any import cycle between modules.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "doctordata"

# Lowest first. Units on one floor are siblings: they never import each other. A unit is a
# top-level module or subpackage of doctordata ("" is the package's own __init__).
FLOORS: tuple[tuple[str, ...], ...] = (
    ("errors", "version", "secrets", "progress"),
    ("config",),
    ("arguments",),
    ("storage",),
    ("catalog",),
    ("workspace",),
    ("engines", "lifecycle", "backup"),
    ("lakehouse",),
    ("ingest", "transform"),
    ("orchestrate",),  # schedules ingest and dbt runs, so it sits above both
    ("health",),
    ("commands",),
    ("cli",),
    ("__main__", ""),
)
FLOOR = {unit: i for i, units in enumerate(FLOORS) for unit in units}


@dataclass(frozen=True)
class Import:
    source: str  # module that imports, e.g. doctordata.engines.router
    target: str  # module imported, e.g. doctordata.catalog.tables
    file: Path
    line: int

    def __str__(self) -> str:
        return (
            f"{self.file.relative_to(PACKAGE.parent)}:{self.line}: {self.source} -> {self.target}"
        )


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(node: ast.ImportFrom, source: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = source.split(".") if is_package else source.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imports() -> Iterator[Import]:
    known = modules()
    for source, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(node, source, path.name == "__init__.py")
                # "from doctordata.catalog import tables" imports the module catalog.tables
                targets = [
                    f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names
                ]
            else:
                continue
            for target in targets:
                if target == "doctordata" or target.startswith("doctordata."):
                    yield Import(source, target, path, node.lineno)


def unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def violation(imp: Import) -> str | None:
    src, dst = unit(imp.source), unit(imp.target)
    if src == dst:
        return None
    if src not in FLOOR or dst not in FLOOR:
        return f"{imp}: {src or dst!r} has no floor in tests/test_layers.py FLOORS"
    if FLOOR[dst] > FLOOR[src]:
        return f"{imp}: points up ({src} is below {dst})"
    if FLOOR[dst] == FLOOR[src]:
        return f"{imp}: points sideways ({src} and {dst} are siblings)"
    return None


def test_imports_point_down_only() -> None:
    problems = sorted({v for imp in imports() if (v := violation(imp))})
    assert not problems, "imports against the layering:\n" + "\n".join(problems)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles() -> None:
    graph: dict[str, set[str]] = {}
    for imp in imports():
        # A package's __init__ re-exporting its own modules is not a cycle of design.
        if imp.target.startswith(imp.source + "."):
            continue
        graph.setdefault(imp.source, set()).add(imp.target)
    cycles = _cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_nothing_below_the_facade_names_lakehouse() -> None:
    below = {u for u, f in FLOOR.items() if f < FLOOR["lakehouse"]}
    named = sorted(
        str(imp)
        for imp in imports()
        if unit(imp.source) in below and imp.target == "doctordata.lakehouse"
    )
    assert not named, "modules below lakehouse.py import it:\n" + "\n".join(named)


@pytest.mark.parametrize(
    ("source", "target", "expected"),
    [
        ("doctordata.engines.router", "doctordata.catalog.tables", None),
        ("doctordata.catalog.tables", "doctordata.engines.router", "points up"),
        ("doctordata.lifecycle.mover", "doctordata.backup.copy", "points sideways"),
        ("doctordata.backup.restore", "doctordata.lakehouse", "points up"),
    ],
)
def test_the_rule_itself(source: str, target: str, expected: str | None) -> None:
    got = violation(Import(source, target, PACKAGE / "x.py", 1))
    assert (got is None) if expected is None else (got is not None and expected in got)


def _private_imports(path: Path) -> Iterator[tuple[int, str, str]]:
    """(line, module, name) of every ``from doctordata... import _name`` in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("doctordata"):
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    yield node.lineno, node.module or "", alias.name


def test_private_names_stay_in_their_package() -> None:
    found = []
    for source, path in modules().items():
        for line, module, name in _private_imports(path):
            if unit(module) != unit(source):
                found.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {module}.{name}")
    assert not found, "private names used from another package:\n" + "\n".join(found)


def test_benchmarks_use_the_public_package_only() -> None:
    bench = PACKAGE.parent / "benchmarks"
    found = []
    for path in sorted(bench.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(text, filename=str(path))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "tests":
                found.append(f"{path.name}:{node.lineno}: imports from {node.module}")
            if isinstance(node, ast.Import):
                found += [
                    f"{path.name}:{node.lineno}: imports {a.name}"
                    for a in node.names
                    if a.name.split(".")[0] == "tests"
                ]
        found += [
            f"{path.name}:{line}: {module}.{name}" for line, module, name in _private_imports(path)
        ]
    assert not found, "benchmarks reach into tests/ or private names:\n" + "\n".join(found)
