"""After `mediacourier up`, read-only commands run from any other folder reach that deployment:
`up` remembers it (workers/deployment.py) in the user's state folder."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.harness import wait_for

pytestmark = pytest.mark.e2e  # starts `up`: Redis, a worker, beat and the watcher


def test_status_from_another_folder_reaches_the_running_up(tmp_path: Path) -> None:
    # Given `mediacourier up` running from its own folder, with the default configuration
    deploy, elsewhere, home = tmp_path / "deploy", tmp_path / "elsewhere", tmp_path / "home"
    for folder in (deploy, elsewhere, home):
        folder.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEDIACOURIER_", "XDG_"))}
    env.update(HOME=str(home), COLUMNS="200", PYTHONUNBUFFERED="1")
    log = tmp_path / "up.log"
    with log.open("wb") as out:
        up = subprocess.Popen([sys.executable, "-m", "workers.cli", "up", "--no-flower"],
                              cwd=deploy, env=env, stdout=out, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        wait_for(lambda: "Press Ctrl-C to stop." in log.read_text() or up.poll() is not None,
                 90, "`up` to start")
        assert up.poll() is None, log.read_text()[-3000:]

        # When status runs from another folder, with no --config and no environment
        def status() -> subprocess.CompletedProcess[str]:
            return subprocess.run([sys.executable, "-m", "workers.cli", "status", "--timeout",
                                   "1"], cwd=elsewhere, env=env, capture_output=True, text=True,
                                  timeout=60)

        # Then it reaches up's Redis and sees its worker, and creates nothing in that folder
        done = wait_for(lambda: (lambda d: d if "mediacourier@" in d.stdout else None)(status()),
                        60, "status to see up's worker")
        assert done.returncode == 0, done.stdout + done.stderr
        assert list(elsewhere.iterdir()) == []
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(up.pid, signal.SIGINT)
        try:
            up.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(up.pid, signal.SIGKILL)
            up.wait()
