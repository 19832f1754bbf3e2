"""Run dbt programmatically (dbtRunner) against a Lakehouse, with a generated profile.

run = run_dbt(lh, ["build"])          # raises TransformError naming failed nodes
run.nodes, run.scans, run.stores      # per-node results, planned scans, catalog writes
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from doctordata.engines.duckdb import scratch_root
from doctordata.errors import ConfigError, MissingDependencyError, TransformError
from doctordata.transform import profiles
from doctordata.transform.session import (
    ScanStat,
    StoreStat,
    close_session,
    open_session,
)

if TYPE_CHECKING:
    from doctordata.lakehouse import Lakehouse

# dbt commands that need the project and profile flags appended.
PROJECT_COMMANDS = frozenset(
    {
        "build",
        "run",
        "test",
        "compile",
        "seed",
        "snapshot",
        "ls",
        "list",
        "parse",
        "show",
        "run-operation",
        "debug",
        "docs",
        "source",
    }
)
# Node statuses that make a run fail ("skipped" follows from an upstream failure).
FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})
# Python module of each target's dbt adapter (for the install hint).
ADAPTER_MODULES = {"duckdb": "dbt.adapters.duckdb", "clickhouse": "dbt.adapters.clickhouse"}
# Environment for every invocation: no telemetry, no version check over the network.
DBT_ENV = {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_VERSION_CHECK": "false"}
# The doctordata dbt package (macros and hooks), shipped inside the wheel; a project's
# packages.yml names it as `local: "{{ env_var('DOCTORDATA_DBT_PACKAGE') }}"`.
PACKAGE_DIR = Path(__file__).resolve().parent / "dbt_package"
PACKAGE_ENV = "DOCTORDATA_DBT_PACKAGE"


@dataclass(frozen=True)
class NodeResult:
    """One dbt node's outcome."""

    unique_id: str
    resource_type: str
    status: str
    message: str | None
    seconds: float

    @property
    def failed(self) -> bool:
        return self.status in FAILED_STATUSES


@dataclass
class DbtRun:
    """What one dbt invocation did."""

    args: list[str]
    target: str
    success: bool
    seconds: float
    nodes: list[NodeResult] = field(default_factory=list)
    scans: list[ScanStat] = field(default_factory=list)
    stores: list[StoreStat] = field(default_factory=list)
    # Models built but not written to the catalog because the invocation failed.
    unwritten: list[str] = field(default_factory=list)
    error: str | None = None
    # Why a source could not be read (e.g. a bad as_of), which dbt's messages leave out.
    source_errors: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[NodeResult]:
        return [n for n in self.nodes if n.failed]

    def describe_failure(self) -> str:
        if self.failed:
            lines = [f"{n.unique_id} ({n.status}): {_first_line(n.message)}" for n in self.failed]
            return "; ".join([*lines, *self.source_errors])
        return self.error or "dbt reported failure without a failed node"


def default_project_dir() -> Path:
    """The HackerNews example project (the repository's ``dbt/``; not in the wheel: pass
    ``--project-dir`` to run your own project)."""
    return Path(__file__).resolve().parents[2] / "dbt"


def run_dbt(
    lh: Lakehouse,
    args: Sequence[str],
    *,
    target: str = "duckdb",
    project_dir: str | os.PathLike[str] | None = None,
    namespace: str = "marts",
    threads: int = 2,
    quiet: bool = False,
    raise_on_failure: bool = True,
    as_of: Any = None,
) -> DbtRun:
    """Run ``dbt <args>`` on ``lh`` with a generated profile for ``target``.

    ``as_of`` (a time, tag or snapshot id): every source is read as of then, so the marts
    are rebuilt from the sources as they were (and record it in their lineage).
    Raises TransformError naming each failed node (unless ``raise_on_failure=False``).
    """
    if not args:
        raise ConfigError("no dbt command given; use e.g. build, run or test")
    _require(target)
    project = Path(project_dir) if project_dir is not None else default_project_dir()
    if not (project / "dbt_project.yml").is_file():
        raise ConfigError(
            f"dbt project {project} has no dbt_project.yml; pass --project-dir pointing at "
            "a dbt project (the HackerNews one is the repository's dbt/ folder)"
        )
    work = profiles.work_dir(lh)
    work.mkdir(parents=True, exist_ok=True)
    session = open_session(lh, namespace, as_of=as_of)
    started = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="doctordata-profiles-") as tmp:
            password = _write_profile(lh, Path(tmp), target, session.id, namespace, threads)
            full = _full_args(list(args), project, Path(tmp), target, work, quiet)
            env = {
                **DBT_ENV,
                profiles.CLICKHOUSE_PASSWORD_ENV: password,
                PACKAGE_ENV: str(PACKAGE_DIR),
            }
            with _environment(env):
                if args[0] in PROJECT_COMMANDS:
                    _install_package(project, Path(tmp), target, work)
                result = _invoke(full)
        if result.success and session.pending and session.committer is not None:
            # A project without the package's on-run-end hook: commit here instead.
            session.committer()
    finally:
        _release_duckdb()
        close_session(session.id)
        shutil.rmtree(scratch_root(lh) / f"dbt-{session.id}", ignore_errors=True)
    run = DbtRun(
        args=list(args),
        target=target,
        success=bool(result.success),
        seconds=time.perf_counter() - started,
        nodes=_nodes(result.result),
        scans=list(session.scans),
        stores=list(session.stores),
        unwritten=[] if result.success else [w.table for w in session.pending],
        error=_first_line(str(result.exception)) if result.exception is not None else None,
        source_errors=list(dict.fromkeys(session.errors)),
    )
    if not run.success and raise_on_failure:
        raise TransformError(
            f"dbt {' '.join(args)} failed on target {target}: {run.describe_failure()}. "
            f"Nothing was written to the catalog. Details: {work / 'logs' / 'dbt.log'}",
            failed_nodes=[n.unique_id for n in run.failed],
        )
    return run


def _install_package(project: Path, profiles_dir: Path, target: str, work: Path) -> None:
    """`dbt deps` when the project names the doctordata package and it is not installed
    (or its link points at another installation of doctordata)."""
    packages = project / "packages.yml"
    if not packages.is_file() or PACKAGE_ENV not in packages.read_text():
        return
    installed = project / "dbt_packages" / "doctordata"
    if (installed / "dbt_project.yml").is_file() and installed.resolve() == PACKAGE_DIR:
        return
    deps = ["deps", "--project-dir", str(project), "--profiles-dir", str(profiles_dir)]
    result = _invoke([*deps, "--target", target, "--log-path", str(work / "logs"), "--quiet"])
    if not result.success:
        raise TransformError(
            f"`dbt deps` could not install the doctordata dbt package ({PACKAGE_DIR}) into "
            f"{project / 'dbt_packages'}: {_first_line(str(result.exception))}",
            failed_nodes=[],
        )


def _require(target: str) -> None:
    if target not in profiles.TARGETS:
        raise ConfigError(
            f"dbt target {target!r} is not supported; choose one of {', '.join(profiles.TARGETS)}"
        )
    for module in ("dbt.cli.main", ADAPTER_MODULES[target]):
        try:
            __import__(module)
        except ImportError as exc:
            raise MissingDependencyError(module.split(".")[0], "dbt", f"dbt ({target})") from exc


def _write_profile(
    lh: Lakehouse, directory: Path, target: str, session_id: str, namespace: str, threads: int
) -> str:
    password = ""
    if target == "duckdb":
        output = profiles.duckdb_output(
            lh, session_id=session_id, namespace=namespace, threads=threads
        )
    else:
        output, password = profiles.clickhouse_output(
            lh.settings.clickhouse_url, namespace=namespace, threads=threads
        )
    profiles.write_profiles(directory, target, output)
    return password


def _full_args(
    args: list[str], project: Path, profiles_dir: Path, target: str, work: Path, quiet: bool
) -> list[str]:
    if args[0] not in PROJECT_COMMANDS:
        return args
    extra = [
        "--project-dir",
        str(project),
        "--profiles-dir",
        str(profiles_dir),
        "--target",
        target,
        # target/ and logs/ per lakehouse and target, never inside the shared project.
        "--target-path",
        str(work / f"target-{target}"),
        "--log-path",
        str(work / "logs"),
        "--no-use-colors",
    ]
    if quiet:
        extra.append("--quiet")
    return [*args, *extra]


def _invoke(args: list[str]) -> Any:
    from dbt.cli.main import dbtRunner

    return dbtRunner().invoke(args)


class _environment:
    """Set environment variables for the duration of a dbt invocation."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.saved: dict[str, str | None] = {}

    def __enter__(self) -> None:
        for key, value in self.values.items():
            self.saved[key] = os.environ.get(key)
            os.environ[key] = value

    def __exit__(self, *exc: object) -> None:
        for key, value in self.saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _release_duckdb() -> None:
    # dbt-duckdb keeps its environment (and the working database file) open at class
    # level between invocations; close it so the file is not locked after the run.
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:
        return
    with DuckDBConnectionManager._LOCK:
        env = DuckDBConnectionManager._ENV
        if env is not None:
            env.close()
            DuckDBConnectionManager._ENV = None


def _nodes(result: Any) -> list[NodeResult]:
    out = []
    for r in getattr(result, "results", None) or []:
        node = getattr(r, "node", None)
        if node is None:
            continue
        out.append(
            NodeResult(
                unique_id=node.unique_id,
                resource_type=str(getattr(node.resource_type, "value", node.resource_type)),
                status=str(getattr(r.status, "value", r.status)),
                message=r.message,
                seconds=float(r.execution_time or 0.0),
            )
        )
    return out


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""
