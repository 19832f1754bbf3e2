"""Run every benchmark module in benchmarks/ (``nox -s bench``).

A benchmark is a module here with a ``run(results_dir: Path)`` function; it writes its own
JSON/markdown into ``results_dir``. ``python benchmarks/run.py [name ...]`` runs a subset.
"""

from __future__ import annotations

import importlib
import inspect
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def discover() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.py") if p.stem not in ("run", "__init__", "common"))


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(HERE.parent))  # so `benchmarks.<name>` imports from a checkout
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    names = argv or discover()
    failed = []
    for name in names:
        module = importlib.import_module(f"benchmarks.{name}")
        fn = getattr(module, "run", None)
        if fn is None or not callable(fn):
            continue
        params = inspect.signature(fn).parameters
        started = time.perf_counter()
        print(f"== {name}", flush=True)
        try:
            fn(results) if params else fn()
        except Exception as exc:
            print(f"!! {name} failed: {type(exc).__name__}: {exc}", flush=True)
            failed.append(name)
        print(f"== {name} done in {time.perf_counter() - started:.1f}s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
