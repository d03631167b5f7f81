"""Create the Celery app from the one `Settings` object, where a process starts: `tasks.celery`
for `celery -A tasks`, `workers.cli` for the `mediacourier` commands. Importing builds nothing."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from celery import Celery

from beat.schedule import beat_schedule
from shared.config import Settings, broker_url, check_flower_command, load_settings, signing_config
from shared.ingest import soft_time_limit
from tasks.routing import routing_config


def restore_mutex_expire(restore_interval: int) -> int:
    """Seconds kombu's restore mutex lasts when its holder dies mid-sweep."""
    return restore_interval + 5


def celery_config(settings: Settings, url: str) -> dict[str, Any]:
    transport = {
        "visibility_timeout": settings.visibility_timeout,
        # How often a worker sweeps for messages of dead workers older than the timeout.
        "unacked_restore_interval": settings.restore_interval,
        "unacked_restore_throttle": 1,
        # Each sweep holds kombu's `unacked_mutex` (one for all workers) for its few ms. A
        # worker killed inside a sweep leaves it held for its whole expiry, 300 s by default,
        # and every other worker's sweep is skipped meanwhile: a dead worker's messages then
        # waited five minutes more. A few seconds above the interval: the next sweep runs.
        "unacked_mutex_expire": restore_mutex_expire(settings.restore_interval),
    }
    return {
        "broker_url": url,
        "result_backend": url,
        "broker_transport_options": transport,
        "result_backend_transport_options": transport,
        "visibility_timeout": settings.visibility_timeout,
        # JSON only: a pickled message would run code on every worker.
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        # Stages are idempotent, so a message is acknowledged only once its work is done, and a
        # killed pool child's message is re-queued instead of acked and lost.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # A task killed by its time limit is re-queued, not acked: a pool child that died
        # unnoticed until the limit must not take the rest of the chain with it. (Poison files
        # are stopped by the per-attempt delivery counter.)
        "task_acks_on_failure_or_timeout": False,
        "worker_prefetch_multiplier": 1,
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,
        # The limits of a task with no file to move; the ingest tasks get theirs from the size
        # of their files when they are sent (tasks/chain.py, tasks/enqueue.py).
        "task_time_limit": settings.task_time_limit,
        "task_soft_time_limit": soft_time_limit(settings.task_time_limit),
        # One queue per deployment: two deployments sharing a Redis never take each other's work.
        "task_default_queue": settings.key_prefix,
        "task_track_started": True,
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        "result_expires": 86400,
        "result_extended": True,
        "beat_schedule": beat_schedule(settings),
        "beat_scheduler": "beat.scheduler:LockedScheduler",
        "beat_schedule_filename": str(Path(settings.data_dir) / "run" / "celerybeat-schedule"),
        "timezone": "UTC",
    }


def create_app(settings: Settings | None = None) -> Celery:
    settings = settings or load_settings(os.environ.get("MEDIACOURIER_CONFIG"))
    app = Celery("mediacourier", include=["tasks.ingest", "tasks.maintenance", "tasks.mirror",
                                          "tasks.delivery", "tasks.backup", "tasks.library",
                                          "tasks.fetch"])
    app.conf.update(celery_config(settings, broker_url(settings)))
    app.conf.update(routing_config(settings))  # queues from [hosts.*]; see shared/config/queues.py
    check_flower_command(sys.argv, os.environ)  # Flower beyond loopback needs credentials
    if settings.security.signing:
        # Sign what this process sends; run only what verifies against the cert store. JSON
        # stays readable for results and remote control (`inspect ping`), never for tasks.
        app.conf.update(signing_config(settings.security))
        app.setup_security(allowed_serializers=["json"])
    app.mc_settings = settings  # type: ignore[attr-defined]
    return app

