"""One canonical form per location (storage/locations.py) and the checks built on it:
add_files refuses a file already in the table under another spelling, files outside every
tier, directories and other tables' files; a new table never reuses another's directory."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import doctordata as dd
from doctordata.errors import AlreadyExistsError, LocationError
from doctordata.storage.locations import (
    TierIndex,
    canonical,
    is_lexically_canonical,
    join,
    tier_of,
)
from doctordata.storage.tier import Tier


def test_every_spelling_of_a_local_file_has_one_canonical_form(tmp_path: Path) -> None:
    real = tmp_path / "real"
    (real / "d").mkdir(parents=True)
    (real / "d" / "f.parquet").write_bytes(b"x")
    (tmp_path / "link").symlink_to(real)
    (real / "d" / "alias.parquet").symlink_to(real / "d" / "f.parquet")
    want = "file://" + os.path.realpath(real / "d" / "f.parquet")
    for spelling in (
        f"{real}/d/f.parquet",
        f"file:{real}/d/f.parquet",
        f"file://{real}/d/f.parquet",
        f"{real}//d//f.parquet",
        f"file://{real}/d//f.parquet",
        f"{real}/d/../d/./f.parquet",
        f"{tmp_path}/link/d/f.parquet",
        f"file://{tmp_path}/link/d/../d/f.parquet",
        f"{real}/d/alias.parquet",
    ):
        assert canonical(spelling) == want, spelling
    # '..' after a symlink is the kernel's '..' (the link's target's parent), not lexical.
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "hop").symlink_to(real / "d")
    assert canonical(f"{tmp_path}/other/hop/../d/f.parquet") == want
    assert canonical(f"{real}/d/", resolve=False) == "file://" + str(real / "d")


def test_s3_schemes_are_one_and_keys_are_literal() -> None:
    assert canonical("s3a://b/lake/t/") == canonical("s3n://b/lake/t") == "s3://b/lake/t"
    # On S3 'a//b' and 'a/b' are different objects: never merged.
    assert canonical("s3://b/lake//x") != canonical("s3://b/lake/x")


def test_writers_join_without_double_slashes() -> None:
    assert join("file:///lake/w/", "ns", "", "t/") == "file:///lake/w/ns/t"
    assert join("s3://b/p", "/ns/", "t") == "s3://b/p/ns/t"
    with pytest.raises(ValueError, match=r"'\.\.'"):
        join("file:///lake", "../escape")
    assert is_lexically_canonical("file:///lake/t/data/f.parquet")
    assert not is_lexically_canonical("file:///lake/t/data//f.parquet")
    assert not is_lexically_canonical("/lake/t/./f")
    assert not is_lexically_canonical("s3://b/t/data//f")


def test_tier_of_compares_canonical_forms_and_prefers_the_longest_root(tmp_path: Path) -> None:
    (tmp_path / "ssd" / "nested").mkdir(parents=True)
    (tmp_path / "alias").symlink_to(tmp_path / "ssd")
    tiers = {
        "ssd": Tier("ssd", (tmp_path / "alias").as_uri()),  # the root itself is a symlink
        "inner": Tier("inner", (tmp_path / "ssd" / "nested").as_uri()),
        "s3": Tier("s3", "s3://bucket/lake"),
    }
    ssd = tiers["ssd"]
    assert tier_of(f"{tmp_path}/ssd/t/f", tiers) is ssd
    assert tier_of(f"file://{tmp_path}/alias/t//f", tiers) is ssd
    assert tier_of(f"{tmp_path}/alias/nested/f", tiers) is tiers["inner"]
    assert tier_of(f"{tmp_path}/ssd-old/f", tiers) is None
    assert tier_of("s3a://bucket/lake/t/f", tiers) is tiers["s3"]
    assert tier_of("s3://bucket/lakehouse/f", tiers) is None
    assert TierIndex(tiers).locate(f"{tmp_path}/ssd/a/../t/f") == ("ssd", "t/f")


# -- add_files ------------------------------------------------------------------------------
def _items(ids: list[int]) -> pa.Table:
    return pa.table({"id": pa.array(ids, pa.int64())})


def _ids(lh: dd.Lakehouse, name: str) -> list[int]:
    return sorted(lh.read(name).column("id").to_pylist())


def test_add_files_refuses_the_same_file_under_another_spelling(
    lh: dd.Lakehouse, tmp_path: Path
) -> None:
    lh.create_table("raw.t", _items([]).schema)
    imports = Path(lh.hot_tier.root) / "imports"
    imports.mkdir()
    path = imports / "f.parquet"
    pq.write_table(_items([1, 2, 3]), path)
    (imports / "link.parquet").symlink_to(path)
    lh.add_files("raw.t", [str(path)])
    for spelling in (
        str(imports / "link.parquet"),  # a symlink to it
        path.as_uri(),  # file:// URI
        f"{imports}/../imports/f.parquet",  # '..'
        f"{imports}//f.parquet",
    ):
        with pytest.raises(AlreadyExistsError, match=r"already in table 'raw\.t'") as err:
            lh.add_files("raw.t", [spelling])
        assert spelling in str(err.value)
    with pytest.raises(AlreadyExistsError, match="same file twice"):
        lh.add_files("raw.t", [str(imports / "g.parquet"), f"{imports}/./g.parquet"])
    assert _ids(lh, "raw.t") == [1, 2, 3]
    assert lh.sql("SELECT count(*) FROM raw.t").fetchall() == [(3,)]


def test_add_files_registers_the_canonical_location(lh: dd.Lakehouse) -> None:
    lh.create_table("raw.t", _items([]).schema)
    imports = Path(lh.hot_tier.root) / "imports"
    imports.mkdir()
    pq.write_table(_items([7]), imports / "f.parquet")
    lh.add_files("raw.t", [f"{imports}//./f.parquet"])
    (path,) = [t.file.file_path for t in lh.table("raw.t").scan().plan_files()]
    assert path == canonical(str(imports / "f.parquet")) and is_lexically_canonical(path)


def test_add_files_refuses_files_outside_every_tier_directories_and_other_tables(
    lh: dd.Lakehouse, tmp_path: Path
) -> None:
    lh.create_table("raw.t", _items([]).schema)
    lh.create_table("raw.other", _items([5]))
    outside = tmp_path / "outside.parquet"
    pq.write_table(_items([1]), outside)
    with pytest.raises(LocationError, match="outside every tier") as err:
        lh.add_files("raw.t", [str(outside)])
    assert str(outside) in str(err.value)
    imports = Path(lh.hot_tier.root) / "imports"
    imports.mkdir()
    with pytest.raises(LocationError, match="is a directory"):
        lh.add_files("raw.t", [str(imports)])
    (other_file,) = [t.file.file_path for t in lh.table("raw.other").scan().plan_files()]
    with pytest.raises(LocationError, match=r"table 'raw\.other'"):
        lh.add_files("raw.t", [other_file])
    # A symlink below a tier that points outside every tier is outside too.
    (imports / "sneaky.parquet").symlink_to(outside)
    with pytest.raises(LocationError, match="outside every tier"):
        lh.add_files("raw.t", [str(imports / "sneaky.parquet")])
    assert _ids(lh, "raw.t") == []
    assert lh.sql("SELECT count(*) FROM raw.t").fetchall() == [(0,)]


# -- table directories ------------------------------------------------------------------------
def test_a_new_table_never_gets_a_renamed_or_dropped_tables_directory(
    clh: dd.Lakehouse,
) -> None:
    lh = clh  # SQLite and Postgres catalogs
    first = lh.create_table("ns.t", _items([1])).location()
    lh.rename_table("ns.t", "ns.renamed")
    second = lh.create_table("ns.t", _items([2])).location()
    assert lh.table("ns.renamed").location() == first
    assert second == join(first + "-2")
    lh.drop_table("ns.t")  # not purged: its files stay where they are
    third = lh.create_table("ns.t", _items([3])).location()
    assert third not in (first, second) and third == join(first + "-3")
    for location in (first, second, third):
        assert is_lexically_canonical(location)
    assert _ids(lh, "ns.renamed") == [1] and _ids(lh, "ns.t") == [3]


def test_creating_a_table_loads_no_table_whose_metadata_it_has_read(
    clh: dd.Lakehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    """create_table checks every table's directories: it lists their metadata locations
    in one query and loads only tables it has not seen at that location (it loaded every
    table of the catalog, so creating the 200th table read 199 metadata files)."""
    from pyiceberg.catalog.sql import SqlCatalog

    lh = clh
    for i in range(12):
        lh.create_table(f"ns.t{i}", _items([i]))
    loaded: list[str] = []
    catalog_class = type(lh.catalog)  # SqlCatalog or our subclass (its own load_table)
    real = catalog_class.load_table

    def load_table(self: SqlCatalog, identifier: object) -> object:
        loaded.append(identifier if isinstance(identifier, str) else ".".join(identifier))  # type: ignore[arg-type]
        return real(self, identifier)  # type: ignore[arg-type]

    monkeypatch.setattr(catalog_class, "load_table", load_table)
    lh.create_table("ns.first", _items([1]))  # may read what it has not read yet
    loaded.clear()
    lh.create_table("ns.second", _items([2]))
    others = [n for n in loaded if n.removeprefix("ns.") not in ("first", "second")]
    assert others == [], others
    lh.append("ns.t3", _items([30]))  # a new metadata file: read again, once
    loaded.clear()
    lh.create_table("ns.third", _items([3]))
    # ns.second's own commit made a metadata file not read yet: it may be read too.
    assert [n for n in loaded if n not in ("ns.second", "ns.third")] == ["ns.t3"]


def test_a_table_whose_data_path_changed_since_is_seen_by_create_table(
    clh: dd.Lakehouse,
) -> None:
    """The directories remembered per metadata file follow a table's later commits: a
    table that points write.data.path at the next table's default directory keeps it."""
    lh = clh
    first = lh.create_table("ns.t", _items([1])).location()
    lh.create_table("ns.u", _items([2]))  # every table's directories read once
    claimed = join(first.rsplit("/", 1)[0], "v")
    with lh.table("ns.t").transaction() as tx:
        tx.set_properties({"write.data.path": claimed})
    location = lh.create_table("ns.v", _items([3])).location()
    assert location != claimed and location == claimed + "-2"


def test_add_files_through_a_symlinked_tier_root_reads_on_duckdb(tmp_path: Path) -> None:
    """A tier configured through a symlink: a file named either way is one file, it is
    registered below the tier's root as configured, and maintain keeps it."""
    from tests.tiered_lakes import write_config

    real = tmp_path / "real-ssd"
    real.mkdir()
    (tmp_path / "ssd").symlink_to(real)
    write_config(tmp_path / "lake", {"ssd": {"url": str(tmp_path / "ssd")}}, [])
    with dd.connect(tmp_path / "lake") as lh:
        lh.create_table("raw.t", _items([1]))
        (real / "imports").mkdir()
        pq.write_table(_items([2, 3]), real / "imports" / "f.parquet")
        lh.add_files("raw.t", [str(real / "imports" / "f.parquet")])
        paths = {t.file.file_path for t in lh.table("raw.t").scan().plan_files()}
        assert all(p.startswith(lh.hot_tier.url.rstrip("/") + "/") for p in paths), paths
        with pytest.raises(AlreadyExistsError):
            lh.add_files("raw.t", [str(tmp_path / "ssd" / "imports" / "f.parquet")])
        lh.maintain(orphan_older_than="0s")
        assert sorted(lh.sql("SELECT id FROM raw.t").fetchall()) == [(1,), (2,), (3,)]
