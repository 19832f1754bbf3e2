"""Developer and CI sessions. Every session installs from the hash-pinned locks.

nox -s tests            # the whole test suite (what CI runs)
nox -s tests -- -x -k postgres tests/catalog
nox -s lint             # ruff check, ruff format --check, mypy
nox -s lock             # recompile requirements/*.txt from pyproject.toml
nox -s lock -- --upgrade
nox -s demo             # the whole pipeline, offline
nox -s bench            # benchmarks/run.py
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import nox

ROOT = Path(__file__).parent
PYTHON = "3.11"
BASE_LOCK = "requirements/base.txt"
DEV_LOCK = "requirements/dev.txt"

nox.options.default_venv_backend = "uv"
nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = True
nox.options.sessions = ["lint", "tests"]
# Use the machine's Python 3.11; never download an interpreter (CI reaches registries only).
os.environ.setdefault("UV_PYTHON_DOWNLOADS", "never")


def _inputs_digest() -> str:
    """Changes whenever the lock or the package metadata (entry points, extras) changes."""
    digest = hashlib.sha256()
    for name in (DEV_LOCK, "pyproject.toml"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def install_locked(session: nox.Session) -> None:
    """Install requirements/dev.txt (hashes required) and doctordata itself, editable.

    Skipped when this session's environment was built from the same lock and pyproject,
    so re-running a session starts in about a second.
    """
    venv = getattr(session.virtualenv, "location", None)
    stamp = Path(venv) / ".doctordata-installed" if venv else None
    digest = _inputs_digest()
    if stamp is not None and stamp.is_file() and stamp.read_text() == digest:
        return
    # Bytecode compiled once at install: with PYTHONDONTWRITEBYTECODE set (as on our CI
    # machines) every test subprocess would otherwise compile pyiceberg, sqlglot, ... again.
    session.install("--require-hashes", "--compile-bytecode", "-r", DEV_LOCK)
    # No dependencies (the lock brought them all) and no build isolation: the pinned
    # setuptools from the lock builds the editable install, nothing unpinned is fetched.
    session.install("--no-deps", "--no-build-isolation", "-e", ".")
    if stamp is not None:
        stamp.write_text(digest)


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the test suite against real services (Postgres, SeaweedFS S3, chDB, ...)."""
    install_locked(session)
    # A selection (`nox -s tests -- -k foo`) may match nothing (pytest exit 5): that is not
    # a failure. The whole suite collecting nothing is.
    success = [0, 5] if session.posargs else [0]
    # Our own modules too (the tests start hundreds of Python subprocesses).
    session.run("python", "-m", "compileall", "-q", "doctordata", "tests", "benchmarks")
    session.run(
        "pytest",
        "-p",
        "no:cacheprovider",
        "--timeout=900",
        "--durations=25",
        *(session.posargs or ["tests"]),
        success_codes=success,
    )


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff (lint + format check) over the code, mypy over the package."""
    install_locked(session)
    paths = [p for p in ("doctordata", "tests", "benchmarks", "noxfile.py") if (ROOT / p).exists()]
    session.run("ruff", "check", *paths)
    session.run("ruff", "format", "--check", *paths)
    session.run("mypy", "doctordata")


def _compile(session: nox.Session, output: str, *extra: str) -> None:
    session.run(
        "uv",
        "pip",
        "compile",
        "--universal",
        "--generate-hashes",
        "--python-version",
        PYTHON,
        "--custom-compile-command",
        "nox -s lock",
        "--quiet",
        *extra,
        *session.posargs,
        "pyproject.toml",
        "-o",
        output,
    )


# A lock must not name where packages come from: no index, find-links or direct URLs.
_SOURCE_LINE = re.compile(r"^\s*(--(extra-)?index-url|--find-links|-f\s|-i\s)|://", re.MULTILINE)


@nox.session(python=PYTHON)
def lock(session: nox.Session) -> None:
    """Recompile the hash-pinned locks from pyproject.toml (pass --upgrade to update pins)."""
    _compile(session, BASE_LOCK)
    _compile(session, DEV_LOCK, "--extra", "dev")
    for name in (BASE_LOCK, DEV_LOCK):
        text = (ROOT / name).read_text()
        hit = _SOURCE_LINE.search(text)
        if hit:
            line = text[: hit.end()].splitlines()[-1]
            session.error(f"{name} names a package source ({line.strip()!r}); remove it")
    session.log(f"wrote {BASE_LOCK} and {DEV_LOCK}")


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """Run the whole pipeline offline (`doctordata demo`) into ./demo or the given --root."""
    if not (ROOT / "doctordata" / "commands" / "flows.py").exists():
        session.log("doctordata demo: not yet available in this version")
        return
    install_locked(session)
    session.run("doctordata", "demo", *session.posargs)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Run the benchmarks (benchmarks/run.py); results are written to files."""
    runner = ROOT / "benchmarks" / "run.py"
    if not runner.exists():
        session.log("no benchmarks yet: benchmarks/run.py does not exist")
        return
    install_locked(session)
    session.run("python", str(runner.relative_to(ROOT)), *session.posargs)
