"""The last stages: ask for a rescan of the changed folder, record the outcome."""

from __future__ import annotations

import os
import posixpath
import time

from shared.context import Context
from shared.jobs import FileJob, Outcome
from shared.store import FileRecord

STATE_OF = {
    Outcome.VERIFIED: "ingested",
    Outcome.INGESTED: "ingested",
    Outcome.DUPLICATE: "duplicate",
    Outcome.SKIPPED: "skipped",
    Outcome.FAILED: "failed",
}


def request_rescan(job: FileJob, ctx: Context) -> FileJob:
    """Mark the destination folder dirty for each of the library's rescan targets."""
    library = ctx.library(job)
    folder = os.path.join(library.path, posixpath.dirname(job.dest_path)).rstrip("/")
    for name in library.rescan:
        target = ctx.settings.rescan_targets[name]
        if ctx.store.mark_dirty(name, folder, target.debounce_seconds):
            ctx.schedule_flush(name, target.debounce_seconds)
    return job


def record_outcome(job: FileJob, ctx: Context) -> FileJob:
    """Write the file record, the journal entry and counters; clear in-flight and failures."""
    if job.outcome == Outcome.VERIFIED:
        job = job.evolve(outcome=Outcome.INGESTED)
    state = STATE_OF.get(job.outcome, "failed")
    store = ctx.store
    previous = store.get_record(job.source, job.rel_path)
    record = FileRecord(job.size, job.mtime_ns, previous.inode if previous else 0, job.sha256,
                        state, job.dest_path)
    if previous == record and job.outcome != Outcome.FAILED:
        return _cleared(job, ctx)  # a redelivered message: this outcome is already recorded
    if job.outcome != Outcome.SKIPPED or previous is None:
        store.put_record(job.source, job.rel_path, record)
    if job.outcome == Outcome.FAILED:
        store.record_failure(job.source, job.rel_path, job.reason,
                             path_abs=ctx.source_path(job))
    else:
        store.clear_failure(job.source, job.rel_path)
    seconds = time.time() - job.started_at if job.started_at else 0.0
    store.journal(
        str(job.outcome),
        source=job.source,
        path=job.rel_path,
        library=ctx.library(job).name,
        dest=job.dest_path,
        duplicate_of=job.duplicate_of,
        sha256=job.sha256,
        bytes=max(job.size, 0),
        copied=int(job.copied),
        seconds=f"{seconds:.3f}",
        reason=job.reason,
        host=ctx.hostname,
    )
    return _cleared(job, ctx)


def _cleared(job: FileJob, ctx: Context) -> FileJob:
    if job.queued_version:
        size, mtime_ns = job.queued_version.split(":")
        ctx.store.clear_inflight(job.source, job.rel_path, int(size), int(mtime_ns))
    return job
