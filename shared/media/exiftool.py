"""One long-lived `exiftool -stay_open True -@ -` process, spoken to over its stdin/stdout.

Our own small client rather than pyexiftool: the protocol is a few lines (arguments one per
line, `-executeN`, read stdout up to `{readyN}`), and we need what pyexiftool leaves to the
caller: a restart when the process died, a deadline on every call, one process per worker
process even after a fork (Celery's prefork pool), a lock so threads take turns, and the
process's error lines for the one call that caused them.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import shutil
import subprocess
import threading
import time
from collections.abc import Sequence
from typing import Any

DEFAULT_TIMEOUT = 30.0  # a multi-GB video on a slow share still answers well within this
# A fresh process first loads Perl and ExifTool's modules: seconds on a busy or slow machine,
# so its first answer gets this much more time than the deadline of a warm one.
STARTUP_ALLOWANCE = 20.0


class ExifToolFailed(Exception):
    """Raised when the exiftool process died or did not answer in time (it is then restarted
    on the next call); callers fall back to other date sources."""


def exiftool_path() -> str | None:
    return shutil.which("exiftool")


class ExifTool:
    """A `-stay_open` exiftool, started on first use and again whenever it has died."""

    def __init__(self, executable: str = "exiftool", timeout: float = DEFAULT_TIMEOUT) -> None:
        self.executable = executable
        self.timeout = timeout
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._owner_pid = 0
        self._counter = 0
        self._warm = False  # the current process has answered once

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process and self._process.poll() is None else None

    def execute(self, args: Sequence[str]) -> tuple[bytes, str]:
        """Run one command; (stdout, stderr text). Restarts a dead process once per call."""
        if any("\n" in arg or "\r" in arg for arg in args):
            return self._one_shot(args)  # an argfile line cannot hold a newline
        with self._lock:
            try:
                return self._execute_locked(args)
            except (BrokenPipeError, ExifToolFailed):
                self._stop_locked(kill=True)  # dead or hung: a fresh one answers this call
                return self._execute_locked(args)

    def execute_json(self, args: Sequence[str]) -> tuple[list[dict[str, Any]], str]:
        """`-j` output decoded: one dict per file (none for a file exiftool could not open)."""
        out, errors = self.execute(["-j", *args])
        text = out.decode("utf-8", "replace").strip()
        if not text:
            return [], errors
        try:
            return json.loads(text), errors
        except ValueError as exc:
            raise ExifToolFailed(f"exiftool printed no JSON ({exc}): {text[:200]!r}") from exc

    def close(self) -> None:
        with self._lock:
            self._stop_locked()

    # -- the process -----------------------------------------------------------------------

    def _execute_locked(self, args: Sequence[str]) -> tuple[bytes, str]:
        process = self._ensure_started()
        self._counter += 1
        number = self._counter
        lines = [*args, "-echo4", f"{{done{number}}}", f"-execute{number}"]
        payload = b"".join(os.fsencode(line) + b"\n" for line in lines)
        assert process.stdin is not None
        process.stdin.write(payload)
        process.stdin.flush()
        timeout = self.timeout + (0.0 if self._warm else STARTUP_ALLOWANCE)
        answer = self._read_until(process, f"{{ready{number}}}".encode(),
                                  f"{{done{number}}}".encode(), timeout)
        self._warm = True
        return answer

    def _read_until(self, process: subprocess.Popen[bytes], ready: bytes, done: bytes,
                    timeout: float) -> tuple[bytes, str]:
        assert process.stdout is not None and process.stderr is not None
        streams = {process.stdout.fileno(): bytearray(), process.stderr.fileno(): bytearray()}
        markers = {process.stdout.fileno(): ready, process.stderr.fileno(): done}
        pending = set(streams)
        deadline = time.monotonic() + timeout
        while pending:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ExifToolFailed(f"exiftool did not answer within {timeout:g} s")
            readable, _, _ = select.select(list(pending), [], [], left)
            for fd in readable:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise ExifToolFailed("the exiftool process ended")
                streams[fd] += chunk
                if streams[fd].rstrip().endswith(markers[fd]):
                    pending.discard(fd)
        out = bytes(streams[process.stdout.fileno()]).rstrip()
        err = bytes(streams[process.stderr.fileno()]).rstrip()
        return out[: -len(ready)], err[: -len(done)].decode("utf-8", "replace").strip()

    def _ensure_started(self) -> subprocess.Popen[bytes]:
        if self._process is not None and self._owner_pid != os.getpid():
            # A forked child shares its parent's pipes: leave that process to the parent.
            self._process, self._counter = None, 0
        if self._process is not None and self._process.poll() is None:
            return self._process
        self._stop_locked()
        self._process = subprocess.Popen(
            [*_parent_death_prefix(), self.executable, "-stay_open", "True", "-@", "-"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True)  # a Ctrl-C meant for the worker is not exiftool's
        self._owner_pid = os.getpid()
        self._warm = False
        return self._process

    def _stop_locked(self, kill: bool = False) -> None:
        process, self._process = self._process, None
        if process is None or self._owner_pid != os.getpid():
            return
        try:
            if not kill and process.poll() is None and process.stdin is not None:
                process.stdin.write(b"-stay_open\nFalse\n")
                process.stdin.flush()
                process.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            pass
        if process.poll() is None:
            process.kill()
        process.wait()
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream is not None:
                stream.close()

    def _one_shot(self, args: Sequence[str]) -> tuple[bytes, str]:
        try:
            done = subprocess.run([self.executable, *args], capture_output=True,
                                  timeout=self.timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise ExifToolFailed(f"exiftool did not answer within {self.timeout:g} s") from exc
        return done.stdout.strip(), done.stderr.decode("utf-8", "replace").strip()


def _parent_death_prefix() -> list[str]:
    """`setpriv --pdeathsig KILL` where there is one (Linux): at EOF on its argfile exiftool
    polls forever, so a worker killed with SIGKILL would otherwise leave it running. The
    signal follows the thread that started it: one started by a thread that ends is killed
    with it, and the next call starts another."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL", "--"] if setpriv else []


_shared: ExifTool | None = None
_shared_lock = threading.Lock()


def shared_exiftool() -> ExifTool | None:
    """This process's exiftool, or None when ExifTool is not installed."""
    global _shared
    with _shared_lock:
        if _shared is None:
            path = exiftool_path()
            if path is None:
                return None
            _shared = ExifTool(path)
            atexit.register(_shared.close)
        return _shared
