"""`mediacourier up` as a subprocess, and the processes of its stack read from /proc.

A process counts as gone when /proc no longer has it, when it is a zombie (its parent, or
init after `up` died, has not reaped it yet), or when its pid now belongs to a process started
later (compared by start time)."""

from __future__ import annotations

import contextlib
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.e2e.harness import REPO, wait_for


@dataclass(frozen=True)
class ProcStat:
    pid: int
    name: str
    state: str
    ppid: int
    start_ticks: str


def proc_stat(pid: int) -> ProcStat | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name, rest = text.split("(", 1)[1].rsplit(")", 1)
    fields = rest.split()
    return ProcStat(pid, name, fields[0], int(fields[1]), fields[19])


def descendants(root: int) -> list[ProcStat]:
    """Every living descendant of root, through the ppid links in /proc/*/stat."""
    children: dict[int, list[ProcStat]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (found := proc_stat(int(entry))) and found.state != "Z":
            children.setdefault(found.ppid, []).append(found)
    result, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            result.append(child)
            todo.append(child.pid)
    return result


def is_gone(before: ProcStat) -> bool:
    now = proc_stat(before.pid)
    return now is None or now.state == "Z" or now.start_ticks != before.start_ticks


def write_config(folder: Path, flower_port: int, metrics_port: int) -> None:
    (folder / "mediacourier.toml").write_text(
        f'flower_port = {flower_port}\nmetrics_listen = "127.0.0.1:{metrics_port}"\n'
        '[sources.inbox]\npath = "inbox"\nlibrary = "library"\nstability = "0.5s"\n'
        '[libraries.library]\npath = "library"\n')
    (folder / "inbox").mkdir(exist_ok=True)
    (folder / "library").mkdir(exist_ok=True)


@dataclass
class UpStack:
    """One `mediacourier up` in folder (configured by write_config), its output in a file or,
    with through_pipe, in a pipe that this object reads until `close_reader()`."""

    folder: Path
    through_pipe: bool = False
    popen: subprocess.Popen[bytes] | None = None
    stack: list[ProcStat] = field(default_factory=list)
    _buffer: bytearray = field(default_factory=bytearray)
    _stop_reading: threading.Event = field(default_factory=threading.Event)
    _reader: threading.Thread | None = None

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIACOURIER_")}
        env["PYTHONPATH"] = str(REPO)
        argv = [sys.executable, "-m", "workers.cli", "up"]
        if self.through_pipe:  # `mediacourier up 2>&1 | tee log`: both streams in one pipe
            read_end, write_end = os.pipe()
            self.popen = subprocess.Popen(argv, cwd=self.folder, env=env, stdout=write_end,
                                          stderr=write_end, start_new_session=True)
            os.close(write_end)
            self._reader = threading.Thread(target=self._read, args=(read_end,), daemon=True)
            self._reader.start()
        else:
            with (self.folder / "up.log").open("wb") as log:
                self.popen = subprocess.Popen(argv, cwd=self.folder, env=env, stdout=log,
                                              stderr=subprocess.STDOUT, start_new_session=True)

    def _read(self, fd: int) -> None:
        try:
            while not self._stop_reading.is_set():
                if select.select([fd], [], [], 0.05)[0]:
                    data = os.read(fd, 65536)
                    if not data:
                        return
                    self._buffer.extend(data)
        finally:
            os.close(fd)  # the reader has gone away: the next write to the pipe gets EPIPE

    def close_reader(self) -> None:
        self._stop_reading.set()
        if self._reader is not None:
            self._reader.join(timeout=10)

    def output(self) -> str:
        if self.through_pipe:
            return self._buffer.decode(errors="replace")
        log = self.folder / "up.log"
        return log.read_text(errors="replace") if log.exists() else ""

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def child_pid(self, name: str) -> int:
        match = re.search(rf"^  {name}\s+pid (\d+)$", self.output(), re.MULTILINE)
        assert match, f"no pid line for {name}:\n{self.output()[-3000:]}"
        return int(match.group(1))

    def wait_ready(self, children: int = 6) -> list[ProcStat]:
        """Until the worker is ready and its pool is there; the stack's processes then."""
        assert self.popen is not None
        wait_for(lambda: "ready." in self.output() or self.popen.poll() is not None, 90,
                 "the worker of `up` to be ready")
        assert self.popen.poll() is None, self.output()[-3000:]
        assert len(re.findall(r"^  \w+\s+pid \d+$", self.output(), re.MULTILINE)) == children
        worker = self.child_pid("worker")
        # A prefork worker with -c 2 has two pool processes once it says "ready."
        wait_for(lambda: len(descendants(worker)) >= 2, 30, "the worker's pool")
        self.stack = descendants(self.pid)
        return self.stack

    def signal(self, signum: int) -> float:
        """Send signum to `up` alone (its children sit in sessions of their own); the time."""
        os.kill(self.pid, signum)
        return time.monotonic()

    def gone_times(self, since: float, timeout: float) -> dict[int, float]:
        """Watch the stack until every process is gone or timeout passes: pid -> seconds."""
        gone: dict[int, float] = {}
        deadline = since + timeout
        while len(gone) < len(self.stack) and time.monotonic() < deadline:
            now = time.monotonic() - since  # one time per pass: gone in the same pass is a tie
            for proc in self.stack:
                if proc.pid not in gone and is_gone(proc):
                    gone[proc.pid] = now
            time.sleep(0.02)  # the sampling period of the measurement, not a synchronisation
        return gone

    def cleanup(self) -> None:
        """Whatever a failed test left: kill the stack and `up` by PID."""
        running = self.popen is not None and self.popen.poll() is None
        for proc in [*self.stack, *(descendants(self.pid) if running else [])]:
            if not is_gone(proc):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGKILL)
        if self.popen is not None and self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()
        self.close_reader()
