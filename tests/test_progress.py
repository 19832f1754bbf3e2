"""The one progress module: bars drawn on a terminal, nothing elsewhere."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

SCRIPT = """
from doctordata.progress import byte_progress, phase_progress
with phase_progress() as advance:
    advance("fetch", 3, 7)
    advance("fetch", 4, 7)
    advance("commit", 5, 0)
with byte_progress("copy", 2048) as step:
    step(2048)
print("done")
"""


def _run(*, tty: bool) -> str:
    if not tty:
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True
        )
        return done.stdout + done.stderr
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env={**os.environ, "COLUMNS": "100", "TERM": "xterm"},
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert proc.wait() == 0
    return b"".join(chunks).decode(errors="replace")


def test_bars_are_drawn_on_a_terminal() -> None:
    out = _run(tty=True)
    assert "fetch" in out and "7/7" in out  # one bar per phase, counted
    assert "commit" in out and "5" in out  # unknown total still counts
    assert "copy" in out
    assert "done" in out


def test_nothing_is_drawn_when_not_a_terminal() -> None:
    out = _run(tty=False)
    assert out.strip() == "done"
