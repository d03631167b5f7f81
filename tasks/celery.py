"""The app of `celery -A tasks worker|beat|flower|call|inspect`.

Celery looks for `tasks.app`, then `tasks.celery`, and finds this module: the app is built from
the environment (`MEDIACOURIER_CONFIG`, `MEDIACOURIER_*`) here, when a Celery process starts,
never when `tasks` or a task module is imported.
"""

from tasks import delivery, ingest, maintenance, mirror  # noqa: F401 - registers every task
from tasks.app import create_app

app = create_app()
