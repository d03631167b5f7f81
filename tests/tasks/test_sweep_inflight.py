"""mediacourier.sweep_inflight (tasks/maintenance.py, tasks/enqueue.resend_abandoned): a file
whose message was lost is sent again from its in-flight marker; one whose message waits, or
whose worker is at it, is not. A real Celery app on the real redis-server, without a worker."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery

import tasks.maintenance  # noqa: F401 - registers the task on the app
from shared.config import build_settings
from shared.ingest import Context
from shared.source import Entry
from shared.state import RedisStateStore, files_in_messages, inflight_field, priority_lists
from shared.state.messages import UNACKED, UNACKED_INDEX
from tasks import runtime
from tasks.app import create_app
from tasks.enqueue import enqueue_batches, resend_abandoned

TIMEOUT = 30


class Rig:
    def __init__(self, root: Path, app: Celery, ctx: Context, queue: str) -> None:
        self.root, self.app, self.ctx, self.queue = root, app, ctx, queue
        self.open: list[Any] = []

    @property
    def store(self) -> RedisStateStore:
        return self.ctx.store

    def photo(self, rel: str, queued_ago: float) -> str:
        """A photo in the source, marked in flight `queued_ago` seconds ago; its marker."""
        path = self.root / "src" / rel
        path.write_bytes(rel.encode() * 100)
        info = path.stat()
        field = inflight_field("cam", rel, info.st_size, info.st_mtime_ns)
        self.store.client.hset(self.store.key("inflight"), field, time.time() - queued_ago)
        return field

    def waiting_messages(self) -> int:
        return sum(self.store.client.llen(name) for name in priority_lists(self.queue))

    def waiting(self) -> set[tuple[str, str]]:
        return files_in_messages(self.store.client, [self.queue], time.time(), 1.0) or set()

    def sweep(self, now: float | None = None) -> dict[str, Any]:
        return resend_abandoned(self.app, self.ctx, now)

    def events(self, name: str) -> list[dict[str, str]]:
        return [e for e in self.store.read_journal() if e["event"] == name]


@pytest.fixture
def rig(tmp_path: Path, redis_url: str, key_prefix: str,
        redis_client: redis.Redis) -> Iterator[Rig]:
    for name in ("src", "lib"):
        (tmp_path / name).mkdir()
    settings = build_settings({
        "redis_url": redis_url, "key_prefix": key_prefix, "inflight_timeout": TIMEOUT,
        "sources": {"cam": {"path": str(tmp_path / "src"), "library": "lib"}},
        "libraries": {"lib": {"path": str(tmp_path / "lib")}}}, None, tmp_path)
    app = create_app(settings)
    app.finalize()
    ctx = Context(settings, RedisStateStore(redis_client, key_prefix))
    runtime.use_context(app, ctx)
    built = Rig(tmp_path, app, ctx, key_prefix)
    yield built
    for connection in built.open:
        connection.close()
    redis_client.delete(key_prefix, UNACKED, UNACKED_INDEX)
    runtime._contexts.pop(id(app))  # noqa: SLF001
    app.close()


def test_a_file_whose_message_was_lost_is_sent_again(rig: Rig) -> None:
    # Given a photo queued a minute ago whose message is nowhere (Redis lost it in a restart)
    field = rig.photo("lost.jpg", queued_ago=2 * TIMEOUT)
    # When beat's sweeper runs (the task, as a worker would run it)
    task = rig.app.tasks["mediacourier.sweep_inflight"]
    task.push_request(id="s-1", retries=0, args=[], kwargs={}, called_directly=False,
                      delivery_info={"routing_key": rig.queue, "exchange": ""})
    try:
        summary = task.run()
    finally:
        task.pop_request()
    # Then the file is sent again, as a batch naming its version, and journaled
    assert summary["resent"] == 1
    assert rig.waiting() == {("cam", "lost.jpg")}
    # … ahead of other waiting work (kombu keeps priority 0 in the queue's own list)
    raw = json.loads(rig.store.client.lindex(rig.queue, 0))
    assert raw["headers"]["task"] == "mediacourier.ingest_batch"
    assert [e["path"] for e in rig.events("inflight-resent")] == ["lost.jpg"]
    # … its marker counts as new from now: the next sweep does not send it a second time
    assert rig.store.inflight()[field] > time.time() - 5
    assert rig.sweep(now=time.time() + TIMEOUT / 2)["resent"] == 0
    assert rig.waiting_messages() == 1


def test_a_message_waiting_in_the_queue_is_not_sent_twice(rig: Rig) -> None:
    # Given a photo queued long ago whose batch still waits behind others (a backlog)
    field = rig.photo("queued.jpg", queued_ago=0)
    rig.store.client.hdel(rig.store.key("inflight"), field)
    assert enqueue_batches(rig.app, rig.ctx, "cam", [_entry(rig, "queued.jpg")]) == 1
    rig.store.client.hset(rig.store.key("inflight"), field, time.time() - 10 * TIMEOUT)
    # When the sweeper runs / Then it sends nothing: the message is still on its way
    assert rig.sweep()["resent"] == 0
    assert rig.waiting_messages() == 1


def test_a_dead_worker_s_message_is_sent_again_a_live_one_s_is_not(rig: Rig) -> None:
    # Given two photos whose batches workers took long ago and never acknowledged: one worker
    # is at work (it holds the lease), the other died (nothing renews its lease any more)
    for rel in ("dead.jpg", "alive.jpg"):
        rig.photo(rel, queued_ago=10 * TIMEOUT)
        rig.app.send_task("mediacourier.ingest_batch", args=["cam", [[rel, *_version(rig, rel)]]])
        connection = rig.app.connection_for_read()
        rig.open.append(connection)
        assert connection.SimpleQueue(rig.queue, no_ack=False).get(timeout=5) is not None
    with rig.store.lock("file:cam:alive.jpg", ttl=30):
        # When the sweeper runs well after those deliveries
        summary = rig.sweep(now=time.time() + 2 * TIMEOUT)
    # Then only the dead worker's file is sent again (kombu would wait the visibility timeout)
    assert summary["resent"] == 1
    assert [e["path"] for e in rig.events("inflight-resent")] == ["dead.jpg"]


def _version(rig: Rig, rel: str) -> tuple[int, int]:
    info = (rig.root / "src" / rel).stat()
    return info.st_size, info.st_mtime_ns


def _entry(rig: Rig, rel: str) -> Entry:
    size, mtime_ns = _version(rig, rel)
    return Entry(rel, size, mtime_ns, 0, True)
