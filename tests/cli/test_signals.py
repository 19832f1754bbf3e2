"""Ctrl-C (SIGINT to the whole process group, as a terminal sends it) and SIGTERM (to the
`doctordata` process only, as `kill` or a service manager sends it) during a long command:
exit 130/143, no traceback, a report of what was committed and how to resume, and a lake
the next run continues without losing or repeating a row.

No sleeps and no races: each signal is sent on a line the command prints while it still
has work it cannot finish before the signal is pending. The ingest test's API (served by
this process) holds back the last segment's ids until the signal is sent; the other
tests run the real CLI through paused_cli.py, which stops one thread after a given call
until the test, having sent the signal, lets it go on."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

import doctordata as dd
from doctordata.ingest.hn_api import start_server

ITEMS = 25_000  # four segments: 1..10000, ..20000, ..22500, ..25000
HELD = 22_500  # ids above this (the last segment) wait until the signal was sent
PAUSED_CLI = Path(__file__).with_name("paused_cli.py")
SIGNALS = [(signal.SIGINT, 130), (signal.SIGTERM, 143)]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCTORDATA")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    env["RUNTIME__DLTHUB_TELEMETRY"] = "false"
    return {**env, **extra}


def _ingest_args(root: Path, url: str) -> list[str]:
    return ["--root", str(root), "ingest", "hackernews", "--base-url", url]


def _start(args: list[str], **popen: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "doctordata", *args],
        env=popen.pop("env", None) or _env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, like a job in a terminal
        **popen,  # type: ignore[call-overload]
    )


def _wait_for(proc: subprocess.Popen[str], prefix: str) -> list[str]:
    """stderr lines up to and including the first that starts with ``prefix``."""
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if line.startswith(prefix):
            return seen
    proc.wait()
    pytest.fail(f"the command ended (exit {proc.returncode}) before {prefix!r}:\n" + "".join(seen))


def _send(proc: subprocess.Popen[str], signum: int) -> None:
    if signum == signal.SIGINT:
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: every process of the job
    else:
        proc.send_signal(signal.SIGTERM)  # `kill PID`: the command only


def _assert_interrupted(
    proc: subprocess.Popen[str], seen: list[str], signum: int, code: int
) -> str:
    _, err = proc.communicate(timeout=600)
    err = "".join(seen) + err
    assert "Traceback" not in err, err
    assert proc.returncode == code, err
    assert f"interrupted by {signal.Signals(signum).name}" in err, err
    assert "to resume: " in err, err
    return err


@contextmanager
def _paused(spec: str) -> Iterator[tuple[dict[str, str], int, int]]:
    """(env, read fd for the child, write fd to close once the signal is sent)."""
    read_fd, write_fd = os.pipe()
    try:
        yield _env(DD_TEST_PAUSE=spec, DD_TEST_PAUSE_FD=str(read_fd)), read_fd, write_fd
    finally:
        os.close(read_fd)
        with suppress(OSError):  # closed by the test once the signal was sent
            os.close(write_fd)


def _start_paused(args: list[str], env: dict[str, str], read_fd: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(PAUSED_CLI), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        pass_fds=(read_fd,),
    )


@pytest.mark.parametrize(("signum", "code"), SIGNALS)
def test_ingest_stops_cleanly_and_resumes(tmp_path: Path, signum: int, code: int) -> None:
    root = tmp_path / "lake"
    with start_server(items=ITEMS, seed=3) as server:
        sent = threading.Event()
        answer = server.dataset.item

        def held_back(item_id: int) -> object:
            if item_id > HELD:
                sent.wait(timeout=600)
            return answer(item_id)

        server.dataset.item = held_back  # type: ignore[method-assign]
        proc = _start([*_ingest_args(root, server.url), "--no-updates", "--no-lists"])
        try:
            # The first commit is reported while the second segment loads at the latest;
            # the last segment's ids are only served once the signal is pending, so the
            # run is always interrupted (never "finished just before the signal").
            seen = _wait_for(proc, "ingest: committed")
            _send(proc, signum)
        finally:
            sent.set()  # the stopping run must not wait for held answers
        err = _assert_interrupted(proc, seen, signum, code)
        assert "committed before the stop (kept): hackernews.items" in err, err
        assert "to resume: run the same command again" in err, err
        with dd.connect(root) as lh:
            ids = lh.sql("SELECT id FROM hackernews.items").arrow().column(0).to_pylist()
        assert 0 < len(ids) < len(server.dataset.ids()) and len(set(ids)) == len(ids)

        again = _start([*_ingest_args(root, server.url), "--no-updates", "--no-lists"])
        _, err = again.communicate(timeout=600)
        assert again.returncode == 0, err
        expected = server.dataset.ids()
    with dd.connect(root) as lh:
        ids = lh.sql("SELECT id FROM hackernews.items").arrow().column(0).to_pylist()
    assert sorted(ids) == expected


@pytest.mark.parametrize(
    ("pause", "signum", "code"),
    [
        # All of the package's jobs had started: dlt finished the step and forgot the signal.
        ("dlt.load.load:Load.complete_package", signal.SIGINT, 130),
        ("dlt.load.load:Load.complete_package", signal.SIGTERM, 143),
        # A job was running: dlt stopped the step with its own error (it was exit 130 for
        # a SIGTERM too).
        ("doctordata.ingest.destination:CatalogWriter.write_file", signal.SIGTERM, 143),
    ],
)
def test_a_signal_dlt_holds_back_during_its_load_step_still_stops_the_run(
    tmp_path: Path, pause: str, signum: int, code: int
) -> None:
    """dlt's load step intercepts SIGINT/SIGTERM and forgets them when the step ends; the
    ingest delivers such a signal again after the step or segment (it used to exit 0)."""
    root = tmp_path / "lake"
    name = pause.partition(":")[2]
    with (
        start_server(items=300, seed=5) as server,
        # A one-segment run commits in this process, inside dlt's load step.
        _paused(pause) as (env, rfd, wfd),
    ):
        proc = _start_paused(_ingest_args(root, server.url), env, rfd)
        seen = _wait_for(proc, f"paused after {name}")
        _send(proc, signum)
        os.close(wfd)
        err = _assert_interrupted(proc, seen, signum, code)
        assert "committed before the stop (kept): hackernews." in err, err
        again = _start(_ingest_args(root, server.url))
        _, err = again.communicate(timeout=600)
        assert again.returncode == 0, err
        expected = server.dataset.ids()
    with dd.connect(root) as lh:
        ids = lh.sql("SELECT id FROM hackernews.items").arrow().column(0).to_pylist()
    assert sorted(ids) == expected


def _small_files_lake(root: Path) -> None:
    """Two tables of several small files each (compaction and backups have work)."""
    import pyarrow as pa

    with dd.connect(root) as lh:
        for name in ("t.a", "t.b"):
            for i in range(4):
                rows = pa.table({"id": pa.array(range(i * 100, i * 100 + 100), pa.int64())})
                if i == 0:
                    lh.create_table(name, rows)
                else:
                    lh.append(name, rows)


def _ids(root: Path, name: str) -> list[int]:
    with dd.connect(root) as lh:
        return sorted(lh.read(name).column("id").to_pylist())


def test_maintain_stops_cleanly_between_tables_and_a_rerun_completes(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    _small_files_lake(root)
    before = {name: _ids(root, name) for name in ("t.a", "t.b")}
    # after the first table's compaction committed, in the main thread
    with _paused("doctordata.lifecycle.compaction:compact") as (env, rfd, wfd):
        proc = _start_paused(
            ["--root", str(root), "maintain", "--expire-older-than", "0s"], env, rfd
        )
        seen = _wait_for(proc, "paused after compact")
        _send(proc, signal.SIGTERM)
        os.close(wfd)
        err = _assert_interrupted(proc, seen, signal.SIGTERM, 143)
    assert "committed before the stop (kept): t.a: 1 snapshot(s)" in err, err
    assert "run `doctordata maintain` again" in err, err
    with dd.connect(root) as lh:
        report = lh.verify()
        assert report.ok, str(report)
        assert len(lh.table("t.b").snapshots()) == 4  # never reached
    again = _start(["--root", str(root), "maintain", "--expire-older-than", "0s"])
    out, err = again.communicate(timeout=600)
    assert again.returncode == 0, out + err
    with dd.connect(root) as lh:
        assert lh.verify().ok
        assert len(lh.table("t.b").snapshots()) == 1  # compacted, older ones expired
    assert {name: _ids(root, name) for name in ("t.a", "t.b")} == before


def test_backup_stops_cleanly_mid_copy_and_a_rerun_completes(tmp_path: Path) -> None:
    root, target = tmp_path / "lake", tmp_path / "usb"
    target.mkdir()
    _small_files_lake(root)
    backup = ["--root", str(root), "backup", "--to", str(target), "--no-progress"]
    # after the walk handed the first file to the copy threads, in the main thread
    with _paused("doctordata.backup.copy:Copier.__call__") as (env, rfd, wfd):
        proc = _start_paused(backup, env, rfd)
        seen = _wait_for(proc, "paused after Copier.__call__")
        _send(proc, signal.SIGINT)
        os.close(wfd)
        err = _assert_interrupted(proc, seen, signal.SIGINT, 130)
    assert "no backup was recorded" in err, err
    listed = _start(["--root", str(root), "backup", "list", "--to", str(target), "--json"])
    out, err = listed.communicate(timeout=600)
    assert listed.returncode == 0 and json.loads(out) == [], out + err
    with dd.connect(root) as lh:
        assert lh.verify().ok
    again = _start(backup)
    out, err = again.communicate(timeout=600)
    assert again.returncode == 0, out + err
    checked = _start(["--root", str(root), "backup", "verify", "--to", str(target)])
    out, err = checked.communicate(timeout=600)
    assert checked.returncode == 0, out + err
    restored = tmp_path / "restored"
    done = _start(["--root", str(root), "restore", "latest", str(restored), "--from", str(target)])
    out, err = done.communicate(timeout=600)
    assert done.returncode == 0, out + err
    assert {n: _ids(restored, n) for n in ("t.a", "t.b")} == {
        n: _ids(root, n) for n in ("t.a", "t.b")
    }
