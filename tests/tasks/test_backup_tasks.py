"""`mediacourier.scrub` and `mediacourier.notify` run as a worker runs them (in-memory broker,
fakeredis): the scrub repairs what it finds when its table says so, one scrub per library at a
time; the notifier posts through Apprise to a loopback endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import fakeredis
import pytest
from celery import Celery

import tasks.backup  # noqa: F401 - registers the tasks
from shared.config import build_settings
from shared.ingest import Context
from shared.mirror import run_named_mirror
from shared.state import RedisStateStore
from tasks import runtime
from tests.shared.notify.test_notify import Endpoint
from tests.shared.scrub.scrub_helpers import flip_byte, ingested
from tests.tasks.task_calls import call_task


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    served = Endpoint()
    yield served
    served.server.shutdown()
    served.server.server_close()


@pytest.fixture
def app(tmp_path: Path, endpoint: Endpoint) -> Iterator[Celery]:
    for folder in ("inbox", "library", "backup"):
        (tmp_path / folder).mkdir()
    settings = build_settings({
        "sources": {"cam": {"path": str(tmp_path / "inbox"), "library": "photos"}},
        "libraries": {"photos": {"path": str(tmp_path / "library")}},
        "targets": {"usb": {"kind": "local", "root": str(tmp_path / "backup")}},
        "mirrors": {"usb": {"library": "photos", "target": "usb"}},
        "scrub": {"nightly": {"library": "photos", "rate": 0, "repair": True,
                              "schedule": "0 2 * * *"}},
        "notify": {"phone": {"urls": [endpoint.url], "events": ["holds"]}},
    }, tmp_path / "mediacourier.toml", tmp_path)
    app = Celery("backup-test", broker="memory://", backend="cache+memory://")
    app.mc_settings = settings  # type: ignore[attr-defined]
    runtime.use_context(app, Context(settings, RedisStateStore(
        fakeredis.FakeRedis(decode_responses=True), "bt")))
    yield app
    runtime._contexts.pop(id(app))  # noqa: SLF001


def test_the_scrub_task_finds_and_repairs_a_flipped_byte(app: Celery, tmp_path: Path) -> None:
    # Given a mirrored library with a byte flipped in one file
    ctx = runtime.context_of(app)
    ingested(ctx.store, tmp_path / "library", {"a.jpg": b"a" * 700, "b.jpg": b"b" * 800})
    run_named_mirror(ctx.settings, "usb", store=ctx.store)
    flip_byte(tmp_path / "library" / "b.jpg")
    # When beat's scrub runs
    result = call_task(app, "mediacourier.scrub", "nightly")
    # Then the task reports it and the file is whole again
    assert (result["checked"], result["damaged"], result["repaired"]) == (2, 1, 1)
    assert (tmp_path / "library" / "b.jpg").read_bytes() == b"b" * 800


def test_a_second_scrub_of_the_same_library_waits_its_turn(app: Celery) -> None:
    # Given a scrub of the library under way (its lease held)
    store = runtime.context_of(app).store
    with store.lock("scrub:photos", ttl=30):
        # When beat sends another, Then it ends at once, saying why
        result = call_task(app, "mediacourier.scrub", "nightly")
    assert result == {"scrub": "nightly",
                      "skipped": "a scrub of this library is already going on"}


def test_the_notify_task_posts_a_hold_once(app: Celery, endpoint: Endpoint) -> None:
    # Given a library held full
    store = runtime.context_of(app).store
    store.hold_full_entry("photos", '{"since": 1, "reason": "no space left on device"}')
    # When the notifier runs twice, Then one message reached the endpoint
    first = call_task(app, "mediacourier.notify")
    second = call_task(app, "mediacourier.notify")
    assert (first, second) == ({"phone": ["holds"]}, {"phone": []})
    assert [m["message"] for m in endpoint.received] == ["photos is full: no space left on device"]
