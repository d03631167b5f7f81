"""The store's keys for holding work back: a full destination and its one trial per window,
the delivery counter that stops poison messages, the stage-time histogram, the beat lock, the
queue lengths, and the hold on a source's fetching (P:fetch-hold hash source -> JSON {since,
reason}: an iCloud login that needs a person). Mixed into RedisStateStore (store.py), which
supplies `client` and `key`; the rules that use them live in full_hold.py, metrics.py and
shared/source/icloud_fetch.py."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping

import redis
from redis.lock import Lock

FULL_KEY = "full"
TRIAL_KEY = "full-trial"
DELIVERIES_KEY = "deliveries"
METRICS_KEY = "metrics"
FETCH_HOLD_KEY = "fetch-hold"


class HoldKeys:
    client: redis.Redis

    def key(self, *parts: str) -> str:
        raise NotImplementedError

    # full destinations -------------------------------------------------------------------
    def hold_full_entry(self, name: str, entry: str) -> bool:
        """Record `name` as full unless it already is; True when this starts the episode."""
        return bool(self.client.hsetnx(self.key(FULL_KEY), name, entry))

    def full_entry(self, name: str) -> str | None:
        return self.client.hget(self.key(FULL_KEY), name)

    def full_entries(self) -> dict[str, str]:
        return self.client.hgetall(self.key(FULL_KEY))

    def drop_full_entry(self, name: str) -> bool:
        """Lift the hold and its trial; False when another worker lifted it first."""
        if not self.client.hdel(self.key(FULL_KEY), name):
            return False
        self.client.delete(self.key(TRIAL_KEY, name))
        return True

    def take_full_trial(self, name: str, ttl: float) -> bool:
        """Be the one run in this window that tries a full target."""
        return bool(self.client.set(self.key(TRIAL_KEY, name), uuid.uuid4().hex, nx=True,
                                    px=max(1, int(ttl * 1000))))

    # a source's fetching held until a person logs in again ------------------------------
    def hold_fetch_entry(self, source: str, entry: str) -> bool:
        """Hold `source`'s fetching unless it already is; True when this starts the episode."""
        return bool(self.client.hsetnx(self.key(FETCH_HOLD_KEY), source, entry))

    def fetch_hold_entries(self) -> dict[str, str]:
        return self.client.hgetall(self.key(FETCH_HOLD_KEY))

    def drop_fetch_hold(self, source: str) -> bool:
        """Lift the hold; False when there was none."""
        return bool(self.client.hdel(self.key(FETCH_HOLD_KEY), source))

    # poison messages ---------------------------------------------------------------------
    def count_delivery(self, unit: str, ttl: int) -> tuple[int, int]:
        """Count a delivery of `unit` starting: (the deliveries not finished, this one included;
        how often the unit hit its time limit). A delivery that ends forgets itself, so what
        stays counted are the ones whose worker died (a crash, OOM, a hard time limit)."""
        key = self.key(DELIVERIES_KEY, unit)
        pipe = self.client.pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, ttl)
        pipe.get(f"{key}:timeouts")
        started, _, timeouts = pipe.execute()
        return int(started), int(timeouts or 0)

    def forget_delivery(self, unit: str) -> None:
        """A delivery of `unit` ended (done, waiting, retrying or failed, but not dead)."""
        self.client.decr(self.key(DELIVERIES_KEY, unit))

    def count_timeout(self, unit: str, ttl: int) -> int:
        """`unit` hit its time limit once more; how often it has."""
        key = self.key(DELIVERIES_KEY, unit, "timeouts")
        pipe = self.client.pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, ttl)
        return int(pipe.execute()[0])

    # stage timings -----------------------------------------------------------------------
    def add_histogram(self, fields: Mapping[str, int | float]) -> None:
        """Add to the stage-time histogram's fields in one round trip (ints count, floats sum)."""
        pipe = self.client.pipeline(transaction=False)
        self.add_histogram_into(pipe, fields)
        pipe.execute()

    def add_histogram_into(self, pipe: redis.client.Pipeline,
                           fields: Mapping[str, int | float]) -> None:
        """The commands of `add_histogram`, queued on `pipe` (a batch's one transaction)."""
        key = self.key(METRICS_KEY, "stage_seconds")
        for field, amount in fields.items():
            if isinstance(amount, int):
                pipe.hincrby(key, field, amount)
            else:
                pipe.hincrbyfloat(key, field, amount)

    def histogram(self) -> dict[str, str]:
        return self.client.hgetall(self.key(METRICS_KEY, "stage_seconds"))

    # beat and queues ---------------------------------------------------------------------
    def beat_lock(self, ttl: float) -> Lock:
        """The lock one beat holds while it schedules (`P:lock:beat`)."""
        return self.client.lock(self.key("lock", "beat"), timeout=ttl, thread_local=False)

    def queue_lengths(self, queues: Iterable[str]) -> dict[str, int]:
        """Messages waiting in Celery's queues (their names are not under the prefix)."""
        names = list(queues)
        pipe = self.client.pipeline(transaction=False)
        for name in names:
            pipe.llen(name)
        return dict(zip(names, (int(n) for n in pipe.execute()), strict=True))
