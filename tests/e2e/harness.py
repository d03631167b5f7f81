"""Real processes for end-to-end tests: a private redis-server, Celery workers, beat, the watcher.

Everything is started with its own session and stopped by PID (process group), never by name.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.config import load_settings
from shared.state.redis_server import EmbeddedRedis
from shared.state.store import RedisStateStore

REPO = Path(__file__).resolve().parents[2]


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, every: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def write_toml(path: Path, top: dict[str, Any], tables: dict[str, dict[str, Any]]) -> None:
    lines = [f"{k} = {toml_value(v)}" for k, v in top.items()]
    for name, values in tables.items():
        lines.append(f"\n[{name}]")
        lines.extend(f"{k} = {toml_value(v)}" for k, v in values.items())
    path.write_text("\n".join(lines) + "\n")


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def alive(self) -> bool:
        return self.popen.poll() is None


@dataclass
class Deployment:
    """One mediacourier set-up in a temporary folder, with its own redis-server."""

    root: Path
    top: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    redis: EmbeddedRedis | None = None
    procs: list[Proc] = field(default_factory=list)
    prefix: str = field(default_factory=lambda: f"mc-e2e-{uuid.uuid4().hex[:8]}")
    # Run workers and the watcher without the capabilities that let root read any file, so
    # that file permissions apply to them as to an ordinary user.
    restricted: bool = False

    @property
    def config_path(self) -> Path:
        return self.root / "mediacourier.toml"

    def folder(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def start_redis(self) -> str:
        self.redis = EmbeddedRedis(self.root / "redis", fsync_always=True, die_with_parent=False)
        return self.redis.start()

    def one_source(self, source: str = "inbox", library: str = "lib",
                   **source_options: Any) -> tuple[Path, Path]:
        """Configure (and write) one source feeding one library; returns both folders."""
        source_dir, library_dir = self.folder(source), self.folder(library)
        self.tables = {
            **self.tables,
            f"sources.{source}": {"path": str(source_dir), "library": library, **source_options},
            f"libraries.{library}": {"path": str(library_dir)},
        }
        self.write_config()
        return source_dir, library_dir

    def write_config(self) -> None:
        assert self.redis is not None, "start_redis() first"
        top = {"data_dir": str(self.folder("data")), "redis_url": self.redis.url,
               "key_prefix": self.prefix, **self.top}
        write_toml(self.config_path, top, self.tables)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIACOURIER_")}
        env["MEDIACOURIER_CONFIG"] = str(self.config_path)
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def store(self) -> RedisStateStore:
        settings = load_settings(str(self.config_path), env={})
        return RedisStateStore.from_url(settings.redis_url, settings.key_prefix)

    def spawn(self, name: str, argv: list[str]) -> Proc:
        log = self.root / f"{name}.log"
        handle = log.open("ab")
        if self.restricted:
            argv = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *argv]
        popen = subprocess.Popen(argv, cwd=REPO, env=self.env(), stdout=handle,
                                 stderr=subprocess.STDOUT, start_new_session=True)
        handle.close()
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def celery(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "celery", "-A", "tasks", *args]

    def start_worker(self, name: str = "w1", concurrency: int = 2, wait: bool = True,
                     loglevel: str = "INFO") -> Proc:
        """loglevel DEBUG: the log shows each task received and its result (workers/logs.py)."""
        node = f"{name}-{self.prefix}@%h"
        proc = self.spawn(name, self.celery("worker", "-l", loglevel, "-E", "-c", str(concurrency),
                                            "--hostname", node, "--without-mingle",
                                            "--without-gossip"))
        if wait:
            wait_for(lambda: "ready." in proc.output() or not proc.alive(), 60,
                     f"worker {name} to be ready")
            assert proc.alive(), proc.output()[-3000:]
        return proc

    def start_beat(self, name: str = "beat") -> Proc:
        schedule = self.root / f"{name}-schedule"
        return self.spawn(name, self.celery("beat", "-l", "INFO", "-s", str(schedule)))

    def start_watcher(self, name: str = "watcher") -> Proc:
        return self.spawn(name, [sys.executable, "-m", "workers.cli", "watch"])

    def run_cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "workers.cli", *args], cwd=REPO,
                              env=self.env(), capture_output=True, text=True, timeout=timeout)

    def celery_call(self, task: str, args_json: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.celery("call", task, f"--args={args_json}"), cwd=REPO,
                              env=self.env(), capture_output=True, text=True, timeout=60)

    def events(self, event: str | None = None) -> list[dict[str, str]]:
        entries = self.store().read_journal(100_000)
        return [e for e in entries if event is None or e["event"] == event]

    def kill(self, proc: Proc, sig: int = signal.SIGKILL) -> None:
        if proc.alive():
            os.killpg(proc.popen.pid, sig)
        proc.popen.wait(timeout=60)

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            if proc.alive():
                try:
                    os.killpg(proc.popen.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        for proc in reversed(self.procs):
            try:
                proc.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.popen.pid, signal.SIGKILL)
                proc.popen.wait()
        if self.redis is not None:
            self.redis.stop()

    def logs(self) -> str:
        return "\n".join(f"----- {p.name} -----\n{p.output()[-4000:]}" for p in self.procs)
