"""Ingest tasks: thin wrappers that decode a FileJob, run one plain stage, return the new job."""

from __future__ import annotations

import logging
import os
from collections import Counter
from typing import Any

import redis
from celery import Task, shared_task
from celery.exceptions import Ignore, Reject, SoftTimeLimitExceeded

from shared.backoff import backoff_seconds
from shared.errors import (
    ContentClaimed,
    DestinationFull,
    LeaseHeld,
    PathRefused,
    RetryableError,
)
from shared.ingest import (
    STAGES,
    Context,
    fail_and_record,
    give_up,
    ingest_many,
    renew_claim,
    run_all,
    run_stage,
    wait_for_free_lease,
)
from shared.jobs import FileJob
from shared.source import (
    checked_item,
    checked_job,
    checked_source,
    journal_refusal,
    locate_file,
    rules_for,
)
from shared.state import (
    Hold,
    full_target,
    hold_after_full,
    hold_for_source,
    lift_target_full,
    source_gate,
)
from tasks.chain import ingest_chain, send_delivery_check
from tasks.deliveries import MAX_DELIVERIES, Delivery, counted, stage_unit
from tasks.gates import (
    hold_or_requeue,
    out_of_retries,
    pass_gates,
    retry_later,
    wait_for_space,
    wait_while_paused,
)
from tasks.library import index_hold
from tasks.routing import FIRST
from tasks.runtime import context_of, task_context

log = logging.getLogger(__name__)
RETRYABLE = (RetryableError, redis.RedisError)
FULL_GATED_STAGE = "transfer_file"  # the stage that needs room on the target
INDEX_GATED_STAGE = "claim_content"  # the stage that needs the library's content known


def checked_job_argument(ctx: Context, task: str, data: Any) -> FileJob:
    """The job a message carries, checked against the roots before anything is touched (anyone
    who reaches the broker can send any job); a refusal is journaled and fails the task."""
    try:
        return checked_job(ctx.settings, data)
    except PathRefused as exc:
        given = data if isinstance(data, dict) else {}
        journal_refusal(ctx.store, exc, task, given.get("source"), given.get("rel_path", data))
        raise


def run_stage_task(task: Task, name: str, data: dict[str, Any]) -> dict[str, Any]:
    """One stage of one file, behind the gates: a paused source or target waits (neither fails
    nor retries), a full target waits or is tried once per window, a stage whose deliveries
    keep dying (or hitting their time limit) fails the file, a copy of a stage a live worker
    runs ends quietly, a twin of content another job is importing waits for that job's outcome
    (no retry used up either), a retryable error retries with backoff until the retries run out.
    """
    ctx = task_context(task)
    job = checked_job_argument(ctx, f"mediacourier.{name}", data)
    settings = ctx.settings

    def paused() -> Hold | None:
        if name == "record_outcome":
            return None
        hold = hold_for_source(ctx.store, settings, job.source)
        if hold is None and name == INDEX_GATED_STAGE:  # a claim before the first index of
            hold = index_hold(task.app, ctx, job.source)  # the library could duplicate
        return hold

    full = (lambda: source_gate(ctx.store, settings, job.source, job.size)) \
        if name == FULL_GATED_STAGE else None
    trial = pass_gates(task, paused, full)
    with counted(task, ctx, stage_unit(name, data)) as delivery:
        return _run_delivery(task, name, job, ctx, trial, delivery)


def _run_delivery(task: Task, name: str, job: FileJob, ctx: Context, trial: str,
                  delivery: Delivery) -> dict[str, Any]:
    settings = ctx.settings
    reason = delivery.poison_reason()
    if reason is not None:  # the earlier deliveries died; this one would too
        if not wait_for_free_lease(job, ctx, lease_wait(ctx)):
            raise Ignore()  # unless one of them is still at work: it goes on with the chain
        fail = fail_and_record if name == "record_outcome" else give_up  # else the chain records
        return fail(job, ctx, f"{name}: {reason}").to_dict()
    try:
        renew_claim(job, ctx)  # the owner of a content claim is at work: its lease runs on
        job = _stage(name, job, ctx, delivery)
        if trial:
            lift_target_full(ctx.store, trial)
    except DestinationFull as exc:
        # Not the file's fault: hold the target and wait like paused work (no retry used up).
        wait_for_space(task, ctx.store, settings, full_target(settings, job.source), str(exc))
    except LeaseHeld as exc:
        # A second delivery of a stage a live worker is running (a restore, the sweeper): that
        # worker goes on with the chain. Ended quietly, no retry and no delivery counted; if
        # the holder dies, the in-flight sweeper sends the file again.
        log.info("%s: %s; this delivery ends here", name, exc)
        raise Ignore() from exc
    except ContentClaimed as exc:
        # Not the file's fault either: wait for the holder's outcome like paused work.
        wait_while_paused(task, Hold(str(exc), exc.countdown))
    except SoftTimeLimitExceeded:
        job = _timed_out(name, job, ctx, delivery)
    except RETRYABLE as exc:
        if out_of_retries(task, settings):
            job = give_up(job, ctx, f"gave up after {settings.max_retries} retries: {exc}")
        else:
            retry_later(task, settings, exc, name)
    except Exception as exc:  # noqa: BLE001 - one bad file must never stop a worker or a chain
        log.exception("%s failed unexpectedly for %s", name, job.rel_path)
        job = give_up(job, ctx, f"internal error in {name}: {exc!r}")
    return job.to_dict()


def _stage(name: str, job: FileJob, ctx: Context, delivery: Delivery) -> FileJob:
    """Run the stage. The lease an earlier delivery that never ended left, if it died where
    nobody sees it is gone, runs out within a lease: wait for that once. One at work past the
    visibility timeout (Redis hands its message out again) renews it: this copy ends."""
    try:
        return run_stage(name, job, ctx)
    except LeaseHeld:
        if not delivery.earlier or not wait_for_free_lease(job, ctx, lease_wait(ctx)):
            raise
    return run_stage(name, job, ctx)


def lease_wait(ctx: Context) -> float:
    return ctx.settings.lease_seconds + 1


def _timed_out(name: str, job: FileJob, ctx: Context, delivery: Delivery) -> FileJob:
    """Slower than `floor_rate` (plus the base) allows: a stalled share, a hanging disk. The
    message goes back at once, until it timed out MAX_DELIVERIES times; then the file fails."""
    if delivery.timed_out() < MAX_DELIVERIES:
        log.warning("%s of %s exceeded its time limit; delivered again", name, job.rel_path)
        raise Reject(f"{name} of {job.rel_path}: time limit exceeded", requeue=True)
    return give_up(job, ctx, f"{name}: {delivery.poison_reason()}")


def _define_stage(name: str) -> Task:
    def stage_task(self: Task, job: dict[str, Any]) -> dict[str, Any]:
        return run_stage_task(self, name, job)

    stage_task.__name__ = name
    stage_task.__doc__ = f"Run the {name} stage for one file."
    return shared_task(name=f"mediacourier.{name}", bind=True)(stage_task)


STAGE_TASKS = {name: _define_stage(name) for name, _ in STAGES}


@shared_task(name="mediacourier.ingest", bind=True)
def ingest(self: Task, path: str) -> dict[str, Any]:
    """Manual trigger: ingest one file, given by absolute path inside a configured source (after
    resolving symlinks: `inbox/../x` and `inbox/link-to-elsewhere/x` are outside the inbox)."""
    ctx = context_of(self.app)
    try:
        source, rel = locate_file(ctx.settings, path)
        if not rules_for(source).accepts(rel):
            raise PathRefused(f"{path}: ignored by the rules of source {source.name!r}")
    except PathRefused as exc:
        journal_refusal(ctx.store, exc, "mediacourier.ingest", path=path)
        raise
    job = FileJob(source.name, rel)
    size = _size_of(os.path.join(source.path, rel))  # for the chain's time limits
    # FIRST for every stage: a file asked for by hand goes ahead of live and bulk work.
    result = ingest_chain(self.app, job, size=size, priority=FIRST).apply_async()
    return {"source": source.name, "rel_path": rel, "chain": result.id}


def _size_of(path: str) -> int:
    try:
        return os.lstat(path).st_size
    except OSError:
        return 0  # gone already: hash_file says so, in the journal


@shared_task(name="mediacourier.ingest_batch", bind=True)
def ingest_batch(self: Task, source: str, items: list[list[Any]]) -> dict[str, int]:
    """Many files in one task, stage by stage through the same stage functions as the chain
    (see shared.ingest.batch): images first, then sidecars, so sidecars find their image placed."""
    ctx = task_context(self)
    counts: Counter[str] = Counter()
    checked = _checked_items(ctx, source, items, counts)
    smallest = min((size for _, size, _ in checked), default=0)
    trial = pass_gates(self, lambda: hold_for_source(ctx.store, ctx.settings, source)
                       or index_hold(self.app, ctx, source),
                       lambda: source_gate(ctx.store, ctx.settings, source, smallest))
    jobs = [FileJob(source, rel, size, mtime_ns, queued_version=f"{size}:{mtime_ns}")
            for rel, size, mtime_ns in checked]

    def after_wave(results: list[Any]) -> None:
        hold_or_requeue(lambda: _note_full(ctx, source, results, trial))

    def settle(job: FileJob, result: Any) -> None:
        counts[_settle_batch_item(self, ctx, job, result)] += 1
        settled.add(job.rel_path)
        self.update_state(state="PROGRESS", meta={"done": sum(counts.values()),
                                                  "total": len(items)})

    settled: set[str] = set()
    with counted(self, ctx) as delivery:
        if delivery.earlier:
            # A delivery died (a file crashes workers, its hard time limit) or is at work past
            # the visibility timeout: not run again as a whole, each file goes on alone.
            why = "its time limit" if delivery.timeouts else "a worker that died"
            counts["split"] += _split(self, ctx, jobs, why)
            return dict(counts)
        try:
            ingest_many(jobs, ctx, settle, after_wave)
        except SoftTimeLimitExceeded:
            delivery.timed_out()
            rest = [job for job in jobs if job.rel_path not in settled]
            counts["split"] += _split(self, ctx, rest, "its soft time limit")
    return dict(counts)


def _split(task: Task, ctx: Context, jobs: list[FileJob], why: str) -> int:
    """Each file as a chain of its own (whose stages count deliveries per file: the one file
    that kills workers fails alone), once the leases a dead delivery left have run out; a live
    delivery keeps its leases, and its files are not taken twice."""
    countdown = min(lease_wait(ctx), ctx.settings.countdown_limit)
    for job in jobs:
        try:
            ingest_chain(task.app, job).apply_async(countdown=countdown)
        except Exception as send_error:
            raise Reject(f"cannot split the batch: {send_error}", requeue=True) from send_error
    if jobs:
        ctx.store.journal("batch-split", source=jobs[0].source, files=len(jobs),
                          reason=f"after {why}", task_id=task.request.id)
    log.info("batch %s split into %d chains after %s", task.request.id, len(jobs), why)
    return len(jobs)


def _checked_items(ctx: Context, source: Any, items: Any,
                   counts: Counter[str]) -> list[tuple[str, int, int]]:
    """The batch's items that name files inside the source; each other one is refused (and
    journaled) alone. An unknown source refuses the whole batch."""
    try:
        config = checked_source(ctx.settings, source)
        if not isinstance(items, list):
            raise PathRefused(f"ingest_batch items {items!r}: not a list")
    except PathRefused as exc:
        journal_refusal(ctx.store, exc, "mediacourier.ingest_batch", source)
        raise
    checked = []
    for item in items:
        try:
            checked.append(checked_item(config, item))
        except PathRefused as exc:
            path = item[0] if isinstance(item, list | tuple) and item else item
            journal_refusal(ctx.store, exc, "mediacourier.ingest_batch", source, path)
            counts["refused"] += 1
    return checked


def _note_full(ctx: Context, source: str, results: list[Any], trial: str) -> None:
    """Hold the target on the batch's first full disk (its files then wait as chains of their
    own); a batch that was the target's trial and fitted lifts the hold."""
    full = next((r for r in results if isinstance(r, DestinationFull)), None)
    if full is not None:
        hold_after_full(ctx.store, full_target(ctx.settings, source), str(full))
    elif trial:
        lift_target_full(ctx.store, trial)


def _settle_batch_item(task: Task, ctx: Context, job: FileJob, result: Any) -> str:
    """The outcome of one batch item; files that must wait continue as chains of their own."""
    if result is None:
        try:
            result = run_all(job, ctx)
        except (RetryableError, redis.RedisError) as exc:
            result = exc
        except Exception as exc:  # noqa: BLE001 - one bad file never stops the rest
            log.exception("batch item %s failed unexpectedly", job.rel_path)
            result = fail_and_record(job, ctx, f"internal error: {exc!r}")
    if isinstance(result, FileJob):
        send_delivery_check(task.app, result)
        return str(result.outcome)
    if isinstance(result, redis.RedisError):
        # Redis is away: the whole batch comes back later; files done so far are skipped.
        raise Reject(f"Redis unavailable: {result}", requeue=True) from result
    if isinstance(result, LeaseHeld):
        # Under way in a live worker (this is a second delivery): left to it, like a chain's.
        log.info("%s: %s; left to it", job.rel_path, result)
        return "busy"
    log.info("%s: %s; continuing as its own chain", job.rel_path, result)
    try:
        ingest_chain(task.app, job).apply_async(countdown=backoff_seconds(0, 2.0))
    except Exception as send_error:
        raise Reject(f"cannot defer {job.rel_path}: {send_error}", requeue=True) from result
    return "deferred"
