"""One read of the source in a batch: the copy is made by the read that hashes it, claimed after
the copy, and proven by its read-back before anything is recorded (shared/ingest/placing.py
hash_source, LocalTransfer.stage)."""

from __future__ import annotations

import os
from pathlib import Path

from shared.ingest.batch import ingest_many
from shared.jobs import FileJob, Outcome
from shared.transfer.local import TMP_PREFIX
from tests.shared.rig import Rig

MIB = 1024 * 1024


def _bytes_read() -> int:
    """What this process read through read(2)-like calls so far (/proc/self/io rchar)."""
    with open("/proc/self/io", encoding="ascii") as io:
        return next(int(line.split()[1]) for line in io if line.startswith("rchar:"))


def _library(rig: Rig) -> dict[str, bytes]:
    return {str(p.relative_to(rig.lib)): p.read_bytes() for p in rig.lib.rglob("*")
            if p.is_file()}


def _ingest(rig: Rig, rels: list[str]) -> list[FileJob]:
    return ingest_many([FileJob("cam", rel) for rel in rels], rig.ctx,
                       lambda job, result: result)  # type: ignore[arg-type,return-value]


def test_a_batch_reads_each_source_once_and_its_copy_once(make_rig) -> None:  # type: ignore[no-untyped-def]
    # Given a 16 MiB photo in a copy-mode source
    rig = make_rig(mode="copy")
    data = os.urandom(16 * MIB)
    rig.put("2024/IMG_1.jpg", data)
    # When a batch ingests it
    before = _bytes_read()
    [job] = _ingest(rig, ["2024/IMG_1.jpg"])
    read = _bytes_read() - before
    # Then it is ingested, byte-identical, with no temp file left in the library
    assert job.outcome == Outcome.INGESTED
    assert _library(rig) == {"2024/IMG_1.jpg": data}
    # … after two reads of 16 MiB (the source, hashed while copied; the copy read back), where
    # hashing first and copying after read the source twice (three reads in all)
    assert 2 * len(data) <= read < 2.5 * len(data), read


def test_a_duplicate_found_after_the_copy_leaves_the_library_untouched(make_rig) -> None:  # type: ignore[no-untyped-def]
    # Given a library that already holds a photo, ingested from the source
    rig = make_rig(mode="copy")
    data = os.urandom(200_000)
    rig.put("first/IMG_1.jpg", data)
    assert _ingest(rig, ["first/IMG_1.jpg"])[0].outcome == Outcome.INGESTED
    library = _library(rig)
    # … and the same bytes arriving again under another name
    twin = rig.put("later/IMG_9.jpg", data)
    # When a batch ingests the twin (its copy is made while it is hashed, before the claim)
    [job] = _ingest(rig, ["later/IMG_9.jpg"])
    # Then it is a duplicate of the first; the library is exactly as it was (the staged copy
    # and nothing else is gone) and the source is in place for the duplicate policy
    assert job.outcome == Outcome.DUPLICATE
    assert job.duplicate_of == "lib/first/IMG_1.jpg"
    assert _library(rig) == library
    assert not [p for p in rig.lib.rglob("*") if p.name.startswith(TMP_PREFIX)]
    assert twin.read_bytes() == data
    assert rig.store.get_record("cam", "later/IMG_9.jpg").state == "duplicate"


def test_a_move_within_one_filesystem_links_instead_of_staging(make_rig) -> None:  # type: ignore[no-untyped-def]
    # Given a move-mode source on the library's filesystem
    rig = make_rig(mode="move")
    data = os.urandom(4 * MIB)
    src = rig.put("IMG_2.jpg", data)
    inode = os.stat(src).st_ino
    # When a batch ingests it
    [job] = _ingest(rig, ["IMG_2.jpg"])
    # Then the library file is the source's own inode (a link, no copy staged) and the source
    # name is gone once the link was proven
    assert job.outcome == Outcome.INGESTED
    assert os.stat(Path(rig.lib) / "IMG_2.jpg").st_ino == inode
    assert not src.exists()
    assert _library(rig) == {"IMG_2.jpg": data}
