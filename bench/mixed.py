"""Issue 12's "mixed" goal: live files arriving while a large reconcile's batches wait.

A source holds a big tree of tiny files (`data.big_tree`, 100,000 by default) under `bulk/`; a
real Celery worker (two slots) and the real watcher run against the bench's redis-server. A
`mediacourier.reconcile` of the source queues the tree as batches (the reconcile lane); once it
has, and the watcher's start-up scan is done, live files are written into `live/` one by one
at a steady rate (1,000 by default, 5 a second: see RATE). A live file's wait is the time from
its close to its record saying `ingested` (verified and recorded), minus the source's stability
window (the time the watcher must see it unchanged, spent on purpose): what it waited behind
other work.
The goal holds when no live file that arrived while the backlog still waited waited more than
5 s, and at least half of them arrived so.

`python -m bench.mixed [--quick] [--backlog N] [--live N]` runs it alone; `./dev bench` runs it
with the latency case (`--quick`: ÷ 10).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench import data
from bench.cases import Bench
from bench.goals import GoalRow
from bench.procs import REPO, BenchError, child_env, mediacourier_argv, scratch_redis, write_config
from shared.config import load_settings
from shared.state import RedisStateStore, priority_lists
from tasks.app import create_app

GOAL_SECONDS = 5.0
STABILITY = 0.5
# Live files per second: a phone's burst over Syncthing. A file's chain is six tasks: two worker
# slots with no backlog at all fall behind at 10 a second (measured: p50 wait 15.6 s over 100
# files), and then live files wait behind each other, which is not what the goal is about.
RATE = 5.0
POLL = 0.05
READY_TIMEOUT = 600.0
LIVE_TIMEOUT = 120.0  # after the last live file was written


def mixed_row(closed: dict[str, float], done: dict[str, float], stability: float,
              backlog_at: dict[str, int]) -> GoalRow:
    """The goal row from when each live file was closed and found ingested (wall-clock s) and
    how many reconcile batches waited when it was closed. Only the files that arrived while
    batches waited say anything about the lanes: the goal is judged on them, and holds only
    when at least half of the live files did (a backlog drained early proves nothing)."""
    behind = {rel: at for rel, at in closed.items() if backlog_at.get(rel, 0) > 0}
    waits = sorted(max(0.0, done[rel] - at - stability) for rel, at in behind.items()
                   if rel in done)
    missed = sum(rel not in done for rel in closed)
    if not waits:
        return GoalRow("mixed", f"no live file was ingested while the backlog waited "
                       f"({len(behind)} arrived then, {missed} missed)", None, False)
    longest, p50 = waits[-1], statistics.median(waits)
    value = (f"longest {longest:.2f} s, p50 {p50:.2f} s over the {len(waits):,} of "
             f"{len(closed):,} live files that arrived while reconcile batches waited"
             f"{f', {missed} missed' if missed else ''}")
    return GoalRow("mixed", value, None, longest <= GOAL_SECONDS and not missed
                   and 2 * len(behind) >= len(closed))


def measure(work: Path, redis_url: str, backlog: int, live: int,
            rate: float = RATE) -> tuple[GoalRow, dict]:
    root = work / "mixed-src"
    cfg = write_config(work / "mixed.toml", redis_url=redis_url,
                       key_prefix=f"bench-{os.getpid()}-mixed", data_dir=work / "data-mixed",
                       source_name="src", source=root, library=work / "mixed-lib",
                       stability=f"{STABILITY}s")
    data.big_tree(root / "bulk", backlog, seed=12)
    (root / "live").mkdir()
    env = child_env(MEDIACOURIER_CONFIG=str(cfg.path), PYTHONUNBUFFERED="1")
    store = RedisStateStore.from_url(redis_url, cfg.key_prefix)
    lists = priority_lists(cfg.key_prefix)
    procs: list[subprocess.Popen] = []
    logs = work / "logs"
    logs.mkdir(exist_ok=True)

    def spawn(name: str, argv: list[str]) -> Path:
        log = logs / f"mixed-{name}.log"
        with open(log, "wb") as out:
            procs.append(subprocess.Popen(argv, cwd=REPO, env=env, stdout=out,
                                          stderr=subprocess.STDOUT, start_new_session=True))
        return log

    try:
        worker_log = spawn("worker", [sys.executable, "-m", "celery", "-A", "tasks", "worker",
                                      "-c", "2", "-l", "INFO", "--without-mingle",
                                      "--without-gossip", "--hostname",
                                      f"mixed-{os.getpid()}@%h"])
        _wait(lambda: "ready." in worker_log.read_text(errors="replace"), "the worker")
        app = create_app(load_settings(str(cfg.path), env={}))  # routes as the watcher's
        queued_at = time.monotonic()
        result = app.send_task("mediacourier.reconcile", args=["src"])
        _wait(result.ready, "the reconcile to queue its batches")
        queued_seconds = time.monotonic() - queued_at
        watcher_log = spawn("watcher", [*mediacourier_argv(), "watch"])
        _wait(lambda: "catch-up scan" in watcher_log.read_text(errors="replace"),
              "the watcher's start-up scan")
        backlog_start = int(store.client.llen(lists[2]))
        closed: dict[str, float] = {}
        done: dict[str, float] = {}
        backlog_at: dict[str, int] = {}  # reconcile batches waiting when each was closed
        names = [f"live/LIVE_{n:05d}.jpg" for n in range(live)]
        started = time.monotonic()
        for n, rel in enumerate(names):
            while time.monotonic() < started + n / rate:  # the next arrival's time
                _collect(store, closed, done)
                time.sleep(POLL)
            with open(root / rel, "wb") as out:
                out.write(b"\xff\xd8 live %d " % n * 300)
            closed[rel] = time.time()
            backlog_at[rel] = int(store.client.llen(lists[2]))
        last = time.monotonic()
        while len(done) < len(closed) and time.monotonic() - last < LIVE_TIMEOUT:
            _collect(store, closed, done)
            time.sleep(POLL)
        backlog_left = int(store.client.llen(lists[2]))
    finally:
        for proc in procs:
            _stop(proc)
    row = mixed_row(closed, done, STABILITY, backlog_at)
    waits = [done[r] - closed[r] - STABILITY for r in closed if r in done]  # arrival order
    return row, {"backlog_files": backlog, "live_files": live, "rate_per_second": rate,
                 "reconcile_queue_seconds": round(queued_seconds, 2),
                 "batches_waiting_at_start": backlog_start, "batches_waiting_at_end":
                 backlog_left,
                 "arrived_behind_the_backlog": sum(n > 0 for n in backlog_at.values()),
                 "waits": [round(w, 3) for w in waits]}


def _collect(store: RedisStateStore, closed: dict[str, float], done: dict[str, float]) -> None:
    """Note the time each closed live file is first seen recorded as ingested."""
    pending = [rel for rel in closed if rel not in done]
    if not pending:
        return
    now = time.time()
    for rel, raw in zip(pending, store.client.hmget(store.key("files", "src"), pending),
                        strict=True):
        if raw and raw.startswith("ingested\t"):
            done[rel] = now


def _wait(predicate: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while not predicate():
        if time.monotonic() > deadline:
            raise BenchError(f"mixed: timed out after {READY_TIMEOUT:.0f} s waiting for {what}")
        time.sleep(0.2)


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM its process group (ours: started in a session of its own), SIGKILL after 30 s."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def measure_mixed(bench: Bench) -> list[GoalRow]:
    """The `mixed` row of `./dev bench` (a function of MEASUREMENTS in bench/run.py), run with
    the latency case."""
    if "latency" not in bench.wanted:
        return []
    backlog, live = bench.n(100_000), bench.n(1_000)
    bench.say(f"mixed: {live:,} live files while a reconcile of {backlog:,} files waits")
    row, figures = measure(bench.work, bench.redis_url, backlog, live)
    bench.results["mixed"] = {k: v for k, v in figures.items() if k != "waits"}
    return [row]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.mixed", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="every count ÷ 10")
    parser.add_argument("--backlog", type=int, default=None, help="files the reconcile queues")
    parser.add_argument("--live", type=int, default=None, help="live files written")
    parser.add_argument("--rate", type=float, default=RATE, help="live files per second")
    parser.add_argument("--waits", action="store_true", help="print every live file's wait")
    args = parser.parse_args(argv)
    scale = 10 if args.quick else 1
    backlog = args.backlog or 100_000 // scale
    live = args.live or 1_000 // scale
    with scratch_redis("bench-mixed-") as (work, url):
        row, figures = measure(work, url, backlog, live, args.rate)
    if args.waits:
        print("waits in arrival order:", figures["waits"])
    print(f"mixed: {row.value}; reconcile queued in {figures['reconcile_queue_seconds']} s; "
          f"goal: longest <= {GOAL_SECONDS:.0f} s {'met' if row.met else 'NOT met'}")
    return 0 if row.met else 1


if __name__ == "__main__":
    sys.exit(main())
