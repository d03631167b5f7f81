"""Running a task's body in this process as a worker would, and reading what it sent, on an
app with the in-memory broker (no worker process)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fakeredis
from celery import Celery

from shared.config import build_settings
from shared.ingest import Context
from shared.state import RedisStateStore
from tasks import runtime


def call_task(app: Celery, name: str, *args: Any, task_id: str = "t-1", retries: int = 0,
              routing_key: str = "q") -> Any:
    """The task's body, with a request like a worker's delivery of it."""
    task = app.tasks[name]
    task.push_request(id=task_id, retries=retries, args=list(args), kwargs={},
                      called_directly=False,
                      delivery_info={"routing_key": routing_key, "exchange": ""})
    try:
        return task.run(*args)
    finally:
        task.pop_request()


def drain(app: Celery, queue_name: str) -> list[Any]:
    """The messages sent to `queue_name`, taken off the in-memory queue."""
    out = []
    with app.connection_for_read() as conn, conn.SimpleQueue(queue_name) as queue:
        while True:
            try:
                message = queue.get(timeout=0.05)
            except queue.Empty:
                return out
            message.ack()
            out.append(message)


@contextlib.contextmanager
def memory_app(tmp_path: Path, name: str, queue: str, **top: Any) -> Iterator[Celery]:
    """A Celery app on the in-memory broker sending to `queue`, with the settings of one source
    `inbox` feeding one library `main` (plus `top`) and a store on fakeredis: what the tests
    that read the messages an app sends need. Its queue starts empty."""
    (tmp_path / "src").mkdir()
    (tmp_path / "lib").mkdir()
    settings = build_settings({
        "sources": {"inbox": {"path": str(tmp_path / "src"), "library": "main"}},
        "libraries": {"main": {"path": str(tmp_path / "lib")}}, **top,
    }, None, tmp_path)
    app = Celery(name, broker="memory://", backend="cache+memory://")
    app.conf.task_default_queue = queue
    app.mc_settings = settings  # type: ignore[attr-defined]
    runtime.use_context(app, Context(settings, RedisStateStore(
        fakeredis.FakeRedis(decode_responses=True), name)))
    drain(app, queue)  # the in-memory broker is per process: start from an empty queue
    try:
        yield app
    finally:
        runtime._contexts.pop(id(app))  # noqa: SLF001
