"""claim_content with leases, against the real Redis store: a twin waits for the holder's
outcome (a hold, not a retry), then becomes a duplicate or takes the content over; a stale
claim (its owner gone, its lease run out, left by a batch item that came back changed) is taken
over instead of being waited on forever."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path

import pytest

from shared.errors import ContentClaimed, FileBusy
from shared.ingest.batch import run_batch
from shared.ingest.pipeline import fail_and_record, run_all, run_stage
from shared.jobs import FileJob, Outcome
from shared.state import ContentEntry
from shared.transfer.local import LocalTransfer
from tests.shared.rig import Rig

LATER = ("transfer_file", "verify_copy", "request_rescan", "record_outcome")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _claimed(rig: Rig, rel: str) -> FileJob:
    """A job hashed and holding its content claim: a holder still at work (a slow upload)."""
    job = run_stage("hash_file", FileJob("cam", rel), rig.ctx)
    job = run_stage("claim_content", job, rig.ctx)
    assert job.outcome == Outcome.CLAIMED
    return job


def _finish(job: FileJob, rig: Rig) -> FileJob:
    for name in LATER:
        job = run_stage(name, job, rig.ctx)
    return job


def _ends(holder: FileJob, rig: Rig, how: str) -> None:
    if how == "ingested":
        assert _finish(holder, rig).outcome == Outcome.INGESTED
    elif how == "failed":
        fail_and_record(holder, rig.ctx, "the upload broke for good")
    else:  # skipped: its file changed before the transfer, so its version is not carried
        path = rig.src / holder.rel_path
        path.write_bytes(b"edited by the user")
        assert _finish(holder, rig).outcome == Outcome.SKIPPED


@pytest.mark.parametrize("holder_ends", ["ingested", "failed", "skipped"])
def test_a_twin_waits_for_the_holder_then_follows_its_outcome(make_rig, holder_ends: str) -> None:
    # Given two files with the same bytes, the first one claimed and still at work
    rig: Rig = make_rig(mode="move")
    data = os.urandom(30_000)
    rig.put("a/IMG_1.jpg", data)
    rig.put("b/IMG_1.jpg", data)
    holder = _claimed(rig, "a/IMG_1.jpg")
    # When the twin reaches its claim
    twin = run_stage("hash_file", FileJob("cam", "b/IMG_1.jpg"), rig.ctx)
    with pytest.raises(ContentClaimed) as waiting:
        run_stage("claim_content", twin, rig.ctx)
    # Then it waits (a hold, not a FileBusy retry), looking again soon, and names the holder
    assert not isinstance(waiting.value, FileBusy)
    assert 1.0 <= waiting.value.countdown <= 2.0
    assert "a/IMG_1.jpg" in str(waiting.value)
    # When the holder ends, and the twin looks again
    _ends(holder, rig, holder_ends)
    done = run_all(FileJob("cam", "b/IMG_1.jpg"), rig.ctx)
    # Then after an ingest the twin is a duplicate (left in place: the policy is skip) ...
    if holder_ends == "ingested":
        assert done.outcome == Outcome.DUPLICATE and done.duplicate_of == "lib/a/IMG_1.jpg"
        assert _tree(rig.lib) == {"a/IMG_1.jpg": data}
        assert (rig.src / "b" / "IMG_1.jpg").read_bytes() == data
    # ... and after a failure or a skip it takes the content over and is ingested itself
    else:
        assert done.outcome == Outcome.INGESTED, done.reason
        assert _tree(rig.lib) == {"b/IMG_1.jpg": data}
        assert rig.store.content(_sha(data)) == ContentEntry("", "lib", "b/IMG_1.jpg")


@pytest.mark.parametrize("vanished", ["file deleted", "lease ran out"])
def test_a_claim_whose_holder_vanished_is_taken_over(make_rig, vanished: str) -> None:
    # Given a claim left by a worker that died mid-file: its source then deleted by the user,
    # or still there but no longer renewed until its lease ran out
    rig: Rig = make_rig(mode="move")
    data = os.urandom(20_000)
    rig.put("gone/IMG_1.jpg", data)
    holder = _claimed(rig, "gone/IMG_1.jpg")
    if vanished == "file deleted":
        (rig.src / "gone" / "IMG_1.jpg").unlink()
    else:
        rig.store.release_content(holder.sha256, holder.owner)
        rig.store.claim_content(holder.sha256, holder.owner, lease=-1)
    # When the same bytes arrive under another name
    rig.put("new/IMG_1.jpg", data)
    done = run_all(FileJob("cam", "new/IMG_1.jpg"), rig.ctx)
    # Then the newcomer takes the claim over at once and is ingested: nothing waits forever
    assert done.outcome == Outcome.INGESTED, done.reason
    assert _tree(rig.lib)["new/IMG_1.jpg"] == data
    taken = [e for e in rig.store.read_journal() if e["event"] == "claim-taken-over"]
    assert [e["path"] for e in taken] == ["new/IMG_1.jpg"]
    assert holder.owner in taken[0]["reason"]


def test_a_claim_left_by_a_batch_item_that_came_back_changed_is_taken_over(make_rig) -> None:
    # Given a batch item that claimed its content, then had to wait (its file lock held by
    # another worker) and went back to the queue
    rig: Rig = make_rig(mode="move")
    original = os.urandom(25_000)
    rig.put("IMG_1.jpg", original)
    batch = dataclasses.replace(rig.ctx, backend=LocalTransfer(fsync=False))
    other = rig.store.acquire_many(["file:cam:IMG_1.jpg"], ttl=60)
    [result] = run_batch([FileJob("cam", "IMG_1.jpg")], batch)
    assert isinstance(result, FileBusy)
    rig.store.release_many(other)
    # ... and meanwhile the user replaced that file with another photo (its job is new)
    rig.put("IMG_1.jpg", os.urandom(9_000))
    # When the original bytes arrive again under another name
    rig.put("copy/IMG_1.jpg", original)
    done = run_all(FileJob("cam", "copy/IMG_1.jpg"), rig.ctx)
    # Then the old version's claim does not block them: they are ingested
    assert done.outcome == Outcome.INGESTED, done.reason
    assert _tree(rig.lib)["copy/IMG_1.jpg"] == original
    assert rig.store.content(_sha(original)) == ContentEntry("", "lib", "copy/IMG_1.jpg")
