"""Reconciliation: what a scheduled walk plans to ingest, and what it finds gone."""

from __future__ import annotations

import os
import time
from pathlib import Path

import fakeredis
import pytest

from shared.config import SourceConfig
from shared.source.reconcile import plan_source, vanished_library_files
from shared.state.store import FileRecord, RedisStateStore
from shared.transfer.local import TMP_PREFIX


@pytest.fixture
def store(fake_redis: fakeredis.FakeRedis) -> RedisStateStore:
    return RedisStateStore(fake_redis, "mc-reconcile")


@pytest.fixture
def source(tmp_path: Path) -> SourceConfig:
    root = tmp_path / "src"
    root.mkdir()
    return SourceConfig(name="cam", path=root, library="lib", stability_seconds=2.0)


def _put(source: SourceConfig, rel: str, data: bytes = b"photo") -> os.stat_result:
    path = source.path.joinpath(*rel.split("/"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return os.stat(path)


def _record(store: RedisStateStore, source: SourceConfig, rel: str, info: os.stat_result,
            state: str = "ingested") -> None:
    store.put_record(source.name, rel, FileRecord(info.st_size, info.st_mtime_ns, info.st_ino,
                                                  "f" * 64, state, rel))


def _later() -> float:
    """A clock past the source's 2 s stability window for files written just now."""
    return time.time() + 10


def _planned(plan) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(entry.rel_path for entry in plan.to_ingest)


def test_new_files_are_planned(store: RedisStateStore, source: SourceConfig) -> None:
    # Given a source with two photos, clutter, and no records
    _put(source, "IMG_1.jpg")
    _put(source, "DCIM/IMG_2.heic", b"heic")
    _put(source, "Thumbs.db")
    _put(source, "upload.jpg.part")
    # When planned / Then the photos are to be ingested with their size and mtime
    plan = plan_source(store, source, stale_after=600, now=_later())
    assert _planned(plan) == ["DCIM/IMG_2.heic", "IMG_1.jpg"]
    entry = next(e for e in plan.to_ingest if e.rel_path == "DCIM/IMG_2.heic")
    assert entry.size == 4
    assert (plan.unchanged, plan.in_flight, plan.vanished, plan.scanned) == (0, 0, [], 2)


def test_unchanged_recorded_files_are_not_planned(store: RedisStateStore,
                                                  source: SourceConfig) -> None:
    # Given files recorded as ingested, duplicate and skipped, unchanged since
    for rel, state in (("a.jpg", "ingested"), ("b.jpg", "duplicate"), ("c.jpg", "skipped")):
        _record(store, source, rel, _put(source, rel), state)
    # When planned / Then nothing is to do
    plan = plan_source(store, source, stale_after=600, now=_later())
    assert _planned(plan) == []
    assert plan.unchanged == 3 and plan.vanished == []


def test_changed_files_are_planned(store: RedisStateStore, source: SourceConfig) -> None:
    # Given two ingested files, one rewritten with another size, one touched (new mtime)
    _record(store, source, "size.jpg", _put(source, "size.jpg", b"v1"))
    _record(store, source, "mtime.jpg", _put(source, "mtime.jpg", b"v1"))
    _record(store, source, "same.jpg", _put(source, "same.jpg", b"v1"))
    _put(source, "size.jpg", b"version 2")
    info = os.stat(source.path / "mtime.jpg")
    os.utime(source.path / "mtime.jpg", ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))
    # When planned / Then both changed ones are planned again, the untouched one is not
    plan = plan_source(store, source, stale_after=600, now=_later())
    assert _planned(plan) == ["mtime.jpg", "size.jpg"]
    assert plan.unchanged == 1


def test_unfinished_records_are_planned(store: RedisStateStore, source: SourceConfig) -> None:
    # A file hashed but never recorded as done (a crash) is planned again
    _record(store, source, "a.jpg", _put(source, "a.jpg"), state="hashed")
    assert _planned(plan_source(store, source, stale_after=600, now=_later())) == ["a.jpg"]


def test_failed_files_wait_unless_retry_failed(store: RedisStateStore,
                                               source: SourceConfig) -> None:
    _record(store, source, "bad.jpg", _put(source, "bad.jpg"), state="failed")
    assert _planned(plan_source(store, source, stale_after=600, now=_later())) == []
    retried = plan_source(store, source, stale_after=600, retry_failed=True, now=_later())
    assert _planned(retried) == ["bad.jpg"]


def test_vanished_records_are_listed(store: RedisStateStore, source: SourceConfig) -> None:
    # Given records for files that are no longer in the source
    _record(store, source, "kept.jpg", _put(source, "kept.jpg"))
    gone = _put(source, "gone/IMG.jpg")
    _record(store, source, "gone/IMG.jpg", gone)
    (source.path / "gone" / "IMG.jpg").unlink()
    store.put_record("other-source", "x.jpg", FileRecord(1, 1))
    # When planned / Then they are listed as vanished; other sources' records are not
    plan = plan_source(store, source, stale_after=600, now=_later())
    assert plan.vanished == ["gone/IMG.jpg"]
    assert plan.unchanged == 1


def test_a_verified_record_whose_source_is_gone_is_planned_to_finish_not_forgotten(
        store: RedisStateStore, source: SourceConfig) -> None:
    # Given a job that released its source (move mode) and stopped before recording its outcome:
    # its record says 'verified', its file is gone
    info = _put(source, "DCIM/IMG_1.jpg")
    _record(store, source, "DCIM/IMG_1.jpg", info, state="verified")
    (source.path / "DCIM" / "IMG_1.jpg").unlink()
    # When planned
    plan = plan_source(store, source, stale_after=600, now=_later())
    # Then its record is kept and the version is sent again to finish (not "vanished")
    assert plan.vanished == []
    assert [(e.rel_path, e.size, e.mtime_ns) for e in plan.to_ingest] == [
        ("DCIM/IMG_1.jpg", info.st_size, info.st_mtime_ns)]
    # … unless it is in flight already
    store.mark_inflight(source.name, "DCIM/IMG_1.jpg", info.st_size, info.st_mtime_ns)
    again = plan_source(store, source, stale_after=600, now=_later())
    assert again.to_ingest == [] and again.vanished == [] and again.in_flight == 1


def test_fresh_in_flight_file_is_skipped(store: RedisStateStore, source: SourceConfig) -> None:
    # Given a file version queued a moment ago
    info = _put(source, "queued.jpg")
    assert store.mark_inflight("cam", "queued.jpg", info.st_size, info.st_mtime_ns)
    # When planned / Then it is left to its task
    plan = plan_source(store, source, stale_after=600, now=_later())
    assert _planned(plan) == [] and plan.in_flight == 1
    assert len(store.inflight()) == 1


def test_in_flight_marker_of_an_older_version_does_not_hide_a_new_one(
    store: RedisStateStore, source: SourceConfig
) -> None:
    info = _put(source, "a.jpg", b"v1")
    store.mark_inflight("cam", "a.jpg", info.st_size, info.st_mtime_ns)
    _put(source, "a.jpg", b"version 2")
    assert _planned(plan_source(store, source, stale_after=600, now=_later())) == ["a.jpg"]


def test_stale_in_flight_file_is_planned_again_and_its_marker_dropped(
    store: RedisStateStore, source: SourceConfig
) -> None:
    # Given a file queued an hour ago (the message was lost), and another source's old marker
    info = _put(source, "lost.jpg")
    old = time.time() - 3600
    store.client.hset(store.key("inflight"), f"cam\0lost.jpg\0{info.st_size}\0{info.st_mtime_ns}",
                      old)
    store.client.hset(store.key("inflight"), "phone\0x.jpg\x001\x001", old)
    # When planned with a 10-minute staleness limit
    plan = plan_source(store, source, stale_after=600, now=_later())
    # Then it is planned again, its stale marker dropped, the other source's marker kept
    assert _planned(plan) == ["lost.jpg"] and plan.in_flight == 0
    assert list(store.inflight()) == ["phone\0x.jpg\x001\x001"]


def test_an_old_marker_of_a_file_a_worker_holds_stays_in_flight(
    store: RedisStateStore, source: SourceConfig
) -> None:
    # Given a file queued an hour ago that a worker still works on (it holds the lease)
    info = _put(source, "big.mov")
    store.client.hset(store.key("inflight"), f"cam\0big.mov\0{info.st_size}\0{info.st_mtime_ns}",
                      time.time() - 3600)
    with store.lock("file:cam:big.mov", ttl=30):
        plan = plan_source(store, source, stale_after=600, now=_later())
    # Then it is neither planned a second time nor is its marker dropped
    assert _planned(plan) == [] and plan.in_flight == 1
    assert len(store.inflight()) == 1


def test_recently_modified_file_is_left_settling(store: RedisStateStore,
                                                 source: SourceConfig) -> None:
    # Given a file written just now, inside the source's 2 s stability window
    _put(source, "writing.jpg")
    # When planned at once / Then it is counted as settling, not queued half-written
    plan = plan_source(store, source, stale_after=600, now=time.time())
    assert _planned(plan) == [] and plan.settling == 1 and plan.scanned == 1
    # And once the window has passed it is planned
    assert _planned(plan_source(store, source, stale_after=600, now=_later())) == ["writing.jpg"]


def test_vanished_library_files(store: RedisStateStore, tmp_path: Path) -> None:
    # Given a library with three files mediacourier placed, and one it did not
    lib = tmp_path / "lib"
    (lib / "2024" / "05").mkdir(parents=True)
    for rel in ("2024/05/a.jpg", "2024/05/b.jpg", "c.jpg", "user-added.jpg"):
        (lib / rel).write_bytes(b"x")
    store.settle_content("1" * 64, "lib", "2024/05/a.jpg")
    store.settle_content("2" * 64, "lib", "2024/05/b.jpg")
    store.settle_content("3" * 64, "lib", "c.jpg")
    assert vanished_library_files(store, "lib", str(lib), stale_tmp_after=3600) == {}
    # When one is deleted, and another replaced by a temporary file
    (lib / "2024" / "05" / "b.jpg").unlink()
    (lib / "c.jpg").unlink()
    (lib / f"{TMP_PREFIX}c.jpg").write_bytes(b"partial")
    # Then exactly those are reported, with their hashes
    assert vanished_library_files(store, "lib", str(lib), stale_tmp_after=3600) == {
        "2024/05/b.jpg": "2" * 64, "c.jpg": "3" * 64}
    # And a library nothing was ever placed in reports nothing
    assert vanished_library_files(store, "empty", str(lib), stale_tmp_after=3600) == {}


def test_stale_temporary_files_are_removed_fresh_ones_kept(store: RedisStateStore,
                                                          tmp_path: Path) -> None:
    # Given a crashed copy's temporary file from a while ago and one being written now
    # (staleness goes by ctime, which a copy's utime to the source's old mtime cannot fake)
    lib = tmp_path / "lib"
    (lib / "2024").mkdir(parents=True)
    stale = lib / "2024" / f"{TMP_PREFIX}{'a' * 20}.tmp"
    fresh = lib / f"{TMP_PREFIX}{'b' * 20}.tmp"
    stale.write_bytes(b"old partial")
    (lib / "photo.jpg").write_bytes(b"x")
    yesterday = time.time() - 86400
    os.utime(lib / "photo.jpg", (yesterday, yesterday))
    time.sleep(1.2)
    fresh.write_bytes(b"in progress")
    os.utime(fresh, (yesterday, yesterday))  # a copy in progress carries its source's mtime
    # When the library is checked with a one-second limit
    vanished_library_files(store, "lib", str(lib), stale_tmp_after=1.0)
    # Then only the stale temporary file is gone; real files are never touched
    assert not stale.exists()
    assert fresh.read_bytes() == b"in progress"
    assert (lib / "photo.jpg").read_bytes() == b"x"
