"""ClickHouse results as DuckDB gives them: the same Arrow and Python types for times and
dates (naive TIMESTAMP, aware TIMESTAMPTZ, DATE, TIME, NULLs), and streamed in bounded
memory on chDB, on the HTTP path and through `doctordata sql --output` (issue #20 item 8)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from doctordata.engines.clickhouse_arrow import split_type, target_type
from doctordata.errors import EngineError, QueryTimeoutError

pytestmark = pytest.mark.clickhouse

DATA = pa.table(
    {
        "id": pa.array([1, 2, 3, 4], pa.int64()),
        "ts": pa.array(
            [
                datetime(2026, 1, 1, 12, 0, 0, 5),
                None,
                datetime(1969, 12, 31, 23, 59, 59, 999999),
                datetime(2026, 3, 29, 2, 30),
            ],
            pa.timestamp("us"),
        ),
        "tz": pa.array(
            [
                datetime(2026, 1, 1, 12, tzinfo=UTC),
                None,
                datetime(1960, 5, 1, 1, 2, 3, 4, tzinfo=UTC),
                datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
            ],
            pa.timestamp("us", tz="UTC"),
        ),
        "d": pa.array([date(2026, 1, 1), None, date(1900, 1, 1), date(2026, 2, 28)], pa.date32()),
        "t": pa.array([time(1, 2, 3, 4), None, time(23, 59, 59, 999999), time(0)], pa.time64("us")),
    }
)

QUERIES = [
    "SELECT id, ts, tz, d, t FROM db.t ORDER BY id",
    "SELECT id, [ts] AS l, max(ts) OVER () AS m, ts + INTERVAL 1 DAY AS p FROM db.t ORDER BY id",
    "SELECT id, min(tz) OVER () AS m, tz + INTERVAL 1 HOUR AS p, [tz] AS l FROM db.t ORDER BY id",
    "SELECT max(t) AS mt, min(d) AS md, max(ts) AS mts, max(tz) AS mtz FROM db.t",
    # ClickHouse computes these as DateTime64(0) (seconds): DuckDB's are microseconds.
    # (Before 1970 ClickHouse's CAST AS DATE and date_trunc clamp: not a type question.)
    "SELECT CAST(d AS TIMESTAMP) AS a, CAST(ts AS DATE) AS b, date_trunc('hour', ts) AS h, "
    "[date_trunc('day', ts)] AS l FROM db.t WHERE id <> 3 ORDER BY id",
    "SELECT id, ts, tz FROM db.t WHERE ts IS NULL",
    "SELECT id, ts, tz FROM db.t WHERE id < 0",
    # Lists built in the query: ClickHouse's elements are not Nullable, its field is "item".
    "SELECT id, [id, 2] AS l, [[d]] AS n, {'q': [ts], 'r': id} AS s, map(['k'], [d]) AS m "
    "FROM db.t WHERE id <> 3 ORDER BY id",
]


def _kind(t: pa.DataType) -> Any:
    """A type as DuckDB's and ClickHouse's Arrow must agree on it: exactly, time zone,
    a list's item field name (DuckDB's ``l``) and every nested field's nullability included."""
    if pa.types.is_list(t):
        item = t.value_field
        return ("list", item.name, item.nullable, _kind(item.type))
    if pa.types.is_struct(t):
        fields = [t.field(i) for i in range(t.num_fields)]
        return ("struct", tuple((f.name, f.nullable, _kind(f.type)) for f in fields))
    if pa.types.is_map(t):
        return ("map", t.item_field.nullable, _kind(t.key_type), _kind(t.item_type))
    return str(t)


def _typed(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    def one(v: Any) -> Any:
        if isinstance(v, list):
            return [one(x) for x in v]
        aware = getattr(v, "tzinfo", None) is not None
        offset = v.utcoffset() if isinstance(v, datetime) and aware else None
        return (type(v).__name__, v, aware, offset)

    return [tuple(one(v) for v in row) for row in rows]


@pytest.fixture(params=["chdb", "clickhouse-http"])
def ch(request: pytest.FixtureRequest, connect: Any) -> Any:
    lh = connect(request.param)
    lh.create_table("db.t", DATA)
    return lh


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("query", QUERIES)
def test_time_types_match_duckdb(ch: Any, query: str, stream: bool) -> None:
    want = ch.sql(query, engine="duckdb")
    got = ch.sql(query, engine="clickhouse", stream=stream)
    got_table = got.arrow()
    want_table = want.arrow()
    assert got_table.column_names == want_table.column_names
    assert [_kind(f.type) for f in got_table.schema] == [_kind(f.type) for f in want_table.schema]
    assert _typed(got.fetchall()) == _typed(want.fetchall())


def test_naive_timestamps_are_naive_on_every_read_path(ch: Any, tmp_path: Path) -> None:
    """Parquet and CSV written from a ClickHouse stream hold the naive column naive."""
    q = "SELECT ts, tz FROM db.t WHERE id = 1"
    assert ch.sql(q, engine="clickhouse", stream=True).to_parquet(tmp_path / "a.parquet") == 1
    schema = pq.read_schema(tmp_path / "a.parquet")
    assert schema.field("ts").type == pa.timestamp("us")
    assert schema.field("tz").type.tz in ("UTC", "Etc/UTC")
    # (pyarrow writes a zone named UTC as "Z", DuckDB's Etc/UTC as "+0000": naive only.)
    q = "SELECT id, ts FROM db.t ORDER BY id"
    ch.sql(q, engine="clickhouse", stream=True).write_csv(tmp_path / "a.csv")
    ch.sql(q, engine="duckdb", stream=True).write_csv(tmp_path / "b.csv")
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()


@pytest.mark.parametrize(
    ("ch_type", "want"),
    [
        ("DateTime64(6)", ("DateTime64", ["6"])),
        (
            "Map(String, Array(DateTime64(6, 'UTC')))",
            ("Map", ["String", "Array(DateTime64(6, 'UTC'))"]),
        ),
        (
            "Tuple(a DateTime64(3), `b,c` Nullable(DateTime))",
            ("Tuple", ["a DateTime64(3)", "`b,c` Nullable(DateTime)"]),
        ),
        ("DateTime('Asia/Kolkata')", ("DateTime", ["'Asia/Kolkata'"])),
        ("Enum8('a(' = 1, 'b,' = 2)", ("Enum8", ["'a(' = 1", "'b,' = 2"])),
        ("String", ("String", [])),
    ],
)
def test_split_type(ch_type: str, want: tuple[str, list[str]]) -> None:
    assert split_type(ch_type) == want


def test_target_types_nested() -> None:
    zoned = pa.timestamp("us", tz="UTC")
    duck = pa.timestamp("us", tz="Europe/Berlin")  # DuckDB's session zone, say
    struct = pa.struct([("a", zoned), ("b,c", pa.uint32()), ("z", zoned)])
    got = target_type(
        struct,
        "Tuple(a DateTime64(6), `b,c` Nullable(DateTime), z DateTime64(6, 'UTC'))",
        "Europe/Berlin",
    )
    assert got == pa.struct([("a", pa.timestamp("us")), ("b,c", pa.timestamp("us")), ("z", duck)])
    got = target_type(
        pa.map_(pa.string(), pa.list_(zoned)), "Map(String, Array(DateTime64(6)))", "UTC"
    )
    assert got == pa.map_(pa.string(), pa.list_(pa.timestamp("us")))
    # A genuine UInt32 stays one; any zoned time is DuckDB's TIMESTAMPTZ, in its zone.
    assert target_type(pa.uint32(), "UInt32", "UTC") == pa.uint32()
    kolkata = target_type(pa.uint32(), "DateTime('Asia/Kolkata')", "Europe/Berlin")
    assert kolkata == duck


ZONE_SCRIPT = """
import json, sys
import doctordata as dd
from tests.engines.test_clickhouse_results import DATA, QUERIES, _kind

root, chdb_url, http_url = sys.argv[1:4]
out = {"zones": [], "diffs": []}
for url in (chdb_url, http_url):
    with dd.connect(root, engines={"clickhouse": url}) as lh:
        if "db.t" not in lh.tables():
            lh.create_table("db.t", DATA)
        for q in QUERIES:
            want = lh.sql(q, engine="duckdb").arrow().schema
            out["zones"] += [f.type.tz for f in want if getattr(f.type, "tz", None)]
            for stream in (False, True):
                got = lh.sql(q, engine="clickhouse", stream=stream).arrow().schema
                w = [(f.name, str(_kind(f.type))) for f in want]
                g = [(f.name, str(_kind(f.type))) for f in got]
                if w != g:
                    out["diffs"].append([url.split(":")[0], q, stream, w, g])
print(json.dumps(out))
"""


def test_zoned_columns_carry_duckdbs_session_zone(
    tmp_path: Path, child_env: dict[str, str], clickhouse_http_url: str
) -> None:
    """TIMESTAMPTZ comes back labelled with DuckDB's session TimeZone (here the TZ of the
    process, not UTC) from chDB and over HTTP, whole and streamed: the same Arrow schema
    as DuckDB's for every query of QUERIES."""
    env = {**child_env, "TZ": "America/New_York"}
    chdb_url = f"chdb://{tmp_path / 'chdb'}"
    done = subprocess.run(
        [sys.executable, "-c", ZONE_SCRIPT, str(tmp_path / "lake"), chdb_url, clickhouse_http_url],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.splitlines()[-1])
    assert out["zones"] and set(out["zones"]) == {"America/New_York"}  # DuckDB's label
    assert out["diffs"] == []


# -- bounded memory ----------------------------------------------------------------------
SCRIPT = """
import sys
import pyarrow as pa
import doctordata as dd

def peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM"):
            return int(line.split()[1]) * 1024

root, url, mode = sys.argv[1:4]
lh = dd.connect(root, engines={"clickhouse": url})
if "db.seed" not in lh.tables():
    lh.create_table("db.seed", pa.table({"i": pa.array(range(2000), pa.int64())}))
q = ("SELECT a.i * 2000 + b.i AS n, repeat('x', 200) || CAST(a.i AS VARCHAR) AS pad "
     "FROM db.seed a CROSS JOIN db.seed b")
lh.sql("SELECT count(*) FROM db.seed", engine="clickhouse").fetchall()
before = peak()
result = lh.sql(q, engine="clickhouse", stream=mode == "stream")
print(result.to_parquet(f"{root}/{mode}.parquet"), peak() - before)
"""

ROWS = 4_000_000
RESULT_BYTES = ROWS * (8 + 200)  # as Arrow, before offsets and validity


def _fingerprint(path: Path | None = None) -> tuple[Any, ...]:
    """(rows, order-independent hashes) of the file at ``path``, or of the query run by
    DuckDB itself over the same rows when ``path`` is None."""
    con = duckdb.connect()
    if path is None:
        source = (
            "(SELECT a.i * 2000 + b.i AS n, repeat('x', 200) || CAST(a.i AS VARCHAR) AS pad "
            "FROM range(2000) a(i) CROSS JOIN range(2000) b(i))"
        )
    else:
        source = f"read_parquet('{path}')"
    row = con.execute(
        f"SELECT count(*), sum(hash(n)), bit_xor(hash(n, pad)), count(DISTINCT pad) FROM {source}"
    ).fetchone()
    assert row is not None
    return tuple(row)


def _vmhwm(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


@pytest.mark.parametrize("transport", ["chdb", "clickhouse-http"])
def test_clickhouse_stream_keeps_memory_bounded(
    transport: str, tmp_path: Path, child_env: dict[str, str]
) -> None:
    """4M rows of ~210 bytes (~850 MB as Arrow) to Parquet from ClickHouse: the client's
    peak RSS rises far less streamed than materialised; the HTTP endpoint (its own process
    here) streams both, the whole result too (query_arrow: it rose ~500 MB when the
    endpoint built it in full). About 30 s per transport on 2 cores."""
    from tests.services.clickhouse_http import endpoint_url, start_endpoint, stop_endpoint

    root = tmp_path / "lake"
    proc = None
    if transport == "chdb":
        url = f"chdb://{tmp_path / 'chdb'}"
    else:
        proc = start_endpoint(tmp_path / "endpoint")
        url = endpoint_url(proc)

    def run(mode: str) -> int:
        out = subprocess.run(
            [sys.executable, "-c", SCRIPT, str(root), url, mode],
            env=child_env,
            capture_output=True,
            text=True,
            timeout=900,
            check=True,
        )
        rows, rise = map(int, out.stdout.split())
        assert rows == ROWS
        return rise

    try:
        endpoint_before = _vmhwm(proc.pid) if proc else 0
        streamed = run("stream")
        whole = run("whole")
        endpoint_rise = _vmhwm(proc.pid) - endpoint_before if proc else 0
    finally:
        if proc is not None:
            stop_endpoint(proc)
    assert whole > RESULT_BYTES / 2, f"the materialised case rose only {whole / 1e6:.0f} MB"
    assert streamed < RESULT_BYTES / 4, f"streamed: peak RSS rose {streamed / 1e6:.0f} MB"
    assert streamed < whole / 4
    # The endpoint (chDB behind HTTP, its own process) streamed both results too.
    assert endpoint_rise < RESULT_BYTES / 4, f"endpoint rose {endpoint_rise / 1e6:.0f} MB"
    want = _fingerprint()
    assert _fingerprint(root / "stream.parquet") == want
    assert _fingerprint(root / "whole.parquet") == want
    assert pq.read_schema(root / "stream.parquet").types == [pa.int64(), pa.string()]


CLI_SCRIPT = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
"""


def test_cli_sql_output_streams_from_clickhouse(tmp_path: Path, child_env: dict[str, str]) -> None:
    """`doctordata sql --engine clickhouse --format parquet --output F`: the CLI's peak RSS
    for 4M rows stays near its peak for one row (~25 s)."""
    root = tmp_path / "lake"
    seed = (
        "import sys, pyarrow as pa, doctordata as dd\n"
        "lh = dd.connect(sys.argv[1])\n"
        "lh.create_table('db.seed', pa.table({'i': pa.array(range(2000), pa.int64())}))\n"
    )
    subprocess.run([sys.executable, "-c", seed, str(root)], env=child_env, check=True, timeout=300)
    big = (
        "SELECT a.i * 2000 + b.i AS n, repeat('x', 200) || CAST(a.i AS VARCHAR) AS pad "
        "FROM db.seed a CROSS JOIN db.seed b"
    )
    small = "SELECT i AS n, repeat('x', 200) || CAST(i AS VARCHAR) AS pad FROM db.seed WHERE i = 0"

    def peak(query: str, out: Path) -> int:
        cli = [
            sys.executable,
            "-m",
            "doctordata",
            "--root",
            str(root),
            "sql",
            "--engine",
            "clickhouse",
            "--format",
            "parquet",
            "--output",
            str(out),
            query,
        ]
        done = subprocess.run(
            [sys.executable, "-c", CLI_SCRIPT, *cli],
            env=child_env,
            capture_output=True,
            text=True,
            timeout=900,
            check=True,
        )
        return int(done.stdout.split()[-1])

    base = peak(small, tmp_path / "small.parquet")
    rise = peak(big, tmp_path / "big.parquet") - base
    assert rise < RESULT_BYTES / 4, f"the CLI's peak RSS rose {rise / 1e6:.0f} MB"
    assert pq.ParquetFile(tmp_path / "big.parquet").metadata.num_rows == ROWS
    assert _fingerprint(tmp_path / "big.parquet") == _fingerprint()


# -- streams: errors and abandoned reads -------------------------------------------------
def test_streamed_limits_raise_typed_errors(ch: Any) -> None:
    """A limit stops a streamed query with the same typed error as a whole one, and the
    engine stays usable."""
    endless = "SELECT max(sipHash64(number)) FROM numbers(1000000000000000)"
    with pytest.raises(QueryTimeoutError, match=r"0\.5 s.*engines\.query_timeout"):
        list(ch.sql(endless, engine="clickhouse", stream=True, timeout=0.5).record_batches())
    many = "SELECT number, sipHash64(number) AS h FROM numbers(1000000000000000)"
    with pytest.raises(QueryTimeoutError):  # stopped after rows were already sent
        for _ in ch.sql(many, engine="clickhouse", stream=True, timeout=0.5).record_batches():
            pass
    assert ch.sql("SELECT count(*) AS n FROM db.t", engine="clickhouse").fetchall() == [(4,)]


def test_an_abandoned_stream_does_not_block_later_queries(ch: Any) -> None:
    q = "SELECT number AS n FROM numbers(10000000)"
    batches = ch.sql(q, engine="clickhouse", stream=True).record_batches()
    first = next(batches)
    assert 0 < first.num_rows < 10_000_000
    # Still open: other queries (whole, streamed, with a type lookup) go on meanwhile.
    assert ch.sql("SELECT max(id) AS m FROM db.t", engine="clickhouse").fetchall() == [(4,)]
    again = ch.sql("SELECT ts FROM db.t WHERE id = 1", engine="clickhouse", stream=True)
    assert again.fetchall() == [(datetime(2026, 1, 1, 12, 0, 0, 5),)]
    del batches


def test_an_empty_streamed_result_runs_the_query_once(connect: Any) -> None:
    """chDB streams no block for an empty result; its columns are found without running
    the query a second time (counted by chDB's own SelectedRows event)."""
    lh = connect("chdb")
    eng = lh.engine("clickhouse")
    rows = 1_000_000
    # sipHash64 keeps ClickHouse from narrowing numbers() to the filter: every row is read.
    q = (
        "SELECT number AS n, CAST(number AS VARCHAR) AS s, "
        "TIMESTAMPTZ '2026-01-01 00:00:00+00' AS z "
        f"FROM numbers({rows}) WHERE sipHash64(number) = 0"
    )

    def selected() -> int:
        found = eng.execute("SELECT value FROM system.events WHERE event = 'SelectedRows'")
        return int(found.column(0)[0].as_py())

    before = selected()
    streamed = lh.sql(q, engine="clickhouse", stream=True).arrow()
    read = selected() - before
    assert streamed.num_rows == 0
    assert rows <= read < rows * 3 // 2, f"{read} rows read for one run of {rows}"
    whole = lh.sql(q, engine="clickhouse").arrow()
    assert streamed.schema == whole.schema
    assert [f.name for f in whole.schema] == ["n", "s", "z"] and whole.schema.field("z").type.tz
    # Two columns of one name: no null() table has that structure; the query runs whole.
    twice = "SELECT number, number FROM numbers(10) WHERE sipHash64(number) = 0"
    again = lh.sql(twice, engine="clickhouse", stream=True).arrow()
    assert again.num_rows == 0 and again.column_names == ["number", "number"]


def test_a_whole_http_result_that_fails_after_rows_is_a_typed_error(connect: Any) -> None:
    """Through the HTTP endpoint a whole result is streamed from chDB in blocks. A query
    that fails after many rows still ends as the engine's typed error: clickhouse-connect
    asks to wait for the end of the query, so the endpoint holds the blocks back (in a
    file past a few MB) and answers HTTP 500; a client that does not wait gets the rows
    and then ClickHouse's error text, as from a server."""
    lh = connect("clickhouse-http")
    eng = lh.engine("clickhouse")
    fails = "SELECT number, throwIf(number = 200000, 'late failure') AS x FROM numbers(300000)"
    with pytest.raises(EngineError, match="late failure"):
        eng.execute(fails)
    body = b"".join(eng.client().raw_stream(fails, fmt="Arrow").stream(1 << 16))
    assert body.startswith(b"ARROW1")  # rows went out before the error
    assert b"Code: 395" in body[-2000:] and b"late failure" in body[-2000:]
    # The same query without the failure: every row, as one Arrow file, on both paths.
    ok = "SELECT number, number * 2 AS x FROM numbers(300000)"
    whole = eng.execute(ok)
    raw = pa.ipc.open_file(b"".join(eng.client().raw_stream(ok, fmt="Arrow").stream(1 << 16)))
    assert whole.num_rows == 300000 and raw.read_all().equals(whole)
    assert whole.column("x").to_pylist()[-1] == 2 * 299999
    # No rows: the header alone, also for two columns of one name (no null() table).
    for empty, names in (
        (f"{ok} WHERE number > 1000000", ["number", "x"]),
        ("SELECT number, number FROM numbers(0)", ["number", "number"]),
    ):
        table = eng.execute(empty)
        assert table.num_rows == 0 and table.column_names == names


# -- chDB's one path per process ---------------------------------------------------------
CHDB_PATHS_SCRIPT = """
import gc, sys
import pyarrow as pa
import doctordata as dd
from doctordata.errors import EngineError

gc.disable()  # the collector must not run by chance: whether it ran decided the outcome
root = sys.argv[1]
rows = pa.table({"k": pa.array([1], pa.int64())})
a = dd.connect(root + "/a")
a.create_table("c.t", rows)
assert a.sql("SELECT k FROM c.t", engine="clickhouse").fetchall() == [(1,)]
b = dd.connect(root + "/b")
b.create_table("c.t", rows)
try:
    b.sql("SELECT k FROM c.t", engine="clickhouse")
    print("opened while the other is open")
except EngineError as exc:
    assert "close the other Lakehouse" in str(exc), exc
del a  # dropped without close(): only the garbage collector frees its chDB handles
print(b.sql("SELECT k FROM c.t", engine="clickhouse").fetchall())
"""


def test_a_dropped_lakehouse_does_not_hold_chdb_until_the_collector_runs(
    tmp_path: Path, child_env: dict[str, str]
) -> None:
    """chDB hosts one path per process. A Lakehouse dropped without close() still held it
    until Python's cycle collector happened to run, so opening chDB at another path failed
    or not depending on earlier allocations (a test opening its own chDB path after one
    that leaked a Lakehouse: flaky). A lakehouse that is really still open is named."""
    done = subprocess.run(
        [sys.executable, "-c", CHDB_PATHS_SCRIPT, str(tmp_path)],
        env=child_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "[(1,)]"


def test_nested_fields_are_renamed_without_copying_the_data() -> None:
    """duckdb_fields only relabels: the cast batch shares the original's buffers."""
    from doctordata.engines.clickhouse_arrow import duckdb_fields

    item = pa.field("item", pa.int64(), nullable=False)
    ch_type = pa.struct(
        [pa.field("q", pa.list_(pa.list_(item)), nullable=False), pa.field("r", pa.int64())]
    )
    want = pa.struct(
        [
            pa.field("q", pa.list_(pa.field("l", pa.list_(pa.field("l", pa.int64()))))),
            pa.field("r", pa.int64()),
        ]
    )
    assert duckdb_fields(ch_type) == want
    values = pa.array([{"q": [[1, 2]], "r": 3}], ch_type)
    cast = values.cast(duckdb_fields(ch_type))
    inner = values.field("q").values.values
    assert cast.field("q").values.values.buffers()[1].address == inner.buffers()[1].address
    assert cast.to_pylist() == values.to_pylist()
