"""A backup running in a child process, driven line by line over pipes (the prune vs
backup race tests): it prints where it is, and waits for a line on stdin to go on."""

from __future__ import annotations

import os
import select
import subprocess
import sys
from pathlib import Path

# The start of a child's script: its backup prints "paused" right before it writes the
# manifest (every object is chosen by then) and goes on at the next line on stdin.
PAUSED_BEFORE_MANIFEST = """
import json, sys
import doctordata as dd
from doctordata.backup.heartbeat import Heartbeat

real = Heartbeat.check_alive

def paused(self):  # right before the manifest is written: every object is chosen
    print("paused", flush=True)
    sys.stdin.readline()
    return real(self)

Heartbeat.check_alive = paused
"""


class Child:
    """``python -c script *args``, its stdout read by line, its stdin a "go on" button."""

    def __init__(self, script: str, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", script, *args],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.buffer = b""

    def line(self, or_blocked: bool = False) -> str | None:
        """The next line it prints; None if ``or_blocked`` and it waits for a file lock."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buffer:
            if or_blocked and waits_for_lock(self.proc.pid):
                return None
            # A polling step (the lock check) only with or_blocked; else wait for output.
            ready, _, _ = select.select([fd], [], [], 0.05 if or_blocked else None)
            if ready:
                chunk = os.read(fd, 4096)
                if not chunk:
                    err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                    raise AssertionError(f"the backup process ended: {err[-3000:]}")
                self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode().strip()

    def go_on(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"\n")
        self.proc.stdin.flush()


def waits_for_lock(pid: int) -> bool:
    """True if ``pid`` is blocked waiting for a file lock (the kernel's lock table)."""
    blocked = [ln.split() for ln in Path("/proc/locks").read_text().splitlines() if "->" in ln]
    return any(str(pid) in fields for fields in blocked)
