"""The ssh ControlMaster of an rsync destination is a child of the process that uploads: it ends
when that process ends, even by SIGKILL (real sshd)."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path

import pytest

from bench.sshd import SshServer
from shared.remote.sftp_destination import RsyncDestination
from tests.e2e.harness import wait_for
from tests.shared.ssh_helpers import ssh_processes_under, target_for


@pytest.fixture
def temp_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="mcssh", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def upload_then_wait(sshd: SshServer, remote: Path, temp_dir: Path, src: Path,
                     told: Connection) -> None:
    """In a forked child: put one file over rsync (its master starts), then wait to be killed."""
    tempfile.tempdir = str(temp_dir)  # this child's mc-ssh-* folder goes where the test looks
    destination = RsyncDestination(target_for(sshd, remote, kind="rsync"))
    destination.put(src, "a.jpg", src.stat().st_mtime_ns, replace=False)
    told.send("uploaded")
    signal.pause()


def test_a_killed_uploader_takes_its_ssh_master_along(sshd: SshServer, tmp_path: Path,
                                                       temp_dir: Path) -> None:
    # Given a process that uploaded over rsync, its ssh master running
    remote = tmp_path / "nas"
    remote.mkdir()
    src = tmp_path / "a.jpg"
    src.write_bytes(os.urandom(30_000))
    ours, theirs = multiprocessing.Pipe()
    child = multiprocessing.get_context("fork").Process(
        target=upload_then_wait, args=(sshd, remote, temp_dir, src, theirs))
    child.start()
    try:
        assert ours.poll(60), "the child did not upload"
        assert ours.recv() == "uploaded"
        assert (remote / "a.jpg").read_bytes() == src.read_bytes()
        assert len(ssh_processes_under(temp_dir)) == 1, "one master, started by the child"
        # When that process is SIGKILLed (no close(), no atexit)
        os.kill(child.pid, signal.SIGKILL)
        child.join(timeout=30)
        # Then its master ends with it
        wait_for(lambda: not ssh_processes_under(temp_dir), 10, "the ssh master to end")
    finally:
        if child.is_alive():
            child.kill()
            child.join()
