"""The children of a supervisor (workers/supervisor.py): killed with their group when they do not
stop in time, their leftovers killed, and gone when the supervisor dies. Real processes, no
services."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.e2e.harness import REPO, wait_for
from tests.e2e.up_stack import descendants, is_gone, proc_stat
from workers.supervisor import Child, stop_phase

STUBBORN = ("import signal, subprocess, sys, time\n"
            "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
            "time.sleep(60)\n")


def test_a_child_that_ignores_sigterm_is_killed_with_its_group(tmp_path: Path) -> None:
    # Given a child that ignores SIGTERM and has a child of its own
    child = Child("stubborn", [sys.executable, "-c", STUBBORN], grace=0.5)
    child.start(dict(os.environ), tmp_path)
    assert child.pid is not None
    wait_for(lambda: descendants(child.pid), 30, "the grandchild")
    procs = [proc_stat(child.pid), *descendants(child.pid)]
    killed: list[str] = []
    # When its phase stops it
    stop_phase([child], lambda c: killed.append(c.name))
    # Then it was killed after its grace, and so was its child
    assert killed == ["stubborn"]
    assert child.popen is not None and child.popen.returncode == -signal.SIGKILL
    wait_for(lambda: all(p is None or is_gone(p) for p in procs), 10, "the whole group to go")


def test_what_a_child_leaves_in_its_group_is_killed(tmp_path: Path) -> None:
    # Given a child that exits on SIGTERM but leaves a background process in its group
    script = "trap 'exit 0' TERM; sleep 60 & while :; do sleep 0.05; done"
    child = Child("leaves", ["sh", "-c", script], grace=10)
    child.start(dict(os.environ), tmp_path)
    assert child.pid is not None
    wait_for(lambda: [p for p in descendants(child.pid) if p.name == "sleep"], 30, "sleep 60")
    left = [p for p in descendants(child.pid) if p.name == "sleep"]
    killed: list[str] = []
    # When its phase stops it
    stop_phase([child], lambda c: killed.append(c.name))
    # Then it stopped in time by itself, and what it left is gone too
    assert killed == [] and child.popen is not None and child.popen.returncode == 0
    wait_for(lambda: all(is_gone(p) for p in left), 10, "the left-behind sleep")


SUPERVISOR = ("import os, sys\n"
              "from workers.supervisor import Child\n"
              "child = Child('sleeper', ['sleep', '60'])\n"
              "child.start(dict(os.environ), os.getcwd())\n"
              "print(child.pid, flush=True)\n"
              "import time; time.sleep(60)\n")


def test_a_child_dies_when_its_supervisor_is_sigkilled(tmp_path: Path) -> None:
    # Given a supervisor process with one child
    supervisor = subprocess.Popen([sys.executable, "-c", SUPERVISOR], cwd=REPO,
                                  stdout=subprocess.PIPE, text=True,
                                  env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert supervisor.stdout is not None
        child = proc_stat(int(supervisor.stdout.readline()))
        assert child is not None and child.name == "sleep"
        # When the supervisor is SIGKILLed (it cannot stop anything itself)
        supervisor.kill()
        supervisor.wait()
        # Then the kernel ends the child
        wait_for(lambda: is_gone(child), 10, "the child to die with its supervisor")
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
            supervisor.wait()
