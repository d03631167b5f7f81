"""The per-process `Context` the tasks hand to the plain functions in shared/."""

from __future__ import annotations

import dataclasses
from typing import Any

from celery import Celery
from celery.signals import task_failure

from shared.config import Settings
from shared.errors import PermanentError, RetryableError
from shared.ingest import Context
from shared.state import RedisStateStore

_contexts: dict[int, Context] = {}


def settings_of(app: Celery) -> Settings:
    return app.mc_settings  # type: ignore[attr-defined]


def context_of(app: Celery) -> Context:
    """One Context per app; redis-py reconnects by itself after a prefork fork."""
    ctx = _contexts.get(id(app))
    if ctx is None:
        settings = settings_of(app)
        store = RedisStateStore.from_url(app.conf.broker_url, settings.key_prefix)

        def schedule_flush(target: str, countdown: float) -> None:
            app.send_task("mediacourier.flush_rescans", args=[target], countdown=countdown)

        ctx = Context(settings, store, schedule_flush=schedule_flush)
        _contexts[id(app)] = ctx
    return ctx


@task_failure.connect
def drop_connections_after_a_surprise(exception: BaseException | None = None,
                                      **_: Any) -> None:
    """After an unexpected error, reconnect to Redis from scratch: a reply of the wrong shape
    (seen once after a Redis restart, a `None` where a list belongs) means a connection is out
    of step with its replies, and every later command on it would read the wrong answer."""
    if isinstance(exception, RetryableError | PermanentError):
        return
    for ctx in _contexts.values():
        ctx.store.client.connection_pool.disconnect()



def task_context(task: Any) -> Context:
    """The app's Context, naming the worker that runs this task (for the journal)."""
    ctx = context_of(task.app)
    return dataclasses.replace(ctx, hostname=task.request.hostname or ctx.hostname)


def use_context(app: Celery, ctx: Context) -> None:
    """Run this app's tasks with `ctx` (a process that already holds a store, or a test)."""
    _contexts[id(app)] = ctx
