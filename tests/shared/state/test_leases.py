"""Leases (shared/state/leases.py, holders.py) against the real redis-server: renewed while the
holder works, free within their TTL once the holder is gone (at once when it was a process of
this machine), and a lost lease is found before the holder acts on it."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import fakeredis
import pytest
import redis

from shared.errors import LeaseHeld, LeaseLost
from shared.state import RedisStateStore

REPO = Path(__file__).resolve().parents[3]
NAME = "file:cam:IMG_0001.JPG"
FOREIGN = "nas|4026531836|4242|0123456789abcdef"  # a holder on another machine


def _holder(url: str, prefix: str, ttl: float, elsewhere: bool) -> subprocess.Popen[str]:
    """A process that takes the lease, says so, and works until it is killed. `elsewhere`:
    its tokens name another machine, like a worker on another host would."""
    code = textwrap.dedent(f"""
        import sys, time
        import shared.state.holders as holders
        if {elsewhere!r}:
            holders._MACHINE = "another-host|1"
        from shared.state import RedisStateStore
        store = RedisStateStore.from_url({url!r}, {prefix!r})
        with store.lock({NAME!r}, ttl={ttl!r}):
            print("held", flush=True)
            time.sleep(600)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def _take(store: RedisStateStore, ttl: float, within: float) -> float:
    """Seconds until this process could take the lease (AssertionError after `within`)."""
    started = time.monotonic()
    while True:
        try:
            with store.lock(NAME, ttl=ttl):
                return time.monotonic() - started
        except LeaseHeld:
            if time.monotonic() - started > within:
                raise AssertionError(f"still held after {within} s") from None
            time.sleep(0.05)


@pytest.mark.parametrize("elsewhere", [False, True], ids=["same-machine", "other-machine"])
def test_a_killed_holder_frees_its_lease_within_the_ttl(redis_url: str, key_prefix: str,
                                                        redis_client: redis.Redis,
                                                        elsewhere: bool) -> None:
    # Given another process holding a 1.5 s lease and working for more than three of them
    ttl = 1.5
    store = RedisStateStore.from_url(redis_url, key_prefix)
    holder = _holder(redis_url, key_prefix, ttl, elsewhere)
    try:
        deadline = time.monotonic() + 3.5 * ttl
        while time.monotonic() < deadline:
            # Then its heartbeat keeps the lease: nobody else gets it meanwhile
            with pytest.raises(LeaseHeld):
                store.lock(NAME, ttl=ttl).__enter__()
            time.sleep(0.2)
    finally:
        # When it is SIGKILLed (no `finally`, no release)
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # Then this process takes the file within the TTL (plus a second of slack); a holder of
    # this machine is seen to be gone at once, one elsewhere is waited out
    waited = _take(store, ttl, within=ttl + 1.0)
    if elsewhere:
        assert waited > 0.3, "a lease of another machine is waited out, not taken over"
    else:
        assert waited < 0.5, "a dead process of this machine is not waited for"


def test_a_renewed_lease_outlives_several_ttls_while_its_holder_works(
        redis_client: redis.Redis, key_prefix: str) -> None:
    store = RedisStateStore(redis_client, key_prefix)
    other = RedisStateStore(redis.Redis(connection_pool=redis_client.connection_pool),
                            key_prefix)
    # Given a lease of 0.6 s held by a block that works for 2 s
    with store.lock(NAME, ttl=0.6) as lease:
        for _ in range(10):
            time.sleep(0.2)
            # Then another worker cannot take it at any time meanwhile
            with pytest.raises(LeaseHeld):
                other.lock(NAME, ttl=0.6).__enter__()
        lease.check(NAME)  # and the holder never saw it lost
        assert 0 < redis_client.pttl(store.key("lock", NAME)) <= 600
    # When the block ends, the lease is given back at once and its heartbeat stops
    assert redis_client.get(store.key("lock", NAME)) is None
    assert not [t for t in threading.enumerate() if t.name == f"lease:{NAME}"]


def test_a_lost_lease_is_found_before_the_next_durable_step(redis_client: redis.Redis,
                                                            key_prefix: str) -> None:
    store = RedisStateStore(redis_client, key_prefix)
    key = store.key("lock", NAME)
    with store.lock(NAME, ttl=0.9) as lease:
        # Given the lease ran out (a frozen process) and another worker took the file
        redis_client.set(key, FOREIGN, px=30_000)
        # Then asking Redis before a durable step says so
        with pytest.raises(LeaseLost, match=NAME):
            lease.confirm(NAME)
        # … and the heartbeat finds it too, for the cheap check at the next stage boundary
        deadline = time.monotonic() + 0.9
        while not lease.lost(NAME) and time.monotonic() < deadline:
            time.sleep(0.05)
        with pytest.raises(LeaseLost):
            lease.check(NAME)
    # And releasing leaves the new holder's lease alone
    assert redis_client.get(key) == FOREIGN


def test_a_live_holder_of_this_machine_is_not_taken_over(redis_client: redis.Redis,
                                                         key_prefix: str) -> None:
    # Given a lease held by a live process of this machine (this one, in another block)
    store = RedisStateStore(redis_client, key_prefix)
    with store.lock(NAME, ttl=5), pytest.raises(LeaseHeld, match="another worker"):
        # Then a second taker in the same process is refused, not handed the lease
        store.lock(NAME, ttl=5).__enter__()


def test_leases_need_no_lua_and_run_on_fakeredis(fake_redis: fakeredis.FakeRedis) -> None:
    # Given the fake Redis of the fast tests (no Lua without `lupa`)
    store = RedisStateStore(fake_redis, "mc-fake-lease")
    # Then many leases can be taken, renewed, refused while held and released
    leases = store.acquire_many(["a", "b"], ttl=5)
    assert set(leases) == {"a", "b"}
    assert leases.renew() == set()
    later = store.acquire_many(["b", "c"], ttl=5)
    assert set(later) == {"c"}
    store.release_many(leases)
    assert store.leased(["a", "b", "c"]) == {"c"}
    store.release_many(later)
    assert store.leased(["a", "b", "c"]) == set()
