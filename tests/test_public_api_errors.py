"""Every public Lakehouse method, called with malformed arguments, raises only
DoctorDataError subclasses, and no message ever shows a secret.

The methods are found by introspection: a new public method without an entry in VALID
fails ``test_every_public_method_is_covered`` until someone says how to call it.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest

import doctordata as dd
from doctordata.errors import DoctorDataError

SECRET_ENV = "Env-S3cret-Value-4417"
SECRET_PROP = "Prop-S3cret-Value-9902"
SECRETS = (SECRET_ENV, SECRET_PROP)


def _data() -> pa.Table:
    return pa.table({"id": pa.array([1, 2, 3], pa.int64()), "s": ["a", "b", "c"]})


# A valid call of every public method: positional args, keyword args. Each malformed call
# replaces one of them.
VALID: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {
    "add_files": (("ns.t", []), {}),
    "append": (("ns.t", "DATA"), {"evolve": False}),
    "backup": (("nas",), {"workers": 1, "progress": False}),
    "branch": (("ns.t", "b1"), {"as_of": None}),
    "close": ((), {}),
    "create_catalog": ((), {}),
    "create_namespace": (("ns2",), {"exist_ok": True}),
    "create_table": (
        ("ns.new", "DATA"),
        {
            "partition_by": ["bucket(4, id)"],
            "sort_by": ["id"],
            "exist_ok": True,
            "properties": None,
        },
    ),
    "delete": (("ns.t", "id > 2"), {}),
    "drop_namespace": (("ns_empty",), {}),
    "drop_table": (("ns.t",), {"purge": False}),
    "engine": (("duckdb",), {}),
    "evolve_partitions": (("ns.t",), {"add": ["truncate(2, s)"], "remove": []}),
    "maintain": (
        ("ns.t",),
        {"expire_older_than": "1d", "orphan_older_than": "1d", "retain_last": 1, "dry_run": True},
    ),
    "namespaces": ((), {}),
    "overwrite": (("ns.t", "DATA"), {"where": "id = 1"}),
    "publish": (("ns.t",), {"engine": "duckdb"}),
    "read": (("ns.t",), {"where": "id > 1", "as_of": None}),
    "rename_table": (("ns.t", "ns.t2"), {}),
    "rollback": (("ns.t", "SNAPSHOT"), {}),
    "set_sort_order": (("ns.t", ["id"]), {}),
    "snapshots": (("ns.t",), {}),
    "sql": (("SELECT count(*) FROM ns.t",), {"engine": "duckdb", "as_of": None}),
    "table": (("ns.t",), {}),
    "tables": ((), {"namespace": "ns"}),
    "tag": (("ns.t", "v1"), {"as_of": None}),
    "tier": (("ns.t",), {"dry_run": True, "to": "nas", "where": "id > 1", "workers": 1}),
    "tier_status": ((), {}),
    "upsert": (("ns.t", "DATA", ["id"]), {}),
    "verify": ((), {}),
}

BAD_VALUES: list[Any] = [
    5,
    None,
    "",
    "ns.t\n",
    "a/b",
    "x\x00y",
    "ns.missing",
    10**20,
    -1,
    "-1d",
    [1],
    object(),
]
# Extra keyword arguments the **options methods must refuse or check.
BAD_OPTIONS: dict[str, list[dict[str, Any]]] = {
    "maintain": [
        {"bogus": 1},
        {"expire_older_than": "-1d"},
        {"orphan_older_than": 5},
        {"retain_last": "x"},
        {"target_file_size": -5},
        {"compact": "no"},
    ],
    "tier": [{"bogus": 1}, {"workers": 0}, {"workers": "x"}, {"to": "nowhere"}],
    "backup": [{"bogus": 1}, {"workers": -3}, {"endpoint": 5}],
    "verify": [{"bogus": 1}],
}


def _public_methods() -> list[str]:
    return sorted(
        name
        for name, member in inspect.getmembers(dd.Lakehouse)
        if not name.startswith("_") and inspect.isfunction(member)
    )


def test_every_public_method_is_covered() -> None:
    assert _public_methods() == sorted(VALID)


def _calls() -> Iterator[tuple[str, tuple[Any, ...], dict[str, Any]]]:
    for method in _public_methods():
        args, kwargs = VALID[method]
        for i in range(len(args)):
            for bad in BAD_VALUES:
                yield method, (*args[:i], bad, *args[i + 1 :]), kwargs
        for key in kwargs:
            for bad in BAD_VALUES:
                yield method, args, {**kwargs, key: bad}
        for extra in BAD_OPTIONS.get(method, []):
            yield method, args, {**kwargs, **extra}
        # (An unknown keyword of a method with an explicit signature is Python's own
        # TypeError before any doctordata code runs; **options methods check theirs.)


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dd.Lakehouse]:
    root = tmp_path_factory.mktemp("api")
    mp = pytest.MonkeyPatch()
    mp.setenv("AWS_SECRET_ACCESS_KEY", SECRET_ENV)
    with dd.connect(
        root,
        tiers={"ssd": {"url": "ssd"}, "nas": {"url": "nas"}},
        catalog={"properties": {"s3.secret-access-key": SECRET_PROP}},
    ) as lh:
        yield lh
    mp.undo()


def _reset(lh: dd.Lakehouse) -> int:
    """ns.t with one snapshot; returns its id."""
    for name in lh.tables():
        if name != "ns.t":
            lh.drop_table(name)
    if "ns.t" not in lh.tables():
        lh.create_table("ns.t", _data())
    lh.create_namespace("ns_empty")
    snapshot = lh.table("ns.t").current_snapshot()
    assert snapshot is not None
    return snapshot.snapshot_id


def _fill(value: Any, snapshot: int) -> Any:
    if isinstance(value, str) and value == "DATA":
        return _data()
    if isinstance(value, str) and value == "SNAPSHOT":
        return snapshot
    return value


def test_malformed_arguments_raise_only_typed_errors(lake: dd.Lakehouse) -> None:
    leaks: list[str] = []
    calls = 0
    for method, args, kwargs in _calls():
        if method == "close":
            continue
        snapshot = _reset(lake)
        call = f"{method}{args!r} {kwargs!r}"
        args = tuple(_fill(a, snapshot) for a in args)
        kwargs = {k: _fill(v, snapshot) for k, v in kwargs.items()}
        calls += 1
        try:
            getattr(lake, method)(*args, **kwargs)
        except DoctorDataError as exc:
            text = f"{exc} {exc!r}"
            if any(secret in text for secret in SECRETS):
                leaks.append(f"{call}: secret in {text!r}")
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            leaks.append(f"{call}: {type(exc).__name__}: {first}"[:300])
    assert calls > 500
    assert not leaks, f"{len(leaks)} calls leaked:\n" + "\n".join(leaks)


def test_repr_of_lakehouse_and_settings_hides_secrets(lake: dd.Lakehouse) -> None:
    for text in (repr(lake), repr(lake.settings), str(lake.settings), repr(lake.tiers)):
        assert not any(secret in text for secret in SECRETS)
