"""`python -m doctordata` with one pause point, for the signal tests (not a test module).

    DD_TEST_PAUSE=module:Qualified.name[:n]   DD_TEST_PAUSE_FD=<fd of a pipe's read end>

After the n-th call (default 1) of that function returns, the calling thread writes
``paused after <name>`` on stderr and reads the pipe until the test closes its write
end. The test sends its signal on that line and only then closes the pipe, so the
signal is pending before the command can go on: it cannot finish first, whatever the
machine's speed. Nothing else changes: the real CLI, lake, threads and libraries run.
A pause in the main thread is where the signal lands (the read is interrupted); in a
worker thread, the signal lands wherever the main thread is at the time.
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
import threading
from typing import Any


def _install(spec: str, fd: int) -> None:
    module_name, _, rest = spec.partition(":")
    name, _, nth = rest.partition(":")
    owner: Any = importlib.import_module(module_name)
    *path, attr = name.split(".")
    for part in path:
        owner = getattr(owner, part)
    original = getattr(owner, attr)
    lock = threading.Lock()
    calls = [0]

    @functools.wraps(original)
    def paused(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        with lock:
            calls[0] += 1
            hit = calls[0] == int(nth or 1)
        if hit:
            os.write(2, f"paused after {name}\n".encode())
            while os.read(fd, 1):  # until the test closes its end
                pass
        return result

    setattr(owner, attr, paused)


if __name__ == "__main__":
    _install(os.environ["DD_TEST_PAUSE"], int(os.environ["DD_TEST_PAUSE_FD"]))
    from doctordata.cli import main

    main(sys.argv[1:])
