"""Leases: locks with a short TTL that a heartbeat renews while their holder works.

A holder that dies (SIGKILL, the OOM killer, a lost machine) stops renewing, so its lease runs
out within one TTL and the file is free for whoever comes next; a holder that lives keeps it for
as long as it works, however long that is. A renewal that finds the key gone or holding another
token marks the lease lost: the holder is to stop before its next durable step (`check`, or
`confirm`, which asks Redis) instead of acting on a file that someone else may now hold.

The leases this process holds are registered by key, so code deep in a stage can confirm the
lease of the file it is about to release (`held`) without it being passed down.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping

import redis

from shared.errors import LeaseLost
from shared.state.holders import holder_gone, new_token

log = logging.getLogger(__name__)

# Compare-and-set without Lua (so fakeredis runs it too): WATCH the keys, read them, and act on
# the ones still holding our token in MULTI/EXEC; a key changed meanwhile makes EXEC fail and we
# read again.
ATTEMPTS = 3

_HELD: dict[str, Leases] = {}
_HELD_LOCK = threading.Lock()


def held(key: str) -> Leases | None:
    """The leases of this process that include `key`, if any."""
    with _HELD_LOCK:
        return _HELD.get(key)


class Leases(Mapping[str, str]):
    """Leases on one or more keys, taken together, renewed together by one heartbeat thread.
    As a mapping: the names taken, each to its token."""

    def __init__(self, client: redis.Redis, keys: dict[str, str], ttl: float) -> None:
        """`keys`: name -> Redis key. Nothing is taken until `acquire`."""
        self.client, self.keys, self.ttl = client, keys, ttl
        self.tokens: dict[str, str] = {}
        self._lost: set[str] = set()
        self._guard = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __getitem__(self, name: str) -> str:
        return self.tokens[name]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self.tokens))

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def ttl_ms(self) -> int:
        return max(1, int(self.ttl * 1000))

    # taking and giving back ----------------------------------------------------------------
    def acquire(self, names: list[str] | None = None) -> set[str]:
        """Take what is free among `names` (all by default) in one round trip; the names taken.
        The heartbeat starts with the first lease taken."""
        wanted = [n for n in (self.keys if names is None else names) if n not in self.tokens]
        tokens = {name: new_token() for name in wanted}
        pipe = self.client.pipeline(transaction=False)
        for name, token in tokens.items():
            pipe.set(self.keys[name], token, nx=True, px=self.ttl_ms)
        taken = {name for name, ok in zip(tokens, pipe.execute(), strict=True) if ok}
        if len(taken) < len(tokens):
            taken |= self._take_from_the_dead({n: t for n, t in tokens.items() if n not in taken})
        with self._guard:
            self.tokens.update({name: tokens[name] for name in taken})
        with _HELD_LOCK:
            _HELD.update({self.keys[name]: self for name in taken})
        if self.tokens and self._thread is None:
            self._thread = threading.Thread(target=self._beat, daemon=True,
                                            name=f"lease:{next(iter(self.tokens))}")
            self._thread.start()
        return taken

    def _take_from_the_dead(self, tokens: dict[str, str]) -> set[str]:
        """Take over the leases among `tokens` whose holder is a process of this machine that
        has exited (holders.py), each only if its key still holds that holder's token."""
        keys = [self.keys[name] for name in tokens]
        current = self.client.mget(keys)
        dead = {name: old for name, old in zip(tokens, current, strict=True)
                if old is not None and holder_gone(old, mine=held(self.keys[name]) is not None)}
        if not dead:
            return set()
        ttl_ms = self.ttl_ms

        def take(pipe: redis.client.Pipeline, key: str) -> None:
            pipe.set(key, tokens[names_by_key[key]], px=ttl_ms)

        names_by_key = {self.keys[name]: name for name in dead}
        taken = self._where_ours(dead, take)
        for name in taken:
            log.warning("%s: took over the lease of %s, which has exited", name, dead[name])
        with self._guard:
            self.tokens.update({name: tokens[name] for name in taken})
        return taken

    def release(self) -> None:
        """Stop the heartbeat and delete the keys that still hold our tokens."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=self.ttl)
        with self._guard:
            tokens, self.tokens = dict(self.tokens), {}
        with _HELD_LOCK:
            for name in tokens:
                if _HELD.get(self.keys[name]) is self:
                    del _HELD[self.keys[name]]
        if tokens:
            self._where_ours(tokens, lambda pipe, key: pipe.delete(key))

    def __enter__(self) -> Leases:
        return self

    def __exit__(self, *_: object) -> None:
        self.release()

    # renewing ------------------------------------------------------------------------------
    def renew(self, names: list[str] | None = None) -> set[str]:
        """Give the leases (all by default) their TTL again; the names found lost."""
        with self._guard:
            live = {n: t for n, t in self.tokens.items()
                    if n not in self._lost and (names is None or n in names)}
        if not live:
            return self._lost & set(names if names is not None else self.tokens)
        ttl_ms = self.ttl_ms
        lost = set(live) - self._where_ours(live, lambda pipe, key: pipe.pexpire(key, ttl_ms))
        if lost:
            log.warning("lease lost (expired or taken over): %s", ", ".join(sorted(lost)))
            with self._guard:
                self._lost |= lost
        return lost

    def _where_ours(self, tokens: dict[str, str],
                    act: Callable[[redis.client.Pipeline, str], object]) -> set[str]:
        """Apply `act` to the keys that still hold our tokens, atomically; those names."""
        keys = [self.keys[name] for name in tokens]
        for attempt in range(ATTEMPTS):
            with self.client.pipeline() as pipe:
                try:
                    pipe.watch(*keys)
                    current = pipe.mget(keys)
                    ours = [(n, k) for (n, t), k, v in zip(tokens.items(), keys, current,
                                                           strict=True) if v == t]
                    pipe.multi()
                    for _, key in ours:
                        act(pipe, key)
                    pipe.execute()
                    return {name for name, _ in ours}
                except redis.WatchError:
                    if attempt == ATTEMPTS - 1:
                        raise
        return set()

    def _beat(self) -> None:
        """Renew every TTL/3 until released. Redis away: keep trying; once a whole TTL has
        passed since the last renewal that got through, every lease has run out."""
        last_ok = time.monotonic()
        while not self._stop.wait(self.ttl / 3):
            started = time.monotonic()
            try:
                self.renew()
                last_ok = started
                with self._guard:
                    if self._lost >= set(self.tokens):
                        return  # nothing left to renew
            except redis.RedisError as exc:
                if time.monotonic() - last_ok >= self.ttl:
                    with self._guard:
                        self._lost |= set(self.tokens)
                    log.warning("lease renewal failed for a whole TTL (%s): leases lost", exc)
                    return
                log.info("lease renewal failed (%s); trying again", exc)

    # checking ------------------------------------------------------------------------------
    def holds(self, name: str) -> bool:
        with self._guard:
            return name in self.tokens

    def lost(self, name: str) -> bool:
        """What the heartbeat found last (no round trip)."""
        with self._guard:
            return name in self._lost

    def check(self, name: str) -> None:
        """LeaseLost when the heartbeat found `name` lost: the cheap check at a stage boundary."""
        if self.lost(name):
            raise LeaseLost(f"{name}: its lease was lost (it ran out while this worker was at "
                            "work, so another worker may hold it now); stopping here")

    def confirm(self, name: str) -> None:
        """Renew `name` now, in a round trip; LeaseLost when it is no longer ours. After it
        returns the lease is ours for a whole TTL: the check before a source is released."""
        self.renew([name])
        self.check(name)

    def reacquire(self) -> None:
        """Renew every lease now; LeaseLost if one is gone (for long holders of one lock)."""
        for name in self.renew() or ():
            self.check(name)
