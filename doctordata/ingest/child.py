"""Helper processes of an ingestion run: start one, talk to it, make it die with the run.

A run fetches on threads of one process, and Python runs one of those threads at a time
(the GIL): the fetch is bound by one core while the box has more. The run moves work into
helper processes (``fetch_worker``: HTTP, JSON, the item contract; ``commit_worker``: the
Iceberg commits), each a plain ``python -m <module>`` child (:mod:`multiprocessing` would
re-import the caller's ``__main__``, e.g. a user's script without a main guard) talking
over a socket pair with pickled messages. A child:

- dies with its parent (``PR_SET_PDEATHSIG``), so a killed run leaves nothing behind,
  and ignores SIGINT/SIGTERM (the parent stops it when interrupted);
- may keep file descriptors of the parent open (the run's lock: no new run can start
  while a helper of the old one lives);
- runs without pandas (:class:`WithoutPandas`).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from multiprocessing.connection import Connection


def spawn(
    module: str, label: str, keep_fds: tuple[int, ...] = ()
) -> tuple[subprocess.Popen[bytes], Connection]:
    """Start ``python -m module`` as a helper; (process, connection to it).

    ``label`` only tells the process apart in ``ps`` (e.g. the lakehouse root). The child
    calls :func:`child_connection` to get its end."""
    from multiprocessing.connection import Connection

    ours, theirs = socket.socketpair()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", module, str(theirs.fileno()), str(os.getpid()), label],
            pass_fds=(theirs.fileno(), *keep_fds),
            stdin=subprocess.DEVNULL,
        )
    finally:
        theirs.close()
    return proc, Connection(ours.detach())


RERUN = (
    "Nothing past the last committed segment was recorded as loaded; run the ingestion "
    "again to continue from there"
)


def ended(what: str, proc: subprocess.Popen[bytes], doing: str, exc: BaseException) -> str:
    """The message for a helper that went away (killed, crashed) while the run used it."""
    code = proc.wait()
    return (
        f"the {what} (pid {proc.pid}) ended {doing} (exit code {code}; its error, if any, "
        f"is on stderr above): {exc or type(exc).__name__}. {RERUN}"
    )


def child_connection(argv: list[str]) -> Connection:
    """In the child: die with the parent, drop pandas, and return the connection."""
    from multiprocessing.connection import Connection

    fd, parent = int(argv[0]), int(argv[1])
    # Ctrl-C reaches the whole process group: the parent stops its helpers itself (after
    # the commit in flight), so a helper must not die mid-message with a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _die_with_parent(parent)
    if "pandas" not in sys.modules:
        sys.meta_path.insert(0, WithoutPandas())
    return Connection(fd)


def peak_rss_mib() -> float:
    """This process's peak resident memory in MiB since it started its program.

    ``getrusage``'s ``ru_maxrss`` survives ``exec``: in a child it would include the
    parent's memory at the moment it was forked. Linux's VmHWM belongs to the new program.
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def exit_now() -> None:
    """End the child without interpreter teardown (pyarrow/pyiceberg thread pools)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _die_with_parent(parent: int) -> None:
    """Ask Linux to SIGKILL us when the parent dies; exit now if it already has."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the closed socket ends us instead
        pass
    if os.getppid() != parent:
        os._exit(1)


class WithoutPandas:
    """Import finder that makes ``pandas`` unavailable in this process.

    No helper needs pandas, but importing ``pyarrow.dataset`` (which pyiceberg's writer
    does) imports it only to find out whether it is there: about half of a helper's
    start-up CPU and 40 MB of memory. Without it, pyarrow notes that pandas is missing and
    carries on; anything that did need it fails with an ImportError naming it, reported
    to the run like any other error of the helper.
    """

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError("an ingestion helper process runs without pandas", name=name)
        return None
