"""`mediacourier.confirm_delivery`: after a file is recorded, confirm Syncthing delivered it.

A thin wrapper around shared.delivery: it waits a short slice per run and, while the configured
timeout allows, sends itself again later instead of holding a worker for minutes.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from celery import Task, shared_task

from shared.delivery import (
    SyncthingClient,
    SyncthingRefused,
    SyncthingUnreachable,
    delivery_target,
    record_delivery,
    wait_for_delivery,
)
from shared.errors import PathRefused
from shared.source import checked_job, journal_refusal
from tasks.deliveries import counted, refuse_poison
from tasks.runtime import task_context

log = logging.getLogger(__name__)
SLICE_SECONDS = 20.0  # longest wait inside one task run


def slice_of(timeout: float) -> float:
    """A quarter of the timeout, 1 to 20 s: a short timeout still gets a few looks."""
    return min(SLICE_SECONDS, max(1.0, timeout / 4))


@shared_task(name="mediacourier.confirm_delivery", bind=True)
def confirm_delivery(self: Task, job: dict[str, Any], first_at: float = 0.0) -> dict[str, Any]:
    """Ask Syncthing to scan the file's folder, then wait (bounded) for it on the devices."""
    ctx = task_context(self)
    if not isinstance(first_at, int | float) or isinstance(first_at, bool):
        # JSON from anyone who can reach the broker: a string here would fail mid-way.
        raise TypeError(f"mediacourier.confirm_delivery takes (job, first_at: number), got "
                        f"first_at={first_at!r}")
    try:
        decoded = checked_job(ctx.settings, job)
        target = delivery_target(ctx.settings, decoded)
    except PathRefused as exc:
        given = job if isinstance(job, dict) else {}
        journal_refusal(ctx.store, exc, "mediacourier.confirm_delivery", given.get("source"),
                        given.get("rel_path", job))
        raise
    if target is None:
        return {"skipped": "no Syncthing delivery check for this file"}
    library, config, names = target
    now = time.time()
    first = first_at or now
    remaining = config.timeout_seconds - (now - first)
    wait = slice_of(config.timeout_seconds)
    try:
        client = SyncthingClient(config.url, config.api_key())
        with counted(self, ctx) as delivery:
            refuse_poison(self, delivery)
            report = wait_for_delivery(client, config, names,
                                       timeout=max(0.0, min(remaining, wait)), scan=not first_at)
    except SyncthingUnreachable as exc:
        if remaining > wait:
            return _again(self, job, first, config.poll_seconds, str(exc))
        record_delivery(ctx.store, decoded, library, config, None, now - first, str(exc))
        return {"event": "delivery-pending", "reason": str(exc)}
    except SyncthingRefused as exc:
        record_delivery(ctx.store, decoded, library, config, None, now - first, str(exc))
        return {"event": "delivery-pending", "reason": str(exc)}
    if not report.complete and remaining > wait:
        return _again(self, job, first, config.poll_seconds, report.summary())
    event = record_delivery(ctx.store, decoded, library, config, report, time.time() - first)
    return {"event": event, "reason": report.summary()}


def _again(task: Task, job: dict[str, Any], first: float, countdown: float,
           why: str) -> dict[str, Any]:
    log.info("delivery of %s not confirmed yet (%s); checking again", job.get("rel_path"), why)
    task.app.send_task("mediacourier.confirm_delivery", args=[job, first],
                       countdown=max(1.0, countdown))
    return {"event": "waiting", "reason": why}
