"""The files named by live broker messages (shared/state/messages.py), read from messages a real
Celery app sent to the real redis-server and a consumer took without acknowledging."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery

from shared.config import Settings, build_settings
from shared.jobs import FileJob
from shared.state import RedisStateStore, files_in_messages, priority_lists
from shared.state.messages import UNACKED, UNACKED_INDEX
from tasks.app import create_app
from tasks.chain import ingest_chain
from tests.e2e.certs import make_signing_files

GRACE = 60.0


def _settings(tmp_path: Path, redis_url: str, prefix: str, **top: Any) -> Settings:
    for name in ("src", "lib"):
        (tmp_path / name).mkdir(exist_ok=True)
    return build_settings({"redis_url": redis_url, "key_prefix": prefix,
                           "sources": {"cam": {"path": str(tmp_path / "src"), "library": "lib"}},
                           "libraries": {"lib": {"path": str(tmp_path / "lib")}}, **top},
                          None, tmp_path)


OPEN: list[Any] = []  # consumers' connections: closing one gives its messages back


@pytest.fixture
def app(tmp_path: Path, redis_url: str, key_prefix: str,
        redis_client: redis.Redis) -> Iterator[Celery]:
    celery = create_app(_settings(tmp_path, redis_url, key_prefix))
    yield celery
    while OPEN:
        OPEN.pop().close()
    redis_client.delete(*priority_lists(key_prefix), UNACKED, UNACKED_INDEX)  # kombu's keys
    celery.close()


def _take_without_ack(app: Celery, queue: str) -> None:
    """What a worker does with a message it starts: pop it, keep it in kombu's unacked hash
    (until its connection closes: the consumer stays open, like a running worker)."""
    connection = app.connection_for_read()
    OPEN.append(connection)
    assert connection.SimpleQueue(queue, no_ack=False).get(timeout=5) is not None


def _found(client: redis.Redis, queue: str, now: float | None = None) -> Any:
    return files_in_messages(client, [queue], time.time() if now is None else now, GRACE)


def test_waiting_batches_and_stages_name_their_files(app: Celery, key_prefix: str,
                                                     redis_client: redis.Redis) -> None:
    # Given a batch of two files and one file's chain waiting in the queue
    app.send_task("mediacourier.ingest_batch", args=["cam", [["a.jpg", 1, 2], ["b/c.jpg", 3, 4]]])
    ingest_chain(app, FileJob("cam", "d é.jpg", 5, 6)).apply_async()
    # Then all three files are named, and nothing else
    assert _found(redis_client, key_prefix) == {("cam", "a.jpg"), ("cam", "b/c.jpg"),
                                                 ("cam", "d é.jpg")}


def test_a_delivered_message_counts_while_its_worker_may_still_run_it(
        app: Celery, key_prefix: str, redis_client: redis.Redis) -> None:
    # Given a message a worker took (and has not acknowledged) and one waiting for its ETA
    app.send_task("mediacourier.ingest_batch", args=["cam", [["now.jpg", 1, 2]]])
    _take_without_ack(app, key_prefix)
    app.send_task("mediacourier.ingest_batch", args=["cam", [["later.jpg", 1, 2]]],
                  countdown=3600)
    _take_without_ack(app, key_prefix)
    assert redis_client.llen(key_prefix) == 0 and redis_client.hlen(UNACKED) == 2
    # Then right after the delivery both are live
    assert _found(redis_client, key_prefix) == {("cam", "now.jpg"), ("cam", "later.jpg")}
    # … and long after it, only the one still waiting for its ETA: the other's worker, had it
    # been alive, would hold the file's lease by now
    assert _found(redis_client, key_prefix, now=time.time() + 2 * GRACE) == {
        ("cam", "later.jpg")}


def test_another_deployment_s_messages_are_not_ours(app: Celery, key_prefix: str,
                                                    redis_client: redis.Redis) -> None:
    app.send_task("mediacourier.ingest_batch", args=["cam", [["x.jpg", 1, 2]]])
    _take_without_ack(app, key_prefix)
    assert _found(redis_client, "another-prefix") == set()


def test_a_backlog_longer_than_the_limit_is_not_read(app: Celery, key_prefix: str,
                                                     redis_client: redis.Redis) -> None:
    for index in range(5):
        app.send_task("mediacourier.ingest_batch", args=["cam", [[f"{index}.jpg", 1, 2]]])
    assert files_in_messages(redis_client, [key_prefix], time.time(), GRACE, limit=4) is None
    assert len(files_in_messages(redis_client, [key_prefix], time.time(), GRACE,
                                 limit=5) or ()) == 5


def test_signed_messages_are_read_too(tmp_path: Path, redis_url: str, key_prefix: str,
                                      redis_client: redis.Redis) -> None:
    # Given an app that signs what it sends (security.signing)
    key, cert = make_signing_files(tmp_path / "keys", "courier")
    (tmp_path / "certs").mkdir()
    shutil.copy2(cert, tmp_path / "certs" / cert.name)
    settings = _settings(tmp_path, redis_url, key_prefix, security={
        "signing_key_file": str(key), "signing_cert_file": str(cert),
        "cert_store": str(tmp_path / "certs")})
    signed = create_app(settings)
    try:
        signed.send_task("mediacourier.ingest_batch", args=["cam", [["signed.jpg", 1, 2]]])
        batches = priority_lists(key_prefix)[2]  # a reconcile's batch: priority 6
        raw = redis_client.lindex(batches, 0)
        assert raw is not None and "application/data" in raw  # really signed
        # Then its file is named like any other
        assert _found(redis_client, key_prefix) == {("cam", "signed.jpg")}
    finally:
        redis_client.delete(*priority_lists(key_prefix))
        signed.close()


def test_the_store_client_reads_them_as_the_workers_store_does(app: Celery, key_prefix: str,
                                                               redis_url: str) -> None:
    # The store's own client (surrogateescape decoding) is the one the sweeper passes
    store = RedisStateStore.from_url(redis_url, key_prefix)
    app.send_task("mediacourier.ingest_batch", args=["cam", [["s.jpg", 1, 2]]])
    assert _found(store.client, key_prefix) == {("cam", "s.jpg")}
