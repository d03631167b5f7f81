"""Duplicate policies: the same bytes arriving again are skipped, archived or deleted."""

from __future__ import annotations

import os

import pytest

from shared.jobs import FileJob, Outcome
from shared.state.store import ContentEntry
from tests.shared.ingest.trees import sha as _sha
from tests.shared.ingest.trees import tree as _tree
from tests.shared.rig import Rig

# --- duplicates ----------------------------------------------------------------------------


def _ingest_then_duplicate(rig: Rig) -> tuple[bytes, FileJob]:
    data = os.urandom(30_000)
    rig.put("IMG_1.jpg", data)
    assert rig.ingest("IMG_1.jpg").outcome == Outcome.INGESTED
    rig.put("backup/copy of IMG_1.jpg", data)
    return data, rig.ingest("backup/copy of IMG_1.jpg")


def test_duplicate_skip_leaves_the_source(make_rig) -> None:
    rig = make_rig(duplicates="skip")
    # Given a photo already ingested, and the same bytes arriving under another name
    data, job = _ingest_then_duplicate(rig)
    # Then it is a duplicate of the library file, left where it is
    assert job.outcome == Outcome.DUPLICATE
    assert job.duplicate_of == "lib/IMG_1.jpg"
    assert job.dest_path == "IMG_1.jpg"
    assert _tree(rig.src) == {"backup/copy of IMG_1.jpg": data}
    assert _tree(rig.lib) == {"IMG_1.jpg": data}
    record = rig.store.get_record("cam", "backup/copy of IMG_1.jpg")
    assert record is not None and record.state == "duplicate"


def test_duplicate_archive_moves_the_source_into_the_archive(make_rig) -> None:
    rig = make_rig(duplicates="archive")
    data, job = _ingest_then_duplicate(rig)
    assert job.outcome == Outcome.DUPLICATE
    assert job.duplicate_of == "lib/IMG_1.jpg"
    # The source moved to archive_path/<source>/<rel>, bytes intact; the library is unchanged
    assert _tree(rig.base / "archive") == {"cam/backup/copy of IMG_1.jpg": data}
    assert _tree(rig.src) == {}
    assert _tree(rig.lib) == {"IMG_1.jpg": data}
    assert "archived" in job.reason


def test_duplicate_delete_removes_the_source(make_rig) -> None:
    rig = make_rig(duplicates="delete")
    data, job = _ingest_then_duplicate(rig)
    assert job.outcome == Outcome.DUPLICATE
    assert job.duplicate_of == "lib/IMG_1.jpg"
    assert _tree(rig.src) == {}
    assert _tree(rig.lib) == {"IMG_1.jpg": data}


@pytest.mark.parametrize("policy", ["archive", "delete"])
def test_copy_mode_never_touches_a_duplicate_source(make_rig, policy: str) -> None:
    rig = make_rig(mode="copy", duplicates=policy)
    data, job = _ingest_then_duplicate(rig)
    assert job.outcome == Outcome.DUPLICATE
    assert _tree(rig.src) == {"IMG_1.jpg": data, "backup/copy of IMG_1.jpg": data}
    assert not (rig.base / "archive").exists()


def test_duplicate_of_a_vanished_library_file_is_ingested_again(rig: Rig) -> None:
    # Given an ingested photo whose library copy someone deleted
    data = os.urandom(10_000)
    rig.put("IMG_1.jpg", data)
    rig.ingest("IMG_1.jpg")
    (rig.lib / "IMG_1.jpg").unlink()
    # When the same bytes arrive again
    rig.put("again/IMG_1.jpg", data)
    job = rig.ingest("again/IMG_1.jpg")
    # Then they take the content over and are ingested, not called a duplicate of nothing
    assert job.outcome == Outcome.INGESTED
    assert _tree(rig.lib) == {"again/IMG_1.jpg": data}
    assert rig.store.content(_sha(data)) == ContentEntry("", "lib", "again/IMG_1.jpg")
