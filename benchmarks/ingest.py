"""HackerNews ingestion: doctordata's pipeline vs plain dlt into its duckdb destination.

Both load the same ids from the same local HN API server (in this process, generated
once before the first run) with the same dlt source, the same fetcher and the same
number of workers. Each run is a fresh child process that first warms up (imports, first
use) on 50 items, then reports its wall time, peak RSS, its own CPU seconds and where the
time went; this process's CPU time over the run is the server's. Contestants alternate,
and the round order rotates (A, B, B, A, A, B, ...), so background noise and any
first-of-a-pair effect hit both; the figures are medians.
Goal: doctordata >= 1.0x plain dlt in items/s.

    python benchmarks/run.py ingest     # DOCTORDATA_BENCH_HN_ITEMS=20000, _ROUNDS=6, _WORKERS=8
"""

from __future__ import annotations

import json
import multiprocessing
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ITEMS = int(os.environ.get("DOCTORDATA_BENCH_HN_ITEMS", "20000"))
WORKERS = int(os.environ.get("DOCTORDATA_BENCH_HN_WORKERS", "8"))
ROUNDS = int(os.environ.get("DOCTORDATA_BENCH_HN_ROUNDS", "6"))
DD, DLT = "doctordata", "plain dlt -> duckdb"


def _doctordata(url: str, root: str) -> dict[str, Any]:
    import doctordata as dd
    from doctordata.ingest.hackernews import run

    with dd.connect(root + "-warm") as warm:  # imports and first-use costs, not timed
        run(warm, base_url=url, workers=WORKERS, max_items=50, updates=False, lists=False)
    with dd.connect(root) as lh:
        cpu0, child0, started = _cpu(), _children_cpu(), time.perf_counter()
        report = run(lh, base_url=url, workers=WORKERS, updates=False, lists=False)
        seconds, cpu = time.perf_counter() - started, _cpu() - cpu0
        helper_cpu = _children_cpu() - child0  # the helper processes, waited for by run()
        rows = report.items_new
    timings = {k: v for k, v in report.timings.items() if k != "http_total"}
    return {
        "seconds": seconds,
        "rows": rows,
        "client_cpu_s": cpu,
        "timings": timings,
        # the helper processes' own peaks (none: everything ran in the run's process)
        "helpers_peak_rss_mib": sum(report.helper_peak_rss_mib.values()) or None,
        "helpers_cpu_s": round(helper_cpu, 2),
    }


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
    from doctordata.ingest.hn_source import hackernews_source

    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    with Fetcher(url, workers=WORKERS) as fetcher:  # warm-up (imports, first use), not timed
        warm = hackernews_source(fetcher, start_id=1, end_id=50, updates=False, lists=False)
        _duckdb_pipeline(root + "-warm").run(warm)
    pipeline = _duckdb_pipeline(root)
    cpu0, started = _cpu(), time.perf_counter()
    with Fetcher(url, workers=WORKERS) as fetcher:
        maxitem = fetcher.get("maxitem.json").value
        source = hackernews_source(fetcher, start_id=1, end_id=maxitem, updates=False, lists=False)
        pipeline.run(source)
    seconds, cpu = time.perf_counter() - started, _cpu() - cpu0
    with pipeline.sql_client() as client:
        rows = client.execute_sql("SELECT count(*) FROM items")[0][0]
    # dlt's load step is where duckdb commits: call it "commit" too, next to ours.
    steps = {
        s.step: round((s.finished_at - s.started_at).total_seconds(), 3)
        for s in pipeline.last_trace.steps
        if s.finished_at and s.step != "run"
    }
    return {"seconds": seconds, "rows": int(rows), "client_cpu_s": cpu, "timings": steps}


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def _children_cpu() -> float:
    t = os.times()
    return t.children_user + t.children_system


def _child(name: str, url: str, root: str, out: Any) -> None:
    result = {DD: _doctordata, DLT: _plain_dlt}[name](url, root)
    result["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    out.put(result)


def _one(ctx: Any, name: str, url: str, root: str) -> dict[str, Any]:
    out = ctx.Queue()
    child = ctx.Process(target=_child, args=(name, url, root, out))
    child.start()
    result: dict[str, Any] = out.get(timeout=1800)
    child.join()
    result["items_per_s"] = round(result["rows"] / result["seconds"], 1)
    return result


def _machine() -> dict[str, Any]:
    import dlt
    import duckdb
    import pyiceberg

    import doctordata

    return {
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
        "doctordata": doctordata.__version__,
        "dlt": dlt.__version__,
        "duckdb": duckdb.__version__,
        "pyiceberg": pyiceberg.__version__,
    }


def _median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    med: dict[str, Any] = {
        k: round(statistics.median(r[k] for r in runs), 3)
        for k in ("items_per_s", "seconds", "peak_rss_mib", "client_cpu_s", "server_cpu_s")
    }
    steps = {k for r in runs for k in r["timings"]}
    med["timings"] = {
        k: round(statistics.median(r["timings"].get(k, 0.0) for r in runs), 3)
        for k in sorted(steps)
    }
    med["rows"] = runs[0]["rows"]
    for key in ("helpers_peak_rss_mib", "helpers_cpu_s"):
        helper = [r[key] for r in runs if r.get(key)]
        med[key] = round(statistics.median(helper), 2) if helper else None
    return med


def run(results_dir: Path) -> dict[str, Any]:
    from doctordata.ingest.hn_api import start_server

    results: dict[str, Any] = {
        "benchmark": "ingest_hackernews",
        "items": ITEMS,
        "workers": WORKERS,
        "rounds": ROUNDS,
        "machine": _machine(),
    }
    runs: dict[str, list[dict[str, Any]]] = {DLT: [], DD: []}
    ctx = multiprocessing.get_context("spawn")  # clean processes: fair peak memory
    with start_server(items=ITEMS, seed=42) as server, tempfile.TemporaryDirectory() as tmp:
        for n in range(ROUNDS):
            for name in (DLT, DD) if n % 2 == 0 else (DD, DLT):
                root = str(Path(tmp) / f"{name.split()[0]}-{n}")
                load_1m = round(os.getloadavg()[0], 2)
                server_cpu0 = _cpu()  # this process only serves HTTP while a child runs
                result = _one(ctx, name, server.url, root)
                result["load_average_1m_before"] = load_1m
                result["server_cpu_s"] = round(_cpu() - server_cpu0, 3)
                runs[name].append(result)
                print(f"  {name} #{n}: {result['items_per_s']} items/s, {result}", flush=True)
    results["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    results["runs"] = runs
    results["median"] = {name: _median_of(r) for name, r in runs.items()}
    ratios = [d["items_per_s"] / p["items_per_s"] for d, p in zip(runs[DD], runs[DLT], strict=True)]
    results["ratio_per_round"] = [round(r, 3) for r in ratios]
    results["ratio"] = round(
        results["median"][DD]["items_per_s"] / results["median"][DLT]["items_per_s"], 3
    )
    (results_dir / "ingest_hackernews.json").write_text(json.dumps(results, indent=2) + "\n")
    (results_dir / "ingest_hackernews.md").write_text(_markdown(results))
    return results


def _steps(name: str, r: dict[str, Any]) -> dict[str, float]:
    """fetch / normalize / commit / outside-fetch seconds, named alike for both."""
    t = r["timings"]
    if name == DD:
        fetch, commit = t.get("fetch", t.get("extract", 0.0)), t.get("commit", 0.0)
    else:  # dlt's extract step is the fetch, its load step duckdb's commit
        fetch, commit = t.get("extract", 0.0), t.get("load", 0.0)
    return {
        "fetch": fetch,
        "normalize": t.get("normalize", 0.0),
        "commit": commit,
        "outside_fetch": round(r["seconds"] - fetch, 3),
    }


def _markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        f"# HackerNews ingestion ({results['items']} items, {results['workers']} workers, "
        f"local API; median of {results['rounds']} interleaved runs each)",
        "",
        f"Load average {m['load_average_start'][0]} at start, {m['load_average_end'][0]} at end; "
        f"{m['cpus']} CPUs; dlt {m['dlt']}, duckdb {m['duckdb']}, pyiceberg {m['pyiceberg']}.",
        "",
        "| pipeline | items/s | seconds | peak RSS MiB | client CPU s | server CPU s "
        "| fetch s | normalize s | commit s | outside fetch s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in (DD, DLT):
        r = results["median"][name]
        st = _steps(name, r)
        rss, cpu = str(r["peak_rss_mib"]), f"{r['client_cpu_s']:.1f}"
        if r.get("helpers_peak_rss_mib"):
            rss += f" + {r['helpers_peak_rss_mib']} (helpers)"
            cpu += f" + {r['helpers_cpu_s']:.1f} (helpers)"
        lines.append(
            f"| {name} | {r['items_per_s']} | {r['seconds']:.2f} | {rss} "
            f"| {cpu} | {r['server_cpu_s']:.1f} | {st['fetch']:.2f} "
            f"| {st['normalize']:.2f} | {st['commit']:.2f} | {st['outside_fetch']:.2f} |"
        )
    per_round = ", ".join(f"{x:.2f}" for x in results["ratio_per_round"])
    lines += [
        "",
        f"doctordata / plain dlt = {results['ratio']:.2f}x (goal >= 1.0x); per round: {per_round}.",
        "",
        "fetch: seconds until the last item was extracted (HTTP, the item contract, dlt's "
        "extract). On runs of more than one segment (10,000 ids, the last one cut to "
        "2,500) doctordata uses helper processes: two fetch processes (HTTP, JSON, the item "
        "contract, Arrow batches; each fetches one half of every segment, with half of the "
        "workers, up to a segment ahead of the run) and a commit process (the Iceberg "
        "commits, at most a segment behind); the run's own process does dlt's extract and "
        "normalize. Plain dlt fetches everything on threads of its one process, "
        "then normalizes, then loads. commit: doctordata's Iceberg commits (summed, in the "
        "commit process), dlt's load step into duckdb. outside fetch: the rest of the wall "
        "time (setup before the first item, the work after the last one). Client CPU and "
        "peak RSS: the pipeline's process, plus (for doctordata) its helper processes' own "
        "(CPU summed; peak RSS summed over the three). Server CPU: the HN-API server's (this "
        "benchmark's process) over the timed run.",
        "",
        "All step medians, raw (seconds): "
        + "; ".join(
            f"{name}: "
            + ", ".join(f"{k} {v}" for k, v in results["median"][name]["timings"].items())
            for name in (DD, DLT)
        )
        + ".",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    out_dir = Path(__file__).resolve().parent / "results"
    out_dir.mkdir(exist_ok=True)
    run(out_dir)
