"""Re-scheduling a task whose source or target is paused: it waits, it does not fail."""

from __future__ import annotations

import logging

import kombu.exceptions
import redis
from celery import Task
from celery.exceptions import Reject, Retry

from shared.errors import WorkPaused
from shared.state import Hold

log = logging.getLogger(__name__)


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
    except (redis.RedisError, kombu.exceptions.OperationalError) as exc:
        raise Reject(f"paused, and cannot re-schedule: {exc}", requeue=True) from exc
    log.info("%s waits %.0f s: %s", task.name, hold.countdown, hold.reason)
    raise Retry(hold.reason, exc=WorkPaused(hold.reason), when=hold.countdown, sig=sig)


def hold_or_requeue(lookup) -> Hold | None:  # noqa: ANN001 - a zero-argument callable
    """Look up the hold; Redis being away re-queues the message instead of failing it."""
    try:
        return lookup()
    except redis.RedisError as exc:
        raise Reject(f"Redis unavailable: {exc}", requeue=True) from exc
