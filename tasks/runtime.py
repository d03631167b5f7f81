"""The per-process `Context` the tasks hand to the plain functions in shared/."""

from __future__ import annotations

from celery import Celery

from shared.config import Settings
from shared.context import Context
from shared.store import RedisStateStore

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

