"""The beat lock (shared/state/beat_lock.py): one holder; a beat killed on this machine leaves a
lock the next beat here takes at once; a live holder, or one elsewhere, keeps it until its TTL."""

from __future__ import annotations

import signal
import subprocess
import sys

import redis

from shared.state import BeatLock
from tests.e2e.harness import REPO

HOLDER = ("import sys, time, redis\n"
          "from shared.state import BeatLock\n"
          "lock = BeatLock(redis.Redis.from_url(sys.argv[1]), sys.argv[2], 30)\n"
          "assert lock.hold()\n"
          "print('held', flush=True)\n"
          "time.sleep(120)\n")


def start_holder(redis_url: str, key: str) -> subprocess.Popen[str]:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, redis_url, key], cwd=REPO,
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def test_a_beat_killed_on_this_machine_leaves_a_lock_the_next_one_takes_at_once(
    redis_url: str, redis_client: redis.Redis, key_prefix: str,
) -> None:
    # Given a beat process holding the lock (30 s TTL), and a second one waiting
    key = f"{key_prefix}:lock:beat"
    holder = start_holder(redis_url, key)
    waiting = BeatLock(redis_client, key, 30)
    try:
        assert waiting.hold() is False  # a live holder keeps it
        # When the holder is SIGKILLed
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        # Then the waiting beat takes the lock at once, long before the TTL ran out
        assert waiting.hold() is True
        assert redis_client.get(key) == waiting.token
        assert 25_000 < redis_client.pttl(key) <= 30_000
    finally:
        holder.kill()
        holder.wait(10)


def test_a_holder_on_another_machine_is_waited_out_and_ours_is_renewed(
    redis_client: redis.Redis, key_prefix: str,
) -> None:
    # Given the lock held by a beat on another machine
    key = f"{key_prefix}:lock:beat"
    redis_client.set(key, "nas|4026531836|1234|0f0f", px=30_000)
    mine = BeatLock(redis_client, key, 30)
    # When this beat tries, then after the other's lock expired
    assert mine.hold() is False
    redis_client.pexpire(key, 1)
    redis_client.delete(key)  # what the expiry does
    # Then it takes it, renews it, and its release frees it only while it is its own
    assert mine.hold() is True
    redis_client.pexpire(key, 5_000)
    assert mine.hold() is True and redis_client.pttl(key) > 25_000
    redis_client.set(key, "nas|4026531836|1234|0f0f", px=30_000)
    mine.release()
    assert redis_client.get(key) == "nas|4026531836|1234|0f0f"
