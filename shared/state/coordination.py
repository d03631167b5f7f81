"""The store's coordination keys: locks (leases, see leases.py), in-flight markers, pause
state and target health — who may work on what right now. Mixed into RedisStateStore
(store.py beside it), which supplies `client`/`key`."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import redis

from shared.errors import LeaseHeld, StoreUnavailable
from shared.state.leases import Leases, held

DEFAULT_LEASE_SECONDS = 30.0
RETRY_SLEEP = 0.1


def file_lease_name(source: str, rel: str) -> str:
    """The name of a file's lease (`P:lock:file:<source>:<rel>`)."""
    return f"file:{source}:{rel}"


def inflight_field(source: str, rel: str, size: int, mtime_ns: int) -> str:
    """A field of `P:inflight` (the store's encoding, see store.py)."""
    return "\0".join((source, rel, str(size), str(mtime_ns)))


class CoordinationKeys:
    client: redis.Redis

    def key(self, *parts: str) -> str:
        raise NotImplementedError

    # locks: leases renewed by a heartbeat (leases.py) ----------------------------------
    def lease_keys(self, names: list[str]) -> dict[str, str]:
        return {name: self.key("lock", name) for name in names}

    def acquire_many(self, names: list[str], ttl: float) -> Leases:
        """Take many leases in one round trip, renewed together until `release_many`; those
        held elsewhere are left out (`Leases.tokens` names the ones taken)."""
        leases = Leases(self.client, self.lease_keys(names), ttl)
        leases.acquire()
        return leases

    def release_many(self, leases: Leases) -> None:
        """Release leases taken by `acquire_many`, leaving any that expired and were re-taken."""
        leases.release()

    @contextmanager
    def lock(self, name: str, ttl: float = DEFAULT_LEASE_SECONDS,
             wait: float = 0.0) -> Iterator[Leases]:
        """A lease on `name`, renewed every ttl/3 while the block runs: a holder that dies frees
        it within `ttl`. LeaseHeld (a FileBusy) when another holder keeps it past `wait` s.

        Yields the lease: `check`/`confirm` before a durable step, or `reacquire()`.
        """
        leases = Leases(self.client, self.lease_keys([name]), ttl)
        deadline = time.monotonic() + wait
        while not leases.acquire():
            # Like redis-py's lock: look every 0.1 s, give up when the next look would be late.
            if time.monotonic() + RETRY_SLEEP > deadline:
                raise LeaseHeld(f"{name} is being handled by another worker")
            time.sleep(RETRY_SLEEP)
        try:
            yield leases
        finally:
            leases.release()

    def leased(self, names: list[str]) -> set[str]:
        """The names among `names` whose lease someone holds now (one round trip, no Lua)."""
        if not names:
            return set()
        values = self.client.mget([self.key("lock", name) for name in names])
        return {name for name, value in zip(names, values, strict=True) if value is not None}

    def confirm_lease(self, name: str) -> None:
        """If this process holds the lease `name`: renew it now, LeaseLost when it is gone.
        Work done without a lease (a caller that took none) passes."""
        leases = held(self.key("lock", name))
        if leases is not None and leases.holds(name):
            leases.confirm(name)

    def check_lease(self, name: str) -> None:
        """Like `confirm_lease` without the round trip: what the heartbeat last found."""
        leases = held(self.key("lock", name))
        if leases is not None:
            leases.check(name)

    # in-flight markers -------------------------------------------------------------------
    def is_inflight(self, source: str, rel: str, size: int, mtime_ns: int) -> bool:
        """Whether this file version is queued (its in-flight marker is set)."""
        return bool(self.client.hexists(self.key("inflight"),
                                        inflight_field(source, rel, size, mtime_ns)))

    def mark_inflight(self, source: str, rel: str, size: int, mtime_ns: int) -> bool:
        """True when this file version was not already queued."""
        field = inflight_field(source, rel, size, mtime_ns)
        return bool(self.client.hsetnx(self.key("inflight"), field, time.time()))

    def mark_inflight_many(self, source: str,
                           versions: list[tuple[str, int, int]]) -> list[bool]:
        """`mark_inflight` of many (rel, size, mtime_ns) in one round trip."""
        if not versions:
            return []
        now = time.time()
        with self.client.pipeline(transaction=False) as pipe:
            for rel, size, mtime_ns in versions:
                pipe.hsetnx(self.key("inflight"), inflight_field(source, rel, size, mtime_ns), now)
            return [bool(fresh) for fresh in pipe.execute()]

    def clear_inflight(self, source: str, rel: str, size: int, mtime_ns: int) -> None:
        self.client.hdel(self.key("inflight"), inflight_field(source, rel, size, mtime_ns))

    def inflight(self) -> dict[str, float]:
        return {k: float(v) for k, v in self.client.hgetall(self.key("inflight")).items()}

    def drop_inflight(self, fields: Iterable[str]) -> None:
        fields = list(fields)
        if fields:
            self.client.hdel(self.key("inflight"), *fields)

    # in-flight liveness (the sweeper, shared/source/sweep.py) ----------------------------
    def touch_inflight(self, fields: list[str], at: float) -> list[str]:
        """Set the time of those in-flight markers among `fields` that still exist (a marker
        cleared meanwhile is not brought back); the fields touched."""
        key = self.key("inflight")
        for _ in range(5):
            with self.client.pipeline() as pipe:
                try:
                    pipe.watch(key)
                    present = [f for f, v in zip(fields, pipe.hmget(key, fields) if fields
                                                 else [], strict=True) if v is not None]
                    pipe.multi()
                    if present:
                        pipe.hset(key, mapping=dict.fromkeys(present, at))
                    pipe.execute()
                    return present
                except redis.WatchError:
                    continue  # a marker was set or cleared meanwhile: read again
        return []

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
