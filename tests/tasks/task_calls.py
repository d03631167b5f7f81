"""Running a task's body in this process as a worker would, and reading what it sent, on an
app with the in-memory broker (no worker process)."""

from __future__ import annotations

from typing import Any

from celery import Celery


def call_task(app: Celery, name: str, *args: Any, task_id: str = "t-1", retries: int = 0,
              routing_key: str = "q") -> Any:
    """The task's body, with a request like a worker's delivery of it."""
    task = app.tasks[name]
    task.push_request(id=task_id, retries=retries, args=list(args), kwargs={},
                      called_directly=False,
                      delivery_info={"routing_key": routing_key, "exchange": ""})
    try:
        return task.run(*args)
    finally:
        task.pop_request()


def drain(app: Celery, queue_name: str) -> list[Any]:
    """The messages sent to `queue_name`, taken off the in-memory queue."""
    out = []
    with app.connection_for_read() as conn, conn.SimpleQueue(queue_name) as queue:
        while True:
            try:
                message = queue.get(timeout=0.05)
            except queue.Empty:
                return out
            message.ack()
            out.append(message)
