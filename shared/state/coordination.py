"""The store's coordination keys: locks, pause state and target health — who may work on
what right now. Mixed into RedisStateStore (store.py beside it), which supplies `client`/`key`."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import redis

from shared.errors import FileBusy, StoreUnavailable


class CoordinationKeys:
    client: redis.Redis

    def key(self, *parts: str) -> str:
        raise NotImplementedError

    # locks -------------------------------------------------------------------------------
    def acquire_many(self, names: list[str], ttl: float) -> dict[str, str]:
        """Take many locks in one round trip; returns name -> token for those taken."""
        tokens = {name: uuid.uuid4().hex for name in names}
        pipe = self.client.pipeline(transaction=False)
        for name, token in tokens.items():
            pipe.set(self.key("lock", name), token, nx=True, px=max(1, int(ttl * 1000)))
        taken = pipe.execute()
        return {name: token for (name, token), ok in zip(tokens.items(), taken, strict=True)
                if ok}

    def release_many(self, tokens: dict[str, str]) -> None:
        """Release locks taken by `acquire_many`, leaving any that expired and were re-taken."""
        if not tokens:
            return
        keys = [self.key("lock", name) for name in tokens]
        current = self.client.mget(keys)
        ours = [k for k, value, token in zip(keys, current, tokens.values(), strict=True)
                if value == token]
        if ours:
            self.client.delete(*ours)

    @contextmanager
    def lock(self, name: str, ttl: float, wait: float = 0.0) -> Iterator[redis.lock.Lock]:
        """A Redis lock; FileBusy when another worker holds it past `wait` seconds.

        Yields the lock: a long holder calls `reacquire()` to give itself `ttl` again.
        """
        lock = self.client.lock(self.key("lock", name), timeout=ttl, blocking_timeout=wait)
        if not lock.acquire(blocking=wait > 0):
            raise FileBusy(f"{name} is being handled by another worker")
        try:
            yield lock
        finally:
            # Expired while we worked: nothing left to release.
            with contextlib.suppress(redis.exceptions.LockError):
                lock.release()

    # pause / resume (see shared.state.pause) -------------------------------------------
    def set_paused(self, kind: str, name: str, paused: bool) -> bool:
        """Pause or resume `kind:name`; True when that changed anything."""
        if paused:
            return bool(self.client.hsetnx(self.key("paused"), f"{kind}:{name}", time.time()))
        return bool(self.client.hdel(self.key("paused"), f"{kind}:{name}"))

    def paused(self) -> dict[str, float]:
        """'kind:name' -> when it was paused, for everything paused now."""
        return {k: float(v) for k, v in self.client.hgetall(self.key("paused")).items()}

    def paused_among(self, fields: list[str]) -> dict[str, float]:
        """The paused ones among 'kind:name' fields, in one round trip."""
        if not fields:
            return {}
        values = self.client.hmget(self.key("paused"), fields)
        if not isinstance(values, list):  # a connection out of step with its replies
            self.client.connection_pool.disconnect()
            raise StoreUnavailable(f"Redis answered HMGET with {values!r}; reconnecting")
        return {f: float(v) for f, v in zip(fields, values, strict=True) if v is not None}

    # target health -----------------------------------------------------------------------
    def mark_target(self, name: str, healthy: bool, reason: str) -> None:
        """Remember whether a transfer target answered the last time a worker tried it."""
        value = json.dumps({"healthy": healthy, "reason": reason, "at": time.time()})
        self.client.hset(self.key("targets"), name, value)

    def target_health(self) -> dict[str, tuple[bool, str, float]]:
        """Target name -> (healthy, reason, when), for `mediacourier status`."""
        found = {}
        for name, raw in self.client.hgetall(self.key("targets")).items():
            item = json.loads(raw)
            found[name] = (bool(item["healthy"]), item.get("reason", ""), float(item["at"]))
        return found
