"""A stage delivered again (acks_late: its worker died after the stage ran, before the ack)
reaches the same end as the first delivery: one outcome journaled per file version, the record
left as the first delivery wrote it, nothing placed twice.

The soak found both journal cases: `record_outcome` delivered again after the reconcile between
the two deliveries had forgotten the record of the (released) file, and a batch that read its
records before it held their leases, so a delivery finishing meanwhile went unseen."""

from __future__ import annotations

import dataclasses
import os
import time

from shared.ingest import batch_store
from shared.ingest.batch import ingest_many, run_batch
from shared.ingest.context import Context
from shared.ingest.duplicates import duplicate_record
from shared.ingest.leases import file_lease_name
from shared.ingest.pipeline import STAGE_BY_NAME, STAGES, run_all, run_stage
from shared.jobs import FileJob, Outcome
from shared.source import plan_source
from shared.state import RedisStateStore
from shared.transfer import LocalTransfer
from tests.shared.ingest.trees import tree
from tests.shared.rig import Rig

REL = "DCIM/IMG_0070.jpg"


def _outcomes(store: RedisStateStore, rel: str) -> list[str]:
    """The ingested/duplicate journal entries of one file, oldest first."""
    return [e["event"] for e in store.read_journal(1000)
            if e.get("path") == rel and e["event"] in ("ingested", "duplicate")]


def _forget_vanished(rig: Rig) -> list[str]:
    """What a reconcile does to the records of files gone from a move-mode source."""
    plan = plan_source(rig.store, rig.ctx.settings.sources["cam"], stale_after=0,
                       retry_failed=True, now=2**40)
    rig.store.forget_records("cam", plan.vanished)
    return plan.vanished


def _up_to(job: FileJob, rig: Rig, last: str) -> FileJob:
    for name, _ in STAGES:
        job = run_stage(name, job, rig.ctx)
        if name == last:
            break
    return job


def test_the_record_stage_delivered_again_after_a_reconcile_journals_the_file_once(
        rig: Rig) -> None:
    # Given a photo of a move-mode source taken through its stages up to the record stage
    data = os.urandom(3005)
    rig.put(REL, data)
    verified = _up_to(FileJob("cam", REL), rig, "request_rescan")
    assert verified.outcome == Outcome.VERIFIED
    # … whose record stage ran (its worker then killed before the ack)
    assert run_stage("record_outcome", verified, rig.ctx).outcome == Outcome.INGESTED
    # … and a reconcile that forgot the record, the file being gone from the source
    assert _forget_vanished(rig) == [REL]
    # When the record stage's message is delivered again, as it was
    again = run_stage("record_outcome", verified, rig.ctx)
    # Then the file has one outcome in the journal, and the library one copy
    assert again.outcome == Outcome.INGESTED
    assert _outcomes(rig.store, REL) == ["ingested"]
    assert sorted(p.name for p in (rig.lib / "DCIM").iterdir()) == ["IMG_0070.jpg"]
    # … and its record is the first delivery's again (a sidecar of it can still pair)
    record = rig.store.get_record("cam", REL)
    assert record is not None and (record.state, record.dest) == ("ingested", REL)


def test_a_new_version_after_a_forgotten_record_is_journaled_again(rig: Rig) -> None:
    # Given a photo ingested, gone from the source, its record forgotten by a reconcile
    rig.put(REL, os.urandom(3005))
    assert rig.ingest(REL).outcome == Outcome.INGESTED
    assert _forget_vanished(rig) == [REL]
    # When other bytes arrive under the same name (another version of the file)
    path = rig.put(REL, os.urandom(4000))
    os.utime(path, ns=(1_700_000_000 * 10**9, 1_700_000_000 * 10**9))
    done = rig.ingest(REL)
    # Then that version is ingested and journaled: the guard is per version, not per name
    assert done.outcome == Outcome.INGESTED and done.dest_path == "DCIM/IMG_0070 (2).jpg"
    assert _outcomes(rig.store, REL) == ["ingested", "ingested"]


def test_a_batch_reads_its_records_under_its_leases(rig: Rig, monkeypatch) -> None:
    # Given a photo whose first delivery died after its verified record and its release
    rig.put(REL, os.urandom(3005))
    _up_to(FileJob("cam", REL), rig, "verify_copy")
    assert rig.store.get_record("cam", REL).state == "verified"
    assert not (rig.src / REL).exists()
    # … and two deliveries of it again: a batch, and a chain that finishes the file while the
    # batch waits for its leases (it got to Redis first)
    acquire = rig.store.acquire_many

    def chain_first(names: list[str], ttl: float):
        monkeypatch.setattr(rig.store, "acquire_many", acquire)
        assert run_all(FileJob("cam", REL), rig.ctx).outcome == Outcome.INGESTED
        return acquire(names, ttl)

    monkeypatch.setattr(rig.store, "acquire_many", chain_first)
    # When the batch runs
    [result] = ingest_many([FileJob("cam", REL)], rig.ctx, lambda job, result: result)
    # Then it sees the chain's outcome (nothing left to do), the file is journaled once and its
    # record stays ingested
    assert isinstance(result, FileJob), result
    assert (result.outcome, result.reason) == (Outcome.SKIPPED, "already handled by an earlier run")
    assert _outcomes(rig.store, REL) == ["ingested"]
    assert rig.store.get_record("cam", REL).state == "ingested"
    assert sorted(p.name for p in (rig.lib / "DCIM").iterdir()) == ["IMG_0070.jpg"]


def test_a_batch_overtaken_by_a_second_delivery_does_not_journal_the_file_again(
        rig: Rig, monkeypatch) -> None:
    # Given a photo in a batch that has verified it and released its source, and whose lease
    # then runs out unnoticed (a frozen process) while the sweeper's second delivery finishes
    # the file, and a reconcile forgets the record of the file gone from the source
    rig.put(REL, os.urandom(3005))
    rescan = STAGE_BY_NAME["request_rescan"]

    def overtaken(job: FileJob, ctx) -> FileJob:
        monkeypatch.setitem(STAGE_BY_NAME, "request_rescan", rescan)
        # Frozen for a whole lease: it ran out, and the batch's last renewal is that old
        rig.store.client.delete(rig.store.key("lock", file_lease_name(job)))
        later = time.monotonic() + rig.ctx.settings.lease_seconds
        monkeypatch.setattr(batch_store.time, "monotonic", lambda: later)
        assert run_all(FileJob("cam", REL), rig.ctx).outcome == Outcome.INGESTED
        assert _forget_vanished(rig) == [REL]
        return rescan(job, ctx)

    monkeypatch.setitem(STAGE_BY_NAME, "request_rescan", overtaken)
    # When the batch goes on to its record stage
    [result] = run_batch([FileJob("cam", REL)], _batch_ctx(rig))
    # Then it finds the file journaled by the other (the outcome marks are read again for
    # the record stage), and the file is journaled once
    assert isinstance(result, FileJob) and result.outcome == Outcome.INGESTED, result
    assert rig.store.get_record("cam", REL).state == "ingested"
    assert _outcomes(rig.store, REL) == ["ingested"]
    assert sorted(p.name for p in (rig.lib / "DCIM").iterdir()) == ["IMG_0070.jpg"]


def _batch_ctx(rig: Rig) -> Context:
    """The context `ingest_many` gives a batch (its backend syncs once per batch)."""
    return dataclasses.replace(rig.ctx, backend=LocalTransfer(fsync=False, stages=True))


def test_a_duplicate_whose_delivery_died_after_deleting_its_source_is_journaled_once(
        make_rig) -> None:
    # Given a photo whose content the library holds already (duplicates are deleted)
    rig: Rig = make_rig(duplicates="delete")
    data = os.urandom(3005)
    rig.put("trips/IMG_0070.jpg", data)
    assert rig.ingest("trips/IMG_0070.jpg").outcome == Outcome.INGESTED
    rig.put(REL, data)
    # … whose delivery deleted the source and died before recording the outcome
    job = FileJob("cam", REL)
    for name in ("hash_file", "claim_content"):
        job = run_stage(name, job, rig.ctx)
    assert job.outcome == Outcome.DUPLICATE and not (rig.src / REL).exists()
    # When its message is delivered again (to a batch), and once more
    results = [ingest_many([FileJob("cam", REL)], rig.ctx, lambda job, result: result)[0]
               for _ in range(2)]
    # Then the next delivery journals the duplicate, the one after that nothing more
    assert [r.outcome for r in results] == [Outcome.DUPLICATE, Outcome.SKIPPED], results
    assert _outcomes(rig.store, REL) == ["duplicate"]
    assert results[0].dest_path == "trips/IMG_0070.jpg"
    assert rig.store.get_record("cam", REL).state == "duplicate"


def test_a_duplicate_recorded_but_not_deleted_is_read_again_before_it_is_deleted(
        make_rig) -> None:
    # Given a photo whose content the library holds, recorded as a duplicate by a delivery
    # that died before deleting it (its record is written first)
    rig: Rig = make_rig(duplicates="delete")
    data = os.urandom(3005)
    rig.put("trips/IMG_0070.jpg", data)
    assert rig.ingest("trips/IMG_0070.jpg").outcome == Outcome.INGESTED
    path = rig.put(REL, data)
    job = run_stage("hash_file", FileJob("cam", REL), rig.ctx)
    rig.store.put_record("cam", REL, duplicate_record(job.evolve(dest_path="trips/IMG_0070.jpg")))
    # … and then edited in place, keeping its size, mtime and inode
    info = os.stat(path)
    edited = os.urandom(3005)
    with open(path, "r+b") as stream:
        stream.write(edited)
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
    # When its message is delivered again
    done = rig.ingest(REL)
    # Then the edited bytes are read, found new, and ingested, not deleted as a duplicate
    assert done.outcome == Outcome.INGESTED, done
    assert edited in tree(rig.lib).values() and data in tree(rig.lib).values()
