"""pyiceberg's string-filter parser and strictyaml run on first use (catalog/reader/lazy_modules.py).

Each case is a fresh process (what is imported is per process): a query and a write do not
build the pyparsing grammar, and a row filter given to pyiceberg as a string, or a
.pyiceberg.yaml, still works afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

import doctordata as dd


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lazy") / "lake"
    with dd.connect(root) as lh:
        lh.create_namespace("shop")
        rows = pa.table({"id": pa.array(range(6), pa.int64()), "kind": list("abcabc")})
        lh.create_table("shop.orders", rows, partition_by=["kind"])
    return root


def _run(code: str, cwd: Path, **env: str) -> str:
    child = {k: v for k, v in os.environ.items() if not k.startswith("DOCTORDATA")}
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env={**child, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_a_query_and_a_write_build_no_grammar_and_a_string_filter_still_works(
    lake: Path,
) -> None:
    out = _run(
        "import sys, doctordata as dd, pyarrow as pa\n"
        f"lh = dd.connect({str(lake)!r})\n"
        "q = \"SELECT count(*) FROM shop.orders WHERE kind = 'a' AND id > 1\"\n"
        "print(lh.sql(q).fetchall())\n"
        "lh.append('shop.orders', pa.table({'id': pa.array([9], pa.int64()), 'kind': ['a']}))\n"
        "print('pyparsing' in sys.modules, any(m.startswith('strictyaml.') for m in sys.modules))\n"
        "print(type(sys.modules['pyiceberg.expressions.parser']).__name__, "
        "type(sys.modules['strictyaml']).__name__)\n"
        "t = lh.table('shop.orders')\n"
        "rows = t.scan(row_filter=\"kind = 'a' and id > 1\").to_arrow()\n"
        "print(sorted(rows.column('id').to_pylist()), 'pyparsing' in sys.modules)\n",
        lake.parent,
    )
    lines = out.splitlines()
    assert lines[0] == "[(1,)]"
    assert lines[1] == "False False"  # neither module's body ran
    assert lines[2] == "_LazyModule _LazyModule"
    # pyiceberg parsed the string itself: the grammar was built on first use.
    assert lines[3] == "[3, 9] True"


def test_a_pyiceberg_yaml_is_still_read(lake: Path, tmp_path: Path) -> None:
    (tmp_path / ".pyiceberg.yaml").write_text("catalog:\n  mine:\n    uri: sqlite:///x.db\n")
    out = _run(
        "import doctordata.catalog\n"
        "from pyiceberg.utils.config import Config\n"
        "print(Config().get_catalog_config('mine'))\n",
        lake.parent,
        PYICEBERG_HOME=str(tmp_path),
    )
    assert out.strip() == "{'uri': 'sqlite:///x.db'}"
