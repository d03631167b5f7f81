"""`mediacourier up` as a real subprocess for the soak, restarted as a service manager would
(systemd's Restart=always), and its processes found through /proc.

Nothing is found or killed by name: a process is part of the stack when it descends from the
soak through the ppid links in /proc. The soak makes itself a child subreaper
(PR_SET_CHILD_SUBREAPER), so a process orphaned by a killed `up` or worker is re-parented to the
soak, not to init, and stays findable (and killable, by PID) until it is gone.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.procs import REPO, child_env
from shared.executors import die_with_parent

PR_SET_CHILD_SUBREAPER = 36
ROLES = ("redis", "worker", "beat", "watcher", "metrics", "flower")


@dataclass(frozen=True)
class Proc:
    """One process as /proc showed it; (pid, start) names it even after the pid is reused."""

    pid: int
    ppid: int
    state: str
    start: int
    argv: tuple[str, ...]

    @property
    def words(self) -> str:
        return " ".join(self.argv)


def read_proc(pid: int) -> Proc | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    argv = tuple(part.decode(errors="replace") for part in raw.split(b"\0") if part)
    return Proc(pid, int(fields[1]), fields[0], int(fields[19]), argv)


def all_procs() -> dict[int, Proc]:
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (proc := read_proc(int(entry))) is not None:
            found[proc.pid] = proc
    return found


def descendants(root: int, procs: dict[int, Proc] | None = None) -> list[Proc]:
    """Every living (non-zombie) descendant of root."""
    procs = all_procs() if procs is None else procs
    children: dict[int, list[Proc]] = {}
    for proc in procs.values():
        children.setdefault(proc.ppid, []).append(proc)
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            todo.append(child.pid)
            if child.state != "Z":
                found.append(child)
    return found


def role_of(proc: Proc) -> str:
    """What a direct child of `up` is, from its command line."""
    words = proc.words
    if proc.argv and "redis-server" in proc.argv[0]:
        return "redis"
    if "celery" in words and " worker" in words:
        return "worker"
    if "celery" in words and " beat" in words:
        return "beat"
    if "celery" in words and " flower" in words:
        return "flower"
    if "workers.cli watch" in words:
        return "watcher"
    if "workers.cli metrics" in words:
        return "metrics"
    return "other"


def same_process(proc: Proc) -> bool:
    now = read_proc(proc.pid)
    return now is not None and now.start == proc.start and now.state != "Z"


def kill(proc: Proc, signum: int = signal.SIGKILL) -> bool:
    """Signal this very process (not a later one that got its pid); whether it was there."""
    if not same_process(proc):
        return False
    try:
        os.kill(proc.pid, signum)
    except ProcessLookupError:
        return False
    return True


def become_subreaper() -> bool:
    """Orphans of the stack come to this process instead of init (Linux 3.4+)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def reap_orphans(keep: set[int]) -> None:
    """Reap zombie children that are not ours to wait for (orphans re-parented to us)."""
    me = os.getpid()
    for proc in all_procs().values():
        if proc.ppid == me and proc.state == "Z" and proc.pid not in keep:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(proc.pid, os.WNOHANG)


class UpStack:
    """One `mediacourier up` at a time, with its config file; each start gets its own log."""

    def __init__(self, config: Path, logs: Path, concurrency: int = 2,
                 flower: bool = False) -> None:
        self.config, self.logs = config, logs
        self.concurrency, self.flower = concurrency, flower
        self.popen: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.started_at = 0.0
        self.log_path = logs / "up-000.log"
        logs.mkdir(parents=True, exist_ok=True)

    # -- starting and its state -----------------------------------------------------------

    def start(self) -> None:
        """Start `up`; call it from the main thread: `up` gets SIGTERM (its ordered stop) when
        the soak dies, however it dies."""
        self.starts += 1
        self.started_at = time.monotonic()
        self.log_path = self.logs / f"up-{self.starts:03d}.log"
        argv = [sys.executable, "-m", "workers.cli", "--config", str(self.config), "up",
                "--concurrency", str(self.concurrency)]
        if not self.flower:
            argv.append("--no-flower")
        with self.log_path.open("wb") as log:
            # Its own state folder: `up` remembers its deployment there, and a soak must not
            # become the deployment the user's `mediacourier status` finds.
            env = child_env(PYTHONUNBUFFERED="1", XDG_STATE_HOME=str(self.logs / "xdg-state"))
            self.popen = subprocess.Popen(argv, cwd=REPO, env=env,
                                          stdin=subprocess.DEVNULL, stdout=log,
                                          stderr=subprocess.STDOUT, start_new_session=True,
                                          preexec_fn=die_with_parent(signal.SIGTERM))

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen is not None else None

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def log_text(self) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")
        return ""

    def exit_reason(self) -> str:
        """Why `up` stopped, as it said it ('worker exited with code 1; stopping', or its own
        one-line error 'mediacourier: …')."""
        said = [line.strip() for line in self.log_text().splitlines()
                if "; stopping" in line or line.startswith("mediacourier: ")]
        code = self.popen.poll() if self.popen is not None else None
        return f"{said[-1] if said else 'no reason printed'}, exit code {code}"

    def roles(self) -> dict[str, list[Proc]]:
        """The living processes of the current `up`: its children by role, and 'pool'."""
        found: dict[str, list[Proc]] = {}
        if not self.running() or self.pid is None:
            return found
        procs = all_procs()
        children = [p for p in procs.values() if p.ppid == self.pid and p.state != "Z"]
        for child in children:
            role = role_of(child)
            found.setdefault(role, []).append(child)
            if role == "worker":
                pool = [p for p in procs.values() if p.ppid == child.pid and p.state != "Z"]
                found.setdefault("pool", []).extend(pool)
        return found

    def ready(self) -> bool:
        """Worker ready with its whole pool, the watcher watching, beat and Redis there."""
        if not self.running():
            return False
        text = self.log_text()
        if " ready." not in text or "watching " not in text:
            return False
        roles = self.roles()
        return (len(roles.get("pool", [])) >= self.concurrency
                and all(roles.get(r) for r in ("redis", "worker", "beat", "watcher")))

    def wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ready():
                return True
            if not self.running():
                return False
            time.sleep(0.2)
        return False

    # -- stopping -------------------------------------------------------------------------

    def wait_exit(self, timeout: float) -> bool:
        if self.popen is None:
            return True
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    def stop(self, grace: float = 60.0) -> list[Proc]:
        """SIGTERM `up` (its ordered stop), SIGKILL after grace; then end what it left behind.
        Returns the processes that were left after `up` was gone."""
        if self.running() and self.popen is not None:
            self.popen.send_signal(signal.SIGTERM)
            if not self.wait_exit(grace):
                self.popen.kill()
                self.popen.wait()
        return self.end_leftovers(grace=10.0)

    def end_leftovers(self, grace: float) -> list[Proc]:
        """Wait up to grace for every process the soak's stacks left to go, then SIGKILL the
        rest by PID. Returns those that were still there after grace."""
        if self.popen is not None:
            self.wait_exit(grace)
        deadline = time.monotonic() + grace
        left = self.leftovers()
        while left and time.monotonic() < deadline:
            time.sleep(0.2)
            left = self.leftovers()
        for proc in left:
            kill(proc)
        gone_by = time.monotonic() + 10
        while self.leftovers() and time.monotonic() < gone_by:
            time.sleep(0.1)
        return left

    def leftovers(self) -> list[Proc]:
        """Processes descended from the soak while no `up` runs (so all of them are left)."""
        reap_orphans(keep={self.pid} if self.pid else set())
        current = self.pid if self.running() else None
        mine = descendants(os.getpid())
        if current is None:
            return mine
        inside = {p.pid for p in descendants(current)} | {current}
        return [p for p in mine if p.pid not in inside]
