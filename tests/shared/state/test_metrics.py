"""mediacourier's Prometheus metrics: counters and stage histograms kept in Redis."""

from __future__ import annotations

import fakeredis
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from shared.config import parse_listen
from shared.errors import ConfigError
from shared.state.metrics import RedisCollector, observe_timings
from shared.state.store import RedisStateStore


def scrape(store: RedisStateStore) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RedisCollector(store))
    text = generate_latest(registry).decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_counters_come_from_the_journal_of_all_processes() -> None:
    # Given two "processes" (two clients of one Redis) journaling outcomes
    server = fakeredis.FakeServer()
    one = RedisStateStore(fakeredis.FakeRedis(server=server, decode_responses=True), "mc")
    two = RedisStateStore(fakeredis.FakeRedis(server=server, decode_responses=True), "mc")
    one.journal("ingested", bytes=1000)
    two.journal("ingested", bytes=24)
    two.journal("duplicate", bytes=5)
    one.journal("failed")
    one.set_paused("source", "phone", True)
    # When a third client scrapes
    samples = scrape(RedisStateStore(fakeredis.FakeRedis(server=server, decode_responses=True),
                                     "mc"))
    # Then the sums are what both wrote
    assert samples[("mediacourier_files_ingested_total", ())] == 2
    assert samples[("mediacourier_bytes_ingested_total", ())] == 1024
    assert samples[("mediacourier_duplicates_total", ())] == 1
    assert samples[("mediacourier_failures_total", ())] == 1
    assert samples[("mediacourier_rescans_total", ())] == 0
    assert samples[("mediacourier_paused", (("kind", "source"), ("name", "phone")))] == 1


def test_stage_durations_are_a_cumulative_histogram() -> None:
    store = RedisStateStore(fakeredis.FakeRedis(decode_responses=True), "mc")
    observe_timings(store, {"hash_file": 0.003, "transfer_file": 0.2})
    observe_timings(store, {"hash_file": 0.04})
    samples = scrape(store)
    bucket = "mediacourier_stage_duration_seconds_bucket"
    assert samples[(bucket, (("le", "0.005"), ("stage", "hash_file")))] == 1
    assert samples[(bucket, (("le", "0.025"), ("stage", "hash_file")))] == 1
    assert samples[(bucket, (("le", "0.05"), ("stage", "hash_file")))] == 2
    assert samples[(bucket, (("le", "+Inf"), ("stage", "hash_file")))] == 2
    assert samples[("mediacourier_stage_duration_seconds_count", (("stage", "hash_file"),))] == 2
    assert samples[("mediacourier_stage_duration_seconds_sum", (("stage", "hash_file"),))] == (
        pytest.approx(0.043))
    assert samples[(bucket, (("le", "0.1"), ("stage", "transfer_file")))] == 0
    assert samples[(bucket, (("le", "0.25"), ("stage", "transfer_file")))] == 1


def test_listen_addresses() -> None:
    assert parse_listen("127.0.0.1:9808") == ("127.0.0.1", 9808)
    assert parse_listen("[::1]:9808") == ("::1", 9808)
    assert parse_listen("0.0.0.0:1") == ("0.0.0.0", 1)
    for bad in ("9808", "localhost", "host.lan:9808", "127.0.0.1:x", "127.0.0.1:70000"):
        with pytest.raises(ConfigError, match="metrics_listen"):
            parse_listen(bad)
