"""Putting work on the queue: single files as chains, bulk catch-up as batches."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from celery import Celery

from shared.ingest import Context, chunks
from shared.jobs import FileJob
from shared.source import Entry, plan_source, vanished_library_files
from shared.state import hold_for_source
from tasks.chain import ingest_chain

log = logging.getLogger(__name__)


class CeleryEnqueuer:
    """What the watcher calls; the in-flight marker makes every call safe to repeat."""

    def __init__(self, app: Celery, ctx: Context) -> None:
        self.app, self.ctx = app, ctx

    def enqueue_file(self, source: str, rel_path: str, size: int, mtime_ns: int) -> bool:
        hold = hold_for_source(self.ctx.store, self.ctx.settings, source)
        if hold is not None:
            # Left where it is: `resume` reconciles the source and picks it up then.
            log.info("%s: %s left for the reconcile at resume", rel_path, hold.reason)
            return False
        if not self.ctx.store.mark_inflight(source, rel_path, size, mtime_ns):
            return False
        job = FileJob(source, rel_path, size, mtime_ns, queued_version=f"{size}:{mtime_ns}")
        try:
            ingest_chain(self.app, job).apply_async()
        except Exception:
            self.ctx.store.clear_inflight(source, rel_path, size, mtime_ns)
            raise
        return True

    def enqueue_scan(self, source: str) -> int:
        return reconcile_source(self.app, self.ctx, source)["queued"]


def enqueue_batches(app: Celery, ctx: Context, source: str, entries: Iterable[Entry]) -> int:
    """Mark each file version in flight and send them as `ingest_batch` tasks."""
    settings, store = ctx.settings, ctx.store
    marked = (e for e in entries if store.mark_inflight(source, e.rel_path, e.size, e.mtime_ns))
    queued = 0
    for batch in chunks(marked, settings.batch_files, settings.batch_bytes):
        app.send_task("mediacourier.ingest_batch",
                      args=[source, [[e.rel_path, e.size, e.mtime_ns] for e in batch]])
        queued += len(batch)
    return queued


def reconcile_source(
    app: Celery, ctx: Context, source_name: str, followup: bool = False
) -> dict[str, int | float]:
    """Enqueue new and changed files, forget vanished ones, report vanished library files.

    Files still settling get one follow-up pass after the stability window (not more: a
    source that never stops receiving files must not keep a reconcile loop going).
    """
    settings, store = ctx.settings, ctx.store
    source = settings.sources[source_name]
    library = settings.library_of(source)
    hold = hold_for_source(store, settings, source_name)
    if hold is not None:  # `resume` sends a reconcile of its own
        store.journal("reconcile-paused", source=source_name, reason=hold.reason)
        return {"paused": 1, "queued": 0}
    plan = plan_source(store, source, stale_after=2 * settings.visibility_timeout)
    store.forget_records(source_name, plan.vanished)
    store.clear_failures(source_name, plan.vanished)
    queued = enqueue_batches(app, ctx, source_name, plan.to_ingest)
    # A library on an SSH target is not walked here: its files are not on this disk.
    gone = {} if library.target and settings.targets[library.target].over_ssh else \
        vanished_library_files(store, library.name, str(library.path),
                               stale_tmp_after=2 * settings.visibility_timeout)
    for rel in gone:
        store.journal("library-vanished", library=library.name, path=rel)
    store.forget_library_files(library.name, gone)
    if plan.settling and not followup:
        app.send_task("mediacourier.reconcile", args=[source_name, True],
                      countdown=source.stability_seconds + 1)
    summary = {"scanned": plan.scanned, "queued": queued, "unchanged": plan.unchanged,
               "in_flight": plan.in_flight, "settling": plan.settling,
               "forgotten": len(plan.vanished),
               "library_vanished": len(gone), "seconds": round(plan.seconds, 3)}
    store.journal("reconciled", source=source_name, **summary)
    log.info("reconciled %s: %s", source_name, summary)
    return summary
