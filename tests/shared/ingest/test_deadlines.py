"""shared/ingest/deadlines.py: the time limit of a task is the base plus its bytes at the floor
rate; `floor_rate` in the configuration; a redelivery waiting out a dead holder's lease."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fakeredis
import pytest

from shared.config import build_settings
from shared.errors import ConfigError
from shared.ingest import Context, batch_time_limits, soft_time_limit, time_limits
from shared.ingest.deadlines import hard_time_limit, wait_for_free_lease
from shared.ingest.leases import file_lease_name
from shared.jobs import FileJob
from shared.state import RedisStateStore


def settings_with(tmp_path: Path, **top: Any) -> Any:
    (tmp_path / "src").mkdir(exist_ok=True)
    (tmp_path / "lib").mkdir(exist_ok=True)
    return build_settings({**top, "sources": {"in": {"path": "src", "library": "lib"}},
                           "libraries": {"lib": {"path": "lib"}}},
                          tmp_path / "mediacourier.toml", tmp_path)


def test_the_limit_is_the_base_plus_the_bytes_at_the_floor_rate(tmp_path: Path) -> None:
    # Given task_time_limit 60 s and a floor of 1 MB/s
    settings = settings_with(tmp_path, task_time_limit=60, floor_rate="1MB/s")
    # Then a task with no bytes gets the base, and every byte adds its time, rounded up
    assert hard_time_limit(settings, 0) == 60
    assert hard_time_limit(settings, 1) == 61
    assert hard_time_limit(settings, 90_000_000) == 150
    assert hard_time_limit(settings, 90_000_000, passes=3) == 330
    # … the soft limit comes a little earlier, and a batch reads its bytes three times
    assert time_limits(settings, 90_000_000) == {"time_limit": 150, "soft_time_limit": 134}
    assert batch_time_limits(settings, [30_000_000, 60_000_000]) == \
        {"time_limit": 330, "soft_time_limit": 300}


def test_the_soft_limit_leaves_a_moment_before_the_kill() -> None:
    assert [soft_time_limit(hard) for hard in (5800, 1800, 100, 10, 1)] == \
        [5770, 1770, 89, 8, 1]


def test_floor_rate_defaults_to_10_mb_per_second_and_takes_a_rate(tmp_path: Path) -> None:
    assert settings_with(tmp_path).floor_rate == 10_000_000
    assert settings_with(tmp_path, floor_rate="500KiB/s").floor_rate == 512_000
    assert settings_with(tmp_path, floor_rate=2_000_000).floor_rate == 2_000_000


@pytest.mark.parametrize("value", [0, "0MB/s", "fast"])
def test_a_floor_rate_that_is_not_a_speed_is_refused_in_one_line(tmp_path: Path,
                                                                 value: Any) -> None:
    with pytest.raises(ConfigError) as refused:
        settings_with(tmp_path, floor_rate=value)
    message = str(refused.value)
    assert "floor_rate" in message and "mediacourier.toml" in message and "\n" not in message


def test_a_redelivery_waits_for_a_lease_nobody_renews(tmp_path: Path) -> None:
    # Given the lease a dead worker left on a file: it runs out in 0.5 s, nobody renews it
    client = fakeredis.FakeRedis(decode_responses=True)
    store = RedisStateStore(client, "dl")
    ctx = Context(settings_with(tmp_path), store)
    job = FileJob("in", "IMG_0001.JPG", 10, 1)
    client.set(store.key("lock", file_lease_name(job)), "dead-token", px=500)
    # When a delivery waits up to 5 s for it
    assert wait_for_free_lease(job, ctx, timeout=5)
    # Then it went on once the lease had run out
    assert not store.leased([file_lease_name(job)])


def test_a_lease_held_all_along_makes_the_redelivery_give_up(tmp_path: Path) -> None:
    # Given a lease a live holder keeps renewing (here: one with no end)
    client = fakeredis.FakeRedis(decode_responses=True)
    store = RedisStateStore(client, "dl")
    ctx = Context(settings_with(tmp_path), store)
    job = FileJob("in", "IMG_0001.JPG", 10, 1)
    client.set(store.key("lock", file_lease_name(job)), "live-token")
    slept: list[float] = []
    # When a delivery waits up to 1 s for it
    # Then it gives up after looking for that long
    assert not wait_for_free_lease(job, ctx, timeout=1, sleep=slept.append)
    assert slept and all(s == slept[0] for s in slept)
