"""Four real processes upserting overlapping keys at once: upsert is serializable.

Each round every process upserts some existing keys (overlapping the others' choice), the
same five *new* keys as every other process, and one key of its own. The processes meet
at a file barrier before each round, so the four upserts of a round race for real and a
round ends (for everyone) before the next starts. Each process writes down what it
acknowledged. Serializable upserts then mean: no key twice; exactly the keys of the
initial rows and of acknowledged upserts; and each key holds a value written in the last
round that acknowledged a write of it (rounds are ordered by the barrier).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

import doctordata as dd

WORKERS = 4
ROUNDS = 20
INITIAL = 40

WORKER = r"""
import json, os, random, sys, time
import pyarrow as pa
import doctordata as dd
from doctordata.errors import CommitConflictError

root, uri, worker, rounds, workers, work = sys.argv[1:7]
worker, rounds, workers, work = int(worker), int(rounds), int(workers), os.path.abspath(work)

def barrier(name):
    mine = os.path.join(work, name, str(worker))
    os.makedirs(os.path.dirname(mine), exist_ok=True)
    open(mine, "w").close()
    deadline = time.monotonic() + 600  # a hung peer must fail the test, not hang it
    while len(os.listdir(os.path.dirname(mine))) < workers:
        if time.monotonic() > deadline:
            raise SystemExit(f"barrier {name}: peers never arrived")
        time.sleep(0.005)

lh = dd.connect(root, catalog={"uri": uri})
lh.table("kv.t")
with open(os.path.join(work, f"ack{worker}.jsonl"), "a") as ack:
    for r in range(rounds):
        rng = random.Random(r * 100 + worker)
        earlier = [1000 + 10 * q + i for q in range(r) for i in range(5)]  # shared keys so far
        existing = rng.sample(range(INITIAL), 3) + rng.sample(earlier, min(2, len(earlier)))
        keys = sorted(set(existing) | set(range(1000 + 10 * r, 1000 + 10 * r + 5)) | {100000 + 100 * r + worker})
        value = f"w{worker}r{r}"
        batch = pa.table({"id": pa.array(keys, pa.int64()), "val": [value] * len(keys)})
        barrier(f"round{r}")
        try:
            lh.upsert("kv.t", batch, on=["id"])
        except CommitConflictError as exc:
            outcome = {"round": r, "conflict": str(exc)}
        else:
            outcome = {"round": r, "keys": keys, "value": value}
        # Acknowledged only once upsert() has returned.
        ack.write(json.dumps(outcome) + "\n")
        ack.flush()
lh.close()
""".replace("INITIAL", str(INITIAL))


def _run_workers(root: Path, uri: str, work: Path, env: dict[str, str]) -> list[dict]:
    work.mkdir()
    common = [str(ROUNDS), str(WORKERS), str(work)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(root), uri, str(w), *common],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for w in range(WORKERS)
    ]
    errors: list[str] = []
    try:
        running = list(procs)
        while running and not errors:
            # A worker that fails would leave the others waiting at the next barrier.
            for proc in list(running):
                try:
                    _, err = proc.communicate(timeout=0.2)
                except subprocess.TimeoutExpired:
                    continue
                running.remove(proc)
                if proc.returncode != 0:
                    errors.append(err.decode()[-3000:])
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert errors == [], errors
    outcomes = []
    for w in range(WORKERS):
        lines = (work / f"ack{w}.jsonl").read_text().splitlines()
        assert [json.loads(line)["round"] for line in lines] == list(range(ROUNDS))
        outcomes.extend(json.loads(line) for line in lines)
    return outcomes


@pytest.mark.slow
def test_four_processes_upserting_overlapping_keys(
    clh: dd.Lakehouse, catalog_uri: str, child_env: dict[str, str], tmp_path: Path
) -> None:
    initial = pa.table(
        {"id": pa.array(range(INITIAL), pa.int64()), "val": [f"init{i}" for i in range(INITIAL)]}
    )
    # Merge manifests early: every attempt plans over all of them, and 4 x 20 upserts
    # (plus redone attempts) would otherwise pile up ~100 (the default merge threshold).
    clh.create_table("kv.t", initial, properties={"commit.manifest.min-count-to-merge": "4"})
    outcomes = _run_workers(clh.root, catalog_uri, tmp_path / "work", child_env)

    rows = clh.read("kv.t").to_pylist()
    ids = [row["id"] for row in rows]
    assert len(ids) == len(set(ids)), f"{len(ids) - len(set(ids))} duplicate keys"
    acked = [o for o in outcomes if "keys" in o]
    lost = [o for o in outcomes if "conflict" in o]
    assert set(ids) == set(range(INITIAL)) | {k for o in acked for k in o["keys"]}
    # Someone wins every round: a conflict means another writer committed first.
    assert {o["round"] for o in acked} == set(range(ROUNDS))
    for o in lost:
        assert "kv.t" in o["conflict"]
    final = {row["id"]: row["val"] for row in rows}
    for key, value in final.items():
        writes = [o for o in acked if key in o["keys"]]
        if not writes:
            assert value == f"init{key}"
            continue
        last = max(o["round"] for o in writes)
        assert value in {o["value"] for o in writes if o["round"] == last}, (key, value)
    print(f"\n{len(acked)} upserts acknowledged, {len(lost)} conflicts")
