"""Idle latency: `mediacourier up` running, one file dropped in, time until it is ingested."""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import signal
import statistics
import subprocess
import time
from pathlib import Path

from bench.procs import REPO, BenchConfig, BenchError, child_env, mediacourier_argv
from shared.state import RedisStateStore

POLL = 0.02
READY_TIMEOUT = 120.0
FILE_TIMEOUT = 60.0
STOP_GRACE = 30.0
CHILD_PID = re.compile(r"^\s+(worker|beat|watcher|flower)\s+pid (\d+)\s*$", re.MULTILINE)


def stage_medians(entries: list[dict[str, str]], paths: set[str]) -> dict[str, float]:
    """The median seconds of each stage over the `ingested` entries of `paths` (the journal
    keeps every file's stage timings): where a file's latency goes once it is queued."""
    per_stage: dict[str, list[float]] = {}
    for entry in entries:
        if entry.get("event") != "ingested" or entry.get("path") not in paths:
            continue
        for stage, seconds in json.loads(entry.get("timings") or "{}").items():
            per_stage.setdefault(stage, []).append(float(seconds))
    return {stage: round(statistics.median(values), 4) for stage, values in per_stage.items()}


def _journal_has(store: RedisStateStore, event: str, **fields: str) -> bool:
    for entry in store.read_journal(200):
        if entry.get("event") == event and all(entry.get(k) == v for k, v in fields.items()):
            return True
    return False


def _workers_answer(redis_url: str) -> bool:
    """A Celery control ping over the broker, as `celery inspect ping` does."""
    from celery import Celery

    app = Celery("mc-bench-ping", broker=redis_url)
    try:
        return bool(app.control.ping(timeout=1.0))
    except Exception:  # noqa: BLE001 - broker hiccup while starting: just not ready yet
        return False
    finally:
        app.close()


def _wait_ready(proc: subprocess.Popen, store: RedisStateStore, cfg: BenchConfig,
                redis_url: str, log: Path) -> float:
    """Seconds until the watcher's start-up reconcile is journalled and a worker answers."""
    started = time.perf_counter()
    reconciled = False
    while time.perf_counter() - started < READY_TIMEOUT:
        if proc.poll() is not None:
            raise BenchError(f"`mediacourier up` exited with {proc.returncode}; see {log}")
        reconciled = reconciled or _journal_has(store, "reconciled", source=cfg.source_name)
        if reconciled and _workers_answer(redis_url):
            return time.perf_counter() - started
        time.sleep(0.25)
    raise BenchError(f"`mediacourier up` not ready after {READY_TIMEOUT:.0f} s; see {log}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stop(proc: subprocess.Popen, log: Path) -> str:
    """SIGINT the `up` process group, SIGKILL it after 30 s; then any child it left behind."""
    how = "exited"
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(STOP_GRACE)
            how = "stopped on SIGINT"
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            how = f"killed (SIGKILL) after {STOP_GRACE:.0f} s"
    # `up` starts each child in its own session; if it was killed, end them by their PIDs.
    text = log.read_text(errors="replace") if log.exists() else ""
    for _name, pid_text in CHILD_PID.findall(text):
        pid = int(pid_text)
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            how += f"; child {pid} left behind, killed"
    return how


def measure(cfg: BenchConfig, redis_url: str, log: Path, files: int, size: int,
            seed: int) -> dict:
    """Start `up`, drop `files` files of `size` bytes one at a time, report the latencies."""
    store = RedisStateStore.from_url(redis_url, cfg.key_prefix)
    folder = cfg.source / "2024-06-01"
    folder.mkdir(parents=True, exist_ok=True)  # exists before the watcher starts
    rng = random.Random(seed)
    payloads = [rng.randbytes(size) for _ in range(files)]
    argv = [*mediacourier_argv(), "--config", str(cfg.path), "up", "--no-flower"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, cwd=REPO, env=child_env(), stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    latencies: list[float] = []
    missed: list[str] = []
    stages: dict[str, float] = {}
    try:
        ready = _wait_ready(proc, store, cfg, redis_url, log)
        for i, data in enumerate(payloads):
            rel = f"2024-06-01/LAT_{i:03d}.jpg"
            with open(cfg.source / rel, "wb") as stream:
                stream.write(data)
            written = time.perf_counter()  # the file is complete from here on
            while time.perf_counter() - written < FILE_TIMEOUT:
                if _journal_has(store, "ingested", source=cfg.source_name, path=rel):
                    latencies.append(time.perf_counter() - written)
                    break
                time.sleep(POLL)
            else:
                missed.append(rel)
        stages = stage_medians(store.read_journal(500),
                               {f"2024-06-01/LAT_{i:03d}.jpg" for i in range(files)})
    finally:
        stopped = _stop(proc, log)
    return {
        "files": files,
        "bytes_each": size,
        "ready_seconds": round(ready, 3),
        "latencies": [round(x, 4) for x in latencies],
        "median": round(statistics.median(latencies), 4) if latencies else None,
        "max": round(max(latencies), 4) if latencies else None,
        "missed": missed,
        "stage_medians": stages,
        "stop": stopped,
    }
