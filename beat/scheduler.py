"""A beat scheduler that only schedules while it holds a Redis lock: two beats, one schedule."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import redis
from celery.beat import PersistentScheduler

from shared.state import RedisStateStore

log = logging.getLogger(__name__)

LOCK_TTL = 30.0
RETRY_INTERVAL = 5.0


class LockedScheduler(PersistentScheduler):
    """Holds `<prefix>:lock:beat`; a second beat waits, and takes over if the first dies."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        store = RedisStateStore.from_url(self.app.conf.broker_url, self.app.mc_settings.key_prefix)
        self._lock = store.beat_lock(LOCK_TTL)
        self._holding = False

    def _hold_lock(self) -> bool:
        try:
            if self._holding and self._lock.owned():
                self._lock.reacquire()
            else:
                self._holding = bool(self._lock.acquire(blocking=False))
                if self._holding:
                    log.info("beat: holding the scheduler lock; scheduling")
        except redis.RedisError as exc:
            log.warning("beat: lock check failed (%s); not scheduling this tick", exc)
            self._holding = False
        return self._holding

    def tick(self, *args: Any, **kwargs: Any) -> float:
        if not self._hold_lock():
            return RETRY_INTERVAL
        return min(super().tick(*args, **kwargs), LOCK_TTL / 3)

    def close(self) -> None:
        if self._holding:
            with contextlib.suppress(redis.RedisError):
                self._lock.release()
        super().close()
