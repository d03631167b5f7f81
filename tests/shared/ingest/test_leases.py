"""The file's lease in the stages (shared/ingest/leases.py): every stage runs under it, and a
holder whose lease was lost stops before it settles its copy and releases the source."""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import Any

import pytest

from shared.errors import LeaseHeld, LeaseLost
from shared.ingest import run_batch
from shared.jobs import FileJob, Outcome
from shared.transfer import LocalTransfer
from tests.shared.rig import Rig

THIEF = "other-host|1|77|feedfacefeedface"  # the worker that took the file after the lease ran out


class LosesTheLeaseWhileVerifying(LocalTransfer):
    """The library's backend, except that while the copy is read back for verification the
    lease runs out and another worker takes the file (as after a frozen process)."""

    def __init__(self, rig: Rig, fsync: bool = True) -> None:
        super().__init__(fsync=fsync)
        self.rig = rig

    def digest(self, root: Any, rel: str, check: bool = False) -> Any:
        for name in ("a.jpg", "b.jpg"):
            self.rig.store.client.set(self.rig.store.key("lock", f"file:cam:{name}"), THIEF,
                                      px=60_000)
        return super().digest(root, rel, check=check)


def _lost_rig(make_rig: Any, fsync: bool = True) -> Rig:
    rig = make_rig(mode="move")
    backend = LosesTheLeaseWhileVerifying(rig, fsync=fsync)
    return Rig(rig.base, dataclasses.replace(rig.ctx, backend=backend), rig.flushes)


def _kept(rig: Rig, name: str, data: bytes) -> None:
    """The source is where it was, byte for byte, and no record says it was verified."""
    assert (rig.src / name).read_bytes() == data
    record = rig.store.get_record("cam", name)
    assert record is None or record.state not in ("verified", "ingested")
    assert rig.store.client.get(rig.store.key("lock", f"file:cam:{name}")) == THIEF


def test_a_lost_lease_stops_the_holder_before_it_releases_the_source(make_rig: Any) -> None:
    # Given a photo in a move-mode source, on its way through the chain's stages
    rig = _lost_rig(make_rig)
    data = os.urandom(5000)
    rig.put("a.jpg", data)
    # When its lease is lost while the copy is verified / Then the holder stops there
    with pytest.raises(LeaseLost, match="file:cam:a.jpg"):
        rig.ingest("a.jpg")
    # … before recording the copy as verified and before releasing the source
    _kept(rig, "a.jpg", data)


def test_a_batch_that_lost_a_lease_releases_none_of_those_sources(make_rig: Any) -> None:
    # Given two photos in one batch (the batch backend: one sync for both copies)
    rig = _lost_rig(make_rig, fsync=False)
    first, second = os.urandom(4000), os.urandom(6000)
    rig.put("a.jpg", first)
    rig.put("b.jpg", second)
    # When both leases are lost during verification
    results = run_batch([FileJob("cam", "a.jpg"), FileJob("cam", "b.jpg")], rig.ctx)
    # Then each file ends as LeaseLost (retried later), and both sources are kept
    assert [type(r) for r in results] == [LeaseLost, LeaseLost]
    _kept(rig, "a.jpg", first)
    _kept(rig, "b.jpg", second)


def test_every_stage_waits_for_a_file_a_live_worker_holds(make_rig: Any) -> None:
    # Given a photo whose lease another live worker holds (it is at work on it)
    rig = make_rig(mode="move")
    data = os.urandom(3000)
    rig.put("a.jpg", data)
    rig.store.client.set(rig.store.key("lock", "file:cam:a.jpg"), THIEF, px=60_000)
    # When this worker gets the file / Then not even the hash and the content claim run
    # beside the holder
    with pytest.raises(LeaseHeld):
        rig.ingest("a.jpg")
    assert rig.store.get_record("cam", "a.jpg") is None
    assert rig.store.client.hgetall(rig.store.key("content")) == {}
    assert rig.store.read_journal() == [] and not list(Path(rig.lib).iterdir())
    # … and when the holder is done with it, the file goes through
    rig.store.client.delete(rig.store.key("lock", "file:cam:a.jpg"))
    assert rig.ingest("a.jpg").outcome == Outcome.INGESTED
    assert (rig.lib / "a.jpg").read_bytes() == data and not (rig.src / "a.jpg").exists()


def test_the_heartbeat_keeps_a_batch_s_leases_while_it_works(make_rig: Any) -> None:
    # Given leases of half a second and a batch whose copies take longer than that
    rig = make_rig(mode="copy")
    settings = dataclasses.replace(rig.ctx.settings, lease_seconds=1)
    seen: list[int] = []

    class Slow(LocalTransfer):
        def digest(self, root: Any, rel: str, check: bool = False) -> Any:
            time.sleep(0.6)
            seen.append(int(rig.store.client.pttl(rig.store.key("lock", f"file:cam:{rel}"))))
            return super().digest(root, rel, check=check)

    ctx = dataclasses.replace(rig.ctx, settings=settings, backend=Slow(fsync=False))
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        rig.put(name, os.urandom(2000))
    # When the batch runs (about 2 s of verification)
    results = run_batch([FileJob("cam", n) for n in ("a.jpg", "b.jpg", "c.jpg")], ctx)
    # Then every file got through: no lease ran out on the way
    assert [r.outcome for r in results] == [Outcome.INGESTED] * 3  # type: ignore[union-attr]
    assert all(ttl > 0 for ttl in seen), seen
    # … and none is left behind
    assert rig.store.leased([f"file:cam:{n}" for n in ("a.jpg", "b.jpg", "c.jpg")]) == set()
