"""The one gate every task passes: wait while paused, wait while the destination is full (or be
its one trial), retry with backoff. A task that waits is sent again later; it neither fails nor
uses up a retry."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import kombu.exceptions
import redis
from celery import Task
from celery.exceptions import Reject, Retry

from shared.backoff import backoff_seconds, retry_cap
from shared.config import Settings
from shared.errors import WorkPaused
from shared.state import Gate, Hold, RedisStateStore, hold_after_full, recheck_cap

log = logging.getLogger(__name__)
T = TypeVar("T")
PUBLISH_ERRORS = (redis.RedisError, kombu.exceptions.OperationalError)


def wait_while_paused(task: Task, hold: Hold | None) -> None:
    """Send this very message again `hold.countdown` seconds later and end this run.

    The copy keeps the chain, the task id and the retry count (`task.retry` would add one,
    and a long pause would turn into a failed file).
    """
    if hold is None:
        return
    request = task.request
    sig = task.signature_from_request(request, countdown=hold.countdown,
                                      retries=request.retries)
    try:
        sig.apply_async()
    except PUBLISH_ERRORS as exc:
        raise Reject(f"paused, and cannot re-schedule: {exc}", requeue=True) from exc
    log.info("%s waits %.0f s: %s", task.name, hold.countdown, hold.reason)
    raise Retry(hold.reason, exc=WorkPaused(hold.reason), when=hold.countdown, sig=sig)


def hold_or_requeue(lookup: Callable[[], T]) -> T:
    """Look up the hold; Redis being away re-queues the message instead of failing it."""
    try:
        return lookup()
    except redis.RedisError as exc:
        raise Reject(f"Redis unavailable: {exc}", requeue=True) from exc


def pass_gates(task: Task, paused: Callable[[], Hold | None],
               full: Callable[[], Gate] | None = None) -> str:
    """Wait while paused, then while the destination is held full; the trial token this run
    must lift the hold with when its copy fits ('' when it is no trial)."""
    wait_while_paused(task, hold_or_requeue(paused))
    if full is None:
        return ""
    gate = hold_or_requeue(full)
    wait_while_paused(task, gate.hold)
    return gate.trial


def wait_for_space(task: Task, store: RedisStateStore, settings: Settings, target: str,
                   reason: str, before: Callable[[], Any] | None = None) -> None:
    """Hold `target` full (journaled once) and send this message again when it may have room."""

    def hold() -> Hold:
        if before is not None:
            before()
        return hold_after_full(store, target, reason, recheck_cap(settings))

    wait_while_paused(task, hold_or_requeue(hold))


def out_of_retries(task: Task, settings: Settings) -> bool:
    return task.request.retries >= settings.max_retries


def retry_later(task: Task, settings: Settings, exc: Exception | None = None,
                what: str = "") -> NoReturn:
    """Retry with exponential backoff and jitter, capped below half the visibility timeout so
    a waiting retry is never taken for a lost message. When even the retry cannot be published
    (the broker is away) the message stays unacknowledged and comes back."""
    cap = retry_cap(settings.visibility_timeout, settings.retry_backoff_max)
    log.info("%s: %s; retrying", what or task.name, exc)
    try:
        raise task.retry(exc=exc, countdown=backoff_seconds(task.request.retries, cap),
                         max_retries=settings.max_retries)
    except Retry:
        raise
    except PUBLISH_ERRORS as publish_error:
        raise Reject(f"cannot retry {what or task.name}: {publish_error}",
                     requeue=True) from exc
