"""The in-flight sweeper's decisions (shared/source/sweep.py): which old markers are sent again,
which are left to a live holder or message, which are dropped."""

from __future__ import annotations

import os
import time
from pathlib import Path

import fakeredis
import pytest

from shared.config import Settings, build_settings
from shared.source import SweepPlan, plan_sweep
from shared.state import FileRecord, RedisStateStore, inflight_field

TIMEOUT = 60


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    for name in ("src", "lib"):
        (tmp_path / name).mkdir()
    return build_settings({"sources": {"cam": {"path": str(tmp_path / "src"), "library": "lib"}},
                           "libraries": {"lib": {"path": str(tmp_path / "lib")}},
                           "inflight_timeout": TIMEOUT}, None, tmp_path)


@pytest.fixture
def store(fake_redis: fakeredis.FakeRedis) -> RedisStateStore:
    return RedisStateStore(fake_redis, "mc-sweep")


def _queued(store: RedisStateStore, settings: Settings, rel: str, ago: float,
            data: bytes = b"photo") -> str:
    """A file in the source whose version was marked in flight `ago` seconds ago."""
    path = settings.sources["cam"].path / rel
    path.write_bytes(data)
    info = os.stat(path)
    field = inflight_field("cam", rel, info.st_size, info.st_mtime_ns)
    store.client.hset(store.key("inflight"), field, time.time() - ago)
    return field


def _sweep(store: RedisStateStore, settings: Settings,
           live: frozenset[tuple[str, str]] | None = frozenset()) -> SweepPlan:
    return plan_sweep(store, settings, time.time(), lambda: None if live is None else set(live))


def _resent(plan: SweepPlan) -> list[str]:
    return sorted(e.rel_path for entries in plan.resend.values() for e in entries)


def test_an_old_marker_with_no_sign_of_life_is_sent_again(store: RedisStateStore,
                                                          settings: Settings) -> None:
    # Given a file queued two minutes ago whose file nobody holds and no message names
    _queued(store, settings, "lost.jpg", ago=2 * TIMEOUT)
    # … and one queued a moment ago
    _queued(store, settings, "new.jpg", ago=1)
    plan = _sweep(store, settings)
    # Then only the old one is sent again, as the version that was queued
    assert _resent(plan) == ["lost.jpg"]
    entry = plan.resend["cam"][0]
    info = os.stat(settings.sources["cam"].path / "lost.jpg")
    assert (entry.size, entry.mtime_ns) == (info.st_size, info.st_mtime_ns)
    assert plan.dropped == {} and plan.markers == 2


def test_a_file_with_a_lease_or_a_live_message_is_left_alone(store: RedisStateStore,
                                                             settings: Settings) -> None:
    # Given two old markers: one file a worker holds, one named by a message still waiting
    _queued(store, settings, "held.jpg", ago=10 * TIMEOUT)
    _queued(store, settings, "waiting.jpg", ago=10 * TIMEOUT)
    with store.lock("file:cam:held.jpg", ttl=30):
        plan = _sweep(store, settings, live=frozenset({("cam", "waiting.jpg")}))
    # Then neither is sent again
    assert _resent(plan) == [] and plan.alive == 2 and plan.dropped == {}


def test_a_backlog_too_long_to_read_defers_the_sweep(store: RedisStateStore,
                                                     settings: Settings) -> None:
    _queued(store, settings, "a.jpg", ago=10 * TIMEOUT)
    plan = _sweep(store, settings, live=None)
    assert _resent(plan) == [] and "backlog" in plan.deferred


def test_markers_of_versions_that_are_gone_are_dropped(store: RedisStateStore,
                                                       settings: Settings) -> None:
    root = settings.sources["cam"].path
    # Given three old markers: a file deleted since, a file changed since, a file recorded done
    deleted = _queued(store, settings, "deleted.jpg", ago=10 * TIMEOUT)
    (root / "deleted.jpg").unlink()
    changed = _queued(store, settings, "changed.jpg", ago=10 * TIMEOUT)
    (root / "changed.jpg").write_bytes(b"a longer, newer version")
    done = _queued(store, settings, "done.jpg", ago=10 * TIMEOUT)
    info = os.stat(root / "done.jpg")
    store.put_record("cam", "done.jpg", FileRecord(info.st_size, info.st_mtime_ns, 0, "f" * 64,
                                                   "ingested", "done.jpg"))
    # … and a marker of a source that is no longer configured
    store.client.hset(store.key("inflight"), "phone\0x.jpg\x001\x001", 0)
    plan = _sweep(store, settings)
    # Then none is sent again; each is dropped with its reason
    assert _resent(plan) == []
    assert plan.dropped[deleted] == "this version left the source"
    assert "changed since it was queued" in plan.dropped[changed]
    assert plan.dropped[done] == "already recorded ingested"
    assert "no longer configured" in plan.dropped["phone\0x.jpg\x001\x001"]


def test_a_verified_file_whose_source_is_gone_is_sent_again_to_finish(
        store: RedisStateStore, settings: Settings) -> None:
    # Given a move whose copy was verified and source released, then its worker died before
    # the outcome was recorded
    field = _queued(store, settings, "moved.jpg", ago=10 * TIMEOUT)
    info = os.stat(settings.sources["cam"].path / "moved.jpg")
    store.put_record("cam", "moved.jpg", FileRecord(info.st_size, info.st_mtime_ns, 0, "f" * 64,
                                                    "verified", "moved.jpg"))
    (settings.sources["cam"].path / "moved.jpg").unlink()
    plan = _sweep(store, settings)
    # Then it is sent again (its stages resume from the record and finish the job)
    assert _resent(plan) == ["moved.jpg"] and field not in plan.dropped
