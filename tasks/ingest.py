"""Ingest tasks: thin wrappers that decode a FileJob, run one plain stage, return the new job."""

from __future__ import annotations

import dataclasses
import logging
import os
from collections import Counter
from pathlib import Path
from typing import Any

import kombu.exceptions
import redis
from celery import Task, shared_task
from celery.exceptions import Reject, Retry

from shared.backoff import backoff_seconds, retry_cap
from shared.errors import DestinationFull, PathRefused, RetryableError
from shared.ingest import STAGES, give_up, run_all, run_batch, run_stage
from shared.jobs import FileJob
from shared.media import is_sidecar
from shared.source import rules_for
from shared.state import (
    Hold,
    full_target,
    hold_after_full,
    hold_for_source,
    lift_target_full,
    recheck_cap,
    source_gate,
)
from shared.transfer import LocalTransfer
from tasks.chain import ingest_chain, send_delivery_check
from tasks.hold import hold_or_requeue, wait_while_paused
from tasks.runtime import context_of, settings_of, task_context

log = logging.getLogger(__name__)
RETRYABLE = (RetryableError, redis.RedisError)
ATTEMPT_KEY_TTL = 86400
FULL_GATED_STAGE = "transfer_file"  # the stage that needs room on the target
MAX_DELIVERIES = 5  # of one attempt: a message that keeps killing its worker is poison


def _too_many_deliveries(task: Task, ctx) -> bool:
    """A file that kills its worker (OOM, segfault) is redelivered forever unless counted."""
    key = ctx.store.key("deliveries", f"{task.request.id}:{task.request.retries}")
    deliveries = ctx.store.client.incr(key)
    ctx.store.client.expire(key, ATTEMPT_KEY_TTL)
    return deliveries > MAX_DELIVERIES


def _forget_delivery(task: Task, ctx) -> None:
    """A run that ends waiting for space is not a delivery that might have crashed a worker."""
    ctx.store.client.decr(ctx.store.key("deliveries", f"{task.request.id}:{task.request.retries}"))


def run_stage_task(task: Task, name: str, data: dict[str, Any]) -> dict[str, Any]:
    ctx = task_context(task)
    job = FileJob.from_dict(data)
    settings = ctx.settings
    if name != "record_outcome":  # a paused source or target: wait, neither fail nor retry
        wait_while_paused(task, hold_or_requeue(
            lambda: hold_for_source(ctx.store, settings, job.source)))
    trial = ""
    if name == FULL_GATED_STAGE:  # a target held full: wait, or be the one to try it
        gate = hold_or_requeue(lambda: source_gate(ctx.store, settings, job.source, job.size))
        wait_while_paused(task, gate.hold)
        trial = gate.trial
    if _too_many_deliveries(task, ctx):
        reason = f"{name}: delivered too many times; it may crash workers"
        return give_up(job, ctx, reason).to_dict()
    try:
        job = run_stage(name, job, ctx)
        if trial:
            lift_target_full(ctx.store, trial)
    except DestinationFull as exc:
        # Not the file's fault: hold the target and wait like paused work (no retry used up).
        target, reason = full_target(settings, job.source), str(exc)

        def hold_full() -> Hold:
            _forget_delivery(task, ctx)
            return hold_after_full(ctx.store, target, reason, recheck_cap(settings))

        wait_while_paused(task, hold_or_requeue(hold_full))
    except RETRYABLE as exc:
        if task.request.retries >= settings.max_retries:
            job = give_up(job, ctx, f"gave up after {settings.max_retries} retries: {exc}")
        else:
            _retry_or_requeue(task, name, exc)
    except Exception as exc:  # noqa: BLE001 - one bad file must never stop a worker or a chain
        log.exception("%s failed unexpectedly for %s", name, job.rel_path)
        job = give_up(job, ctx, f"internal error in {name}: {exc!r}")
    return job.to_dict()


def _retry_or_requeue(task: Task, name: str, exc: Exception) -> None:
    """Retry with backoff; when even the retry cannot be published (the broker is away),
    leave the message unacknowledged so it comes back, instead of losing the rest of the chain.
    """
    settings = settings_of(task.app)
    cap = retry_cap(settings.visibility_timeout, settings.retry_backoff_max)
    log.info("%s: %s; retrying", name, exc)
    try:
        raise task.retry(exc=exc, countdown=backoff_seconds(task.request.retries, cap),
                         max_retries=settings.max_retries)
    except Retry:
        raise
    except (redis.RedisError, kombu.exceptions.OperationalError) as publish_error:
        raise Reject(f"cannot retry {name}: {publish_error}", requeue=True) from exc


def _define_stage(name: str) -> Task:
    def stage_task(self: Task, job: dict[str, Any]) -> dict[str, Any]:
        return run_stage_task(self, name, job)

    stage_task.__name__ = name
    stage_task.__doc__ = f"Run the {name} stage for one file."
    return shared_task(name=f"mediacourier.{name}", bind=True)(stage_task)


STAGE_TASKS = {name: _define_stage(name) for name, _ in STAGES}


@shared_task(name="mediacourier.ingest", bind=True)
def ingest(self: Task, path: str) -> dict[str, Any]:
    """Manual trigger: ingest one file, given by absolute path inside a configured source."""
    settings = settings_of(self.app)
    if not isinstance(path, str) or not os.path.isabs(path):
        raise PathRefused(f"{path!r}: give an absolute path inside a configured source")
    found = settings.source_for_path(Path(path))
    if found is None:
        context_of(self.app).store.journal("refused", path=path, reason="outside every source")
        raise PathRefused(f"{path}: outside every configured source; nothing was touched")
    source, rel = found
    if not rules_for(source).accepts(rel):
        raise PathRefused(f"{path}: ignored by the rules of source {source.name!r}")
    job = FileJob(source.name, rel)
    result = ingest_chain(self.app, job).apply_async()
    return {"source": source.name, "rel_path": rel, "chain": result.id}


@shared_task(name="mediacourier.ingest_batch", bind=True)
def ingest_batch(self: Task, source: str, items: list[list[Any]]) -> dict[str, int]:
    """Many files in one task, stage by stage through the same stage functions as the chain
    (see shared.ingest.batch): images first, then sidecars, so sidecars find their image placed."""
    ctx = task_context(self)
    wait_while_paused(self, hold_or_requeue(
        lambda: hold_for_source(ctx.store, ctx.settings, source)))
    smallest = min((int(size) for _, size, _ in items), default=0)
    gate = hold_or_requeue(lambda: source_gate(ctx.store, ctx.settings, source, smallest))
    wait_while_paused(self, gate.hold)
    batch_ctx = dataclasses.replace(ctx, backend=LocalTransfer(fsync=False))
    counts: Counter[str] = Counter()
    jobs = [FileJob(source, rel, size, mtime_ns, queued_version=f"{size}:{mtime_ns}")
            for rel, size, mtime_ns in items]
    for group in ([j for j in jobs if not is_sidecar(j.rel_path)],
                  [j for j in jobs if is_sidecar(j.rel_path)]):
        try:
            results: list[Any] = run_batch(group, batch_ctx)
        except Exception:  # noqa: BLE001 - a broken batch falls back to one file at a time
            log.exception("batch of %d files failed; going file by file", len(group))
            results = [None] * len(group)
        hold_or_requeue(lambda r=results: _note_full(ctx, source, r, gate.trial))
        for job, result in zip(group, results, strict=True):
            counts[_settle_batch_item(self, ctx, job, result)] += 1
        self.update_state(state="PROGRESS", meta={"done": sum(counts.values()),
                                                  "total": len(items)})
    return dict(counts)


def _note_full(ctx, source: str, results: list[Any], trial: str) -> None:
    """Hold the target on the batch's first full disk (its files then wait as chains of their
    own); a batch that was the target's trial and fitted lifts the hold."""
    full = next((r for r in results if isinstance(r, DestinationFull)), None)
    if full is not None:
        hold_after_full(ctx.store, full_target(ctx.settings, source), str(full))
    elif trial:
        lift_target_full(ctx.store, trial)


def _settle_batch_item(task: Task, ctx, job: FileJob, result: Any) -> str:
    """The outcome of one batch item; files that must wait continue as chains of their own."""
    if result is None:
        try:
            result = run_all(job, ctx)
        except (RetryableError, redis.RedisError) as exc:
            result = exc
        except Exception as exc:  # noqa: BLE001 - one bad file never stops the rest
            log.exception("batch item %s failed unexpectedly", job.rel_path)
            result = run_stage("record_outcome", give_up(job, ctx, f"internal error: {exc!r}"),
                               ctx)
    if isinstance(result, FileJob):
        send_delivery_check(task.app, result)
        return str(result.outcome)
    if isinstance(result, redis.RedisError):
        # Redis is away: the whole batch comes back later; files done so far are skipped.
        raise Reject(f"Redis unavailable: {result}", requeue=True) from result
    log.info("%s: %s; continuing as its own chain", job.rel_path, result)
    try:
        ingest_chain(task.app, job).apply_async(countdown=backoff_seconds(0, 2.0))
    except Exception as send_error:
        raise Reject(f"cannot defer {job.rel_path}: {send_error}", requeue=True) from result
    return "deferred"
