"""Putting work on the queue: single files as chains, bulk catch-up as batches, and again
what the in-flight sweeper finds lost."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from celery import Celery

from shared.config import all_queues
from shared.ingest import Context, batch_time_limits, chunks
from shared.jobs import FileJob
from shared.source import Entry, plan_source, plan_sweep, vanished_library_files
from shared.state import files_in_messages, hold_for_source, inflight_field
from tasks.chain import file_label, ingest_chain, named_after
from tasks.routing import FIRST, LIVE

log = logging.getLogger(__name__)
MARK_CHUNK = 500


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


def enqueue_batches(app: Celery, ctx: Context, source: str, entries: Iterable[Entry],
                    priority: int | None = None) -> int:
    """Mark each file version in flight and send them as `ingest_batch` tasks."""
    return send_batches(app, ctx, source, _marked(ctx, source, entries), priority)


def _marked(ctx: Context, source: str, entries: Iterable[Entry]) -> Iterator[Entry]:
    """The entries whose version was not queued yet, marked in flight a batch's worth per
    round trip (a start-up scan of 100,000 files: 200 round trips, not 100,000)."""
    items = iter(entries)
    while chunk := list(islice(items, MARK_CHUNK)):
        fresh = ctx.store.mark_inflight_many(
            source, [(e.rel_path, e.size, e.mtime_ns) for e in chunk])
        yield from (entry for entry, new in zip(chunk, fresh, strict=True) if new)


def send_batches(app: Celery, ctx: Context, source: str, entries: Iterable[Entry],
                 priority: int | None = None) -> int:
    """Send file versions (already marked in flight) as `ingest_batch` tasks; how many.
    `priority`: the router's default (a reconcile's) unless given (tasks/routing.py)."""
    settings = ctx.settings
    queued = 0
    with app.producer_or_acquire() as producer:  # one connection for the whole scan
        for batch in chunks(entries, settings.batch_files, settings.batch_bytes):
            app.send_task("mediacourier.ingest_batch",
                          args=[source, [[e.rel_path, e.size, e.mtime_ns] for e in batch]],
                          priority=priority, producer=producer,
                          **batch_time_limits(settings, (e.size for e in batch)),
                          **named_after("mediacourier.ingest_batch", batch_label(source, batch)))
            queued += len(batch)
    return queued


def batch_label(source: str, batch: list[Entry]) -> str:
    """`inbox:2024/IMG_1.jpg +39 files`: a batch in Flower, by its first file."""
    first = file_label(source, batch[0].rel_path) if batch else f"{source}:"
    return f"{first} +{len(batch) - 1} files" if len(batch) > 1 else first


def resend_abandoned(app: Celery, ctx: Context, now: float | None = None) -> dict[str, Any]:
    """The in-flight sweeper (shared/source/sweep.py): send again every file whose marker is
    older than `inflight_timeout` and whose file shows no sign of life; forget the markers of
    versions that are gone. Each marker sent again counts as new from now."""
    settings, store = ctx.settings, ctx.store
    now = time.time() if now is None else now

    def live_messages() -> set[tuple[str, str]] | None:
        return files_in_messages(store.client, all_queues(settings), now,
                                 grace=settings.inflight_timeout)

    plan = plan_sweep(store, settings, now, live_messages)
    for key, why in plan.dropped.items():
        source, rel, *_ = key.split("\0") + ["", ""]
        store.journal("inflight-dropped", source=source, path=rel, reason=why)
    store.drop_inflight(plan.dropped)
    for source, entries in plan.resend.items():
        fields = [inflight_field(source, e.rel_path, e.size, e.mtime_ns) for e in entries]
        store.touch_inflight(fields, now)
        # Files that were lost go ahead of what waits: they have waited the longest.
        send_batches(app, ctx, source, entries, priority=FIRST)
        for entry, key in zip(entries, fields, strict=True):
            store.journal("inflight-resent", source=source, path=entry.rel_path,
                          seconds=f"{plan.ages.get(key, 0.0):.1f}")
    summary = {"markers": plan.markers, "resent": plan.resent, "dropped": len(plan.dropped),
               "alive": plan.alive}
    if plan.deferred:
        summary["deferred"] = plan.deferred
    if plan.resent or plan.dropped:
        log.info("in-flight sweep: %s", summary)
    return summary


def reconcile_source(
    app: Celery, ctx: Context, source_name: str, followup: bool = False
) -> dict[str, int | float]:
    """Enqueue new and changed files, forget vanished ones, report vanished library files.

    Files that arrived lately (the plan's live lane) are queued first and at the live lane's
    priority: a photo uploaded while a start-up scan walks is not stuck behind its backlog (its
    watcher event then finds it in flight already). Files still settling get one follow-up
    pass after the stability window (not more: a source that never stops receiving files must
    not keep a reconcile loop going), in the live lane too: they are the newest of all, and a
    follow-up in the reconcile's lane would wait behind the batches queued here.
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
    queued = enqueue_batches(app, ctx, source_name, plan.live_lane, priority=LIVE)
    queued += enqueue_batches(app, ctx, source_name, plan.bulk_lane)
    # A library on an SSH target is not walked here: its files are not on this disk.
    gone = {} if library.target and settings.targets[library.target].over_ssh else \
        vanished_library_files(store, library.name, str(library.path),
                               stale_tmp_after=2 * settings.visibility_timeout)
    for rel in gone:
        store.journal("library-vanished", library=library.name, path=rel)
    store.forget_library_files(library.name, gone)
    if plan.settling and not followup:
        app.send_task("mediacourier.reconcile", args=[source_name, True],
                      countdown=source.stability_seconds + 1, priority=LIVE)
    summary = {"scanned": plan.scanned, "queued": queued, "fresh": plan.fresh,
               "unchanged": plan.unchanged,
               "in_flight": plan.in_flight, "settling": plan.settling,
               "forgotten": len(plan.vanished),
               "library_vanished": len(gone), "seconds": round(plan.seconds, 3)}
    store.journal("reconciled", source=source_name, **summary)
    log.info("reconciled %s: %s", source_name, summary)
    return summary
