"""reconcile_source (tasks/enqueue.py) puts a reconcile's two lanes in the queue's priority lists
on the real redis-server (no worker): the files that arrived lately at the live lane's priority,
the rest at the reconcile's, and a follow-up pass for files still settling in the live lane."""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery

from shared.config import build_settings
from shared.ingest import Context
from shared.source.reconcile import FRESH_MAX
from shared.state import RedisStateStore, priority_lists
from tasks import runtime
from tasks.app import create_app
from tasks.enqueue import reconcile_source
from tasks.routing import LIVE, RECONCILE


@pytest.fixture
def app_and_ctx(tmp_path: Path, redis_url: str, key_prefix: str,
                redis_client: redis.Redis) -> Iterator[tuple[Celery, Context]]:
    for name in ("src", "lib"):
        (tmp_path / name).mkdir()
    settings = build_settings({
        "redis_url": redis_url, "key_prefix": key_prefix,
        "sources": {"cam": {"path": str(tmp_path / "src"), "library": "lib"}},
        "libraries": {"lib": {"path": str(tmp_path / "lib")}}}, None, tmp_path)
    app = create_app(settings)
    app.finalize()
    ctx = Context(settings, RedisStateStore(redis_client, key_prefix))
    runtime.use_context(app, ctx)
    yield app, ctx
    redis_client.delete(*priority_lists(key_prefix))
    runtime._contexts.pop(id(app))  # noqa: SLF001
    app.close()


def _lane(client: redis.Redis, queue: str, priority: int) -> list[tuple[str, Any]]:
    """(task name, args) of each message waiting at `priority`, in the order taken."""
    name = dict(zip((0, 3, 6, 9), priority_lists(queue), strict=True))[priority]
    messages = [json.loads(raw) for raw in client.lrange(name, 0, -1)]
    # kombu's Redis transport pushes on the left and takes from the right; bodies in base64
    return [(m["headers"]["task"], json.loads(base64.b64decode(m["body"]))[0])
            for m in reversed(messages)]


def test_files_that_arrived_lately_are_queued_in_the_live_lane_the_rest_in_the_reconcile_s(
        app_and_ctx: tuple[Celery, Context], tmp_path: Path) -> None:
    # Given a source whose files were all just written (a phone's upload, and an import
    # bigger than the live lane takes), the last of them still being written
    app, ctx = app_and_ctx
    source = tmp_path / "src"
    count = FRESH_MAX + 40
    for n in range(count):
        path = source / f"IMG_{n:04d}.jpg"
        path.write_bytes(b"\xff\xd8 photo %d" % n)
        os.utime(path, (time.time() - 3600 + n, time.time() - 3600 + n))  # capture times
    (source / "writing.jpg").write_bytes(b"\xff\xd8 half")
    # When the source is reconciled (as the watcher's start-up scan does)
    summary = reconcile_source(app, ctx, "cam")
    # Then the FRESH_MAX newest files wait at the live lane's priority, in batches, ahead of
    # the others, which wait at the reconcile's; every file is queued once
    client, queue = ctx.store.client, ctx.settings.key_prefix
    live, bulk = _lane(client, queue, LIVE), _lane(client, queue, RECONCILE)
    live_files = [rel for task, args in live if task == "mediacourier.ingest_batch"
                  for rel, _, _ in args[1]]
    bulk_files = [rel for task, args in bulk if task == "mediacourier.ingest_batch"
                  for rel, _, _ in args[1]]
    assert live_files == [f"IMG_{n:04d}.jpg" for n in range(count - 1, count - 1 - FRESH_MAX, -1)]
    assert sorted(bulk_files) == [f"IMG_{n:04d}.jpg" for n in range(count - FRESH_MAX)]
    assert (summary["queued"], summary["fresh"], summary["settling"]) == (count, FRESH_MAX, 1)
    # … and the follow-up pass for the file still being written waits in the live lane too,
    # not behind the reconcile's batches
    assert ("mediacourier.reconcile", "cam") in [(task, args[0]) for task, args in live]
    assert all(task == "mediacourier.ingest_batch" for task, _ in bulk)
