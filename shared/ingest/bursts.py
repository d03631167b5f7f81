"""Which shot of a burst is its first: the earliest taken, whatever order they are placed in.

Every shot of a burst is noted per source with its capture time (a sorted set) before it is
planned, and a batch notes all of its shots before it plans any, so a burst that arrives at once
is led by its earliest shot even when a later one is planned first. The leader is still claimed
atomically (`claim_set_leader`): a shot that finds a claimed leader follows it, so a burst whose
later shot landed before an earlier one arrived stays in one folder, the landed one's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from shared.ingest.context import Context
from shared.ingest.takeout import takeout_info
from shared.jobs import FileJob
from shared.media import Metadata, needs_date, read_metadata


def burst_key(meta: Metadata) -> str:
    return f"burst:{meta.burst_id}"


def _score(taken: dt.datetime | None) -> float:
    """A shot with no date sorts after every dated one: a date decides the folder."""
    if taken is None:
        return float("inf")
    aware = taken if taken.tzinfo else taken.replace(tzinfo=dt.UTC)
    return aware.timestamp()


def note_shot(job: FileJob, ctx: Context, meta: Metadata) -> None:
    ctx.store.note_burst_shot(job.source, burst_key(meta), job.rel_path, _score(meta.taken))


def note_batch_shots(jobs: Iterable[FileJob], ctx: Context) -> None:
    """The burst shots of a batch, noted before any is planned (their metadata is prefetched:
    no ExifTool call here)."""
    for job in jobs:
        if not needs_date(ctx.library(job).layout):
            continue
        meta = read_metadata(ctx.source_path(job), job.mtime_ns, takeout=takeout_info(job, ctx))
        if meta.burst_id:
            note_shot(job, ctx, meta)


def first_of_burst(job: FileJob, ctx: Context, meta: Metadata) -> str:
    """The shot the burst of `job` follows: the claimed leader if there is one; else `job`
    itself when it is the earliest noted shot (and then it claims the lead); else the earliest
    noted shot, which will claim it when it is planned."""
    key = burst_key(meta)
    note_shot(job, ctx, meta)
    leader = ctx.store.set_leader(job.source, key)
    if leader:
        return leader
    earliest = ctx.store.earliest_burst_shot(job.source, key) or job.rel_path
    if earliest != job.rel_path:
        return earliest
    return ctx.store.claim_set_leader(job.source, key, job.rel_path)
