"""Command executors: how a rescan command runs (local here; docker.py and ssh.py beside it).

Every executor captures stdout and stderr and runs the command as `user` when given. A command
that ran reports its exit code; executors that cannot even run it raise ExecutorUnreachable,
ContainerMissing or CommandTimedOut (the local one reports a timeout as exit code -1).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
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
    def run(self, argv: tuple[str, ...], timeout: float, user: str = "") -> CommandResult:
        """Run argv (as `user` when given); the exit code says whether the command succeeded."""

    def describe(self) -> str:
        """Where commands run, in a few words, for messages and `doctor`."""


class LocalExecutor:
    """Runs the command on this host, without a shell unless the config asked for one."""

    def describe(self) -> str:
        return "this host"

    def run(self, argv: tuple[str, ...], timeout: float, user: str = "") -> CommandResult:
        started = time.perf_counter()
        try:
            # A session of its own, so a timeout ends the command's children too.
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    stdin=subprocess.DEVNULL, text=True, errors="replace",
                                    start_new_session=True,
                                    **_as_user(user))
        except (OSError, KeyError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else f"no user {user!r}"
            return CommandResult(argv, -1, "", f"cannot run {argv[0]!r}: {reason}",
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


def _as_user(user: str) -> dict[str, int]:
    """Popen arguments that drop to `user` (and its group); KeyError when there is none."""
    if not user:
        return {}
    import pwd

    entry = pwd.getpwnam(user)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
