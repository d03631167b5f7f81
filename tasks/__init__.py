"""The Celery app: `celery -A tasks worker|beat|flower|call|inspect` finds `tasks.app`."""

from tasks.app import app

__all__ = ["app"]

# Registering the task modules here makes `celery -A tasks call/inspect` see every task name.
from tasks import delivery, ingest, maintenance, mirror  # noqa: E402,F401
