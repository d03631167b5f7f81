"""Pause and resume decisions (shared.state.pause) over the store's pause book (fakeredis)."""

from __future__ import annotations

from pathlib import Path

import fakeredis
import pytest

from shared.config import Settings, build_settings
from shared.errors import UnknownSource
from shared.state.pause import (
    MAX_RECHECK_SECONDS,
    MIN_RECHECK_SECONDS,
    check_name,
    hold_for,
    hold_for_source,
    recheck_delay,
    sources_to_catch_up,
)
from shared.state.store import RedisStateStore


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    for name in ("a", "b", "c", "lib1", "lib2"):
        (tmp_path / name).mkdir()
    raw = {
        "sources": {"a": {"path": "a", "library": "lib1"}, "b": {"path": "b", "library": "lib1"},
                    "c": {"path": "c", "library": "lib2"}},
        "libraries": {"lib1": {"path": "lib1", "rescan": ["app"]}, "lib2": {"path": "lib2"}},
        "rescan": {"app": {"command": ["index", "{folder}"]}},
    }
    return build_settings(raw, tmp_path / "mediacourier.toml", tmp_path)


@pytest.fixture
def store(fake_redis: fakeredis.FakeRedis) -> RedisStateStore:
    return RedisStateStore(fake_redis, "mc")


def test_nothing_paused_holds_nothing(store: RedisStateStore, settings: Settings) -> None:
    # Given an empty pause book, When any source is looked up, Then there is no hold
    assert all(hold_for_source(store, settings, s) is None for s in settings.sources)
    assert store.paused() == {}


def test_a_paused_source_holds_only_its_own_files(store: RedisStateStore,
                                                  settings: Settings) -> None:
    # Given source a paused
    assert store.set_paused("source", "a", True) is True
    assert store.set_paused("source", "a", True) is False  # pausing twice changes nothing
    # Then a's files wait, b's (same library) and c's do not
    hold = hold_for_source(store, settings, "a")
    assert hold is not None and hold.reason == "source 'a' is paused"
    assert hold_for_source(store, settings, "b") is None
    assert hold_for_source(store, settings, "c") is None
    # When it is resumed, Then nothing waits any more
    assert store.set_paused("source", "a", False) is True
    assert store.set_paused("source", "a", False) is False
    assert hold_for_source(store, settings, "a") is None


def test_a_paused_library_holds_every_source_feeding_it(store: RedisStateStore,
                                                        settings: Settings) -> None:
    store.set_paused("target", "lib1", True)
    assert hold_for_source(store, settings, "a") is not None
    assert hold_for_source(store, settings, "b") is not None
    assert hold_for_source(store, settings, "c") is None
    # and resuming it catches up exactly those sources
    assert sources_to_catch_up(settings, "target", "lib1") == ["a", "b"]
    assert sources_to_catch_up(settings, "source", "c") == ["c"]
    assert sources_to_catch_up(settings, "target", "app") == []


def test_a_paused_rescan_target_holds_its_flushes(store: RedisStateStore) -> None:
    store.set_paused("target", "app", True)
    hold = hold_for(store, targets=["app"])
    assert hold is not None and "target 'app'" in hold.reason
    assert hold_for(store, targets=["other"]) is None


def test_waiting_work_rechecks_soon_at_first_then_less_often() -> None:
    assert recheck_delay(100.0, 100.0) == MIN_RECHECK_SECONDS
    assert recheck_delay(100.0, 400.0) == 30.0
    assert recheck_delay(0.0, 86400.0) == MAX_RECHECK_SECONDS
    # … and always before a waiting message would count as lost (visibility_timeout / 2)
    assert recheck_delay(0.0, 86400.0, cap=10.0) == 10.0
    store = RedisStateStore(fakeredis.FakeRedis(decode_responses=True), "mc")
    store.client.hset("mc:paused", "source:a", 1000.0)
    hold = hold_for(store, "a", now=1600.0)
    assert hold is not None and hold.countdown == MAX_RECHECK_SECONDS


def test_only_configured_names_can_be_paused(settings: Settings) -> None:
    check_name(settings, "source", "a")
    for target in ("lib1", "lib2", "app"):
        check_name(settings, "target", target)
    with pytest.raises(UnknownSource, match="no source named 'lib1'; configured: a, b, c"):
        check_name(settings, "source", "lib1")
    with pytest.raises(UnknownSource, match="no target named 'nas'"):
        check_name(settings, "target", "nas")
