"""Fixtures shared by the tests of workers/."""

from tests.workers.cli_helpers import dep
from tests.workers.watcher_helpers import enqueuer, source

__all__ = ["dep", "enqueuer", "source"]
