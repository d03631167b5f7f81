"""A batch's Redis traffic: a few transactions per batch instead of several per file, with the
same records, journal, counters and stage timings as file by file (real redis-server)."""

from __future__ import annotations

import dataclasses
import os

import redis

from shared.ingest.batch import run_batch
from shared.jobs import FileJob, Outcome
from shared.transfer.local import LocalTransfer


def _calls(client: redis.Redis, command: str) -> int:
    stats = client.info("commandstats").get(f"cmdstat_{command}")
    return int(stats["calls"]) if stats else 0


def test_a_batch_of_twenty_uses_a_few_transactions_and_records_everything(make_rig) -> None:  # type: ignore[no-untyped-def]
    # Given twenty photos in a copy-mode source and a batch-mode backend
    rig = make_rig(mode="copy")
    rig = dataclasses.replace(rig, ctx=dataclasses.replace(rig.ctx,
                                                           backend=LocalTransfer(fsync=False)))
    payloads = {f"2024/IMG_{i:02d}.jpg": os.urandom(2000 + i) for i in range(20)}
    for rel, data in payloads.items():
        rig.put(rel, data)
    client = rig.store.client
    exec_before, hsetnx_before = _calls(client, "exec"), _calls(client, "hsetnx")
    # When they run as one batch
    results = run_batch([FileJob("cam", rel) for rel in payloads], rig.ctx)
    # Then every file is ingested, byte-identical, recorded and journaled once
    assert [r.outcome for r in results] == [Outcome.INGESTED] * 20  # type: ignore[union-attr]
    for rel, data in payloads.items():
        assert (rig.lib / rel).read_bytes() == data
        assert rig.store.get_record("cam", rel).state == "ingested"  # type: ignore[union-attr]
    journal = [e for e in rig.store.read_journal() if e["event"] == "ingested"]
    assert sorted(e["path"] for e in journal) == sorted(payloads)
    assert rig.store.counters()["ingested"] == 20
    # … every stage's timing of every file is in the histogram
    histogram = rig.store.histogram()
    assert int(histogram["hash_file\tcount"]) == 20
    assert int(histogram["verify_copy\tcount"]) == 20
    # … the claims went out as one pipeline (one HSETNX each, no retries)
    assert _calls(client, "hsetnx") - hsetnx_before == 20
    # … and the whole batch used a handful of transactions (leases, verified records, their
    # outcomes), where file by file each file needs four or more (record, outcome, lease check)
    assert _calls(client, "exec") - exec_before <= 6
    # … and no claim is left: each content is indexed to its library file
    for rel in payloads:
        sha = rig.store.get_record("cam", rel).sha256  # type: ignore[union-attr]
        entry = rig.store.content(sha)
        assert entry is not None and not entry.is_claim and entry.rel_path == rel


def test_a_claim_made_up_front_for_a_file_found_already_recorded_is_dropped(make_rig) -> None:  # type: ignore[no-untyped-def]
    # Given a photo ingested earlier whose library entry was since forgotten from the index
    rig = make_rig(mode="copy")
    rig = dataclasses.replace(rig, ctx=dataclasses.replace(rig.ctx,
                                                           backend=LocalTransfer(fsync=False)))
    rig.put("a.jpg", os.urandom(3000))
    done = rig.ingest("a.jpg")
    rig.store.client.hdel(rig.store.key("content"), done.sha256)
    # When a redelivered message of it, already hashed, runs in a batch
    again = done.evolve(outcome=Outcome.HASHED, dest_path="")
    results = run_batch([again], rig.ctx)
    # Then it ends as recorded, and the up-front claim of its content is not left behind
    assert results[0].outcome == Outcome.INGESTED  # type: ignore[union-attr]
    assert rig.store.content(done.sha256) is None
