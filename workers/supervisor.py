"""Child processes of a supervisor (`mediacourier up`): started so that they die with it, and
stopped in phases, each phase bounded.

Every child runs in a session (and so a process group) of its own: Ctrl-C in the terminal reaches
only the supervisor, which then stops the children in order, and a whole component (a Celery
worker and its pool) can be killed at once by its group. Every child also carries
PR_SET_PDEATHSIG: if the supervisor dies without stopping them (SIGKILL, a crash), the kernel
signals them at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from shared.executors import die_with_parent


@dataclass
class Child:
    """One component: its command, whether the rest runs on without it, the signal it gets
    when the supervisor dies, and how long it has to stop after SIGTERM."""

    name: str
    argv: list[str]
    optional: bool = False
    death_signal: int = signal.SIGTERM
    grace: float = 10.0
    popen: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    started_at: float = field(default=0.0, repr=False)

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen is not None else None

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def start(self, env: dict[str, str], cwd: Path) -> None:
        self.popen = subprocess.Popen(self.argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                                      start_new_session=True,
                                      preexec_fn=die_with_parent(self.death_signal))
        self.started_at = time.monotonic()

    def ran_for(self) -> float:
        """Seconds since it was started (up to now, or to when this is asked after its exit)."""
        return time.monotonic() - self.started_at

    def terminate(self) -> None:
        """SIGTERM to the main process only: a Celery worker then does a warm shutdown and
        stops its own pool (a signal to its group would kill the pool mid-task)."""
        if self.popen is not None:
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(signal.SIGTERM)

    def wait(self, seconds: float) -> bool:
        """Whether it exited (and was reaped) within seconds."""
        if self.popen is None:
            return True
        try:
            self.popen.wait(timeout=max(0.0, seconds))
        except subprocess.TimeoutExpired:
            return False
        return True

    def kill(self) -> None:
        """SIGKILL its whole group (before it is reaped, the group id is still ours)."""
        if self.popen is not None:
            _kill_group(self.popen.pid)
            self.popen.wait()

    def kill_leftovers(self) -> None:
        """A group outlives its leader while a member lives (a pool process whose parent was
        killed), and Linux hands out no pid that is still a group's id: a non-empty group of
        this id is still ours."""
        if self.popen is not None and group_members(self.popen.pid):
            _kill_group(self.popen.pid)




def group_members(pgid: int, proc: Path = Path("/proc")) -> list[int]:
    """The processes in process group pgid (zombies excluded), read from /proc."""
    members = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if fields[0] != "Z" and int(fields[2]) == pgid:
                members.append(int(entry.name))
    return members


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def stop_phase(children: Sequence[Child], on_kill: Callable[[Child], None]) -> None:
    """Stop these children together: SIGTERM, wait up to each one's grace, then SIGKILL the
    group of any that is still there (`on_kill` says so), and of anything left behind."""
    running = [child for child in children if child.running()]
    for child in running:
        child.terminate()
    started = time.monotonic()
    for child in running:
        if not child.wait(started + child.grace - time.monotonic()):
            on_kill(child)
            child.kill()
    for child in running:
        child.kill_leftovers()
