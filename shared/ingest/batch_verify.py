"""Verification of a batch in two halves: every copy read back and proven, then all the proven
ones recorded in one transaction (their leases confirmed together just before), then each
source released.

File by file, `verify_copy` confirms the lease and records the verified copy in a round trip
each before it releases the source. A batch keeps that order for every file — nothing is
released before its verified record is in Redis — with one transaction for all the records.
"""

from __future__ import annotations

from collections.abc import Callable

import redis

from shared.errors import RetryableError
from shared.ingest.batch_store import BatchStore
from shared.ingest.context import Context
from shared.ingest.leases import file_lease_name
from shared.ingest.pipeline import already_past, run_stage
from shared.ingest.placing import check_copy, settle_copy, settled_library, verified_record
from shared.jobs import FileJob

STAGE = "verify_copy"
Result = FileJob | Exception


def verify_all(results: list[Result], ctx: Context, store: BatchStore) -> None:
    """The verify stage of every job still under way in `results`, in place."""
    kept: dict[int, str | None] = {}  # index -> why its source is to be kept, if it is
    for index, job in enumerate(results):
        if isinstance(job, Exception) or already_past(STAGE, job):
            continue

        def check(job: FileJob, ctx: Context, index: int = index) -> FileJob:
            job, kept[index] = check_copy(job, ctx)
            return job

        _run(results, index, lambda job: run_stage(STAGE, job, ctx, lock=False, stage=check))
    proven = [i for i in kept if _under_way(results[i])]
    for index in proven:
        # One renewal of the batch's leases answers for all (BatchStore.confirm_lease).
        _run(results, index, lambda job: _confirmed(job, ctx))
    proven = [i for i in proven if _under_way(results[i])]
    if not proven:
        return
    jobs = [results[i] for i in proven]
    try:
        store.settle_verified_many([(j.source, j.rel_path, verified_record(j),
                                     settled_library(j, ctx)) for j in jobs
                                    if isinstance(j, FileJob)])
    except redis.RedisError as exc:
        for index in proven:
            results[index] = exc  # nothing recorded, nothing released: retried whole
        return
    for index in proven:
        first = _timing(results[index])

        def settle(job: FileJob, ctx: Context, index: int = index) -> FileJob:
            return settle_copy(job, ctx, kept[index], settled=True)

        _run(results, index, lambda job: run_stage(STAGE, job, ctx, lock=False, stage=settle))
        done = results[index]
        if isinstance(done, FileJob):  # the stage's time is both halves
            results[index] = done.evolve(timings={**done.timings,
                                                  STAGE: round(first + _timing(done), 6)})


def _confirmed(job: FileJob, ctx: Context) -> FileJob:
    ctx.store.confirm_lease(file_lease_name(job))
    return job


def _under_way(result: Result) -> bool:
    return isinstance(result, FileJob) and not result.outcome.is_terminal


def _timing(result: Result) -> float:
    return result.timings.get(STAGE, 0.0) if isinstance(result, FileJob) else 0.0


def _run(results: list[Result], index: int, step: Callable[[FileJob], Result]) -> None:
    """Apply `step` to the job at `index`; a retryable failure takes its place."""
    job = results[index]
    if not isinstance(job, FileJob):
        return
    try:
        results[index] = step(job)
    except (RetryableError, redis.RedisError) as exc:
        results[index] = exc
