"""The query path's process-wide caches: one registry, bounded, sized by settings, cleared
together (engines/caches.py)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

import doctordata as dd
from doctordata.engines import caches


def test_bounded_cache_forgets_the_oldest() -> None:
    c: caches.BoundedCache[int, str] = caches.BoundedCache("t", 2)
    for i in range(5):
        c.put(i, str(i))
    assert len(c) == 2 and c.get(0) is None and c.get(4) == "4"
    c.resize(0)
    c.put(9, "9")
    assert len(c) == 0


def test_every_router_cache_is_registered_sized_and_cleared(tmp_path: Path) -> None:
    try:
        _check(tmp_path)
    finally:
        caches.configure(128)


def _check(tmp_path: Path) -> None:
    with dd.connect(tmp_path / "lake", engines__plan_cache_size=2) as lh:
        lh.create_table("t.x", pa.table({"a": [1, 2, 3]}))
        for q in ("SELECT count(*) FROM t.x", "SELECT sum(a) FROM t.x WHERE a > 1"):
            lh.sql(q).fetchall()
        names = set(caches.sizes())
        assert {"parsed", "pushed filters", "tables", "file plans", "renames"} <= names
        assert caches.sizes()["parsed"][1] == 256 * 2 // 128
        assert caches.sizes()["parsed"][0] >= 1
        caches.clear_all()
        assert all(held == 0 for held, _ in caches.sizes().values())
        # Cleared caches change nothing but speed.
        assert lh.sql("SELECT sum(a) FROM t.x WHERE a > 1").fetchall() == [(5,)]
