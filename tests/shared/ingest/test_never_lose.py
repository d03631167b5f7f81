"""The ingest never destroys or overwrites a user's file (issue 10): library files it did not
place, sources that changed after they were proven, the last copy of a photo, redelivered
messages, sidecars of another image version, zero-byte files, and a library that turns out to be
its own source. Each test runs the real stages on real files and a real Redis store."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.errors import FileBusy
from shared.ingest.pipeline import STAGES, run_stage
from shared.jobs import FileJob, Outcome
from shared.media import IgnoreRules
from shared.mirror.plan import MirrorRules, walk_tree
from shared.source import plan_source, vanished_library_files, walk_source
from tests.shared.ingest.trees import tree as _tree
from tests.shared.rig import Rig

NAMES = [name for name, _ in STAGES]
YEAR_2023 = 1_690_000_000_000_000_000
YEAR_2024 = 1_720_000_000_000_000_000


def _until(job: FileJob, rig: Rig, last: str) -> FileJob:
    for name in NAMES[: NAMES.index(last) + 1]:
        job = run_stage(name, job, rig.ctx)
    return job


def _from(job: FileJob, rig: Rig, first: str) -> FileJob:
    for name in NAMES[NAMES.index(first):]:
        job = run_stage(name, job, rig.ctx)
    return job


def _replace_keeping_size_and_mtime(path: Path, data: bytes) -> None:
    """What a camera app or sync client does: write a new file, rename it over the old name,
    with the old size and mtime."""
    info = path.stat()
    incoming = path.with_name(".incoming")
    incoming.write_bytes(data)
    os.utime(incoming, ns=(info.st_atime_ns, info.st_mtime_ns))
    os.rename(incoming, path)


def _edit_in_place_keeping_mtime(path: Path, data: bytes) -> None:
    """What `exiftool -P` and many editors do: same inode, new bytes, the old mtime put back."""
    info = path.stat()
    with open(path, "r+b") as handle:
        handle.write(data)
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))


@pytest.fixture
def shm_library() -> Iterator[Path]:
    """A library folder on another filesystem than the source (/dev/shm): copies, not links."""
    folder = Path(tempfile.mkdtemp(prefix="mc-test-lib-", dir="/dev/shm"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# --- defect 2: a file under a final name is never removed or replaced -----------------------


def test_a_shorter_library_file_with_our_mtime_is_a_user_edit_and_stays(rig: Rig) -> None:
    # Given a library photo its user edited keeping the mtime: shorter, the original's mtime
    data = os.urandom(8000)
    source = rig.put("IMG_1.jpg", data)
    mtime = source.stat().st_mtime_ns
    edited = rig.lib / "IMG_1.jpg"
    edited.write_bytes(b"the user's edit")
    os.utime(edited, ns=(mtime, mtime))
    # When the original is uploaded again and ingested
    job = rig.ingest("IMG_1.jpg")
    # Then the edit is untouched and the upload lands beside it, numbered
    assert job.outcome == Outcome.INGESTED and job.dest_path == "IMG_1 (2).jpg"
    assert _tree(rig.lib) == {"IMG_1.jpg": b"the user's edit", "IMG_1 (2).jpg": data}


def test_a_copy_edited_in_the_library_before_verification_is_left_alone(make_rig) -> None:
    # Given a copy placed in the library, then edited there by its user (same size and mtime)
    rig = make_rig(mode="copy")
    data, edit = os.urandom(8000), os.urandom(8000)
    rig.put("IMG_1.jpg", data)
    job = _until(FileJob("cam", "IMG_1.jpg"), rig, "transfer_file")
    _edit_in_place_keeping_mtime(rig.lib / "IMG_1.jpg", edit)
    # When verification finds that it differs
    job = _from(job, rig, "verify_copy")
    # Then the user's file stays, and ours is placed again under the next name
    assert job.outcome == Outcome.INGESTED and job.dest_path == "IMG_1 (2).jpg"
    assert _tree(rig.lib) == {"IMG_1.jpg": edit, "IMG_1 (2).jpg": data}


# --- defects 3 and 4: nothing removes a source that changed since it was proven ------------


@pytest.mark.parametrize("policy", ["delete", "archive"])
def test_a_duplicate_replaced_after_it_was_hashed_is_kept(make_rig, policy: str) -> None:
    # Given a photo in the library, and the same bytes arriving again and hashed …
    rig = make_rig(duplicates=policy)
    data, newer = os.urandom(30_000), os.urandom(30_000)
    rig.put("IMG_1.jpg", data)
    assert rig.ingest("IMG_1.jpg").outcome == Outcome.INGESTED
    path = rig.put("again/IMG_1.jpg", data)
    job = run_stage("hash_file", FileJob("cam", "again/IMG_1.jpg"), rig.ctx)
    # … then replaced by a new photo of the same name, size and mtime before the claim
    _replace_keeping_size_and_mtime(path, newer)
    # When the duplicate policy runs
    job = _from(job, rig, "claim_content")
    # Then the new photo is kept, and nothing in the archive shares its inode
    assert job.outcome == Outcome.SKIPPED and "kept" in job.reason
    assert path.read_bytes() == newer
    assert _tree(rig.lib) == {"IMG_1.jpg": data}
    assert _tree(rig.base / "archive") == {}


def test_a_file_renamed_over_the_source_before_release_is_kept(rig: Rig) -> None:
    # Given a photo linked into the library, then another of the same size and mtime renamed
    # over the source name
    data, other = os.urandom(20_000), os.urandom(20_000)
    path = rig.put("IMG_1.jpg", data)
    job = _until(FileJob("cam", "IMG_1.jpg"), rig, "transfer_file")
    _replace_keeping_size_and_mtime(path, other)
    # When it is verified and released
    job = _from(job, rig, "verify_copy")
    # Then the other photo is kept, the library holds the first, and they are two files
    assert path.read_bytes() == other
    assert (rig.lib / "IMG_1.jpg").read_bytes() == data
    assert os.stat(rig.lib / "IMG_1.jpg").st_ino != os.stat(path).st_ino


def test_a_source_touched_before_release_never_stays_hard_linked(rig: Rig) -> None:
    # Given a photo hard-linked into the library (same filesystem), then touched
    data = os.urandom(20_000)
    path = rig.put("IMG_1.jpg", data)
    job = _until(FileJob("cam", "IMG_1.jpg"), rig, "transfer_file")
    assert os.stat(rig.lib / "IMG_1.jpg").st_ino == os.stat(path).st_ino
    os.utime(path, ns=(YEAR_2024, YEAR_2024))
    # When it is verified
    job = _from(job, rig, "verify_copy")
    # Then the source is kept, the library copy is a file of its own with the verified bytes,
    # and editing the source no longer edits the library
    assert job.outcome == Outcome.INGESTED and "kept" in job.reason
    assert os.stat(rig.lib / "IMG_1.jpg").st_ino != os.stat(path).st_ino
    path.write_bytes(b"edited in the source")
    assert (rig.lib / "IMG_1.jpg").read_bytes() == data


def test_an_edit_that_puts_the_mtime_back_is_never_released(make_rig, shm_library: Path) -> None:
    # Given a photo copied to a library on another filesystem, then edited in the source with
    # its mtime restored (exiftool -P) before verification
    rig = make_rig(library_path=shm_library)
    data, edit = os.urandom(20_000), os.urandom(20_000)
    path = rig.put("IMG_1.jpg", data)
    job = _until(FileJob("cam", "IMG_1.jpg"), rig, "transfer_file")
    assert job.copied
    _edit_in_place_keeping_mtime(path, edit)
    # When it is verified and released
    job = _from(job, rig, "verify_copy")
    # Then the edit is kept in the source; the library holds the version that was proven
    assert path.read_bytes() == edit
    assert _tree(shm_library) == {"IMG_1.jpg": data}
    assert "ctime" in job.reason


# --- defect 10: the last copy is never removed ---------------------------------------------


def test_verify_never_deletes_the_last_copy_it_quarantines_it(rig: Rig) -> None:
    # Given a photo verified and released, then a crash before its outcome was recorded …
    data = os.urandom(20_000)
    rig.put("IMG_1.jpg", data)
    _until(FileJob("cam", "IMG_1.jpg"), rig, "verify_copy")
    assert _tree(rig.src) == {}
    # … and the only copy left, in the library, rotted since (a bit flipped, mtime kept)
    rotten = bytes([data[0] ^ 1]) + data[1:]
    _edit_in_place_keeping_mtime(rig.lib / "IMG_1.jpg", rotten)
    # When the file is handled again
    job = rig.ingest("IMG_1.jpg")
    # Then nothing is deleted: the copy sits in the library's quarantine, byte for byte
    quarantined = rig.lib / ".mediacourier-quarantine" / "IMG_1.jpg"
    assert job.outcome == Outcome.FAILED
    assert _tree(rig.lib) == {".mediacourier-quarantine/IMG_1.jpg": rotten}
    # … the failure and the journal name where it is
    [failure] = rig.store.failures()
    assert str(quarantined) in failure["reason"] and "nothing was deleted" in failure["reason"]
    [event] = [e for e in rig.store.read_journal() if e["event"] == "quarantined"]
    assert event["quarantined"] == str(quarantined) and event["path"] == "IMG_1.jpg"
    # … and no walk takes it up again: a source walk, reconcile of the library, a mirror
    assert list(walk_source(rig.lib, IgnoreRules())) == []
    assert vanished_library_files(rig.store, "lib", str(rig.lib), 0) == {"IMG_1.jpg": job.sha256}
    assert quarantined.read_bytes() == rotten
    assert walk_tree(rig.lib, MirrorRules(), []) == {}


# --- defect 11: stages delivered again are idempotent against the record --------------------


def _ingest_keeping_inputs(rig: Rig, rel: str) -> dict[str, FileJob]:
    """Run every stage, returning the job each stage was given (what a redelivery carries)."""
    inputs, job = {}, FileJob("cam", rel)
    for name in NAMES:
        inputs[name] = job
        job = run_stage(name, job, rig.ctx)
    assert job.outcome == Outcome.INGESTED
    return inputs


@pytest.mark.parametrize("stage", ["claim_content", "transfer_file", "verify_copy"])
def test_a_middle_stage_delivered_again_after_ingest_changes_nothing(make_rig,
                                                                     stage: str) -> None:
    # Given a photo ingested (move mode, duplicates deleted), and the message of one middle
    # stage delivered again afterwards
    rig = make_rig(duplicates="delete")
    data = os.urandom(10_000)
    rig.put("IMG_1.jpg", data)
    inputs = _ingest_keeping_inputs(rig, "IMG_1.jpg")
    # When that stage and the ones after it run again
    job = _from(inputs[stage], rig, stage)
    # Then it is still ingested once: one journal entry, no failure, the same record and file
    assert job.outcome == Outcome.INGESTED, job.reason
    assert [e["event"] for e in rig.store.read_journal()] == ["ingested"]
    assert rig.store.failures() == []
    record = rig.store.get_record("cam", "IMG_1.jpg")
    assert (record.state, record.dest) == ("ingested", "IMG_1.jpg")
    assert _tree(rig.lib) == {"IMG_1.jpg": data}


# --- defect 12: a sidecar pairs with the image version it arrived with ----------------------


def test_a_sidecar_never_pairs_with_last_years_image_of_that_name(rig: Rig) -> None:
    # Given last year's IMG_1.JPG in the library, and a new IMG_1.JPG with its IMG_1.xmp
    old, new, xmp = os.urandom(5000), os.urandom(6000), b"<x:xmpmeta>new</x:xmpmeta>"
    rig.put("IMG_1.JPG", old)
    assert rig.ingest("IMG_1.JPG").dest_path == "IMG_1.JPG"
    rig.put("IMG_1.JPG", new)
    rig.put("IMG_1.xmp", xmp)
    # When the sidecar comes first / Then it waits for its own image, placing nothing
    with pytest.raises(FileBusy, match="waiting for its image"):
        rig.ingest("IMG_1.xmp")
    assert _tree(rig.lib) == {"IMG_1.JPG": old}
    # And once the new image landed as 'IMG_1 (2).JPG', the sidecar goes beside it
    assert rig.ingest("IMG_1.JPG").dest_path == "IMG_1 (2).JPG"
    assert rig.ingest("IMG_1.xmp").dest_path == "IMG_1 (2).xmp"
    assert _tree(rig.lib) == {"IMG_1.JPG": old, "IMG_1 (2).JPG": new, "IMG_1 (2).xmp": xmp}


def test_a_sidecar_whose_images_left_pairs_with_the_newest_record(rig: Rig) -> None:
    # Given two images of one stem ingested and gone from the source: an older HEIC and a
    # newer JPG, which landed as 'IMG_1 (2).JPG' beside someone else's IMG_1.JPG
    (rig.lib / "IMG_1.JPG").write_bytes(b"someone else's")
    for rel, when in (("IMG_1.HEIC", YEAR_2023), ("IMG_1.JPG", YEAR_2024)):
        os.utime(rig.put(rel, os.urandom(3000)), ns=(when, when))
        assert rig.ingest(rel).outcome == Outcome.INGESTED
    rig.put("IMG_1.xmp", b"<xmp/>")
    # When the sidecar arrives / Then it goes beside the newest of them
    assert rig.ingest("IMG_1.xmp").dest_path == "IMG_1 (2).xmp"


# --- defect 16: a zero-byte photo is held as empty ------------------------------------------


def test_a_zero_byte_photo_is_held_as_empty(rig: Rig) -> None:
    # Given an empty .jpg in the source
    path = rig.put("DCIM/IMG_0001.jpg", b"")
    # When it is ingested, twice
    job = rig.ingest("DCIM/IMG_0001.jpg")
    again = rig.ingest("DCIM/IMG_0001.jpg")
    # Then it is held: left in place, nothing in the library, recorded and journaled as empty
    # once (that is what history shows), with no failure
    assert (job.outcome, again.outcome) == (Outcome.EMPTY, Outcome.EMPTY)
    assert path.exists() and _tree(rig.lib) == {}
    assert rig.store.get_record("cam", "DCIM/IMG_0001.jpg").state == "empty"
    assert [(e["event"], e["path"]) for e in rig.store.read_journal()] == [
        ("empty", "DCIM/IMG_0001.jpg")]
    assert "empty" in rig.store.read_journal()[0]["reason"]
    assert rig.store.failures() == []
    # And reconcile does not plan it again until it changes
    plan = plan_source(rig.store, rig.ctx.settings.sources["cam"], stale_after=3600, now=2**40)
    assert (plan.to_ingest, plan.unchanged) == ([], 1)


# --- defect 1, second line of defence: never release into the source itself ----------------


def test_a_library_repointed_onto_its_source_never_releases_it(make_rig, tmp_path: Path) -> None:
    # Given a library reached through a symlink, re-pointed at the source after the
    # configuration was checked (a remount, an edited link)
    link, real = tmp_path / "library-link", tmp_path / "library"
    real.mkdir()
    link.symlink_to(real)
    rig = make_rig(library_path=link)
    data = os.urandom(5000)
    path = rig.put("IMG_1.jpg", data)
    link.unlink()
    link.symlink_to(rig.src)
    # When the photo is ingested
    job = rig.ingest("IMG_1.jpg")
    # Then it is refused, naming both paths, and the only copy is where it was
    assert job.outcome == Outcome.FAILED
    assert str(path) in job.reason and str(rig.src) in job.reason
    assert path.read_bytes() == data and _tree(real) == {}


def test_a_library_bind_mounted_onto_its_source_never_releases_it(rig: Rig) -> None:
    # Given a library folder that is the source mounted a second time (same device and inode,
    # a path no realpath can tell apart)
    data = os.urandom(5000)
    path = rig.put("IMG_1.jpg", data)
    subprocess.run(["mount", "--bind", str(rig.src), str(rig.lib)], check=True)
    try:
        # When the photo is ingested
        job = rig.ingest("IMG_1.jpg")
    finally:
        subprocess.run(["umount", str(rig.lib)], check=True)
    # Then the release is refused as the same file, and the photo is still there, alone
    assert job.outcome == Outcome.FAILED and "same file" in job.reason
    assert str(path) in job.reason
    assert _tree(rig.src) == {"IMG_1.jpg": data}
