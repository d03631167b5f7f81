"""`up` starts a needed child again when it exits, and gives up on one that keeps exiting right
after its start (workers/up.py, Supervisor.wait). Real child processes, no services."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest

from shared.config import Settings
from tests.e2e.harness import wait_for
from workers.supervisor import Child
from workers.up import RESTARTS, Supervisor

CRASHES = [sys.executable, "-c", "import sys; sys.exit(3)"]
RUNS_A_WHILE = [sys.executable, "-c", "import time, sys; time.sleep(0.3); sys.exit(1)"]


class Lines:
    """What the supervisor says, kept instead of printed."""

    def __init__(self) -> None:
        self.said: list[str] = []

    def say(self, text: str, stream: object = None) -> None:
        self.said.append(text)


def supervisor_with(tmp_path: Path, child: Child, **knobs: float) -> tuple[Supervisor, Lines]:
    lines = Lines()
    supervisor = Supervisor(Settings(data_dir=tmp_path), out=lines, **knobs)  # type: ignore[arg-type]
    supervisor.env = dict(os.environ)
    child.start(supervisor.env, tmp_path)
    supervisor.children.append(child)
    return supervisor, lines


def test_a_child_that_keeps_exiting_at_once_stops_up_after_a_few_tries(tmp_path: Path) -> None:
    # Given `up` with a needed child that exits as soon as it starts
    supervisor, lines = supervisor_with(tmp_path, Child("watcher", CRASHES), backoff=0.05)
    # When `up` watches it
    code = supervisor.wait()
    # Then it was started again RESTARTS - 1 times, and then `up` stopped with one line saying why
    again = "watcher exited with code 3; starting it again"
    assert lines.said.count(again) == RESTARTS - 1, lines.said
    assert code == 1
    assert lines.said[-1] == (f"watcher exited with code 3 {RESTARTS} times in a row within "
                              "10 s of its start; stopping")


@pytest.mark.timeout(60)
def test_a_child_that_ran_a_while_is_started_again_however_often_it_exits(tmp_path: Path) -> None:
    # Given a needed child that runs a little while each time before it exits (killed, say)
    child = Child("worker", RUNS_A_WHILE)
    supervisor, lines = supervisor_with(tmp_path, child, quick_exit=0.1, backoff=0.05)
    waited: list[int] = []
    thread = threading.Thread(target=lambda: waited.append(supervisor.wait()), daemon=True)
    # When it has exited more often than RESTARTS
    thread.start()
    wait_for(lambda: lines.said.count("worker exited with code 1; starting it again")
             > RESTARTS + 1, 45, "more restarts than a crash loop is allowed")
    # Then `up` still runs (and stops when asked), and the child is running again
    assert thread.is_alive() and not waited, lines.said
    supervisor.stopping.set()
    thread.join(10)
    assert waited == [0]
    child.kill()
