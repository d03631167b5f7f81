"""A file's journal entry is stored compact and read back whole (shared/state/journal.py
pack_entry/unpack_entry): what `history` and `trace` read is what was journaled."""

from __future__ import annotations

import json

import redis

from shared.state import RedisStateStore, typed_entry

STAGES = ("hash_file", "claim_content", "transfer_file", "verify_copy", "request_rescan")


def _file_entry(store: RedisStateStore, index: int, hosts: dict[str, str] | None = None) -> None:
    timings = {name: round(0.001234 * (n + 1), 6) for n, name in enumerate(STAGES)}
    store.journal(
        "ingested", source="cam", path=f"2024/06/IMG_{index:05d}.jpg", library="lib",
        dest=f"2024/2024-06-01/IMG_{index:05d}.jpg", duplicate_of="", sha256="ab" * 32,
        bytes=2_400_000, copied=1, seconds="0.123", reason="", host="worker-1",
        hosts=json.dumps(hosts or {**dict.fromkeys(STAGES, "worker-1"),
                                   "record_outcome": "worker-1"}, sort_keys=True),
        timings=json.dumps(timings, sort_keys=True))


def test_a_files_entry_costs_under_250_bytes_and_reads_back_whole(
        redis_client: redis.Redis, key_prefix: str) -> None:
    # Given 2,000 files journaled as record_outcome journals them (one host for every stage)
    store = RedisStateStore(redis_client, key_prefix)
    for index in range(2000):
        _file_entry(store, index)
    # When the journal's memory is measured and an entry read back
    per_entry = redis_client.memory_usage(store.key("journal"), samples=0) / 2000
    entry = store.read_journal(1)[0]
    # Then an entry costs less than half of the 492 bytes it took as journaled
    assert per_entry < 250, per_entry
    # … and reads back with its time, every stage's host and its timings to the microsecond
    assert abs(float(entry["at"]) - float(entry["id"].split("-")[0]) / 1000) < 0.001
    assert json.loads(entry["hosts"]) == {**dict.fromkeys(STAGES, "worker-1"),
                                          "record_outcome": "worker-1"}
    assert json.loads(entry["timings"]) == {
        name: round(0.001234 * (n + 1), 6) for n, name in enumerate(STAGES)}
    typed = typed_entry(entry)
    assert typed["path"] == "2024/06/IMG_01999.jpg" and typed["copied"] is True
    assert typed["at"].startswith("20")


def test_stages_on_other_hosts_keep_their_hosts(redis_client: redis.Redis,
                                                key_prefix: str) -> None:
    # Given a file whose copy ran on another host than the one that recorded it
    store = RedisStateStore(redis_client, key_prefix)
    hosts = {**dict.fromkeys(STAGES, "worker-1"), "transfer_file": "nas",
             "record_outcome": "worker-1"}
    _file_entry(store, 1, hosts)
    # When it is read back
    entry = store.read_journal(1)[0]
    # Then every stage names the host it ran on
    assert json.loads(entry["hosts"]) == hosts
