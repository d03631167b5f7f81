"""The soak's faults: a plan drawn from the seed, and each fault carried out on the live stack.

Kinds (all SIGKILL, by PID, of a process found under `up` in /proc):
  pool     one pool process of the worker (as the OOM killer would)
  worker   the worker's main process
  watcher  the watcher
  beat     beat
  redis    the embedded redis-server (it restarts from its append-only file)
  up       `up` itself, then started again
`up` starts a needed child that exits (and its embedded Redis) again; when it stops instead
(a child that keeps exiting), the soak starts it again at once, as a service manager would, and
notes it. When `up` neither replaces a killed process nor stops within a bound, the soak
restarts `up` (SIGTERM, its ordered stop) and notes that as a finding.
"""

from __future__ import annotations

import random
import signal
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.stack import Proc, UpStack, kill, read_proc, same_process

KINDS = ("pool", "worker", "watcher", "beat", "redis", "up")
# Pool kills cost no restart; the others each take the stack down and up again.
WEIGHTS = {"pool": 3, "worker": 2, "watcher": 1, "beat": 1, "redis": 2, "up": 2}
READY_TIMEOUT = 120.0  # a restarted `up` that is not ready by then is a finding of its own
EXIT_TIMEOUT = 60.0  # `up` replacing a killed child and being ready again, or stopping
REDIS_NOTICE = 5.0
LEFTOVER_GRACE = 45.0  # children of a SIGKILLed `up` finishing their warm shutdown


@dataclass(frozen=True)
class Fault:
    index: int
    kind: str
    threshold: float  # fire once this share of the files has left the source …
    gap: float  # … and at least this long after the stack was ready again
    pick: float  # which pool process (a fraction, so the plan does not know pids)


def plan_faults(count: int, seed: int, kinds: tuple[str, ...] = KINDS) -> list[Fault]:
    """Every kind at least once (when count allows), the rest weighted; thresholds spread over
    the work so that faults keep coming while files are on their way, the last near its end."""
    rng = random.Random(f"faults:{seed}")
    drawn = list(kinds[:count]) + rng.choices(kinds, [WEIGHTS[k] for k in kinds],
                                             k=max(0, count - len(kinds)))
    rng.shuffle(drawn)
    thresholds = sorted(rng.uniform(0.02, 0.97) for _ in range(count))
    return [Fault(i, kind, round(thresholds[i], 4), round(rng.uniform(0.5, 3.0), 2),
                  rng.random()) for i, kind in enumerate(drawn)]


@dataclass
class FaultLog:
    """What happened: each fault's time, and the notes of what the stack did about it."""

    fired: list[tuple[float, Fault]] = field(default_factory=list)
    skipped: list[tuple[Fault, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)
    restarts: int = 0
    restart_seconds: list[float] = field(default_factory=list)

    def counts(self) -> Counter[str]:
        return Counter(fault.kind for _, fault in self.fired)

    @property
    def last_fault_at(self) -> float | None:
        return self.fired[-1][0] if self.fired else None


class Injector:
    """Carries out faults on `stack` and brings it back; `say` prints one line."""

    def __init__(self, stack: UpStack, log: FaultLog, say: Callable[[str], None]) -> None:
        self.stack, self.log, self.say = stack, log, say
        self._timed = 0  # the start of `up` whose time to ready was noted

    def ensure_running(self) -> None:
        """The service manager's part: `up` gone → what it left ended, started again."""
        if not self.stack.running():
            self.restart("it had exited")

    def ensure_up(self) -> bool:
        """Running and ready (worker with its pool, watcher, beat, Redis)."""
        self.ensure_running()
        if self.stack.wait_ready(READY_TIMEOUT):
            self._note_ready()
            return True
        if self.stack.running():
            self.log.notes.append(f"up #{self.stack.starts} not ready after "
                                  f"{READY_TIMEOUT:.0f} s")
            self.restart("it was not ready")
        else:
            self.log.notes.append(f"up #{self.stack.starts} exited while starting "
                                  f"({self.stack.exit_reason()})")
            self.restart("it exited while starting")
        ready = self.stack.wait_ready(READY_TIMEOUT)
        if ready:
            self._note_ready()
        return ready

    def _note_ready(self) -> None:
        if self._timed != self.stack.starts:  # once per start of `up`
            self._timed = self.stack.starts
            if self.stack.starts > 1:
                self.log.restart_seconds.append(time.monotonic() - self.stack.started_at)

    def restart(self, why: str) -> None:
        """Stop `up` if it runs, end what it left, start it again (without waiting)."""
        if self.stack.running():
            left = self.stack.stop()
        else:
            left = self.stack.end_leftovers(LEFTOVER_GRACE)
        for proc in left:
            self.log.leftovers.append(f"after up #{self.stack.starts} ({why}): pid {proc.pid} "
                                      f"{' '.join(proc.argv)[:100]}")
        self.stack.start()
        self.log.restarts += 1
        self.say(f"up #{self.stack.starts} started (pid {self.stack.pid}): {why}")

    def fire(self, fault: Fault, wait: float = READY_TIMEOUT) -> bool:
        """SIGKILL the fault's process (waiting up to `wait` for it to exist, as it does not
        while `up` starts) and bring the stack back; False if there was none."""
        target = self._wait_for_target(fault, wait)
        if target is None:
            self.log.skipped.append((fault, "no such process in the stack"))
            return False
        if not kill(target, signal.SIGKILL):
            self.log.skipped.append((fault, f"pid {target.pid} was already gone"))
            return False
        self.log.fired.append((time.time(), fault))
        self.say(f"fault {fault.index + 1}: SIGKILL {fault.kind} (pid {target.pid})")
        self._recover(fault, target)
        return True

    def _wait_for_target(self, fault: Fault, wait: float) -> Proc | None:
        deadline = time.monotonic() + wait
        while self.stack.running():
            target = self._target(fault)
            if target is not None or time.monotonic() > deadline:
                return target
            time.sleep(0.1)
        return None

    def _target(self, fault: Fault) -> Proc | None:
        if fault.kind == "up":
            pid = self.stack.pid
            return None if pid is None else _proc_or_none(pid)
        procs = self.stack.roles().get(fault.kind, [])
        if not procs:
            return None
        return sorted(procs, key=lambda p: p.pid)[int(fault.pick * len(procs))]

    def _recover(self, fault: Fault, target: Proc) -> None:
        stack = self.stack
        if fault.kind == "pool":
            return  # the worker starts a new pool process; the message is re-queued
        if fault.kind == "redis":
            if self._redis_back_or_exit(target):
                return
            self.log.notes.append("redis killed: `up` neither restarted it nor stopped within "
                                  f"{REDIS_NOTICE:.0f} s; the soak restarted `up`")
            self.restart("its Redis was gone")
            return
        if fault.kind == "up":
            stack.wait_exit(10)
            self.restart("it was SIGKILLed")
            return
        if self._replaced(fault.kind, target):
            return
        if stack.running():
            self.log.notes.append(f"{fault.kind} killed: `up` neither started it again nor "
                                  f"stopped within {EXIT_TIMEOUT:.0f} s; the soak restarted it")
        else:
            self.log.notes.append(f"{fault.kind} killed: `up` stopped ({stack.exit_reason()})")
        self.restart(f"its {fault.kind} was killed")

    def _replaced(self, role: str, killed: Proc) -> bool:
        """Whether `up` started a new process in the killed one's role (and is ready again)
        within EXIT_TIMEOUT; False when it stopped instead or did neither."""
        deadline = time.monotonic() + EXIT_TIMEOUT
        while time.monotonic() < deadline and self.stack.running():
            fresh = [p for p in self.stack.roles().get(role, []) if p.pid != killed.pid]
            if fresh and self.stack.ready():
                return True
            time.sleep(0.2)
        return False

    def _redis_back_or_exit(self, killed: Proc) -> bool:
        deadline = time.monotonic() + REDIS_NOTICE
        while time.monotonic() < deadline:
            if not self.stack.running():
                self.log.notes.append(f"redis killed: `up` stopped ({self.stack.exit_reason()})")
                self.restart("it stopped after its Redis died")
                return True
            fresh = [p for p in self.stack.roles().get("redis", []) if p.pid != killed.pid]
            if fresh:
                return True
            time.sleep(0.2)
        return False


def _proc_or_none(pid: int) -> Proc | None:
    found = read_proc(pid)
    return found if found is not None and same_process(found) else None
