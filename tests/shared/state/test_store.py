"""The Redis state store, run against both fakeredis and the session's real redis-server."""

from __future__ import annotations

import threading
import time

import pytest
import redis

import shared.state.store as store_module
from shared.errors import FileBusy, StoreUnavailable
from shared.state.store import ContentEntry, FileRecord, RedisStateStore

SHA_A = "a" * 64
SHA_B = "b" * 64


@pytest.fixture
def real_store(redis_client: redis.Redis, key_prefix: str) -> RedisStateStore:
    return RedisStateStore(redis_client, key_prefix)


# --- file records --------------------------------------------------------------------------


def test_records_round_trip(store: RedisStateStore) -> None:
    # Given two records, one with a non-ASCII path and a destination containing a tab
    first = FileRecord(size=10, mtime_ns=1_700_000_000_123_456_789, inode=42, sha256=SHA_A,
                       state="ingested", dest="2024/05/IMG 1.jpg")
    second = FileRecord(size=0, mtime_ns=5, dest="odd\tname.jpg")
    store.put_record("phone", "DCIM/IMG 1.jpg", first)
    store.put_record("phone", "Ünïcødé/写真.jpg", second)
    # When they are read back
    # Then every field survives, and a missing one is None
    assert store.get_record("phone", "DCIM/IMG 1.jpg") == first
    assert store.get_record("phone", "Ünïcødé/写真.jpg") == second
    assert store.get_record("phone", "nope.jpg") is None
    assert store.get_record("camera", "DCIM/IMG 1.jpg") is None
    # And all_records gives the raw encodings, keyed by relative path
    raw = store.all_records("phone")
    assert set(raw) == {"DCIM/IMG 1.jpg", "Ünïcødé/写真.jpg"}
    assert FileRecord.decode(raw["DCIM/IMG 1.jpg"]) == first
    # And the keys live under the prefix
    assert store.client.exists(store.key("files", "phone")) == 1


def test_forget_records(store: RedisStateStore) -> None:
    for n in range(5):
        store.put_record("phone", f"{n}.jpg", FileRecord(n, n))
    store.forget_records("phone", ["1.jpg", "3.jpg", "missing.jpg"])
    assert sorted(store.all_records("phone")) == ["0.jpg", "2.jpg", "4.jpg"]


# --- content index -------------------------------------------------------------------------


def test_claim_is_idempotent_for_the_same_owner(store: RedisStateStore) -> None:
    # Given a fresh hash
    # When one owner claims it twice (a retried task)
    # Then both claims succeed
    assert store.claim_content(SHA_A, "phone/IMG_1.jpg@10:1") is None
    assert store.claim_content(SHA_A, "phone/IMG_1.jpg@10:1") is None
    assert store.content(SHA_A) == ContentEntry(owner="phone/IMG_1.jpg@10:1")
    assert store.content(SHA_A).is_claim


def test_claim_by_another_owner_returns_the_holder(store: RedisStateStore) -> None:
    store.claim_content(SHA_A, "first")
    holder = store.claim_content(SHA_A, "second")
    assert holder == ContentEntry(owner="first")
    # And the claim is not changed by the loser
    assert store.content(SHA_A) == ContentEntry(owner="first")


def test_settle_then_content_points_at_the_library_file(store: RedisStateStore) -> None:
    # Given a claimed hash that is then settled at its library path
    store.claim_content(SHA_A, "owner")
    store.settle_content(SHA_A, "photos", "2024/05/IMG\t1.jpg")
    # Then the content index and the library file list point at it
    entry = store.content(SHA_A)
    assert entry == ContentEntry("", "photos", "2024/05/IMG\t1.jpg")
    assert not entry.is_claim
    assert store.library_files("photos") == {"2024/05/IMG\t1.jpg": SHA_A}
    # And a later claim, even by the same owner, gets the library file back (a duplicate)
    assert store.claim_content(SHA_A, "owner") == entry
    assert store.claim_content(SHA_A, "someone") == entry


def test_take_over_content(store: RedisStateStore) -> None:
    # Given a hash settled in a library
    store.settle_content(SHA_A, "photos", "a.jpg")
    stale = store.content(SHA_A)
    assert stale is not None
    # When someone takes over with an out-of-date view, it fails
    assert not store.take_over_content(SHA_A, ContentEntry("", "photos", "b.jpg"), "x")
    assert store.content(SHA_A) == stale
    # When it takes over with the current entry, it holds a claim now
    assert store.take_over_content(SHA_A, stale, "newcomer")
    assert store.content(SHA_A) == ContentEntry(owner="newcomer")
    # And a second take-over with the same stale view fails
    assert not store.take_over_content(SHA_A, stale, "third")
    assert store.claim_content(SHA_A, "newcomer") is None


def test_release_only_by_owner(store: RedisStateStore) -> None:
    store.claim_content(SHA_A, "owner")
    store.release_content(SHA_A, "intruder")
    assert store.content(SHA_A) == ContentEntry(owner="owner")
    store.release_content(SHA_A, "owner")
    assert store.content(SHA_A) is None
    # And a settled entry is never released by a claim owner
    store.settle_content(SHA_B, "photos", "b.jpg")
    store.release_content(SHA_B, "owner")
    assert store.content(SHA_B) == ContentEntry("", "photos", "b.jpg")


def test_forget_library_files_only_drops_entries_pointing_there(store: RedisStateStore) -> None:
    store.settle_content(SHA_A, "photos", "a.jpg")
    store.settle_content(SHA_B, "photos", "b.jpg")
    store.settle_content(SHA_B, "photos", "b-moved.jpg")  # content now points elsewhere
    store.forget_library_files("photos", {"a.jpg": SHA_A, "b.jpg": SHA_B})
    assert store.content(SHA_A) is None
    assert store.content(SHA_B) == ContentEntry("", "photos", "b-moved.jpg")
    assert store.library_files("photos") == {"b-moved.jpg": SHA_B}


# --- in-flight markers ---------------------------------------------------------------------


def test_inflight_mark_and_clear(store: RedisStateStore) -> None:
    # Given a file version marked in flight
    assert store.mark_inflight("phone", "a.jpg", 10, 99)
    # When it is marked again, it says it was already queued
    assert not store.mark_inflight("phone", "a.jpg", 10, 99)
    # And another version of the same file is a separate marker
    assert store.mark_inflight("phone", "a.jpg", 11, 100)
    marks = store.inflight()
    assert set(marks) == {"phone\0a.jpg\x0010\x0099", "phone\0a.jpg\x0011\x00100"}
    assert all(abs(at - time.time()) < 60 for at in marks.values())
    # When one is cleared and the other dropped
    store.clear_inflight("phone", "a.jpg", 10, 99)
    assert set(store.inflight()) == {"phone\0a.jpg\x0011\x00100"}
    store.drop_inflight(list(store.inflight()))
    store.drop_inflight([])
    assert store.inflight() == {}
    assert store.mark_inflight("phone", "a.jpg", 10, 99)


def test_many_versions_are_marked_in_one_call_saying_which_were_new(
        store: RedisStateStore) -> None:
    # Given one version already queued
    assert store.mark_inflight("phone", "a.jpg", 10, 99)
    # When it and two more are marked at once (one of them twice)
    fresh = store.mark_inflight_many("phone", [("a.jpg", 10, 99), ("b.jpg", 5, 1),
                                               ("b.jpg", 5, 1), ("a.jpg", 11, 100)])
    # Then only the versions not queued before count as new, and all are in flight
    assert fresh == [False, True, False, True]
    assert set(store.inflight()) == {"phone\0a.jpg\x0010\x0099", "phone\0b.jpg\x005\x001",
                                     "phone\0a.jpg\x0011\x00100"}
    assert store.mark_inflight_many("phone", []) == []


# --- failures, journal, counters -----------------------------------------------------------


def test_failures(store: RedisStateStore) -> None:
    store.record_failure("phone", "a.jpg", "is a FIFO", path_abs="/src/a.jpg")
    time.sleep(0.01)
    store.record_failure("phone", "b.jpg", "vanished")
    failures = store.failures()
    # Newest first, with the reason and extra fields
    assert [f["path"] for f in failures] == ["b.jpg", "a.jpg"]
    assert failures[1]["reason"] == "is a FIFO"
    assert failures[1]["path_abs"] == "/src/a.jpg"
    assert failures[1]["source"] == "phone"
    # A second failure of the same file replaces the first
    store.record_failure("phone", "a.jpg", "still a FIFO")
    assert len(store.failures()) == 2
    store.clear_failure("phone", "a.jpg")
    assert [f["path"] for f in store.failures()] == ["b.jpg"]


def test_journal_entries_and_counters(store: RedisStateStore) -> None:
    # Given two ingests, a duplicate and a failure
    store.journal("ingested", source="phone", path="a.jpg", bytes=100, reason="")
    store.journal("ingested", source="phone", path="b.jpg", bytes=23, duplicate_of=None)
    store.journal("duplicate", source="phone", path="c.jpg", bytes=1000)
    store.journal("failed", source="phone", path="d.jpg", reason="is a FIFO")
    # Then the journal reads back oldest first, with every field as a string
    entries = store.read_journal()
    assert [e["event"] for e in entries] == ["ingested", "ingested", "duplicate", "failed"]
    assert entries[0]["path"] == "a.jpg" and entries[0]["bytes"] == "100"
    # And empty or None fields are left out
    assert "reason" not in entries[0] and "duplicate_of" not in entries[1]
    assert entries[3]["reason"] == "is a FIFO"
    assert all("id" in e and float(e["at"]) > 0 for e in entries)
    # And the counters count events, bytes only for ingests
    assert store.counters() == {"ingested": 2, "duplicate": 1, "failed": 1, "bytes_ingested": 123}
    # And read_journal(count) gives the newest ones
    assert [e["path"] for e in store.read_journal(2)] == ["c.jpg", "d.jpg"]


def test_journal_is_capped(store: RedisStateStore, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a journal capped (approximately) at 10 entries
    monkeypatch.setattr(store_module, "JOURNAL_MAXLEN", 10)
    # When 600 entries are written
    for n in range(600):
        store.journal("ingested", path=f"{n}.jpg", bytes=1)
    # Then the stream was trimmed (approximate trimming works in whole nodes of ≤ 100 entries)
    length = store.client.xlen(store.key("journal"))
    assert 10 <= length <= 110
    # And the newest entry is kept while the counters still count everything
    assert store.read_journal(1)[0]["path"] == "599.jpg"
    assert store.counters()["ingested"] == 600


# --- rescan requests -----------------------------------------------------------------------


def test_mark_dirty_is_true_once_per_window(store: RedisStateStore) -> None:
    # Given a 200 ms debounce window
    # When three folders are marked within it
    results = [store.mark_dirty("immich", f"/lib/{n}", 0.2) for n in range(3)]
    # Then only the first caller is told to schedule the flush
    assert results == [True, False, False]
    assert set(store.dirty_folders("immich")) == {"/lib/0", "/lib/1", "/lib/2"}
    # And another target has its own window
    assert store.mark_dirty("plex", "/lib/0", 0.2)
    # When the window has passed, the next mark opens a new one
    time.sleep(0.3)
    assert store.mark_dirty("immich", "/lib/3", 0.2)


def test_clear_dirty_keeps_folders_marked_again_after_the_read(store: RedisStateStore) -> None:
    # Given two dirty folders, read by a flush
    store.mark_dirty("immich", "/lib/a", 10)
    store.mark_dirty("immich", "/lib/b", 10)
    seen = store.dirty_folders("immich")
    # When /lib/a is marked again while the flush runs its command
    time.sleep(0.01)
    store.mark_dirty("immich", "/lib/a", 10)
    store.clear_dirty("immich", seen)
    # Then only /lib/b is cleared: /lib/a needs another scan
    assert list(store.dirty_folders("immich")) == ["/lib/a"]
    # And clearing with an empty view changes nothing
    store.clear_dirty("immich", {})
    assert list(store.dirty_folders("immich")) == ["/lib/a"]


# --- locks (leases: tests/shared/state/test_leases.py) ---------------------------------------


def test_lock_raises_file_busy_when_held(real_store: RedisStateStore) -> None:
    # Given one worker holding the lock on a file
    with real_store.lock("file:phone:a.jpg", ttl=10):
        # When another worker asks for it, without waiting and with a short wait
        with pytest.raises(FileBusy, match="file:phone:a.jpg"), real_store.lock(
            "file:phone:a.jpg", ttl=10
        ):
            pass
        started = time.monotonic()
        with pytest.raises(FileBusy), real_store.lock("file:phone:a.jpg", ttl=10, wait=0.35):
            pass
        # (redis-py retries every 0.1 s and gives up when the next try would pass `wait`)
        assert 0.25 <= time.monotonic() - started < 2
        # And another file's lock is free
        with real_store.lock("file:phone:b.jpg", ttl=10):
            pass
    # Then after release it can be taken again
    with real_store.lock("file:phone:a.jpg", ttl=10):
        pass


def test_lock_that_expired_while_held_exits_quietly(real_store: RedisStateStore) -> None:
    with real_store.lock("slow", ttl=0.05):
        time.sleep(0.15)
    with real_store.lock("slow", ttl=1):
        pass


# --- availability and races ----------------------------------------------------------------


def test_ping_of_an_unreachable_server_is_store_unavailable() -> None:
    client = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5,
                         decode_responses=True, retry_on_error=[], retry=None)
    with pytest.raises(StoreUnavailable, match="Redis unreachable"):
        RedisStateStore(client, "x").ping()


def test_ping_of_the_real_server(real_store: RedisStateStore) -> None:
    real_store.ping()


def test_two_workers_racing_for_the_same_content_have_one_winner(redis_url: str,
                                                                 key_prefix: str,
                                                                 redis_client: redis.Redis
                                                                 ) -> None:
    # Given two workers with their own connections, released together for each of 200 hashes
    stores = [RedisStateStore(redis.Redis.from_url(redis_url, decode_responses=True), key_prefix)
              for _ in range(2)]
    rounds = 200
    barrier = threading.Barrier(2)
    results: list[list[ContentEntry | None]] = [[], []]
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            for n in range(rounds):
                barrier.wait(timeout=10)
                results[index].append(stores[index].claim_content(f"{n:064x}", f"w{index}"))
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    for s in stores:
        s.client.close()
    assert not errors
    # Then each round has exactly one winner, and the loser was told who holds the content
    for n in range(rounds):
        first, second = results[0][n], results[1][n]
        assert (first is None) != (second is None), f"round {n}: {first!r} / {second!r}"
        winner = "w0" if first is None else "w1"
        loser_view = second if first is None else first
        assert loser_view == ContentEntry(owner=winner)
        assert RedisStateStore(redis_client, key_prefix).content(f"{n:064x}") == (
            ContentEntry(owner=winner))
