"""Decides when a file has finished arriving, from file-system events and fresh stats.

The idea comes from paperless-ngx's consumer: events alone are not enough (a slow network copy
can pause longer than any event gap, and some writers never send a close event), so a file is
handed over only after a quiet period with no events AND an unchanged size and mtime on a
fresh stat. A file that changed is given another full quiet period.

A file whose hand-over failed (queue unreachable) is tracked again with exponential backoff, so
nothing is dropped. Not thread-safe: the caller (the watcher) holds one lock around every call.
"""

from __future__ import annotations

import os
import stat as stat_module
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class _Pending:
    deadline: float
    snapshot: os.stat_result


def backoff_delay(attempt: int, base: float = 1.0, cap: float = 60.0) -> float:
    """Seconds to wait after the `attempt`-th consecutive failure: base, 2·base, 4·base, … cap."""
    return min(cap, base * 2 ** min(max(attempt - 1, 0), 32))


def _same_version(a: os.stat_result, b: os.stat_result) -> bool:
    return a.st_size == b.st_size and a.st_mtime_ns == b.st_mtime_ns


class StabilityTracker:
    """Tracks files that are still arriving and reports those that have settled."""

    def __init__(
        self,
        quiet_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        stat: Callable[[str], os.stat_result] = os.stat,
    ) -> None:
        if quiet_seconds < 0:
            raise ValueError(f"quiet_seconds must be >= 0, got {quiet_seconds}")
        self.quiet_seconds = quiet_seconds
        self._clock = clock
        self._stat = stat
        self._pending: dict[str, _Pending] = {}
        self._failures: dict[str, int] = {}  # path -> consecutive failed hand-overs

    def touch(self, path: str) -> None:
        """Record an event for `path`: its quiet period starts again from now."""
        try:
            snapshot = self._stat(path)
        except OSError:
            # Gone already (a temporary file renamed away, a deleted file): nothing to wait for.
            self._pending.pop(path, None)
            return
        self._pending[path] = _Pending(self._clock() + self.quiet_seconds, snapshot)

    def retry_later(self, path: str, snapshot: os.stat_result) -> float:
        """A hand-over of a file returned by `due` failed: track it again, with backoff.

        It comes back after 1, 2, 4 … 60 s if it still matches `snapshot` (it is re-checked,
        not trusted blindly), or sooner if new events arrive. Returns the delay.
        """
        attempt = self._failures.get(path, 0) + 1
        self._failures[path] = attempt
        delay = backoff_delay(attempt)
        if path not in self._pending:  # an event during the hand-over already re-tracked it
            self._pending[path] = _Pending(self._clock() + delay, snapshot)
        return delay

    def handed_over(self, path: str) -> None:
        """A hand-over succeeded: the next failure for this path starts the backoff afresh."""
        self._failures.pop(path, None)

    def forget(self, path: str) -> None:
        self._pending.pop(path, None)
        self._failures.pop(path, None)

    def forget_tree(self, folder: str) -> None:
        """Forget every tracked path inside `folder` (a folder was deleted or moved away)."""
        prefix = folder.rstrip(os.sep) + os.sep
        for path in [p for p in self._pending if p.startswith(prefix)]:
            self.forget(path)

    def pending(self) -> int:
        return len(self._pending)

    def __contains__(self, path: object) -> bool:
        return path in self._pending

    def next_deadline(self) -> float | None:
        """The earliest clock time at which `due` could return something, or None if idle."""
        if not self._pending:
            return None
        return min(entry.deadline for entry in self._pending.values())

    def due(self) -> list[tuple[str, os.stat_result]]:
        """Stop tracking and return the files that are stable now, with their fresh stat."""
        now = self._clock()
        ready: list[tuple[str, os.stat_result]] = []
        for path, entry in list(self._pending.items()):
            if entry.deadline > now:
                continue
            try:
                fresh = self._stat(path)
            except OSError:
                self.forget(path)
                continue
            if stat_module.S_ISDIR(fresh.st_mode):
                self.forget(path)
            elif _same_version(fresh, entry.snapshot):
                del self._pending[path]
                ready.append((path, fresh))
            else:
                # Still being written without sending events (or between events): wait again.
                entry.snapshot = fresh
                entry.deadline = now + self.quiet_seconds
        return ready
