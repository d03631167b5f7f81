"""Bandwidth limits: `take(n)` blocks until n more bytes may go to a target.

`TokenBucket` is shared by the threads of one process; shared/remote/bandwidth_redis.py holds the
bucket shared by every process and host that uploads to a target, through Redis.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Bandwidth(Protocol):
    """What a transfer asks before sending bytes."""

    rate: int

    def take(self, amount: int) -> None: ...


def burst_of(rate: int) -> int:
    """Tokens an idle bucket saves up: 1/8 s of the rate, at least 64 KiB."""
    return max(rate // 8, 64 * 1024)


class TokenBucket:
    """`take(n)` blocks until n bytes may pass at `rate` bytes/s (bursts up to 1/8 s)."""

    def __init__(self, rate: int, burst: int | None = None) -> None:
        self.rate = rate
        self.burst = burst or burst_of(rate)
        self._tokens = float(self.burst)
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def take(self, amount: int) -> None:
        if self.rate <= 0:
            return
        while amount > 0:
            part = min(amount, self.burst)
            with self._lock:
                now = time.monotonic()
                self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
                self._stamp = now
                # Go into debt and sleep it off outside the lock: waiting threads queue fairly.
                self._tokens -= part
                wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
            if wait > 0:
                time.sleep(wait)
            amount -= part


UNLIMITED = TokenBucket(0)
