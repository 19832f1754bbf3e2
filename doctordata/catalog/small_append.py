"""What a small append does differently: its pyiceberg pool work runs on the calling thread.

A 100-row append writes one data file and one manifest; pyiceberg hands each to its thread
pool and waits, so the hand-offs are pure latency (speedups/inline_executor.py). A large
append keeps the pool: its Parquet writes release the GIL and run in parallel.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

# Arrow bytes up to which an append's files are written on the calling thread: a few
# milliseconds of Parquet writing at most, less than a pool could win back.
INLINE_BYTES = 4 << 20


@contextmanager
def small_append(data: pa.Table) -> Iterator[None]:
    """Inside: pyiceberg's thread-pool work for ``data`` runs on this thread if it is small."""
    from doctordata.catalog.speedups import inline_executor

    # (Without the patch, installed when the catalog opens, inline() changes nothing.)
    with inline_executor.inline() if data.nbytes <= INLINE_BYTES else nullcontext():
        yield
