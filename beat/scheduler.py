"""A beat scheduler that only schedules while it holds a Redis lock: two beats, one schedule."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import redis
from celery.beat import PersistentScheduler

from shared.state import BeatLock, RedisStateStore

log = logging.getLogger(__name__)

LOCK_TTL = 30.0
RETRY_INTERVAL = 5.0


class LockedScheduler(PersistentScheduler):
    """Holds `<prefix>:lock:beat`; a second beat waits, and takes over if the first dies (at once
    when the first was on this machine)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        store = RedisStateStore.from_url(self.app.conf.broker_url, self.app.mc_settings.key_prefix)
        self._lock = BeatLock(store.client, store.key("lock", "beat"), LOCK_TTL)
        self._holding = False

    def _hold_lock(self) -> bool:
        try:
            was_holding, self._holding = self._holding, self._lock.hold()
            if self._holding and not was_holding:
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
