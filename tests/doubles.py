"""Test doubles of the pluggable parts: they record what the code under test asked for."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from shared.executors import CommandResult


class RecordingEnqueuer:
    """In-memory `Enqueuer` (workers.watcher); `enqueue_file` raises `fail_with` first."""

    def __init__(self, fail_with: list[Exception] | None = None) -> None:
        self.files: list[tuple[str, str, int, int]] = []
        self.scans: list[str] = []
        self.attempts: list[tuple[float, str]] = []  # (time.monotonic(), rel_path) of every call
        self._fail_with = list(fail_with or [])
        self._lock = threading.Lock()

    def enqueue_file(self, source: str, rel_path: str, size: int, mtime_ns: int) -> bool:
        with self._lock:
            self.attempts.append((time.monotonic(), rel_path))
            if self._fail_with:
                raise self._fail_with.pop(0)
            job = (source, rel_path, size, mtime_ns)
            if job in self.files:
                return False
            self.files.append(job)
            return True

    def enqueue_scan(self, source: str) -> int:
        with self._lock:
            self.scans.append(source)
        return 0


@dataclass
class RecordingExecutor:
    """In-memory `CommandExecutor`: records every command and answers with a fixed exit code."""

    exit_code: int = 0
    calls: list[tuple[str, ...]] = field(default_factory=list)
    stdout: str = ""
    users: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return "a recording stub"

    def run(self, argv: tuple[str, ...], timeout: float, user: str = "") -> CommandResult:
        self.calls.append(argv)
        self.users.append(user)
        return CommandResult(argv, self.exit_code, self.stdout, "", 0.0)
