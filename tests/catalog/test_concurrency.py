"""Several real processes committing to one catalog; processes killed mid-append."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import doctordata as dd
from tests.catalog.data import items

WRITER = r"""
import json, sys
import doctordata as dd
from tests.catalog.data import items

root, uri, worker, count, ack = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
lh = dd.connect(root, catalog={"uri": uri})
lh.table("raw.t")
print("ready", flush=True)
for i in range(count):
    first = worker * 1000 + i * 10
    lh.append("raw.t", items(range(first, first + 10)))
    # Acknowledge only after append() returned: the row ids are now promised durable.
    with open(ack, "a") as fh:
        fh.write(json.dumps([first, first + 10]) + "\n")
        fh.flush()
lh.close()
"""


def _spawn(
    root: Path, uri: str, worker: int, count: int, ack: Path, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(root), uri, str(worker), str(count), str(ack)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.mark.slow
def test_eight_processes_ten_appends_each(
    clh: dd.Lakehouse, catalog_uri: str, child_env: dict[str, str]
) -> None:
    clh.create_table("raw.t", items(range(0)).schema, partition_by=["day(time)"])
    procs = [
        _spawn(clh.root, catalog_uri, w, 10, clh.root / f"ack{w}.txt", child_env)
        for w in range(1, 9)
    ]
    errors = []
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        if proc.returncode != 0:
            errors.append(err.decode()[-2000:])
    assert errors == []
    table = clh.table("raw.t")
    expected = sorted(
        i
        for w in range(1, 9)
        for k in range(10)
        for i in range(w * 1000 + k * 10, w * 1000 + k * 10 + 10)
    )
    assert sorted(table.scan().to_arrow().column("id").to_pylist()) == expected
    assert len(table.metadata.snapshots) == 80


def _acknowledged(ack: Path) -> list[int]:
    if not ack.exists():
        return []
    out: list[int] = []
    for line in ack.read_text().splitlines():
        try:
            lo, hi = json.loads(line)
        except ValueError:  # a line cut by the kill was never a complete acknowledgement
            continue
        out.extend(range(lo, hi))
    return out


@pytest.mark.slow
def test_sigkill_during_appends_loses_nothing_acknowledged(
    tmp_path: Path, child_env: dict[str, str]
) -> None:
    root = tmp_path / "lake"
    uri = f"sqlite:///{root / 'catalog.db'}"
    with dd.connect(root) as lh:
        lh.create_table("raw.t", items(range(0)).schema, partition_by=["day(time)"])
    rng = random.Random(20261127)
    ack = tmp_path / "ack.txt"
    for round_ in range(20):
        proc = _spawn(root, uri, round_ + 1, 50, ack, child_env)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"ready"
        # Kill at a random point of the append loop: mid-write, mid-commit, between.
        time.sleep(rng.uniform(0.0, 1.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        with dd.connect(root) as lh:  # the catalog still opens after every kill
            present = lh.read("raw.t").column("id").to_pylist()
        assert len(present) == len(set(present)), "a row became visible twice"
        missing = set(_acknowledged(ack)) - set(present)
        assert not missing, f"round {round_}: acknowledged rows lost: {sorted(missing)[:10]}"
        # Nothing half-visible: every append is all ten rows or none of them.
        batches: dict[int, int] = {}
        for i in present:
            batches[i // 10] = batches.get(i // 10, 0) + 1
        assert set(batches.values()) <= {10}
    with dd.connect(root) as lh:
        assert lh.read("raw.t").num_rows >= len(_acknowledged(ack)) > 0
