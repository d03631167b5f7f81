"""`mediacourier.scrub` and `mediacourier.notify`: the beat side of backups, thin wrappers."""

from __future__ import annotations

import socket
import time
from typing import Any

from celery import Task, shared_task

from shared.errors import FileBusy
from shared.notify import notify_tick
from shared.scrub import ScrubSummary, repairer, scrub_library
from tasks.runtime import context_of, settings_of


@shared_task(name="mediacourier.scrub", bind=True)
def scrub(self: Task, name: str) -> dict[str, Any]:
    """One pass (or the rest of one) of the `[scrub.NAME]`, at its rate; one at a time."""
    settings = settings_of(self.app)
    config = settings.scrubs[name]
    store = context_of(self.app).store
    summary = ScrubSummary(config.library)
    try:
        with store.lock(f"scrub:{config.library}", ttl=settings.lease_seconds):
            fix = repairer(settings, store, config.library) if config.repair else None
            scrub_library(settings, store, config.library, config.rate, fix,
                          socket.gethostname(), summary)
    except FileBusy:
        return {"scrub": name, "skipped": "a scrub of this library is already going on"}
    return {"scrub": name, **summary.as_dict()}


@shared_task(name="mediacourier.notify", bind=True)
def notify(self: Task) -> dict[str, Any]:
    """One look at the state for every `[notify.NAME]`; what went out, by kind."""
    settings = settings_of(self.app)
    store = context_of(self.app).store
    now = time.time()
    return {name: [m.kind for m in notify_tick(config, store, now)]
            for name, config in settings.notify.items()}
