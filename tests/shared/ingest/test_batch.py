"""shared.ingest.batch.run_batch: many files stage by stage, one sync, with a real Redis store."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from shared.errors import ContentClaimed, FileBusy
from shared.ingest.batch import run_batch
from shared.jobs import FileJob, Outcome
from shared.transfer.local import LocalTransfer
from tests.shared.rig import Rig


class RecordingTransfer(LocalTransfer):
    """Batch-mode LocalTransfer that remembers the order of placements, syncs and read-backs."""

    def __init__(self) -> None:
        super().__init__(fsync=False)
        self.calls: list[str] = []

    def place(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.calls.append("place")
        return super().place(*args, **kwargs)

    def flush(self) -> None:
        self.calls.append("flush")
        super().flush()

    def digest(self, root: Path, rel_path: str, check: bool = False):  # type: ignore[no-untyped-def]
        self.calls.append("digest")
        return super().digest(root, rel_path, check)


def _batch_rig(make_rig, mode: str = "copy") -> tuple[Rig, RecordingTransfer]:  # type: ignore[no-untyped-def]
    rig = make_rig(mode=mode)
    backend = RecordingTransfer()
    return dataclasses.replace(rig, ctx=dataclasses.replace(rig.ctx, backend=backend)), backend


def test_a_batch_places_everything_syncs_once_then_verifies(make_rig) -> None:  # type: ignore[no-untyped-def]
    # Given twenty photos in a copy-mode source and a batch-mode backend
    rig, backend = _batch_rig(make_rig)
    payloads = {f"2024/IMG_{i:02d}.jpg": os.urandom(3000 + i) for i in range(20)}
    for rel, data in payloads.items():
        rig.put(rel, data)
    # When they run as one batch
    results = run_batch([FileJob("cam", rel) for rel in payloads], rig.ctx)
    # Then every file is ingested, byte-identical, and recorded
    assert [r.outcome for r in results] == [Outcome.INGESTED] * 20  # type: ignore[union-attr]
    for rel, data in payloads.items():
        assert (rig.lib / rel).read_bytes() == data
        assert rig.store.get_record("cam", rel).state == "ingested"
    assert len([e for e in rig.store.read_journal() if e["event"] == "ingested"]) == 20
    # … all placements came before the one sync, and every read-back after it
    assert backend.calls.count("flush") == 1
    flush = backend.calls.index("flush")
    assert set(backend.calls[:flush]) == {"place"} and set(backend.calls[flush + 1:]) == {"digest"}
    # … and no lock is left behind
    assert not list(rig.store.client.scan_iter(match=f"{rig.store.prefix}:lock:*"))


def test_a_file_locked_elsewhere_waits_and_the_rest_go_on(make_rig) -> None:  # type: ignore[no-untyped-def]
    # Given three photos, one of them locked by another worker
    rig, _ = _batch_rig(make_rig, mode="move")
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        rig.put(name, os.urandom(2000))
    other = rig.store.acquire_many(["file:cam:b.jpg"], ttl=30)
    # When the batch runs
    results = run_batch([FileJob("cam", n) for n in ("a.jpg", "b.jpg", "c.jpg")], rig.ctx)
    # Then b is returned as FileBusy and left in the source; a and c are moved
    assert isinstance(results[1], FileBusy)
    assert (rig.src / "b.jpg").exists() and not (rig.lib / "b.jpg").exists()
    assert [results[0].outcome, results[2].outcome] == [Outcome.INGESTED] * 2  # type: ignore[union-attr]
    assert not (rig.src / "a.jpg").exists() and (rig.lib / "c.jpg").exists()
    # … and the other worker's lock is untouched
    key = rig.store.key("lock", "file:cam:b.jpg")
    assert rig.store.client.get(key) == other["file:cam:b.jpg"]


def test_identical_content_twice_in_one_batch_is_imported_once(make_rig) -> None:  # type: ignore[no-untyped-def]
    # Given the same photo under two names in one batch
    rig, _ = _batch_rig(make_rig)
    data = os.urandom(5000)
    rig.put("one.jpg", data)
    rig.put("two.jpg", data)
    # When the batch runs
    results = run_batch([FileJob("cam", "one.jpg"), FileJob("cam", "two.jpg")], rig.ctx)
    # Then the first is ingested and the second waits for it (it becomes a duplicate later)
    assert results[0].outcome == Outcome.INGESTED  # type: ignore[union-attr]
    assert isinstance(results[1], ContentClaimed) and "identical content" in str(results[1])
    assert sorted(p.name for p in rig.lib.iterdir()) == ["one.jpg"]
    assert rig.ingest("two.jpg").outcome == Outcome.DUPLICATE


def test_release_many_leaves_locks_that_were_taken_over(make_rig) -> None:  # type: ignore[no-untyped-def]
    # Given two locks of ours, one of which expired and was taken by someone else
    store = make_rig().store
    ours = store.acquire_many(["x", "y"], ttl=30)
    store.client.set(store.key("lock", "y"), "someone-else")
    # When ours are released
    store.release_many(ours)
    # Then x is free, y still belongs to the other holder, and x can be taken again
    assert store.client.get(store.key("lock", "x")) is None
    assert store.client.get(store.key("lock", "y")) == "someone-else"
    assert list(store.acquire_many(["x", "y"], ttl=30)) == ["x"]


def test_a_shorter_file_with_our_mtime_under_the_final_name_is_never_replaced(make_rig) -> None:  # type: ignore[no-untyped-def]
    # Given a library name holding a shorter file with the source's mtime: a user's edit that
    # kept the mtime, or a batch copy cut short by a power cut before its sync (the source was
    # kept then, so nothing is lost by leaving it)
    rig, _ = _batch_rig(make_rig)
    data = os.urandom(8000)
    source = rig.put("IMG_1.jpg", data)
    shorter = rig.lib / "IMG_1.jpg"
    shorter.write_bytes(b"edited")
    mtime = source.stat().st_mtime_ns
    os.utime(shorter, ns=(mtime, mtime))
    # When the file is ingested again
    job = rig.ingest("IMG_1.jpg")
    # Then that file is untouched (only our temp names are ever replaced) and ours is numbered
    assert job.outcome == Outcome.INGESTED and job.dest_path == "IMG_1 (2).jpg"
    assert shorter.read_bytes() == b"edited"
    assert (rig.lib / "IMG_1 (2).jpg").read_bytes() == data


def test_a_shorter_file_of_someone_else_is_never_replaced(make_rig) -> None:  # type: ignore[no-untyped-def]
    # Given a library name holding another, shorter file with a different mtime
    rig, _ = _batch_rig(make_rig)
    rig.put("IMG_1.jpg", os.urandom(8000))
    (rig.lib / "IMG_1.jpg").write_bytes(b"their photo")
    os.utime(rig.lib / "IMG_1.jpg", (1_000_000, 1_000_000))
    # When the file is ingested
    job = rig.ingest("IMG_1.jpg")
    # Then theirs is untouched and ours gets the next name
    assert (rig.lib / "IMG_1.jpg").read_bytes() == b"their photo"
    assert job.dest_path == "IMG_1 (2).jpg"
