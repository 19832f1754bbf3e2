"""Result output for the CLI: a bounded preview like DuckDB's CLI, and streamed formats.

Formats (``doctordata sql --format``): ``table`` (the preview: first and last rows and a
"N rows" footer, ``--max-rows`` bounded), ``csv``, ``json``, ``jsonl``, ``markdown`` and
``parquet``. Every format except the preview is written batch by batch from the result's
Arrow record batches, so a large result is never held as Python rows; written to a file,
it appears under its name only once complete (a temporary name is renamed at the end).

Tables of the list commands (snapshots, describe, tiers) go through :func:`render`:
boxed and fitted to the terminal on a TTY, plain aligned columns and never cut otherwise
(ids piped into another program must survive whole).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import sys
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

FORMATS = ("table", "csv", "json", "jsonl", "markdown", "parquet")
# --output FILE's extension -> format, when --format is not given
EXTENSIONS = {
    ".csv": "csv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".md": "markdown",
    ".parquet": "parquet",
}
DEFAULT_MAX_ROWS = 40  # DuckDB's CLI default
NULL = "NULL"


def format_for(fmt: str | None, output: str | None) -> str:
    """The format to write: ``fmt``, else from ``output``'s extension, else the preview."""
    from doctordata.errors import InvalidArgumentError

    if fmt is not None:
        return fmt
    if output is None:
        return "table"
    found = EXTENSIONS.get(Path(output).suffix.lower())
    if found is None:
        raise InvalidArgumentError(
            f"--output {output}: cannot tell the format from the extension; pass --format "
            f"({'|'.join(FORMATS)}) or use one of {', '.join(EXTENSIONS)}"
        )
    return found


def reader_of(result: Any) -> pa.RecordBatchReader:
    """The result's rows as a stream of record batches (never all rows as Python objects)."""
    import pyarrow as pa

    to_reader = getattr(result, "to_reader", None)
    if callable(to_reader):
        reader: pa.RecordBatchReader = to_reader()
        return reader
    table = result.arrow()
    return pa.RecordBatchReader.from_batches(table.schema, table.to_batches())


# -- the preview -----------------------------------------------------------------------------
class Preview:
    """The first and last rows of a stream (``max_rows`` in all; 0 = every row) and its
    row count, holding at most about ``max_rows`` rows plus the batch being read."""

    def __init__(
        self,
        reader: pa.RecordBatchReader | None,
        max_rows: int,
        rows: tuple[list[str], list[str], Iterable[list[tuple[Any, ...]]]] | None = None,
    ) -> None:
        # ``rows``: (names, Arrow type names, chunks of Python rows) from
        # Result.preview_rows(), the same values without pyarrow; else the reader's batches.
        if rows is not None:
            self.names, self.types = rows[0], rows[1]
        else:
            assert reader is not None
            self.names = list(reader.schema.names)
            self.types = [str(f.type) for f in reader.schema]
        self.total = 0
        half = (max_rows + 1) // 2 if max_rows else 0
        # Kept rows are Python values at once: a zero-copy slice would keep whole batches
        # (and so up to every row read) alive, and copying in Arrow (take) would load
        # pyarrow.compute, which imports pandas: a second of start-up for a preview.
        self.head: list[tuple[Any, ...]] = []
        # maxlen is a C size: --max-rows 99999999999999999999 keeps every row anyway.
        tail: deque[tuple[Any, ...]] = deque(maxlen=min(max_rows - half, sys.maxsize))
        for chunk in rows[2] if rows is not None else ():
            self.total += len(chunk)
            take = len(chunk) if not max_rows else min(half - len(self.head), len(chunk))
            if take > 0:
                self.head.extend(chunk[:take])
            rest = chunk[max(take, 0) :]
            if max_rows and rest and tail.maxlen:
                tail.extend(rest[max(0, len(rest) - tail.maxlen) :])
        for batch in reader if rows is None and reader is not None else ():
            self.total += batch.num_rows
            take = batch.num_rows if not max_rows else min(half - len(self.head), batch.num_rows)
            if take > 0:
                self.head.extend(_rows(batch.slice(0, take)))
            rest = batch.slice(take)
            if max_rows and rest.num_rows and tail.maxlen:
                tail.extend(_rows(rest.slice(max(0, rest.num_rows - tail.maxlen))))
        self.tail = list(tail)
        self.cut = self.total > len(self.head) + len(self.tail)


def _rows(batch: pa.RecordBatch) -> list[tuple[Any, ...]]:
    columns = [c.to_pylist() for c in batch.columns]
    return list(zip(*columns, strict=True))


def cell(value: Any) -> str:
    """One value as the preview shows it (NULL for a missing value, like DuckDB)."""
    if value is None:
        return NULL
    if isinstance(value, bytes):
        return "".join(chr(b) if 32 <= b < 127 else f"\\x{b:02X}" for b in value)
    return str(value)


def terminal_width(stream: IO[str]) -> int | None:
    """The terminal's width when ``stream`` is one, else None (never cut piped output)."""
    if not stream.isatty():
        return None
    return shutil.get_terminal_size((100, 24)).columns


def render(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    types: Sequence[str] | None = None,
    width: int | None = None,
    gap_after: int | None = None,
) -> list[str]:
    """A table as lines: boxed and cut to ``width`` when given (a terminal), else plain
    columns separated by two spaces, nothing cut. ``gap_after``: draw "…" rows after
    that many rows (where a preview left rows out)."""
    body = [list(r) for r in rows]
    if width is None:
        widths = [max([len(h)] + [len(r[i]) for r in body]) for i, h in enumerate(headers)]
        lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
        for n, row in enumerate(body):
            if gap_after is not None and n == gap_after:
                lines.append("  ".join("…".ljust(w) for w in widths).rstrip())
            lines.append("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
        if gap_after is not None and gap_after == len(body):
            lines.append("  ".join("…".ljust(w) for w in widths).rstrip())
        return lines
    head = [list(headers)] + ([list(types)] if types else [])
    widths = [max(len(x[i]) for x in head + body) for i in range(len(headers))]
    widths = _fit(widths, width)

    def line(values: Sequence[str]) -> str:
        return "│ " + " │ ".join(_cut(v, w) for v, w in zip(values, widths, strict=True)) + " │"

    def rule(left: str, mid: str, right: str) -> str:
        return left + mid.join("─" * (w + 2) for w in widths) + right

    out = [rule("┌", "┬", "┐"), *(line(h) for h in head), rule("├", "┼", "┤")]
    for n, row in enumerate(body):
        if gap_after is not None and n == gap_after:
            out += [line(["·"] * len(widths))] * 3
        out.append(line(row))
    if gap_after is not None and gap_after == len(body):
        out += [line(["·"] * len(widths))] * 3
    out.append(rule("└", "┴", "┘"))
    return out


def _fit(widths: list[int], total: int) -> list[int]:
    """Shrink the widest columns until the boxed table fits ``total`` characters."""
    widths = list(widths)
    budget = total - (3 * len(widths) + 1)
    while sum(widths) > budget and max(widths, default=0) > 5:
        widest = widths.index(max(widths))
        widths[widest] -= 1
    return widths


def _cut(value: str, width: int) -> str:
    value = value.replace("\n", "\\n")
    return (value if len(value) <= width else value[: width - 1] + "…").ljust(width)


def write_preview(result: Any, max_rows: int, out: IO[str], footer: str) -> None:
    """DuckDB-CLI-like output: the first and last rows of at most ``max_rows``, then
    "N rows (M shown)" and ``footer``."""
    python_rows = getattr(result, "preview_rows", None)
    rows = python_rows() if callable(python_rows) else None
    preview = Preview(None if rows is not None else reader_of(result), max_rows, rows)
    headers, types = preview.names, preview.types
    rows = [[cell(v) for v in r] for r in preview.head + preview.tail]
    gap = len(preview.head) if preview.cut else None
    for text in render(headers, rows, types=types, width=terminal_width(out), gap_after=gap):
        out.write(text + "\n")
    shown = f" ({len(rows)} shown; --max-rows 0 shows all)" if preview.cut else ""
    noun = "row" if preview.total == 1 else "rows"
    out.write(f"{preview.total:,} {noun}{shown} · {len(headers)} columns · {footer}\n")


# -- streamed formats ------------------------------------------------------------------------
def jsonable(value: Any) -> Any:
    """A Python value as JSON can hold it (dates ISO 8601, bytes hex, NaN/inf null)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _dicts(reader: pa.RecordBatchReader) -> Iterator[dict[str, Any]]:
    for batch in reader:
        for row in batch.to_pylist():
            yield {k: jsonable(v) for k, v in row.items()}


def _write_json(reader: pa.RecordBatchReader, out: IO[bytes], lines: bool) -> None:
    first = True
    if not lines:
        out.write(b"[")
    for row in _dicts(reader):
        text = json.dumps(row, ensure_ascii=False).encode()
        if lines:
            out.write(text + b"\n")
        else:
            out.write((b"" if first else b",\n") + text)
        first = False
    if not lines:
        out.write(b"]\n")


def _write_markdown(reader: pa.RecordBatchReader, out: IO[bytes]) -> None:
    def row(values: Iterable[str]) -> bytes:
        escaped = (v.replace("|", "\\|").replace("\n", "<br>") for v in values)
        return ("| " + " | ".join(escaped) + " |\n").encode()

    names = reader.schema.names
    out.write(row(names))
    out.write(row("---" for _ in names))
    for batch in reader:
        columns = [c.to_pylist() for c in batch.columns]
        for values in zip(*columns, strict=True):
            out.write(row(cell(v) for v in values))


def _write_csv(reader: pa.RecordBatchReader, out: IO[bytes]) -> None:
    import pyarrow.csv as pacsv

    with pacsv.CSVWriter(out, reader.schema) as writer:
        for batch in reader:
            writer.write_batch(batch)


def _write_parquet(reader: pa.RecordBatchReader, out: IO[bytes]) -> None:
    import pyarrow.parquet as pq

    with pq.ParquetWriter(out, reader.schema) as writer:
        for batch in reader:
            writer.write_batch(batch)


WRITERS = {
    "csv": _write_csv,
    "json": lambda r, o: _write_json(r, o, lines=False),
    "jsonl": lambda r, o: _write_json(r, o, lines=True),
    "markdown": _write_markdown,
    "parquet": _write_parquet,
}


def write_stream(result: Any, fmt: str, output: str | None) -> None:
    """Write every row of ``result`` as ``fmt`` to ``output`` (a file) or stdout."""
    from doctordata.errors import InvalidArgumentError

    reader = reader_of(result)
    writer = WRITERS[fmt]
    if output is None or output == "-":
        if fmt == "parquet" and sys.stdout.isatty():
            raise InvalidArgumentError(
                "--format parquet writes binary data: give --output FILE.parquet, or pipe "
                "stdout into a file or program"
            )
        sys.stdout.flush()
        writer(reader, sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return
    with atomic_file(Path(output)) as fh:
        writer(reader, fh)


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[IO[bytes]]:
    """A file that appears under ``path`` only when complete (interrupted: no file)."""
    from doctordata.errors import StorageError

    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        fh = tmp.open("wb")
    except OSError as exc:
        raise StorageError(
            f"--output {path}: cannot write there ({exc.strerror}); check that the "
            "directory exists and is writable"
        ) from None
    try:
        with fh:
            yield fh
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
