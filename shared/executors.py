"""Command executors: how a rescan command runs. Docker and SSH executors will join later."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


class CommandExecutor(Protocol):
    def run(self, argv: tuple[str, ...], timeout: float) -> CommandResult:
        """Run argv; a timeout gives exit code -1 with the reason in stderr."""


class LocalExecutor:
    """Runs the command on this host, without a shell unless the config asked for one."""

    def run(self, argv: tuple[str, ...], timeout: float) -> CommandResult:
        started = time.perf_counter()
        try:
            # A session of its own, so a timeout ends the command's children too.
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    stdin=subprocess.DEVNULL, text=True, errors="replace",
                                    start_new_session=True)
        except OSError as exc:
            return CommandResult(argv, -1, "", f"cannot run {argv[0]!r}: {exc.strerror}",
                                 time.perf_counter() - started)
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                if hasattr(os, "killpg"):
                    os.killpg(proc.pid, signal.SIGKILL)
                else:  # Windows (robocopy's workers): no process groups, end the command itself
                    proc.kill()
            proc.communicate()
            return CommandResult(argv, -1, "", f"timed out after {timeout:g} s",
                                 time.perf_counter() - started)
        return CommandResult(argv, proc.returncode, stdout, stderr,
                             time.perf_counter() - started)


@dataclass
class RecordingExecutor:
    """In-memory stub: records every command and answers with a fixed exit code."""

    exit_code: int = 0
    calls: list[tuple[str, ...]] = field(default_factory=list)

    def run(self, argv: tuple[str, ...], timeout: float) -> CommandResult:
        self.calls.append(argv)
        return CommandResult(argv, self.exit_code, "", "", 0.0)
