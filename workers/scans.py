"""The watcher's catch-up scans, each on a thread of its own (used by workers/watcher.py).

A source's catch-up scan queues its whole backlog (minutes for 20,000 files on a loaded
machine: one batch message after another). Run on the watcher's loop, it kept every live file
that settled meanwhile waiting until the last batch was queued, and by then the workers were
draining the backlog. On a thread, the loop goes on handing live files over during the scan.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class ScanThreads:
    """At most one running scan per name; a second one asked for meanwhile is refused (the
    caller asks again once `running(name)` is False)."""

    def __init__(self) -> None:
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()

    def running(self, name: str) -> bool:
        with self._lock:
            thread = self._threads.get(name)
            return thread is not None and thread.is_alive()

    def start(self, name: str, scan: Callable[[], None]) -> bool:
        """Run `scan` on a new thread unless one for `name` still runs; True if started."""
        with self._lock:
            thread = self._threads.get(name)
            if thread is not None and thread.is_alive():
                return False
            # daemon: a scan stuck on a Redis that is gone never keeps the process alive;
            # `join` is what waits for a scan to finish queueing.
            thread = threading.Thread(target=scan, name=f"catch-up scan {name}", daemon=True)
            self._threads[name] = thread
            thread.start()
            return True

    def join(self, timeout: float | None = None) -> bool:
        """Wait for every running scan to end; False if one still runs after `timeout`."""
        with self._lock:
            threads = list(self._threads.values())
        for thread in threads:
            if thread.is_alive():
                log.info("waiting for the %s to finish queueing", thread.name)
            thread.join(timeout)
        return not any(thread.is_alive() for thread in threads)
