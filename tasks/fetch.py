"""Fetch steps of sources that download their files themselves: an iCloud source's icloudpd run
on the schedule of its `fetch_every` (beat/schedule.py). What it downloads lands in the source
folder, where the watcher and the reconcile pick it up like any other arrival."""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

from shared.errors import ConfigError, FetchFailed, LeaseHeld, UnknownSource
from shared.source import FetchHold, fetch_source, journal_refusal
from tasks.gates import out_of_retries, retry_later
from tasks.runtime import settings_of, task_context

FETCH_TASK = "mediacourier.fetch_icloud"


@shared_task(name=FETCH_TASK, bind=True)
def fetch_icloud(self: Task, source: str) -> dict[str, Any]:
    """Run icloudpd once for an iCloud source; held sources are not run (see
    shared/source/icloud_fetch.py), transient failures retry with backoff."""
    settings = settings_of(self.app)
    ctx = task_context(self)
    config = settings.sources.get(source) if isinstance(source, str) else None
    if config is None or config.icloud is None:
        icloud = [name for name, s in settings.sources.items() if s.icloud is not None]
        error = UnknownSource(f"no iCloud source named {source!r}; configured: "
                              f"{', '.join(icloud) or 'none'}")
        journal_refusal(ctx.store, error, FETCH_TASK, source)
        raise error
    timeout = min(config.icloud.fetch_timeout, max(1.0, settings.task_time_limit - 30))
    try:
        with ctx.store.lock(f"fetch:{source}", ttl=settings.lease_seconds):
            result = fetch_source(settings, ctx.store, source, timeout=timeout)
    except LeaseHeld:
        return {"skipped": "a fetch of this source is already running"}
    except ConfigError as exc:  # a password file gone: one line in the journal, no retry
        ctx.store.journal("fetch_failed", source=source, reason=str(exc))
        return {"failure": "other", "reason": str(exc)}
    if isinstance(result, FetchHold):
        return {"held": result.reason, "since": result.since}
    if result.failure == "transient":
        if out_of_retries(self, settings):
            ctx.store.journal("fetch_failed", source=source, reason=result.reason)
        else:
            retry_later(self, settings, FetchFailed(result.reason), f"fetch of {source}")
    elif result.downloaded:
        # The watcher sees them too; a reconcile also finds them where events are not trusted.
        self.app.send_task("mediacourier.reconcile", args=[source])
    return {"downloaded": result.downloaded, "skipped": result.skipped,
            "failure": result.failure or None, "reason": result.reason or None,
            "errors": list(result.errors[:20])}
