"""dbt adapter: generated profiles, a dbt-duckdb plugin over the Iceberg catalog, a runner,
and the doctordata dbt package (dbt_package/: source and store macros, run hooks).

    from doctordata.transform import run_dbt
    run = run_dbt(lh, ["build"])                 # dbt-duckdb, marts -> Iceberg `marts.*`
    run = run_dbt(lh, ["build"], as_of="2026-11-01")   # sources as of then
    run = run_dbt(lh, ["build"], target="clickhouse")

Modules: session (one invocation: pinned snapshots, queued writes), sources (how models
read Iceberg), writes (streamed, incremental, with lineage), plugin (the dbt-duckdb glue),
profiles, runner.

Nothing here is imported by ``import doctordata``; dbt loads only when a run starts.

May import: lakehouse.py and everything below; never ingest/, orchestrate/ or commands/.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from doctordata.transform.runner import DbtRun, run_dbt

__all__ = ["DbtRun", "run_dbt"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from doctordata.transform import runner

        return getattr(runner, name)
    raise AttributeError(name)
