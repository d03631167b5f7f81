"""Child processes that cannot outlive the process that started them.

Linux's PR_SET_PDEATHSIG makes the kernel send a signal to a child when the *thread* that forked
it exits, however it exits (SIGKILL included): a supervisor that is killed takes its children
with it instead of leaving them to hold ports, sockets and connections. A child that a
short-lived thread needs (an upload thread of a mirror) is forked by a thread kept for that
instead, which lives as long as the process.
"""

from __future__ import annotations

import ctypes
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

_PR_SET_PDEATHSIG = 1
# Looked up in the parent: between fork and exec only async-signal-safe work may happen.
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None


def die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A `preexec_fn` for subprocess.Popen that has the child get `sig` when this thread exits.

    Start the child from a thread that lives as long as the child should (the main thread of a
    command), or use `popen_tied_to_process`. None where Linux's prctl is missing: the caller
    then relies on stopping it itself.
    """
    if _prctl is None:
        return None
    parent = os.getpid()

    def arm() -> None:  # pragma: no cover - runs in the child between fork and exec
        _prctl(_PR_SET_PDEATHSIG, sig)
        # The parent may have died between fork and prctl: then no signal would ever come.
        if os.getppid() != parent:
            os.kill(os.getpid(), sig)

    return arm


_Request = tuple[list[str], dict[str, Any], "Future[subprocess.Popen[bytes]]"]


class _Forker:
    """One daemon thread per process that forks the children; it ends only with the process
    (a forked child of ours gets a thread of its own on first use)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._requests: queue.SimpleQueue[_Request] = queue.SimpleQueue()

    def popen(self, argv: list[str], sig: int, **kwargs: Any) -> subprocess.Popen[bytes]:
        with self._lock:
            if self._pid != os.getpid():
                self._pid, self._requests = os.getpid(), queue.SimpleQueue()
                threading.Thread(target=self._serve, args=(self._requests,), daemon=True,
                                 name="children-forker").start()
            done: Future[subprocess.Popen[bytes]] = Future()
            self._requests.put((argv, {**kwargs, "preexec_fn": die_with_parent(sig)}, done))
        return done.result()

    @staticmethod
    def _serve(requests: queue.SimpleQueue[_Request]) -> None:
        while True:
            argv, kwargs, done = requests.get()
            try:
                done.set_result(subprocess.Popen(argv, **kwargs))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller, who raises it
                done.set_exception(exc)


_forker = _Forker()


def popen_tied_to_process(argv: list[str], sig: int = signal.SIGTERM,
                          **kwargs: Any) -> subprocess.Popen[bytes]:
    """subprocess.Popen(argv, **kwargs) whose child gets `sig` when this *process* ends, from
    whichever thread it is called."""
    return _forker.popen(argv, sig, **kwargs)
