"""HackerNews ingestion: doctordata's pipeline vs plain dlt into its duckdb destination.

Both load the same ids from the same local HN API server (in this process) with the same
dlt source and the same number of workers, each in a fresh child process that reports its
wall time, peak RSS and where the time went. Goal: doctordata >= 1.0x plain dlt.

    python benchmarks/run.py ingest            # DOCTORDATA_BENCH_HN_ITEMS=20000 by default
"""

from __future__ import annotations

import json
import multiprocessing
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

ITEMS = int(os.environ.get("DOCTORDATA_BENCH_HN_ITEMS", "20000"))
WORKERS = int(os.environ.get("DOCTORDATA_BENCH_HN_WORKERS", "8"))


def _doctordata(url: str, root: str) -> dict[str, Any]:
    import doctordata as dd
    from doctordata.ingest.hackernews import run

    with dd.connect(root + "-warm") as warm:  # imports and first-use costs, not timed
        run(warm, base_url=url, workers=WORKERS, max_items=50, updates=False, lists=False)
    with dd.connect(root) as lh:
        started = time.perf_counter()
        report = run(lh, base_url=url, workers=WORKERS, updates=False, lists=False)
        seconds = time.perf_counter() - started
        rows = report.items_new
    return {"seconds": seconds, "rows": rows, "timings": report.timings}


def _duckdb_pipeline(root: str) -> Any:
    import dlt

    return dlt.pipeline(
        pipeline_name="bench_hn_duckdb",
        pipelines_dir=str(Path(root) / "dlt"),
        destination=dlt.destinations.duckdb(str(Path(root) / "hn.duckdb")),
        dataset_name="hackernews",
    )


def _plain_dlt(url: str, root: str) -> dict[str, Any]:
    from doctordata.ingest.fetcher import Fetcher
    from doctordata.ingest.hackernews import hackernews_source

    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    with Fetcher(url, workers=WORKERS) as fetcher:  # warm-up (imports, first use), not timed
        warm = hackernews_source(fetcher, start_id=1, end_id=50, updates=False, lists=False)
        _duckdb_pipeline(root + "-warm").run(warm)
    pipeline = _duckdb_pipeline(root)
    started = time.perf_counter()
    with Fetcher(url, workers=WORKERS) as fetcher:
        maxitem = fetcher.get("maxitem.json").value
        source = hackernews_source(fetcher, start_id=1, end_id=maxitem, updates=False, lists=False)
        pipeline.run(source)
    seconds = time.perf_counter() - started
    with pipeline.sql_client() as client:
        rows = client.execute_sql("SELECT count(*) FROM items")[0][0]
    steps = {
        s.step: round((s.finished_at - s.started_at).total_seconds(), 3)
        for s in pipeline.last_trace.steps
        if s.finished_at
    }
    return {"seconds": seconds, "rows": int(rows), "timings": steps}


def _child(name: str, url: str, root: str, out: Any) -> None:
    result = {"doctordata": _doctordata, "plain dlt -> duckdb": _plain_dlt}[name](url, root)
    result["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    out.put(result)


def run(results_dir: Path) -> dict[str, Any]:
    from doctordata.ingest.hn_api import start_server

    results: dict[str, Any] = {"items": ITEMS, "workers": WORKERS}
    ctx = multiprocessing.get_context("spawn")  # clean processes: fair peak memory
    with start_server(items=ITEMS, seed=42) as server, tempfile.TemporaryDirectory() as tmp:
        for name in ("plain dlt -> duckdb", "doctordata"):
            out = ctx.Queue()
            root = str(Path(tmp) / name.split()[0])
            child = ctx.Process(target=_child, args=(name, server.url, root, out))
            child.start()
            result = out.get(timeout=3600)
            child.join()
            result["items_per_s"] = round(result["rows"] / result["seconds"], 1)
            results[name] = result
            print(f"  {name}: {result['items_per_s']} items/s, {result}", flush=True)
    ratio = results["doctordata"]["items_per_s"] / results["plain dlt -> duckdb"]["items_per_s"]
    results["ratio"] = round(ratio, 2)
    (results_dir / "ingest_hackernews.json").write_text(json.dumps(results, indent=2))
    lines = [
        f"# HackerNews ingestion ({ITEMS} items, {WORKERS} workers, local API)",
        "",
        "| pipeline | items/s | seconds | peak RSS MiB | time by step |",
        "|---|---|---|---|---|",
    ]
    for name in ("doctordata", "plain dlt -> duckdb"):
        r = results[name]
        steps = ", ".join(f"{k} {v}s" for k, v in r["timings"].items())
        lines.append(
            f"| {name} | {r['items_per_s']} | {r['seconds']:.1f} | {r['peak_rss_mib']} | {steps} |"
        )
    lines += ["", f"doctordata / plain dlt = {results['ratio']}x (goal >= 1.0x)"]
    (results_dir / "ingest_hackernews.md").write_text("\n".join(lines) + "\n")
    return results


if __name__ == "__main__":
    out_dir = Path(__file__).resolve().parent / "results"
    out_dir.mkdir(exist_ok=True)
    run(out_dir)
