"""Celery routing from `[hosts.*]`: declared queues and a router (names in shared/config/queues.py).

The router also gives every task its priority (kombu's Redis transport keeps priorities 0, 3, 6
and 9 of a queue in lists of their own and a worker takes from the lowest number first): what a
person asked for and the in-flight sweeper first, then a file that just arrived, then the work a
reconcile found, then bulk work. A photo that arrives while a 100,000-file reconcile is queued
waits for a free worker slot, not behind the reconcile.

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


FIRST, LIVE, RECONCILE, BULK = 0, 3, 6, 9
# Tasks not listed: FIRST (a manual `celery call`, rescans, the sweeper, notifications). Each
# stage of a file's chain is LIVE; an `ingest_batch` is what a reconcile (or `resume`, a
# catch-up scan) found, unless its sender says otherwise (the sweeper resends at FIRST; a
# reconcile sends the files that arrived lately, and its follow-up pass, at LIVE:
# shared/source/reconcile.py FRESH_SECONDS).
PRIORITIES: dict[str, int] = {
    "mediacourier.hash_file": LIVE, "mediacourier.claim_content": LIVE,
    "mediacourier.transfer_file": LIVE, "mediacourier.verify_copy": LIVE,
    "mediacourier.request_rescan": LIVE, "mediacourier.record_outcome": LIVE,
    "mediacourier.confirm_delivery": LIVE,
    "mediacourier.ingest_batch": RECONCILE, "mediacourier.reconcile": RECONCILE,
    "mediacourier.mirror": BULK, "mediacourier.scrub": BULK, "mediacourier.index": BULK,
    "mediacourier.flow_step": RECONCILE,  # a flow moves many files: never ahead of a live one
    "mediacourier.fetch_icloud": BULK,
}


class HostRouter:
    """Celery router: sends each task to the queue of a host that can reach its files."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def __call__(self, name: str, args: Sequence[Any] | None, kwargs: Mapping[str, Any] | None,
                 options: Mapping[str, Any], task: Any = None, **_: Any) -> dict[str, str] | None:
        if options.get("queue"):  # `celery call --queue …` or a retry: keep the given queue
            return None
        # A priority the sender gave wins over this default (Celery merges the route under
        # the message's own options).
        return {"queue": queue_for(self.settings, name, args, kwargs),
                "priority": PRIORITIES.get(name, FIRST)}


def routing_config(settings: Settings) -> dict[str, Any]:
    return {
        "task_queues": declared_queues(settings),
        "task_default_queue": shared_queue(settings),
        "task_default_exchange": settings.key_prefix,
        "task_default_routing_key": shared_queue(settings),
        "task_create_missing_queues": False,
        "task_routes": (HostRouter(settings),),
    }
