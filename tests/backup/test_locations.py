"""Location mapping: every spelling of a path below a tier moves to the same new place."""

from __future__ import annotations

from urllib.parse import urlsplit

from doctordata.catalog.locations import EXTERNAL, LocationMapper, Locator, locate, split_location
from doctordata.storage.tier import Tier

OLD = {
    "ssd": Tier("ssd", "file:///srv/lake/warehouse"),
    "nas": Tier("nas", "file:///mnt/nas/lake"),
    "s3": Tier("s3", "s3://bucket/lake"),
}


def test_locate_handles_every_spelling_and_nested_roots() -> None:
    for spelling in (
        "/srv/lake/warehouse/a/b.parquet",
        "file:/srv/lake/warehouse/a/b.parquet",
        "file:///srv/lake/warehouse/a/b.parquet",
    ):
        assert locate(OLD, spelling) == ("ssd", "a/b.parquet")
    assert locate(OLD, "s3a://bucket/lake/x/y") == ("s3", "x/y")
    assert locate(OLD, "/srv/lake/warehouse-old/a") == (EXTERNAL, "/srv/lake/warehouse-old/a")
    nested = {**OLD, "inner": Tier("inner", "file:///srv/lake/warehouse/hot")}
    assert locate(nested, "/srv/lake/warehouse/hot/f") == ("inner", "f")


def test_locator_and_fast_split_agree_with_urlsplit() -> None:
    nested = {**OLD, "inner": Tier("inner", "file:///srv/lake/warehouse/hot")}
    locator = Locator(nested)
    for spelling in (
        "/srv/lake/warehouse/a/b.parquet",
        "file:/srv/lake/warehouse/a/b.parquet",
        "file:///srv/lake/warehouse/hot/f",
        "/srv/lake/warehouse/hot/f",
        "/srv/lake/warehouse/a/b#c.parquet",  # urlsplit's reading wins for '#' and '?'
        "file:///srv/lake/warehouse/a?b",
        "/srv/lake/warehouse/a\tb",
        "s3a://bucket/lake/x/y",
        "/elsewhere/f",
    ):
        parts = urlsplit(spelling)
        if not parts.scheme or parts.scheme == "file":
            assert split_location(spelling) == ("file", parts.path), spelling
        assert locator(spelling) == locate(nested, spelling), spelling
    assert locator("/srv/lake/warehouse/hot/f") == ("inner", "f")


def test_mapper_moves_tier_files_and_external_files_below_the_new_root() -> None:
    mapper = LocationMapper(
        OLD,
        {
            "ssd": "file:///new/warehouse",
            "nas": "file:///new/tiers/nas",
            "s3": "s3://b2/l",
            EXTERNAL: "file:///new/external",
        },
    )
    assert mapper("file:///srv/lake/warehouse/t/m.avro") == "file:///new/warehouse/t/m.avro"
    assert mapper("/mnt/nas/lake/t/d.parquet") == "file:///new/tiers/nas/t/d.parquet"
    assert mapper("s3://bucket/lake/t/d.parquet") == "s3://b2/l/t/d.parquet"
    assert mapper("/data/elsewhere/f.parquet") == "file:///new/external/data/elsewhere/f.parquet"
    doc = {
        "location": "file:///srv/lake/warehouse/t",
        "note": "/not/a/tier",
        "n": 3,
        "log": [{"metadata-file": "/srv/lake/warehouse/t/metadata/1.json"}],
    }
    assert mapper.rewrite_json(doc) == {
        "location": "file:///new/warehouse/t",
        "note": "/not/a/tier",
        "n": 3,
        "log": [{"metadata-file": "file:///new/warehouse/t/metadata/1.json"}],
    }


def test_backup_ids_sort_in_creation_order_within_one_second() -> None:
    import datetime as dt

    from doctordata.backup.backup import BACKUP_ID, new_backup_id

    base = dt.datetime(2026, 11, 27, 3, 15, tzinfo=dt.UTC)
    ids = [new_backup_id(base + dt.timedelta(microseconds=i)) for i in range(50)]
    assert sorted(ids) == ids and all(BACKUP_ID.match(i) for i in ids)
