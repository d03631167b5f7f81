"""The ingest stages end to end in one process: shared.ingest.pipeline.run_all with a real Redis
store.

Duplicate policies are in test_duplicates.py; names, sidecars and layouts in
test_pipeline_names.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shared.errors import DestinationFull, FileBusy
from shared.ingest.pipeline import STAGES, run_all, run_stage
from shared.jobs import FileJob, Outcome
from shared.state.store import ContentEntry
from tests.shared.ingest.trees import sha as _sha
from tests.shared.ingest.trees import tree as _tree
from tests.shared.rig import Rig

# --- move and copy -------------------------------------------------------------------------


def test_move_removes_the_source_only_after_verification(rig: Rig) -> None:
    # Given a photo in a move-mode source
    data = os.urandom(50_000)
    source = rig.put("DCIM/IMG_1.jpg", data)
    job = FileJob("cam", "DCIM/IMG_1.jpg")
    # When the stages run one by one
    for name, _ in STAGES:
        job = run_stage(name, job, rig.ctx)
        if name == "transfer_file":
            # Then after the transfer both names exist: nothing was released before verifying
            assert source.read_bytes() == data
            assert _tree(rig.lib) == {"DCIM/IMG_1.jpg": data}
        if name == "verify_copy":
            # And verification released the source
            assert not source.exists()
    # Then the library holds the original bytes, and the job is ingested
    assert job.outcome == Outcome.INGESTED
    assert job.dest_path == "DCIM/IMG_1.jpg"
    assert job.sha256 == _sha(data) and job.size == len(data)
    assert _tree(rig.lib) == {"DCIM/IMG_1.jpg": data}
    assert _tree(rig.src) == {}
    record = rig.store.get_record("cam", "DCIM/IMG_1.jpg")
    assert record is not None
    assert (record.state, record.dest, record.sha256) == ("ingested", "DCIM/IMG_1.jpg", _sha(data))
    assert rig.store.failures() == []


def test_copy_mode_keeps_the_source(make_rig) -> None:
    rig = make_rig(mode="copy")
    data = os.urandom(20_000)
    source = rig.put("IMG_1.jpg", data)
    os.utime(source, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    job = rig.ingest("IMG_1.jpg")
    assert job.outcome == Outcome.INGESTED and job.copied
    assert source.read_bytes() == data
    assert _tree(rig.lib) == {"IMG_1.jpg": data}
    # A copy, not a second name of the source inode; the mtime carried over
    assert os.stat(rig.lib / "IMG_1.jpg").st_ino != os.stat(source).st_ino
    assert os.stat(rig.lib / "IMG_1.jpg").st_mtime_ns == 1_600_000_000_000_000_000
    # And running it again later is a skip, not a second copy
    again = rig.ingest("IMG_1.jpg")
    assert again.outcome == Outcome.SKIPPED
    assert _tree(rig.lib) == {"IMG_1.jpg": data}


# --- failures ------------------------------------------------------------------------------


def test_vanished_source_fails_with_a_reason_naming_it(rig: Rig) -> None:
    job = rig.ingest("DCIM/gone.jpg")
    assert job.outcome == Outcome.FAILED
    assert "DCIM/gone.jpg" in job.reason and "vanished" in job.reason
    [failure] = rig.store.failures()
    assert failure["path"] == "DCIM/gone.jpg" and "vanished" in failure["reason"]
    assert rig.store.get_record("cam", "DCIM/gone.jpg").state == "failed"


def test_fifo_fails_without_placing_anything(rig: Rig) -> None:
    os.mkfifo(rig.src / "pipe.jpg")
    job = rig.ingest("pipe.jpg")
    assert job.outcome == Outcome.FAILED
    assert "pipe.jpg" in job.reason and "FIFO" in job.reason
    assert _tree(rig.lib) == {}
    assert (rig.src / "pipe.jpg").exists()


def test_symlink_out_of_the_source_fails_without_placing_anything(rig: Rig) -> None:
    # Given a symlink in the source pointing at a file outside it
    secret = rig.base / "outside.jpg"
    secret.write_bytes(b"not yours")
    (rig.src / "link.jpg").symlink_to(secret)
    # When ingested / Then it fails naming the link, nothing is placed, nothing is removed
    job = rig.ingest("link.jpg")
    assert job.outcome == Outcome.FAILED
    assert "link.jpg" in job.reason and "symbolic link" in job.reason
    assert _tree(rig.lib) == {}
    assert secret.read_bytes() == b"not yours"
    assert (rig.src / "link.jpg").is_symlink()


@pytest.mark.parametrize("mode", ["move", "copy"])
def test_source_vanishing_before_the_transfer_fails_and_frees_the_claim(make_rig,
                                                                        mode: str) -> None:
    # Given a file hashed and claimed, then deleted by the user before the transfer
    rig = make_rig(mode=mode)
    data = os.urandom(100)
    rig.put("IMG_1.jpg", data)
    job = FileJob("cam", "IMG_1.jpg")
    for name in ("hash_file", "claim_content"):
        job = run_stage(name, job, rig.ctx)
    assert rig.store.content(_sha(data)) is not None
    (rig.src / "IMG_1.jpg").unlink()
    # When the transfer stage runs
    job = run_stage("transfer_file", job, rig.ctx)
    # Then the job fails for good (the source is gone: retrying cannot help), naming the source
    assert job.outcome == Outcome.FAILED
    assert str(rig.src / "IMG_1.jpg") in job.reason
    # And the content claim is released so another copy of those bytes can come in
    assert rig.store.content(_sha(data)) is None
    assert _tree(rig.lib) == {}


# --- idempotency ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["move", "copy"])
@pytest.mark.parametrize("crash_after", [name for name, _ in STAGES])
def test_crash_after_any_stage_then_rerun_from_scratch(make_rig, mode: str,
                                                       crash_after: str) -> None:
    # Given a photo whose stages ran up to `crash_after`, then the worker died
    rig = make_rig(mode=mode)
    data = os.urandom(40_000)
    rig.put("DCIM/IMG_1.jpg", data)
    job = FileJob("cam", "DCIM/IMG_1.jpg")
    for name, _ in STAGES:
        job = run_stage(name, job, rig.ctx)
        if name == crash_after:
            break
    # When the file is handled again from scratch (a redelivered batch, a re-run sync)
    rerun = run_all(FileJob("cam", "DCIM/IMG_1.jpg"), rig.ctx)
    # Then there is exactly one library copy with the original bytes
    assert _tree(rig.lib) == {"DCIM/IMG_1.jpg": data}, rerun
    # And the source is gone in move mode, kept in copy mode
    assert _tree(rig.src) == ({} if mode == "move" else {"DCIM/IMG_1.jpg": data})
    # And the file is recorded as ingested, with no failure
    record = rig.store.get_record("cam", "DCIM/IMG_1.jpg")
    assert record is not None
    assert (record.state, record.dest) == ("ingested", "DCIM/IMG_1.jpg"), rerun.reason
    assert rig.store.failures() == []
    assert rig.store.content(_sha(data)) == ContentEntry("", "lib", "DCIM/IMG_1.jpg")
    assert rerun.outcome in (Outcome.INGESTED, Outcome.SKIPPED), rerun.reason


def test_source_rewritten_between_hash_and_transfer_leaves_no_stray_copies(rig: Rig) -> None:
    # Given a photo hashed, then rewritten in place by the camera app before the transfer
    rig.put("IMG_1.jpg", b"version 1")
    job = run_stage("hash_file", FileJob("cam", "IMG_1.jpg"), rig.ctx)
    job = run_stage("claim_content", job, rig.ctx)
    newer = os.urandom(5_000)
    source = rig.put("IMG_1.jpg", newer)
    os.utime(source, ns=(2_000_000_000_000_000_000, 2_000_000_000_000_000_000))
    # When the rest of the chain runs for the old version
    try:
        for name in ("transfer_file", "verify_copy", "request_rescan", "record_outcome"):
            job = run_stage(name, job, rig.ctx)
    except FileBusy:
        pass  # waiting for the file to settle is a fine answer too
    # Then the library holds no copy under a made-up name, and the new version is still in the
    # source to be carried by its own job
    assert source.read_bytes() == newer
    assert set(_tree(rig.lib)) <= {"IMG_1.jpg"}, sorted(_tree(rig.lib))


# --- what the store says afterwards --------------------------------------------------------


def test_journal_and_content_index(make_rig) -> None:
    # Given three files: two distinct photos and a duplicate of the first
    rig = make_rig(rescan=True)
    first, second = os.urandom(1234), os.urandom(4321)
    rig.put("a/IMG_1.jpg", first)
    rig.put("b/IMG_2.jpg", second)
    rig.put("c/IMG_1 copy.jpg", first)
    # When they are ingested
    for rel in ("a/IMG_1.jpg", "b/IMG_2.jpg", "c/IMG_1 copy.jpg"):
        rig.ingest(rel)
    # Then the journal has one entry per file, with the event and the bytes
    entries = rig.store.read_journal()
    assert [(e["event"], e["path"], e["bytes"]) for e in entries] == [
        ("ingested", "a/IMG_1.jpg", "1234"),
        ("ingested", "b/IMG_2.jpg", "4321"),
        ("duplicate", "c/IMG_1 copy.jpg", "1234"),
    ]
    assert entries[2]["duplicate_of"] == "lib/a/IMG_1.jpg"
    assert all(e["host"] == "test-host" and e["library"] == "lib" for e in entries)
    assert rig.store.counters() == {"ingested": 2, "duplicate": 1, "bytes_ingested": 5555}
    # And the content index points at the library paths
    assert rig.store.content(_sha(first)) == ContentEntry("", "lib", "a/IMG_1.jpg")
    assert rig.store.content(_sha(second)) == ContentEntry("", "lib", "b/IMG_2.jpg")
    assert rig.store.library_files("lib") == {"a/IMG_1.jpg": _sha(first),
                                             "b/IMG_2.jpg": _sha(second)}
    # And the library folders are marked for a rescan, the flush scheduled once per window
    assert set(rig.store.dirty_folders("scanner")) >= {str(rig.lib / "a"), str(rig.lib / "b")}
    assert rig.flushes == [("scanner", 30.0)]


def test_queued_version_clears_its_in_flight_marker(rig: Rig) -> None:
    data = os.urandom(100)
    path = rig.put("IMG_1.jpg", data)
    info = os.stat(path)
    assert rig.store.mark_inflight("cam", "IMG_1.jpg", info.st_size, info.st_mtime_ns)
    job = FileJob("cam", "IMG_1.jpg", info.st_size, info.st_mtime_ns,
                  queued_version=f"{info.st_size}:{info.st_mtime_ns}")
    assert run_all(job, rig.ctx).outcome == Outcome.INGESTED
    assert rig.store.inflight() == {}


# --- a full library ------------------------------------------------------------------------


def test_full_library_keeps_the_source_and_leaves_no_partial_file(make_rig,
                                                                   tiny_tmpfs: Path) -> None:
    # Given a library on a 256 KiB filesystem and a 300 KB photo in the source
    rig = make_rig(library_path=tiny_tmpfs)
    data = os.urandom(300_000)
    rig.put("IMG_1.jpg", data)
    # When it is ingested / Then the run is retryable (DestinationFull) …
    with pytest.raises(DestinationFull):
        rig.ingest("IMG_1.jpg")
    # … the source is intact and the library holds no partial copy
    assert _tree(rig.src) == {"IMG_1.jpg": data}
    assert _tree(tiny_tmpfs) == {}
