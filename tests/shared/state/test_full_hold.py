"""The full-destination hold (shared.state.full_hold): its bookkeeping in Redis (fakeredis)."""

from __future__ import annotations

import time
from pathlib import Path

import fakeredis
import pytest

from shared.config import Settings, build_settings
from shared.state.full_hold import (
    full_target,
    full_targets,
    hold_after_full,
    hold_target_full,
    lift_target_full,
    source_gate,
    target_gate,
)
from shared.state.store import RedisStateStore


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    for name in ("a", "b", "lib", "nasroot"):
        (tmp_path / name).mkdir()
    raw = {
        "sources": {"a": {"path": "a", "library": "lib"}, "b": {"path": "b", "library": "nas"}},
        "libraries": {"lib": {"path": "lib"}, "nas": {"path": "photos", "target": "box"}},
        "targets": {"box": {"kind": "local", "root": str(tmp_path / "nasroot")}},
    }
    return build_settings(raw, tmp_path / "mediacourier.toml", tmp_path)


@pytest.fixture
def store(fake_redis: fakeredis.FakeRedis) -> RedisStateStore:
    return RedisStateStore(fake_redis, "mc")


def _events(store: RedisStateStore, event: str) -> list[dict[str, str]]:
    return [e for e in store.read_journal() if e.get("event") == event]


def test_the_held_name_is_the_library_or_its_remote_target(settings: Settings) -> None:
    # Given a source into a local library and one into a library on a target
    # Then a full disk holds the library itself, or the target it lives on
    assert full_target(settings, "a") == "lib"
    assert full_target(settings, "b") == "box"
    assert full_target(settings, "nope") == ""


def test_a_full_episode_is_journaled_once_and_kept_apart_from_pauses(
        store: RedisStateStore) -> None:
    # When three files hit the full disk of one target
    started = [hold_target_full(store, "lib", f"f{i}: no space left", now=100.0 + i)
               for i in range(3)]
    # Then only the first starts an episode: one alert, the first reason and time are kept
    assert started == [True, False, False]
    assert [e["dest"] for e in _events(store, "target-full")] == ["lib"]
    assert full_targets(store) == {"lib": (100.0, "f0: no space left")}
    # … and the user's pause book is untouched (resume semantics stay the user's)
    assert store.paused() == {}


def test_while_held_exactly_one_run_per_window_may_try(store: RedisStateStore) -> None:
    # Given nothing held, Then every transfer goes ahead without being a trial
    assert target_gate(store, "lib").hold is None and target_gate(store, "lib").trial == ""
    # When the target is held full and ten runs ask within one recheck window
    hold_target_full(store, "lib", "no space left")
    gates = [target_gate(store, "lib", cap=0.5) for _ in range(10)]
    # Then one is the trial, the nine others wait, told why and for how long
    trials = [g for g in gates if g.hold is None]
    assert [g.trial for g in trials] == ["lib"]
    waiting = [g.hold for g in gates if g.hold is not None]
    assert len(waiting) == 9
    assert all("'lib' is full: no space left" in h.reason and h.countdown == 0.5
               for h in waiting)
    # When the window passes (the trial crashed or failed), Then the next run may try
    time.sleep(0.6)
    assert target_gate(store, "lib", cap=0.5).trial == "lib"


def test_a_local_library_without_room_is_not_even_tried(
        store: RedisStateStore, settings: Settings) -> None:
    # Given the library held full
    hold_target_full(store, "lib", "no space left")
    # When a file larger than any disk asks, Then it waits and takes no trial
    huge = source_gate(store, settings, "a", need=1 << 62)
    assert huge.hold is not None and huge.trial == ""
    # When a small file asks, Then statvfs says it fits and it is the trial
    assert source_gate(store, settings, "a", need=10).trial == "lib"


def test_a_remote_target_is_probed_by_trying(store: RedisStateStore, settings: Settings) -> None:
    # Given the remote target held full, Then a file of any size may be the trial
    hold_target_full(store, "box", "box:/x: no space left on the target")
    assert source_gate(store, settings, "b", need=1 << 62).trial == "box"
    # … and a source into another library is not held at all
    assert source_gate(store, settings, "a", need=1) == source_gate(store, settings, "a", 1)
    assert source_gate(store, settings, "a", need=1).hold is None


def test_space_back_lifts_the_hold_once(store: RedisStateStore) -> None:
    # Given a held target
    hold = hold_after_full(store, "lib", "no space left")
    assert "'lib' is full" in hold.reason and hold.countdown >= 0.5
    # When two trials succeed, Then it is lifted once and one `target-space-back` is journaled
    assert lift_target_full(store, "lib") is True
    assert lift_target_full(store, "lib") is False
    assert full_targets(store) == {}
    assert len(_events(store, "target-space-back")) == 1
    assert target_gate(store, "lib").hold is None
    # When it fills again, Then that is a new episode with a new alert
    hold_after_full(store, "lib", "again")
    assert len(_events(store, "target-full")) == 2
