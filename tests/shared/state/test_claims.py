"""Content claims are leases: they carry their owner and a time, are renewed by their owner,
and a stale one is taken over by exactly one job, atomically. Over fakeredis and the real
redis-server (like test_store.py)."""

from __future__ import annotations

import threading

import pytest
import redis

from shared.state.store import ContentEntry, RedisStateStore

SHA = "c" * 64


def test_a_claim_carries_its_owner_and_a_lease_on_the_server_clock(
    store: RedisStateStore,
) -> None:
    # Given a claim with a 60 s lease
    before = store.server_time()
    assert store.claim_content(SHA, "cam/a.jpg@10:1", lease=60) is None
    after = store.server_time()
    # When it is read back
    entry = store.content(SHA)
    # Then it names its owner, when it was made, and when its lease runs out
    assert entry is not None and entry.owner == "cam/a.jpg@10:1"
    assert before - 0.01 <= entry.claimed_at <= after + 0.01
    assert entry.lease_until == pytest.approx(entry.claimed_at + 60, abs=0.01)
    assert not entry.expired(after) and entry.expired(entry.lease_until)
    # And another job finds that claim, not its own
    assert store.claim_content(SHA, "cam/b.jpg@10:2", lease=60) == ContentEntry(
        owner="cam/a.jpg@10:1")


def test_only_the_owner_renews_its_lease(store: RedisStateStore) -> None:
    # Given a claim whose lease is about to end
    store.claim_content(SHA, "owner", lease=1)
    first = store.content(SHA)
    assert first is not None
    # When its owner renews it for an hour, and someone else tries to
    assert store.renew_content(SHA, "owner", lease=3600)
    assert not store.renew_content(SHA, "intruder", lease=3600)
    # Then the lease runs an hour from now, and the claim keeps its owner and start time
    renewed = store.content(SHA)
    assert renewed is not None and renewed.owner == "owner"
    assert renewed.lease_until >= first.lease_until + 3500
    assert renewed.claimed_at == first.claimed_at
    # And a claim that settled into a library file is no longer renewable
    store.settle_content(SHA, "photos", "a.jpg")
    assert not store.renew_content(SHA, "owner")
    assert store.content(SHA) == ContentEntry("", "photos", "a.jpg")


def test_a_stale_claim_is_taken_over_only_as_it_was_read(store: RedisStateStore) -> None:
    # Given a claim read as stale by a newcomer
    store.claim_content(SHA, "gone", lease=-1)
    stale = store.content(SHA)
    assert stale is not None and stale.expired(store.server_time())
    # When its owner comes back and renews it before the newcomer acts
    store.renew_content(SHA, "gone", lease=60)
    # Then the take-over of what was read fails, and the owner keeps its claim
    assert not store.take_over_content(SHA, stale, "newcomer")
    assert store.content(SHA) == ContentEntry(owner="gone")
    # And once it is read anew and taken over, the newcomer holds a fresh lease
    current = store.content(SHA)
    assert current is not None and store.take_over_content(SHA, current, "newcomer", lease=30)
    taken = store.content(SHA)
    assert taken is not None and taken.owner == "newcomer" and not taken.expired(
        store.server_time())


def test_a_claim_from_before_leases_counts_as_expired(store: RedisStateStore) -> None:
    # Given a claim in the old format, with no times (it never expired, and leaked)
    store.client.hset(store.key("content"), SHA, "claim\tcam/old\tname.jpg@5:6")
    # When it is read / Then its owner is intact and it has expired, so it can be taken over
    entry = store.content(SHA)
    assert entry is not None and entry.owner == "cam/old\tname.jpg@5:6"
    assert entry.expired(store.server_time())
    assert store.take_over_content(SHA, entry, "newcomer")
    assert store.content(SHA) == ContentEntry(owner="newcomer")


def test_two_workers_taking_over_one_stale_claim_one_wins(
    redis_client: redis.Redis, key_prefix: str
) -> None:
    # Given an expired claim seen as stale by eight workers at once (each its own connection)
    store = RedisStateStore(redis_client, key_prefix)
    store.claim_content(SHA, "dead worker", lease=-1)
    stale = store.content(SHA)
    assert stale is not None
    start = threading.Barrier(8)
    won: list[str] = []

    def take(n: int) -> None:
        mine = RedisStateStore(redis.Redis.from_url(store_url(redis_client),
                                                    decode_responses=True), key_prefix)
        start.wait()
        if mine.take_over_content(SHA, stale, f"w{n}"):
            won.append(f"w{n}")
        mine.client.close()

    threads = [threading.Thread(target=take, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    # Then exactly one took it, and the claim is that one's
    assert len(won) == 1
    assert store.content(SHA) == ContentEntry(owner=won[0])


def store_url(client: redis.Redis) -> str:
    kwargs = client.connection_pool.connection_kwargs
    return f"redis://{kwargs['host']}:{kwargs['port']}/{kwargs.get('db', 0)}"


def test_claim_many_claims_the_free_hashes_in_order_and_leaves_the_held_ones(
    store: RedisStateStore,
) -> None:
    # Given one hash already claimed by another file and one already in a library
    store.claim_content("a" * 64, "cam/other.jpg@1:1", lease=60)
    store.settle_content("b" * 64, "lib", "2024/kept.jpg")
    wanted = [("a" * 64, "cam/a.jpg@1:1"), ("b" * 64, "cam/b.jpg@1:1"),
              ("d" * 64, "cam/d.jpg@1:1"), ("d" * 64, "cam/twin.jpg@1:1")]
    # When a batch claims four (sha256, owner) pairs at once
    claimed = store.claim_many(wanted, lease=60)
    # Then only the free hash is claimed, by the first of the two that want it
    assert claimed == {("d" * 64, "cam/d.jpg@1:1")}
    entry = store.content("d" * 64)
    assert entry is not None and entry.owner == "cam/d.jpg@1:1" and entry.is_claim
    # … and the other claim and the library entry are untouched
    assert store.content("a" * 64).owner == "cam/other.jpg@1:1"  # type: ignore[union-attr]
    assert store.content("b" * 64).rel_path == "2024/kept.jpg"  # type: ignore[union-attr]
