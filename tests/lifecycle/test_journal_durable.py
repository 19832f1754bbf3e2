"""The mover's journal survives a power cut: the journal file, the folder holding it and
every folder created on the way to it are fsynced before the mover copies a byte
(recovery finds the journal by walking down from the lake root)."""

from __future__ import annotations

from pathlib import Path

from doctordata.lifecycle import journal as jr
from tests.tiered_lakes import rows


def test_a_journal_in_new_folders_is_durable(tmp_path: Path, synced: set[str]) -> None:
    root = tmp_path / "lake"  # nothing there yet: every folder is new
    journal = jr.Journal("hn.items", [jr.JournalMove("/a", "/b", "ssd", "nas")])
    with jr.lifecycle_lock(root, "test"):
        path = jr.save(root, journal)
    # The file is fsynced under its temporary name, then renamed and its folder fsynced.
    chain = {
        str(path.with_suffix(".tmp")),
        str(path.parent),
        str(root / ".doctordata"),
        str(root),
        str(tmp_path),
    }
    assert chain - synced == set()
    assert [j.id for j in jr.load_all(root)] == [journal.id]


def test_the_mover_journals_durably_before_copying(make_lake, synced: set[str]) -> None:  # type: ignore[no-untyped-def]
    lh = make_lake()
    lh.create_table("hn.items", rows(0), partition_by=["day(time)"])
    folder = jr.journal_dir(lh.root)
    assert not folder.exists()  # the first tier run creates it
    synced.clear()
    report = lh.tier()
    assert report.moved and not report.failed
    # The journal is gone again (the run finished); the folder that held it was created
    # durably: its name is in its parent's fsynced entries.
    assert {str(folder), str(folder.parent)} - synced == set()
