"""Celery routing from `[hosts.*]`: declared queues and a router (names in shared/config/queues.py).

Queues are declared explicitly and `task_create_missing_queues` is off, so a typo in a queue name
(`celery call --queue`, `worker -Q`) is an error instead of work stranded in a queue nobody reads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kombu import Exchange, Queue

from shared.config import Settings, all_queues, queue_for, shared_queue


def declared_queues(settings: Settings) -> list[Queue]:
    # One direct exchange, one routing key per queue: a message reaches exactly one queue.
    exchange = Exchange(settings.key_prefix, type="direct")
    return [Queue(name, exchange, routing_key=name) for name in all_queues(settings)]


class HostRouter:
    """Celery router: sends each task to the queue of a host that can reach its files."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def __call__(self, name: str, args: Sequence[Any] | None, kwargs: Mapping[str, Any] | None,
                 options: Mapping[str, Any], task: Any = None, **_: Any) -> dict[str, str] | None:
        if options.get("queue"):  # `celery call --queue …` or a retry: keep the given queue
            return None
        return {"queue": queue_for(self.settings, name, args, kwargs)}


def routing_config(settings: Settings) -> dict[str, Any]:
    return {
        "task_queues": declared_queues(settings),
        "task_default_queue": shared_queue(settings),
        "task_default_exchange": settings.key_prefix,
        "task_default_routing_key": shared_queue(settings),
        "task_create_missing_queues": False,
        "task_routes": (HostRouter(settings),),
    }
