"""The last stages: ask for a rescan of the changed folder, record the outcome."""

from __future__ import annotations

import json
import os
import posixpath
import time

from shared.crashpoints import crash_point
from shared.ingest.context import Context
from shared.jobs import FileJob, Outcome
from shared.state import FileRecord, observe_timings

STATE_OF = {
    Outcome.VERIFIED: "ingested",
    Outcome.INGESTED: "ingested",
    Outcome.DUPLICATE: "duplicate",
    Outcome.SKIPPED: "skipped",
    Outcome.FAILED: "failed",
    Outcome.EMPTY: "empty",
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
    """Write the file record, the journal entry and counters; clear in-flight and failures.

    One round trip for all of it, after one read: this runs once per file.
    """
    if job.outcome == Outcome.VERIFIED:
        job = job.evolve(outcome=Outcome.INGESTED)
    store = ctx.store
    previous, journaled = store.record_and_outcome(job.source, job.rel_path)
    inode = job.inode or (previous.inode if previous else 0)
    record = FileRecord(job.size, job.mtime_ns, inode, job.sha256,
                        STATE_OF.get(job.outcome, "failed"), job.dest_path, job.date_source)
    inflight = inflight_of(job)
    mark = outcome_mark(record)
    if job.outcome != Outcome.FAILED and (journaled == mark if mark else previous == record):
        # A redelivered message: this outcome is already journaled. The mark says so for a
        # copy or a duplicate, also once a reconcile forgot the record of the file gone from
        # the source (it is written back) and for a duplicate recorded before its source was
        # deleted (duplicates.py), whose journal entry is still to come while no mark is there.
        store.finish(job.source, job.rel_path, record=None if previous == record else record,
                     inflight=inflight)
        return job
    seconds = time.time() - job.started_at if job.started_at else 0.0
    store.finish(
        job.source,
        job.rel_path,
        record=record if job.outcome != Outcome.SKIPPED or previous is None else None,
        failure=job.reason if job.outcome == Outcome.FAILED else None,
        failure_path=ctx.source_path(job),
        inflight=inflight,
        event=str(job.outcome),
        journal={
            "source": job.source,
            "path": job.rel_path,
            "library": ctx.library(job).name,
            "dest": job.dest_path,
            "duplicate_of": job.duplicate_of,
            "sha256": job.sha256,
            "bytes": max(job.size, 0),
            "copied": int(job.copied),
            # Which capture date placed it (metadata.py's order), for `mediacourier trace`.
            "date_source": job.date_source,
            "seconds": f"{seconds:.3f}",
            "reason": job.reason,
            "host": ctx.hostname,
            # The worker of every stage: where each step ran, across hosts.
            "hosts": json.dumps({**job.hosts, "record_outcome": ctx.hostname}, sort_keys=True),
            # Seconds each stage took, for `mediacourier trace`.
            "timings": json.dumps(job.timings, sort_keys=True),
        },
        outcome=(mark, outcome_mark_seconds(ctx)) if mark else None,
    )
    crash_point("outcome-recorded")
    observe_timings(store, job.timings)
    # The content index was written with the verified record (settle_verified); this marks the
    # end of what the stage writes: the stage's timings beside it.
    crash_point("index-updated")
    return job


def outcome_mark(record: FileRecord) -> str:
    """FileRecord.outcome_mark: the mark written with the journal entry of this outcome."""
    return record.outcome_mark()


def outcome_mark_seconds(ctx: Context) -> int:
    """How long the mark is kept: a message unacknowledged when its worker died comes back
    within one visibility timeout (or at the worker's restart); twice that, for its retries."""
    return 2 * int(ctx.settings.visibility_timeout)


def inflight_of(job: FileJob) -> tuple[int, int] | None:
    if not job.queued_version:
        return None
    size, mtime_ns = job.queued_version.split(":")
    return int(size), int(mtime_ns)
