"""The ssh ControlMaster that one process's rsync runs share, and its end.

A master is a child of the process that needs it, never a daemon: it runs without `-f` and
without ControlPersist (both make ssh fork into the background, out of reach), with
PR_SET_PDEATHSIG, so it ends when that process ends, however it ends. Its socket sits in a
private `mc-ssh-*` folder; `stop()` ends the master and removes the folder, and runs from the
destination's close() and at the exit of the process.

Work done in forked processes (the pool of `mediacourier sync`) can end without either: a pool
process is SIGTERMed, its master dies with it but its folder stays. The command that starts such
work opens `ssh_masters_cleaned_up()`: every master folder made inside, in this process or a
forked child, is created under one folder of the command, which sends `-O exit` to any master
still answering there and removes the whole folder as the command ends.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from shared.config import TargetConfig
from shared.executors import popen_tied_to_process
from shared.remote.ssh import ssh_argv

PREFIX = "mc-ssh-"
# sockaddr_un holds 108 bytes, and ssh binds "<ControlPath>.<16 random characters>" first:
# BASE/mc-ssh-XXXXXXXX/mc-ssh-XXXXXXXX/master.XXXXXXXXXXXXXXXX must fit.
MAX_BASE = 40

_scope: str | None = None  # the folder of the command's ssh_masters_cleaned_up(), if open
_started: list[ControlMaster] = []  # the masters this process started (see _remember)
_exit_hook_pid: int | None = None


def _base_dir() -> str:
    """Where a master's folder goes: the command's folder, else TMPDIR when it is short."""
    if _scope is not None:
        return _scope
    base = tempfile.gettempdir()
    return base if len(base) <= MAX_BASE else "/tmp"


class ControlMaster:
    """One ssh connection to `target` that rsync's ssh reuses (`options()`), owned by the
    process that started it: a forked child starts its own and never touches its parent's."""

    def __init__(self, target: TargetConfig) -> None:
        self.target = target
        self._lock = threading.Lock()  # parallel uploads of a mirror share one master
        self._pid: int | None = None
        self._folder: str | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def socket_path(self) -> str | None:
        return os.path.join(self._folder, "master") if self._folder else None

    def options(self) -> list[str]:
        """ssh options that use the master, started first if it is not running. A master that
        cannot start (host key refused, unreachable) is tried again on the next call; rsync's
        own ssh meanwhile connects directly and reports why it cannot."""
        with self._lock:
            if self._pid != os.getpid():  # forked: what we hold belongs to the parent
                self._pid, self._folder, self._proc = os.getpid(), None, None
            if self._proc is None or self._proc.poll() is not None:
                self._start()
            return ["-o", "ControlMaster=no", "-o", f"ControlPath={self.socket_path}"]

    def stop(self) -> None:
        """End the master (if this process started it) and remove its folder."""
        with self._lock:
            proc, folder = self._proc, self._folder
            if self._pid != os.getpid():
                return
            self._proc, self._folder = None, None
        if proc is not None and proc.poll() is None:
            proc.terminate()  # an ssh master closes its connection and socket on SIGTERM
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)

    def _start(self) -> None:
        if self._folder is None:
            self._folder = tempfile.mkdtemp(prefix=PREFIX, dir=_base_dir())
            _remember(self)
        socket_path = str(self.socket_path)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(socket_path)  # left by a master that was killed
        target = self.target
        # Output to /dev/null: a master holding rsync's pipes would keep rsync waiting.
        proc = popen_tied_to_process(
            [*ssh_argv(target), "-o", "ControlMaster=yes", "-o", f"ControlPath={socket_path}",
             "-N", f"{target.user}@{target.host}"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._proc = proc
        # The socket appears once the master is authenticated and listening.
        deadline = time.monotonic() + target.timeout * 4
        while not os.path.exists(socket_path):
            if proc.poll() is not None:
                return  # refused or unreachable: rsync's ssh will say why
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                return
            time.sleep(0.02)


def _remember(master: ControlMaster) -> None:
    """Track a master of this process, and stop them all when it exits normally."""
    global _exit_hook_pid
    if _exit_hook_pid != os.getpid():  # a forked child inherits the list, not the masters
        _started.clear()
        _exit_hook_pid = os.getpid()
        atexit.register(stop_masters)
    _started.append(master)


def stop_masters() -> None:
    """Stop every master this process started (a forked child's list is not its own)."""
    if _exit_hook_pid != os.getpid():
        return
    while _started:
        _started.pop().stop()


def exit_master(socket_path: Path) -> None:
    """`ssh -O exit` to the master listening on socket_path (any host name will do: the
    socket is named in full)."""
    subprocess.run(["ssh", "-o", f"ControlPath={socket_path}", "-O", "exit", "mediacourier"],
                   capture_output=True, stdin=subprocess.DEVNULL, check=False, timeout=30)


@contextlib.contextmanager
def ssh_masters_cleaned_up() -> Iterator[None]:
    """Every ssh master started inside, here or in forked children, is gone on the way out,
    and so is every `mc-ssh-*` folder it used."""
    global _scope
    previous, _scope = _scope, tempfile.mkdtemp(prefix=PREFIX, dir=_base_dir())
    root = _scope
    try:
        yield
    finally:
        _scope = previous
        stop_masters()
        for socket_path in Path(root).glob(f"{PREFIX}*/master"):
            exit_master(socket_path)  # a child's master that outlived it (it had no PDEATHSIG)
        shutil.rmtree(root, ignore_errors=True)
