"""Exponential backoff with jitter, capped below the broker's visibility timeout."""

from __future__ import annotations

import random


def backoff_seconds(retries: int, cap: float, base: float = 1.0,
                    rand: random.Random | None = None) -> float:
    """Delay before retry number `retries` (0-based): 1, 2, 4 … s, 50–100 % of it, at most cap.

    The jitter keeps a crowd of files that failed together (Redis blip, NAS reboot) from coming
    back together.
    """
    rand = rand or random.Random()
    ceiling = min(cap, base * (2 ** min(retries, 30)))
    return ceiling * (0.5 + rand.random() / 2)


def retry_cap(visibility_timeout: float, backoff_max: float) -> float:
    """Longest delay allowed: a retry waiting longer than the visibility timeout is redelivered."""
    return max(1.0, min(backoff_max, visibility_timeout / 2))
