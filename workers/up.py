"""`mediacourier up`: Redis (embedded unless configured), a worker, beat, the watcher, metrics and
Flower, as children that die with it (see supervisor.py).

A needed child that exits is started again (unless it keeps exiting within 10 s of its start:
then everything stops), and so is the embedded Redis, from its append-only file on its port.

Stopping (SIGINT, SIGTERM, SIGHUP, or a needed child that keeps exiting) goes in order: the
watcher and beat first (no new work), then the worker with a bounded warm shutdown, then Flower
and metrics, then Redis last. Metrics and Flower are optional: a port of theirs that is taken
is found before anything starts and they move to a free one, saying so in one line; one of them
exiting later is reported in one line and the rest runs on. Output goes through `Output`:
`up 2>&1 | tee log` and Ctrl-C kills `tee` too, and a print to the closed pipe must not abort
the stop.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from shared.config import RUNTIME_URL_FILE, Settings, parse_listen
from shared.state import EmbeddedRedis
from workers.ports import busy_port_line, free_port, port_is_free
from workers.supervisor import Child, stop_phase

WORKER_GRACE = 30.0  # the warm shutdown's bound; an unfinished task is redelivered (acks late)
SERVICE_GRACE = 10.0  # beat and the watcher: they finish a send or a tick
OPTIONAL_GRACE = 3.0  # Flower and metrics hold nothing worth waiting for
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
RESTARTS = 5  # quick exits in a row of one needed child before `up` gives up and stops
QUICK_EXIT = 10.0  # a child that ran shorter than this exited "quickly": a crash loop, maybe
REPO = Path(__file__).resolve().parents[1]


class Output:
    """print() that survives a reader that has gone away (EPIPE) or a closed terminal (EIO):
    the stream is pointed at /dev/null and the supervisor carries on stopping its children."""

    def say(self, text: str, stream: TextIO | None = None) -> None:
        stream = stream or sys.stdout
        try:
            print(text, file=stream, flush=True)
        except (OSError, ValueError):  # ValueError: the stream was closed
            self._silence(stream)

    @staticmethod
    def _silence(stream: TextIO) -> None:
        # The interpreter flushes the stream once more at exit; that must not fail either.
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stream.fileno())
            os.close(devnull)


def _listen_text(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass
class Supervisor:
    """Starts the processes in order and stops them in phases, by PID, on a stop signal."""

    settings: Settings
    concurrency: int = 2
    with_flower: bool = True
    out: Output = field(default_factory=Output)
    redis: EmbeddedRedis | None = None
    children: list[Child] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    flower_port: int = 0
    metrics_listen: str = ""
    web_listen: str = ""
    notes: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    quick_exits: dict[str, int] = field(default_factory=dict)
    quick_exit: float = QUICK_EXIT
    backoff: float = 1.0  # seconds per quick exit in a row, before the next start

    def check_ports(self) -> None:
        """Before anything starts: an optional component whose port is taken moves to a free
        port, and a line says who holds the configured one and where it runs instead."""
        settings = self.settings
        if self.with_flower:
            self.flower_port = self._port_for("Flower", settings.flower_address,
                                              settings.flower_port, "flower_port")
        if settings.metrics_listen:
            host, port = parse_listen(settings.metrics_listen)
            port = self._port_for("metrics", host, port, "metrics_listen")
            self.metrics_listen = _listen_text(host, port)
        if settings.web.listen:
            host, port = parse_listen(settings.web.listen, "web_listen")
            self.web_listen = _listen_text(host, self._port_for("web", host, port, "web_listen"))

    def _port_for(self, what: str, host: str, port: int, setting: str) -> int:
        if port_is_free(host, port):
            return port
        other = free_port(host)
        self.notes.append(f"{busy_port_line(port, setting)}; {what} runs on "
                          f"{_listen_text(host, other)} meanwhile")
        return other

    def redis_url(self) -> str:
        run_dir = Path(self.settings.data_dir) / "run"
        run_dir.mkdir(parents=True, exist_ok=True)  # beat keeps its schedule file here too
        if self.settings.redis_url:
            return self.settings.redis_url
        # Started from the main thread, which lives as long as `up`: it dies with us.
        self.redis = EmbeddedRedis(Path(self.settings.data_dir) / "redis",
                                   password=secrets.token_urlsafe(18))
        url = self.redis.start()
        url_file = run_dir / Path(RUNTIME_URL_FILE).name
        url_file.touch(mode=0o600)
        url_file.write_text(url + "\n")
        return url

    def environment(self, url: str) -> dict[str, str]:
        env = dict(os.environ)
        env["MEDIACOURIER_REDIS_URL"] = url
        env["MEDIACOURIER_DATA_DIR"] = str(self.settings.data_dir)
        env["MEDIACOURIER_LOG_DIR"] = str(Path(self.settings.data_dir) / "logs")  # for `web`
        if self.settings.flower_basic_auth:
            env["FLOWER_BASIC_AUTH"] = self.settings.flower_basic_auth  # not on a command line
        if self.settings.config_path:
            env["MEDIACOURIER_CONFIG"] = str(Path(self.settings.config_path).absolute())
        return env

    def plan(self) -> list[Child]:
        """The children in start order."""
        celery = [sys.executable, "-m", "celery", "-A", "tasks"]
        schedule_file = str(Path(self.settings.data_dir) / "run" / "celerybeat-schedule")
        children = [
            Child("worker", [*celery, "worker", "-l", "INFO", "-E", "-c", str(self.concurrency),
                             "--hostname", "mediacourier@%h"], grace=WORKER_GRACE),
            Child("beat", [*celery, "beat", "-l", "INFO", "-s", schedule_file],
                  grace=SERVICE_GRACE),
            Child("watcher", [sys.executable, "-m", "workers.cli", "watch"], grace=SERVICE_GRACE),
        ]
        if self.metrics_listen:
            children.append(Child("metrics", [sys.executable, "-m", "workers.cli", "metrics",
                                              "--listen", self.metrics_listen],
                                  optional=True, grace=OPTIONAL_GRACE))
        if self.web_listen:
            children.append(Child("web", [sys.executable, "-m", "workers.cli", "web", "--listen",
                                          self.web_listen], optional=True, grace=OPTIONAL_GRACE))
        if self.with_flower:
            flower = [*celery, "flower", f"--address={self.settings.flower_address}",
                      f"--port={self.flower_port}"]
            # SIGKILL when `up` dies: it has no state to save and was slow to stop on SIGTERM.
            children.append(Child("flower", flower, optional=True,
                                  death_signal=signal.SIGKILL, grace=OPTIONAL_GRACE))
        return children

    def start(self) -> None:
        self.check_ports()
        url = self.redis_url()
        env = self.env = self.environment(url)
        for child in self.plan():
            if self.stopping.is_set():  # a signal while starting: start no more
                return
            child.start(env, REPO)
            self.children.append(child)
        self.describe(url)

    def describe(self, url: str) -> None:
        shown = url.split("@")[-1] if "@" in url else url
        say = self.out.say
        for note in self.notes:
            say(note, sys.stderr)
        say("mediacourier is up:")
        say(f"  redis     {'embedded, ' if self.redis else ''}{shown} "
            f"(data in {self.settings.data_dir})")
        for source in self.settings.sources.values():
            library = self.settings.library_of(source)
            say(f"  source    {source.name}: {source.path} -> {library.path} ({source.mode})")
        if self.with_flower:
            flower = _listen_text(self.settings.flower_address, self.flower_port)
            say(f"  flower    http://{flower}/")
        if self.metrics_listen:
            say(f"  metrics   http://{self.metrics_listen}/metrics")
        if self.web_listen:
            say(f"  web       http://{self.web_listen}{self.settings.web.root_path}/")
        for child in self.children:
            say(f"  {child.name:<9} pid {child.pid}")
        say("Press Ctrl-C to stop.")

    def wait(self) -> int:
        """Block until a stop signal. The embedded Redis that exits is started again from its
        append-only file on the same port; a needed child that exits (a worker that lost its
        broker, a killed watcher) is started again, unless it keeps exiting right after its
        start (then everything stops); an optional one that exits is reported once and left out."""
        while not self.stopping.is_set():
            if not self._keep_redis() or not self._keep_children():
                return 1
            self.stopping.wait(0.5)
        return 0

    def _keep_redis(self) -> bool:
        if self.redis is None or self.redis.running or self.stopping.is_set():
            return True
        self.out.say("redis-server exited; starting it again from its append-only file",
                     sys.stderr)
        try:
            self.redis.restart()
        except Exception as exc:  # noqa: BLE001 - one line, then the orderly stop
            self.out.say(f"redis-server did not start again: {exc}; stopping", sys.stderr)
            return False
        return True

    def _keep_children(self) -> bool:
        for child in list(self.children):
            if child.running() or self.stopping.is_set():
                continue
            code = child.popen.returncode if child.popen else None
            if child.optional:
                self.out.say(f"{child.name} exited with code {code}; the pipeline runs on "
                             "without it", sys.stderr)
                self.children.remove(child)
                continue
            # A child killed after it had run a while is started again however often that
            # happens; one that keeps exiting right after its start (a bad configuration, a
            # broker it cannot reach) is given up after RESTARTS tries.
            ran_briefly = child.ran_for() < self.quick_exit
            quick = self.quick_exits.get(child.name, 0) + 1 if ran_briefly else 0
            if quick >= RESTARTS:
                self.out.say(f"{child.name} exited with code {code} {quick} times in a row "
                             f"within {self.quick_exit:.0f} s of its start; stopping", sys.stderr)
                return False
            self.quick_exits[child.name] = quick
            if quick and self.stopping.wait(quick * self.backoff):  # a crash loop: back off
                return True
            self.out.say(f"{child.name} exited with code {code}; starting it again", sys.stderr)
            # A killed worker's pool processes outlive it in its group, holding leases on files
            # they can no longer report: end them first, so their files are free at once.
            child.kill_leftovers()
            child.start(self.env, REPO)
        return True

    def stop(self) -> None:
        """Watcher and beat, then the worker, then Flower and metrics, then Redis."""
        phases = (("watcher", "beat"), ("worker",), ("flower", "metrics", "web"))
        for names in phases:
            stop_phase([c for c in self.children if c.name in names], self._killed)
        if self.redis is not None:
            self.redis.stop()
            (Path(self.settings.data_dir) / RUNTIME_URL_FILE).unlink(missing_ok=True)

    def _killed(self, child: Child) -> None:
        self.out.say(f"{child.name} did not stop within {child.grace:.0f} s; killed",
                     sys.stderr)


def run_up(settings: Settings, concurrency: int, with_flower: bool) -> int:
    supervisor = Supervisor(settings, concurrency=concurrency, with_flower=with_flower)

    def on_signal(signum: int, _frame: object) -> None:
        supervisor.stopping.set()

    # Before anything starts: a signal from here on stops what was started, in order.
    for signum in STOP_SIGNALS:
        signal.signal(signum, on_signal)
    try:
        supervisor.start()
        code = supervisor.wait()
    finally:
        supervisor.out.say("stopping…")
        supervisor.stop()
        supervisor.out.say("stopped.")
    return code
