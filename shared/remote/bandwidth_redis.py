"""A target's bandwidth limit shared by every process and host that uploads to it, in Redis.

Key (P = prefix): `P:bandwidth:<target>`, a hash {tokens, stamp}. One Lua script refills the
bucket from the time elapsed (Redis's own clock, so the hosts' clocks do not matter) and takes
the bytes asked for in one atomic step. The bucket may go into debt: the script answers how long
the caller sleeps until its bytes are paid for, so waiting callers queue in the order they asked.
Redis is asked for whole chunks (up to 256 KiB); what a chunk has left over pays for the next
small takes of this process, so the round trips stay few against the bytes. When Redis does
not answer, the process falls back to its own in-process bucket (logged once) rather than
failing the upload, and asks Redis again a little later.
"""

from __future__ import annotations

import logging
import threading
import time

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from shared.config import TargetConfig
from shared.remote.bandwidth import UNLIMITED, Bandwidth, TokenBucket, burst_of

log = logging.getLogger(__name__)

MAX_CHUNK = 256 * 1024
MIN_CHUNK = 16 * 1024
RETRY_AFTER = 10.0  # seconds on the local bucket before Redis is asked again
REDIS_TIMEOUT = 2.0  # a hung Redis must not stall an upload for the store's 30 s

# KEYS[1]: the bucket. ARGV: rate (bytes/s), burst (bytes), amount (bytes).
# Returns {µs until the amount is paid for, µs until the bytes asked before it are}.
TAKE = """
if redis.replicate_commands then redis.replicate_commands() end -- TIME before writes, Redis 5/6
local rate, burst, amount = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local saved = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens = tonumber(saved[1]) or burst
local stamp = tonumber(saved[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - stamp) * rate)
local before = 0
if tokens < 0 then before = -tokens / rate end
tokens = tokens - amount
local wait = 0
if tokens < 0 then wait = -tokens / rate end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.3f', tokens),
           'stamp', string.format('%.6f', now))
redis.call('PEXPIRE', KEYS[1], math.ceil(wait * 1000) + 60000)
return {math.ceil(wait * 1000000), math.ceil(before * 1000000)}
"""


def chunk_of(rate: int) -> int:
    """Bytes per Redis round trip: 1/16 s of the rate, between 16 and 256 KiB."""
    return min(MAX_CHUNK, max(MIN_CHUNK, rate // 16))


def quick_client(client: redis.Redis) -> redis.Redis:
    """A client like `client` (same server, credentials, TLS) with short timeouts and one
    immediate retry (a connection dropped by a Redis restart), not redis-py's backoff."""
    pool = client.connection_pool
    kwargs = {**pool.connection_kwargs, "socket_timeout": REDIS_TIMEOUT,
              "socket_connect_timeout": REDIS_TIMEOUT, "retry": Retry(NoBackoff(), 1)}
    return redis.Redis(connection_pool=redis.ConnectionPool(
        connection_class=pool.connection_class, **kwargs))


class RedisTokenBucket:
    """`take(n)` blocks until n bytes may pass at `rate` bytes/s summed over every process
    that takes from the same `key`."""

    def __init__(self, client: redis.Redis, key: str, rate: int,
                 fallback: TokenBucket | None = None, chunk: int | None = None) -> None:
        self.rate = rate
        self.key = key
        self.burst = burst_of(rate)
        self.chunk = chunk or chunk_of(rate)
        self.fallback = fallback or TokenBucket(rate)
        self._script = quick_client(client).register_script(TAKE)
        self._lock = threading.Lock()
        self._credit = 0  # bytes paid for in Redis, not yet sent
        self._down_until = 0.0
        self._down = False

    def take(self, amount: int) -> None:
        if self.rate <= 0:
            return
        while amount > 0:
            with self._lock:
                paid = min(amount, self._credit)
                self._credit -= paid
            amount -= paid
            if amount <= 0:
                return
            waits = self._ask(self.chunk)
            if waits is None:  # Redis is away: this process limits itself
                self.fallback.take(amount)
                return
            if waits[0] > 0:
                time.sleep(waits[0])
            used = min(amount, self.chunk)
            amount -= used
            if used < self.chunk:
                with self._lock:
                    self._credit += self.chunk - used

    def wait_turn(self, amount: int) -> bool:
        """Book `amount` bytes that keep to the limit by themselves (rsync's --bwlimit), and
        sleep only until the bytes booked before them are paid for. False without Redis."""
        if self.rate <= 0 or amount <= 0:
            return True
        waits = self._ask(amount)
        if waits is None:
            return False
        if waits[1] > 0:
            time.sleep(waits[1])
        return True

    def _ask(self, amount: int) -> tuple[float, float] | None:
        """Seconds until `amount` is paid for and until its turn begins; None without Redis."""
        if self._down and time.monotonic() < self._down_until:
            return None
        try:
            wait_us, before_us = self._script(keys=[self.key],
                                              args=[self.rate, self.burst, amount])
        except (redis.RedisError, OSError) as exc:
            with self._lock:
                first, self._down = not self._down, True
                self._down_until = time.monotonic() + RETRY_AFTER
            if first:
                log.warning("bandwidth limit of %s: Redis does not answer (%s); this process "
                            "keeps to the limit on its own until it does", self.key, exc)
            return None
        if self._down:
            self._down = False
            log.warning("bandwidth limit of %s: shared through Redis again", self.key)
        return int(wait_us) / 1e6, int(before_us) / 1e6


def bandwidth_for(target: TargetConfig, store: object | None) -> Bandwidth:
    """The bucket uploads to `target` take from: shared through the store's Redis when there
    is one, else this process's own (a dry run, a unit test)."""
    rate = target.bandwidth_limit
    if rate <= 0:
        return UNLIMITED
    client = getattr(store, "client", None)
    key = getattr(store, "key", None)
    if not isinstance(client, redis.Redis) or key is None:
        return TokenBucket(rate)
    return RedisTokenBucket(client, key("bandwidth", target.name), rate)
