"""The Redis token bucket against a real redis-server: one limit for threads and processes."""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import redis

from shared.config.targets import TargetConfig
from shared.remote.bandwidth import UNLIMITED, TokenBucket
from shared.remote.bandwidth_redis import RedisTokenBucket, bandwidth_for
from shared.state.redis_server import EmbeddedRedis, free_port
from shared.state.store import RedisStateStore

RATE = 2_000_000  # bytes/s
SECONDS = 3.0
TAKE = 64 * 1024


def take_until(bucket: RedisTokenBucket | TokenBucket, start: float, stop: float) -> int:
    """Take TAKE bytes at a time from `start` until `stop` (wall clock); the bytes granted."""
    time.sleep(max(0.0, start - time.time()))
    granted = 0
    while time.time() < stop:
        bucket.take(TAKE)
        granted += TAKE
    return granted


def process_takes(url: str, key: str, start: float, stop: float, results: Any) -> None:
    """A separate process (another worker, another host) taking from the same target."""
    bucket = RedisTokenBucket(redis.Redis.from_url(url), key, RATE)
    results.put(take_until(bucket, start, stop))


def test_three_threads_and_two_processes_share_one_limit(redis_url: str,
                                                          key_prefix: str) -> None:
    # Given a 2 MB/s bucket for target "nas", 3 threads here and 2 other processes taking
    key = f"{key_prefix}:bandwidth:nas"
    spawn = multiprocessing.get_context("spawn")
    results = spawn.Queue()
    start = time.time() + 2.0  # time for the spawned interpreters to start
    stop = start + SECONDS
    processes = [spawn.Process(target=process_takes, args=(redis_url, key, start, stop, results))
                 for _ in range(2)]
    for process in processes:
        process.start()
    bucket = RedisTokenBucket(redis.Redis.from_url(redis_url), key, RATE)
    granted: list[int] = []
    threads = [threading.Thread(target=lambda: granted.append(take_until(bucket, start, stop)))
               for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.time() - start
    granted += [results.get(timeout=30) for _ in processes]
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0
    # Then every taker got bytes, and all together stayed within ~12 % of the limit
    # (five takers with a bucket each would have got five times the limit)
    assert len(granted) == 5 and min(granted) > 0
    rate = sum(granted) / elapsed
    assert 0.88 * RATE <= rate <= 1.12 * RATE, f"{rate:.0f} B/s for a limit of {RATE} B/s"


@pytest.mark.e2e  # starts a real redis-server itself
def test_redis_going_away_mid_transfer_falls_back_to_the_local_bucket(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # Given a bucket shared through a Redis that is up at first
    server = EmbeddedRedis(tmp_path / "redis")
    server.start()
    bucket = RedisTokenBucket(redis.Redis.from_url(server.url, socket_timeout=1), "p:bw:nas",
                              1_000_000)
    try:
        bucket.take(300_000)
        assert server.client().hget("p:bw:nas", "stamp") is not None  # it went through Redis
    finally:
        server.stop()
    # When Redis is gone, Then takes still succeed and still keep to the limit, logged once
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="shared.remote.bandwidth_redis"):
        for _ in range(8):
            bucket.take(100_000)
    elapsed = time.monotonic() - started
    assert 0.6 <= elapsed <= 2.0  # 800 kB at 1 MB/s, less the local bucket's first burst
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "Redis does not answer" in warnings[0]


def test_no_redis_at_all_is_the_local_bucket() -> None:
    # Given a bucket whose Redis was never there (a port nobody listens on)
    bucket = RedisTokenBucket(redis.Redis(port=free_port(), socket_connect_timeout=1), "k", 500_000)
    # When 500 kB are taken, Then the local bucket limits them (about 0.85 s after its burst)
    started = time.monotonic()
    bucket.take(500_000)
    assert 0.6 <= time.monotonic() - started <= 2.0


def test_bandwidth_for_picks_the_bucket(redis_url: str, key_prefix: str) -> None:
    store = RedisStateStore.from_url(redis_url, key_prefix)
    target = TargetConfig("nas", "sftp", "/photos", host="nas.lan", bandwidth_limit=1_000_000)
    # With a store: shared through Redis under the deployment's prefix and the target's name
    shared = bandwidth_for(target, store)
    assert isinstance(shared, RedisTokenBucket) and shared.key == f"{key_prefix}:bandwidth:nas"
    shared.take(1)
    assert store.client.exists(f"{key_prefix}:bandwidth:nas") == 1
    # Without one (a dry run, a unit test): this process's own; no limit: none
    assert isinstance(bandwidth_for(target, None), TokenBucket)
    assert bandwidth_for(TargetConfig("nas", "sftp", "/photos", host="nas.lan"), store) \
        is UNLIMITED
