"""DuckDB extensions: from the offline duckdb-extension-* wheels when installed, else autoload.

Each wheel ``duckdb_extension_<name>`` ships ``extensions/v<version>/<name>.duckdb_extension``;
``INSTALL '<that file>'`` copies it into DuckDB's extension directory, then ``LOAD`` works
without network access.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from doctordata.errors import EngineError


def wheel_extension_path(name: str, duckdb_version: str) -> Path | None:
    """The extension file shipped by the ``duckdb-extension-<name>`` wheel, if installed."""
    spec = importlib.util.find_spec(f"duckdb_extension_{name}")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = (
            Path(location) / "extensions" / f"v{duckdb_version}" / f"{name}.duckdb_extension"
        )
        if candidate.is_file():
            return candidate
    return None


def load_extension(con: Any, name: str) -> None:
    """Load ``name`` into the DuckDB connection ``con`` (before its configuration is locked)."""
    import duckdb

    version = duckdb.__version__
    path = wheel_extension_path(name, version)
    try:
        if path is not None:
            con.execute(f"INSTALL '{_quote(str(path))}'")
        else:
            con.execute(f"INSTALL {name}")
        con.execute(f"LOAD {name}")
    except duckdb.Error as exc:
        raise EngineError(
            f"DuckDB extension {name!r} cannot be loaded ({exc}). Install the offline wheel: "
            f"pip install 'duckdb-extension-{name}=={version}', or allow DuckDB to download it."
        ) from exc


def _quote(text: str) -> str:
    return text.replace("'", "''")
