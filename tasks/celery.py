"""The app of `celery -A tasks worker|beat|flower|call|inspect`.

Celery looks for `tasks.app`, then `tasks.celery`, and finds this module: the app is built from
the environment (`MEDIACOURIER_CONFIG`, `MEDIACOURIER_*`) here, when a Celery process starts,
never when `tasks` or a task module is imported.

Logging is ours (workers/logs.py): one format tagged `worker`, `beat` or `flower`, one line per
file at INFO, Celery's per-task lines and start-up banners only at DEBUG.
"""

from __future__ import annotations

import logging
import sys
import warnings
from typing import Any

from celery.exceptions import SecurityWarning
from celery.signals import celeryd_after_setup, celeryd_init, setup_logging

import tasks.flow  # noqa: F401 - registers mediacourier.flow_step
from shared.errors import MediacourierError
from tasks import delivery, fetch, ingest, maintenance, mirror  # noqa: F401 - registers every task
from tasks.app import create_app
from workers.logs import celery_process_tag, configure_logging, level_of

# Celery warns about a root worker on every start. What makes root dangerous there is pickle,
# and this app accepts JSON only (tasks/app.py), so the warning asks for no action; running as
# root or not is the deployment's choice (a container's user).
warnings.filterwarnings("ignore", message="You're running the worker with superuser",
                        category=SecurityWarning)

TAG = celery_process_tag(sys.argv)
log = logging.getLogger("mediacourier.worker")


@setup_logging.connect
def _one_format(loglevel: int | str | None = None, logfile: str | None = None,
                **_: Any) -> None:
    """Celery's worker and beat (and each pool child after its fork) configure logging here,
    instead of Celery's own formats."""
    configure_logging(TAG, loglevel, logfile)


@celeryd_init.connect
def _no_banner(instance: Any = None, options: dict[str, Any] | None = None, **_: Any) -> None:
    """The 25-line start-up banner only at DEBUG; at INFO the one line below says the same."""
    if instance is not None and level_of((options or {}).get("loglevel")) > logging.DEBUG:
        instance.quiet = True


@celeryd_after_setup.connect
def _one_line_banner(sender: str = "", instance: Any = None, **_: Any) -> None:
    queues = sorted(instance.app.amqp.queues) if instance is not None else []
    concurrency = getattr(instance, "concurrency", "?")
    broker = instance.app.connection_for_write().as_uri() if instance is not None else "?"
    log.info("%s: broker %s, queues %s, concurrency %s", sender, broker, ", ".join(queues),
             concurrency)


try:
    app = create_app()
except MediacourierError as exc:
    # `celery -A tasks …` with no configuration or Redis found: Celery prints this one line
    # instead of a 30-line import traceback.
    raise SystemExit(f"mediacourier: {exc}") from None


class QuietBeat(app.Beat):  # type: ignore[name-defined,misc]
    """`celery beat` without its banner below DEBUG (Celery has no setting for it)."""

    def __init__(self, *args: Any, quiet: bool = False, loglevel: str | int = "WARN",
                 **kwargs: Any) -> None:
        quiet = quiet or level_of(loglevel) > logging.DEBUG
        super().__init__(*args, quiet=quiet, loglevel=loglevel, **kwargs)


app.Beat = QuietBeat

if TAG == "flower":
    # Flower never calls Celery's logging set-up, and Tornado adds its own format to a root
    # logger without handlers: configure ours first.
    configure_logging(TAG)
