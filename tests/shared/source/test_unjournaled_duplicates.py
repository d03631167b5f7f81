"""A move's duplicate recorded, its source deleted, its journal entry never written (the
delivery died in between): the in-flight sweeper and a reconcile send it again rather than
forget it, so its next delivery journals it; a duplicate whose entry was journaled is not."""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

import fakeredis
import pytest

from shared.config import Settings, SourceConfig, build_settings
from shared.ingest.recording import outcome_mark
from shared.source import plan_source, plan_sweep
from shared.state import FileRecord, RedisStateStore, inflight_field

TIMEOUT = 60
MARK_SECONDS = 600


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    for name in ("src", "lib"):
        (tmp_path / name).mkdir()
    return build_settings({"sources": {"cam": {"path": str(tmp_path / "src"), "library": "lib",
                                               "mode": "move"}},
                           "libraries": {"lib": {"path": str(tmp_path / "lib")}},
                           "inflight_timeout": TIMEOUT}, None, tmp_path)


@pytest.fixture
def source(settings: Settings) -> SourceConfig:
    return settings.sources["cam"]


@pytest.fixture
def store(fake_redis: fakeredis.FakeRedis) -> RedisStateStore:
    return RedisStateStore(fake_redis, "mc-unjournaled")


def _duplicate(store: RedisStateStore, source: SourceConfig, rel: str, *, queued_ago: float | None,
               deleted: bool = True, journaled: bool = False) -> tuple[FileRecord, str]:
    """A file of `source` recorded as a duplicate (as duplicates.py does before deleting it),
    marked in flight `queued_ago` seconds ago (None: no marker), its source deleted or not,
    its outcome journaled (the record stage's mark written, its marker cleared) or not."""
    path = source.path / rel
    path.write_bytes(b"the same bytes as a photo in the library")
    info = os.stat(path)
    record = FileRecord(info.st_size, info.st_mtime_ns, info.st_ino, "d" * 64, "duplicate",
                        f"2024/01/{rel}")
    store.put_record(source.name, rel, record)
    field = inflight_field(source.name, rel, info.st_size, info.st_mtime_ns)
    if queued_ago is not None:
        store.client.hset(store.key("inflight"), field, time.time() - queued_ago)
    if journaled:
        store.finish(source.name, rel, event="duplicate", journal={"path": rel},
                     outcome=(outcome_mark(record), MARK_SECONDS))
    if deleted:
        path.unlink()
    return record, field


def _sweep(store: RedisStateStore, settings: Settings):  # type: ignore[no-untyped-def]
    return plan_sweep(store, settings, time.time(), lambda: set())


def _resent(plan) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(e.rel_path for entries in plan.resend.values() for e in entries)


def _later() -> float:
    return time.time() + 10


def test_a_mark_names_one_version_and_only_a_journaled_outcome() -> None:
    # Given a duplicate's record / Then its mark is the record stage's, short, and changes with
    # any part of the version (a new inode: new bytes under the same name, size and mtime);
    # a failure has none (it may be journaled again)
    record = FileRecord(12, 34, 56, "a" * 64, "duplicate", "2024/x.jpg")
    mark = outcome_mark(record)
    assert mark == record.outcome_mark() and len(mark) == 20
    assert len({mark} | {dataclasses.replace(record, **change).outcome_mark() for change in (
        {"size": 13}, {"mtime_ns": 35}, {"inode": 57}, {"sha256": "b" * 64},
        {"state": "ingested"})}) == 6
    assert dataclasses.replace(record, state="failed").outcome_mark() == ""


def test_the_sweeper_sends_again_a_duplicate_deleted_but_never_journaled(
        store: RedisStateStore, settings: Settings, source: SourceConfig) -> None:
    # Given a duplicate recorded and deleted two minutes ago, whose delivery then died
    record, field = _duplicate(store, source, "IMG_0144.jpg", queued_ago=2 * TIMEOUT)
    # When the sweeper looks
    plan = _sweep(store, settings)
    # Then it is sent again as the version recorded, not dropped
    assert _resent(plan) == ["IMG_0144.jpg"] and plan.dropped == {}
    entry = plan.resend["cam"][0]
    assert (entry.size, entry.mtime_ns) == (record.size, record.mtime_ns)


def test_the_sweeper_sends_again_a_duplicate_recorded_whose_source_is_still_there(
        store: RedisStateStore, settings: Settings, source: SourceConfig) -> None:
    # Given a duplicate recorded whose delivery died before it deleted the source
    _duplicate(store, source, "IMG_2.jpg", queued_ago=2 * TIMEOUT, deleted=False)
    # When the sweeper looks / Then it is sent again to delete and journal it
    plan = _sweep(store, settings)
    assert _resent(plan) == ["IMG_2.jpg"] and plan.dropped == {}


def test_the_sweeper_drops_the_marker_of_a_duplicate_journaled(
        store: RedisStateStore, settings: Settings, source: SourceConfig) -> None:
    # Given a duplicate journaled (its mark written) whose marker was set again later
    _, field = _duplicate(store, source, "IMG_3.jpg", queued_ago=None, journaled=True)
    store.client.hset(store.key("inflight"), field, time.time() - 2 * TIMEOUT)
    # When the sweeper looks / Then it is not sent again: that would journal it twice
    plan = _sweep(store, settings)
    assert _resent(plan) == [] and plan.dropped == {field: "already recorded duplicate"}


def test_a_reconcile_plans_again_a_vanished_duplicate_never_journaled(
        store: RedisStateStore, source: SourceConfig) -> None:
    # Given a duplicate recorded and deleted an hour ago whose delivery died before journaling
    record, field = _duplicate(store, source, "IMG_0144.jpg", queued_ago=3600)
    # When a reconcile plans the source (markers older than 10 minutes are stale)
    plan = plan_source(store, source, stale_after=600, now=_later())
    # Then its record is kept and the recorded version is planned again
    assert plan.vanished == []
    assert [(e.rel_path, e.size, e.mtime_ns) for e in plan.to_ingest] == [
        ("IMG_0144.jpg", record.size, record.mtime_ns)]
    assert field not in store.inflight()  # the stale marker goes; its new send sets one


def test_a_reconcile_leaves_a_vanished_duplicate_in_flight_to_its_delivery(
        store: RedisStateStore, source: SourceConfig) -> None:
    # Given a duplicate recorded and deleted, its delivery queued a moment ago, not journaled
    _duplicate(store, source, "IMG_5.jpg", queued_ago=1)
    # When planned / Then it is neither forgotten nor planned a second time
    plan = plan_source(store, source, stale_after=600, now=_later())
    assert plan.vanished == [] and plan.to_ingest == [] and plan.in_flight == 1


def test_a_reconcile_forgets_a_vanished_duplicate_journaled(
        store: RedisStateStore, source: SourceConfig) -> None:
    # Given two duplicates deleted: one journaled lately (its mark lives), one journaled longer
    # ago than a mark lives (neither mark nor marker left)
    _duplicate(store, source, "lately.jpg", queued_ago=None, journaled=True)
    _duplicate(store, source, "long_ago.jpg", queued_ago=None)
    # When planned / Then both records are forgotten and neither is planned again
    plan = plan_source(store, source, stale_after=600, now=_later())
    assert sorted(plan.vanished) == ["lately.jpg", "long_ago.jpg"] and plan.to_ingest == []
