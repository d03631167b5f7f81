"""`mediacourier up`: Redis (embedded unless configured), a worker, beat, the watcher and Flower."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from shared.config import RUNTIME_URL_FILE, Settings
from shared.state import EmbeddedRedis

STOP_GRACE_SECONDS = 20.0


@dataclass
class Supervisor:
    """Starts the processes in order and stops them in reverse, by PID, on Ctrl-C or SIGTERM."""

    settings: Settings
    concurrency: int = 2
    with_flower: bool = True
    redis: EmbeddedRedis | None = None
    children: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def redis_url(self) -> str:
        run_dir = Path(self.settings.data_dir) / "run"
        run_dir.mkdir(parents=True, exist_ok=True)  # beat keeps its schedule file here too
        if self.settings.redis_url:
            return self.settings.redis_url
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
        if self.settings.flower_basic_auth:
            env["FLOWER_BASIC_AUTH"] = self.settings.flower_basic_auth  # not on a command line
        if self.settings.config_path:
            env["MEDIACOURIER_CONFIG"] = str(Path(self.settings.config_path).absolute())
        return env

    def commands(self) -> list[tuple[str, list[str]]]:
        celery = [sys.executable, "-m", "celery", "-A", "tasks"]
        schedule_file = str(Path(self.settings.data_dir) / "run" / "celerybeat-schedule")
        commands = [
            ("worker", [*celery, "worker", "-l", "INFO", "-E", "-c", str(self.concurrency),
                        "--hostname", "mediacourier@%h"]),
            ("beat", [*celery, "beat", "-l", "INFO", "-s", schedule_file]),
            ("watcher", [sys.executable, "-m", "workers.cli", "watch"]),
        ]
        if self.settings.metrics_listen:
            commands.append(("metrics", [sys.executable, "-m", "workers.cli", "metrics"]))
        if self.with_flower:
            flower = [*celery, "flower", f"--address={self.settings.flower_address}",
                      f"--port={self.settings.flower_port}"]
            commands.append(("flower", flower))
        return commands

    def start(self) -> None:
        url = self.redis_url()
        env = self.environment(url)
        cwd = Path(__file__).resolve().parents[1]
        for name, argv in self.commands():
            proc = subprocess.Popen(argv, env=env, cwd=cwd, start_new_session=True)
            self.children.append((name, proc))
        self.describe(url)

    def describe(self, url: str) -> None:
        shown = url.split("@")[-1] if "@" in url else url
        print("mediacourier is up:")
        print(f"  redis     {'embedded, ' if self.redis else ''}{shown} "
              f"(data in {self.settings.data_dir})")
        for source in self.settings.sources.values():
            library = self.settings.library_of(source)
            print(f"  source    {source.name}: {source.path} -> {library.path} ({source.mode})")
        if self.with_flower:
            print(f"  flower    http://{self.settings.flower_address}:{self.settings.flower_port}/")
        if self.settings.metrics_listen:
            print(f"  metrics   http://{self.settings.metrics_listen}/metrics")
        for name, proc in self.children:
            print(f"  {name:<9} pid {proc.pid}")
        print("Press Ctrl-C to stop.", flush=True)

    def wait(self) -> int:
        """Block until a signal or until a child exits on its own (then stop everything)."""
        while not self.stopping.is_set():
            for name, proc in self.children:
                if proc.poll() is not None:
                    print(f"{name} exited with code {proc.returncode}; stopping", file=sys.stderr)
                    return 1
            self.stopping.wait(0.5)
        return 0

    def stop(self) -> None:
        for _name, proc in reversed(self.children):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for _name, proc in reversed(self.children):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if self.redis is not None:
            self.redis.stop()
            (Path(self.settings.data_dir) / RUNTIME_URL_FILE).unlink(missing_ok=True)


def run_up(settings: Settings, concurrency: int, with_flower: bool) -> int:
    supervisor = Supervisor(settings, concurrency=concurrency, with_flower=with_flower)

    def on_signal(signum: int, _frame: object) -> None:
        supervisor.stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        supervisor.start()
        code = supervisor.wait()
    finally:
        print("stopping…", flush=True)
        supervisor.stop()
        print("stopped.", flush=True)
    return code
