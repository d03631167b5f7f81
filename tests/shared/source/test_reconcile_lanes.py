"""A reconcile's two lanes (shared/source/reconcile.py): files that arrived within FRESH_SECONDS
of the walk come first, newest first and at most FRESH_MAX of them (the live lane); the rest is
bulk work. Nothing is left out of either."""

from __future__ import annotations

import os
import time
from pathlib import Path

import fakeredis
import pytest

from shared.config import SourceConfig
from shared.source.reconcile import FRESH_MAX, FRESH_SECONDS, plan_source
from shared.state.store import RedisStateStore

DAY = 86_400


@pytest.fixture
def store(fake_redis: fakeredis.FakeRedis) -> RedisStateStore:
    return RedisStateStore(fake_redis, "mc-lanes")


@pytest.fixture
def source(tmp_path: Path) -> SourceConfig:
    root = tmp_path / "src"
    root.mkdir()
    return SourceConfig(name="cam", path=root, library="lib", stability_seconds=2.0)


def _put(source: SourceConfig, rel: str, mtime: float) -> None:
    path = source.path.joinpath(*rel.split("/"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(rel.encode())
    os.utime(path, (mtime, mtime))


def _rels(entries: list) -> list[str]:  # type: ignore[type-arg]
    return [entry.rel_path for entry in entries]


def test_files_modified_lately_go_first_newest_first_and_the_rest_is_bulk(
        store: RedisStateStore, source: SourceConfig) -> None:
    # Given a reconcile that walks well after every file was written here (so no file's ctime
    # is recent), and files last modified a day, 10 minutes, 4 and 1 minutes before it
    now = time.time() + FRESH_SECONDS + 600
    _put(source, "old/a-day.jpg", now - DAY)
    _put(source, "old/ten-minutes.jpg", now - 600)
    _put(source, "new/four-minutes.jpg", now - 240)
    _put(source, "new/one-minute.jpg", now - 60)
    # When it is planned
    plan = plan_source(store, source, stale_after=600, now=now)
    # Then the two modified within FRESH_SECONDS are the live lane, newest first, and the two
    # older ones the bulk lane: all four are planned, each once
    assert plan.fresh == 2
    assert _rels(plan.live_lane) == ["new/one-minute.jpg", "new/four-minutes.jpg"]
    assert sorted(_rels(plan.bulk_lane)) == ["old/a-day.jpg", "old/ten-minutes.jpg"]
    assert len(plan.to_ingest) == plan.scanned == 4


def test_a_file_just_written_with_an_old_capture_time_is_fresh(
        store: RedisStateStore, source: SourceConfig) -> None:
    # Given a photo a sync client just wrote, keeping its capture time (a year ago) as mtime
    _put(source, "IMG_2024.jpg", time.time() - 365 * DAY)
    # When a reconcile walks now (past the stability window)
    plan = plan_source(store, source, stale_after=600, now=time.time() + 10)
    # Then its arrival (ctime, set by the write) puts it in the live lane
    assert _rels(plan.live_lane) == ["IMG_2024.jpg"] and plan.bulk_lane == []


def test_only_the_newest_fresh_files_take_the_live_lane(
        store: RedisStateStore, source: SourceConfig) -> None:
    # Given more files modified within the last minutes than the live lane takes (a big import
    # copied in just before), each a second apart, and one old file
    now = time.time() + FRESH_SECONDS + 600
    count = FRESH_MAX + 10
    for n in range(count):
        _put(source, f"import/{n:04d}.jpg", now - 200 + n * 0.5)
    _put(source, "old.jpg", now - DAY)
    # When planned
    plan = plan_source(store, source, stale_after=600, now=now)
    # Then the FRESH_MAX newest are the live lane; the 10 oldest of the import wait with the
    # bulk work, and nothing is left out
    assert _rels(plan.live_lane) == [f"import/{n:04d}.jpg" for n in range(count - 1, 9, -1)]
    assert sorted(_rels(plan.bulk_lane)) == [f"import/{n:04d}.jpg" for n in range(10)] + [
        "old.jpg"]


def test_a_file_still_settling_is_in_neither_lane(
        store: RedisStateStore, source: SourceConfig) -> None:
    # Given a file modified within the stability window of the walk
    now = time.time() + FRESH_SECONDS + 600
    _put(source, "writing.jpg", now - 0.5)
    # When planned / Then it is left settling (the watcher or the follow-up pass takes it)
    plan = plan_source(store, source, stale_after=600, now=now)
    assert (plan.to_ingest, plan.fresh, plan.settling) == ([], 0, 1)
