"""Notifications through the real Apprise library to a small HTTP endpoint on loopback (Apprise's
`json://`): one message per episode of a hold, failures gathered and rate-limited, conflicts and
scrub mismatches, the daily summary once a day, and nothing lost while the service is down."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import fakeredis
import pytest

from shared.config import NotifyConfig
from shared.notify import notify_tick
from shared.state import RedisStateStore


class Endpoint:
    """An HTTP server on a free loopback port that keeps every JSON body posted to it."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.status = 200
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if endpoint.status == 200:
                    endpoint.received.append(json.loads(body))
                self.send_response(endpoint.status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"json://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def titles(self) -> list[str]:
        return [m["title"] for m in self.received]


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    served = Endpoint()
    yield served
    served.server.shutdown()
    served.server.server_close()


@pytest.fixture
def store(fake_redis: fakeredis.FakeRedis) -> RedisStateStore:
    return RedisStateStore(fake_redis, "mc")


NOON = dt.datetime(2026, 12, 2, 12, 0).timestamp()


def config(endpoint: Endpoint, *events: str) -> NotifyConfig:
    return NotifyConfig(name="phone", urls=(endpoint.url,),
                        events=events or ("failures", "holds", "conflicts", "scrub"),
                        min_interval=3600.0, paused_after=86400.0, summary_at="08:00")


def test_an_outage_is_one_message_however_long_it_lasts(endpoint: Endpoint,
                                                        store: RedisStateStore) -> None:
    # Given a notifier that has looked once, then a target that stops answering
    conf = config(endpoint)
    notify_tick(conf, store, NOON)
    store.mark_target("nas", False, "connection refused")
    # When the notifier looks every minute for an hour
    for minute in range(60):
        notify_tick(conf, store, NOON + 60 * minute)
    # Then the endpoint got exactly one message, naming the target and why
    assert endpoint.titles() == ["mediacourier: 1 on hold"]
    assert endpoint.received[0]["message"] == "target nas unreachable: connection refused"
    # When the target comes back, Then nothing is sent; when it drops again, one new message
    store.mark_target("nas", True, "")
    notify_tick(conf, store, NOON + 3600)
    store.mark_target("nas", False, "no route to host")
    notify_tick(conf, store, NOON + 3660)
    notify_tick(conf, store, NOON + 3720)
    assert len(endpoint.received) == 2
    assert endpoint.received[1]["message"] == "target nas unreachable: no route to host"


def test_failures_are_gathered_into_one_message_per_interval(endpoint: Endpoint,
                                                             store: RedisStateStore) -> None:
    # Given a notifier that has looked once, then 30 files failing in a burst
    conf = config(endpoint)
    notify_tick(conf, store, NOON)
    for n in range(30):
        store.journal("failed", source="cam", path=f"IMG_{n}.jpg", reason="disk error")
    # When it looks, Then one message counts them all and shows a few
    notify_tick(conf, store, NOON + 60)
    assert endpoint.titles() == ["mediacourier: 30 failures"]
    assert endpoint.received[0]["message"].startswith("cam:IMG_0.jpg: disk error\n")
    assert endpoint.received[0]["message"].endswith("… and 25 more")
    # When more fail within the hour, Then they wait; after it, one more message
    store.journal("failed", source="cam", path="IMG_99.jpg", reason="disk error")
    notify_tick(conf, store, NOON + 600)
    assert len(endpoint.received) == 1
    notify_tick(conf, store, NOON + 60 + 3600)
    assert endpoint.titles()[1] == "mediacourier: 1 failures"


def test_conflicts_and_scrub_mismatches_each_get_their_message(
        endpoint: Endpoint, store: RedisStateStore) -> None:
    # Given a mirror conflict and a damaged library file, journaled after the first look
    conf = config(endpoint)
    notify_tick(conf, store, NOON)
    store.journal("mirror_conflict", source="usb", path="a.jpg", kind="modified_both",
                  reason="modified_both: reported: both sides kept")
    store.journal("scrub_mismatch", source="photos", path="b.jpg", reason="reads as sha256 x")
    # When the notifier looks
    notify_tick(conf, store, NOON + 60)
    # Then one message each, naming the file
    assert sorted(endpoint.titles()) == ["mediacourier: 1 damaged library files (scrub)",
                                         "mediacourier: 1 mirror conflicts"]
    assert any("usb:a.jpg: modified_both" in m["message"] for m in endpoint.received)


def test_events_not_subscribed_are_not_sent(endpoint: Endpoint, store: RedisStateStore) -> None:
    # Given a notifier for scrub mismatches only, When a file fails and a target is full
    conf = config(endpoint, "scrub")
    notify_tick(conf, store, NOON)
    store.journal("failed", source="cam", path="x.jpg", reason="boom")
    store.hold_full_entry("photos", json.dumps({"since": NOON, "reason": "no space left"}))
    notify_tick(conf, store, NOON + 60)
    # Then nothing is sent
    assert endpoint.received == []


def test_the_daily_summary_is_sent_once_a_day(endpoint: Endpoint,
                                              store: RedisStateStore) -> None:
    # Given a notifier with the summary at 08:00 and files ingested
    conf = config(endpoint, "summary")
    store.journal("ingested", source="cam", path="a.jpg")
    morning = dt.datetime(2026, 12, 2, 7, 59).timestamp()
    # When it looks before, at, and after 08:00, and the next morning
    for moment in (morning, morning + 60, morning + 120, morning + 86400 + 60):
        notify_tick(conf, store, moment)
    # Then two summaries went out, one each day, with the totals
    assert endpoint.titles() == ["mediacourier: daily summary (totals)"] * 2
    assert "ingested 1" in endpoint.received[0]["message"]


def test_nothing_is_lost_while_the_service_is_down(endpoint: Endpoint,
                                                   store: RedisStateStore) -> None:
    # Given an endpoint answering 500, and a library that fills up
    conf = config(endpoint)
    notify_tick(conf, store, NOON)
    endpoint.status = 500
    store.hold_full_entry("photos", json.dumps({"since": NOON, "reason": "no space left"}))
    notify_tick(conf, store, NOON + 60)
    assert endpoint.received == []
    # When the service is back, Then the hold is reported at the next look, once
    endpoint.status = 200
    notify_tick(conf, store, NOON + 120)
    notify_tick(conf, store, NOON + 180)
    assert [m["message"] for m in endpoint.received] == ["photos is full: no space left"]
