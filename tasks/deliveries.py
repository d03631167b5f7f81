"""The one delivery counter of every task: a message that kills its worker again and again (OOM,
a segfault, its hard time limit) stops after MAX_DELIVERIES deliveries instead of looping.

A delivery is counted when it starts and forgotten when it ends in any way a task can end (done,
waiting, retrying, failed, refused). What stays counted are the deliveries whose process died
before they ended. Counting only those lets long waits and retries go on for as long as they
need, and makes the count mean what the poison rule asks: how often this work killed a worker.

What is counted (`stage_unit`, `message_unit`): a stage of one file version for the chain's
tasks, so that a file the in-flight sweeper sends again as a new message keeps its count; one
message otherwise (an `ingest_batch`, a mirror run, a reconcile, a rescan flush, a delivery
check). A hard time limit is counted apart, in the worker's main process, which is the one that
kills the pool process (`count_hard_time_limit`); a soft one by the task that caught it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from hashlib import blake2b
from typing import Any

import redis
from celery import Task
from celery.exceptions import Reject, TimeLimitExceeded
from celery.signals import task_failure

from shared.ingest import STAGES, Context
from tasks.gates import hold_or_requeue
from tasks.runtime import context_of

log = logging.getLogger(__name__)
MAX_DELIVERIES = 5  # deliveries of the same work that died; the next one fails it
COUNT_TTL = 86400  # a day: a counter of work nobody sends again goes away by itself
STAGE_TASKS = {f"mediacourier.{name}": name for name, _ in STAGES}


def stage_unit(stage: str, job: Any) -> str:
    """One stage of one file version, whatever message carries it."""
    given = job if isinstance(job, dict) else {}
    return _digest([stage, *(given.get(k) for k in ("source", "rel_path", "size", "mtime_ns"))])


def message_unit(task_name: str, task_id: str | None) -> str:
    """One message: its id stays the same through redeliveries, retries and pause re-sends."""
    return _digest([task_name, task_id])


def unit_of(task_name: str, task_id: str | None, args: Sequence[Any]) -> str:
    stage = STAGE_TASKS.get(task_name)
    if stage is not None and args:
        return stage_unit(stage, args[0])
    return message_unit(task_name, task_id)


def _digest(parts: list[Any]) -> str:
    # A short fixed-length key, whatever the file names are.
    return blake2b(json.dumps(parts).encode(), digest_size=16).hexdigest()


@dataclass
class Delivery:
    """This delivery of a unit of work, and what the counter says about the ones before it."""

    ctx: Context
    unit: str
    started: int  # deliveries of the unit not ended, this one included
    timeouts: int  # how often the unit hit its time limit (soft or hard)
    time_limit: int | None = None  # this delivery's hard limit, for the reason

    @property
    def earlier(self) -> int:
        """Deliveries before this one that did not end: they died, or are still at work."""
        return max(0, self.started - 1)

    def poison_reason(self) -> str | None:
        """Why this work must not run again, or None."""
        if self.timeouts >= MAX_DELIVERIES:
            limit = f" ({self.time_limit} s)" if self.time_limit else ""
            return f"exceeded its time limit{limit} {self.timeouts} times"
        if self.earlier >= MAX_DELIVERIES:
            return (f"delivered too many times; it may crash workers ({self.earlier} "
                    "deliveries never finished)")
        return None

    def timed_out(self) -> int:
        """Count a soft time limit of this delivery; how often the unit has timed out now."""
        self.timeouts = hold_or_requeue(lambda: self.ctx.store.count_timeout(self.unit, COUNT_TTL))
        return self.timeouts


@contextmanager
def counted(task: Task, ctx: Context, unit: str | None = None) -> Iterator[Delivery]:
    """Count this delivery for the block; every way out of it but a dying process forgets it."""
    request = task.request
    unit = unit or message_unit(task.name, request.id)
    started, timeouts = hold_or_requeue(lambda: ctx.store.count_delivery(unit, COUNT_TTL))
    limits = request.timelimit or (None, None)
    delivery = Delivery(ctx, unit, started, timeouts, limits[0])
    try:
        yield delivery
    except Exception:
        _forget(ctx, unit)
        raise
    else:
        _forget(ctx, unit)
    # SystemExit, KeyboardInterrupt: the process is going away mid-task (Celery re-queues the
    # message as for a lost worker), so the delivery stays counted, like a killed one.


def _forget(ctx: Context, unit: str) -> None:
    try:
        ctx.store.forget_delivery(unit)
    except redis.RedisError as exc:  # the message comes back anyway; it counts once more
        log.warning("could not forget a delivery (%s): it stays counted", exc)


def refuse_poison(task: Task, delivery: Delivery) -> None:
    """Fail a message that killed its worker too often (journaled as 'poison'); a task that is
    not about one file ends here, its message acknowledged and its result a failure."""
    reason = delivery.poison_reason()
    if reason is None:
        return
    delivery.ctx.store.journal("poison", task=task.name, task_id=task.request.id,
                             reason=reason)
    log.error("%s[%s]: %s; not run again", task.name, task.request.id, reason)
    raise Reject(f"{task.name}: {reason}", requeue=False)


@task_failure.connect
def count_hard_time_limit(sender: Task | None = None, task_id: str | None = None,
                          exception: BaseException | None = None,
                          args: Sequence[Any] | None = None, **_: Any) -> None:
    """In the worker's main process: a pool process was killed for its task's hard time limit.
    Its delivery stays counted (it never ended); this counts the time limit too, for the
    reason the work fails with and for a batch to split on its next delivery."""
    if not isinstance(exception, TimeLimitExceeded) or sender is None \
            or getattr(sender.app, "mc_settings", None) is None:
        return
    unit = unit_of(sender.name, task_id, args or ())
    try:
        context_of(sender.app).store.count_timeout(unit, COUNT_TTL)
    except redis.RedisError as exc:
        log.warning("%s[%s] hit its hard time limit; could not count it: %s", sender.name,
                    task_id, exc)
