"""Case `watcher RSS`: the memory of `mediacourier watch` over a large source.

A copy-mode source of `data.big_tree` files (100 to a folder), all already ingested: the
library holds a hard link of each, and the store a record and a library-index entry for each
(written in pipelines, untimed). `mediacourier watch` starts on it as a user runs it; once its
catch-up scan is journaled (`reconciled`, nothing to queue) its resident memory is read from
/proc three times a second apart (the median is the figure, VmHWM its peak). The baseline is the
same command over an empty source, measured in the same run.

`python -m bench.watcher_rss [--files N]` runs it alone.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench import data
from bench.cases import Bench
from bench.goals import GoalRow
from bench.procs import REPO, BenchError, child_env, mediacourier_argv, scratch_redis, write_config
from bench.reconcile_bench import seed_records
from shared.state import RedisStateStore

GOAL_MB = 60.0


def seed_ingested(store: RedisStateStore, source: str, library: str, root: Path,
                  library_root: Path) -> int:
    """Each file under root hard-linked into library_root and recorded as ingested there."""
    subprocess.run(["cp", "-al", f"{root}/.", str(library_root)], check=True)
    return seed_records(store, source, root, library)


def _status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of pid, in KiB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0])
    return found


def watcher_memory(cfg_path: Path, store: RedisStateStore, log: Path,
                   timeout: float = 600.0) -> tuple[float, float]:
    """(median RSS, peak RSS) in MB of `mediacourier watch` once its catch-up scan is done."""
    with log.open("wb") as out:
        proc = subprocess.Popen([*mediacourier_argv(), "--config", str(cfg_path), "watch"],
                                cwd=REPO, env=child_env(), stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while not any(e.get("event") == "reconciled" for e in store.read_journal(50)):
            if proc.poll() is not None:
                raise RuntimeError(f"mediacourier watch exited {proc.returncode}: "
                                   f"{log.read_text(errors='replace')[-1000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError("mediacourier watch: no catch-up scan journaled in time")
            time.sleep(0.2)
        samples = []
        for _ in range(3):
            time.sleep(1.0)
            samples.append(_status(proc.pid))
    finally:
        proc.send_signal(signal.SIGTERM)  # our own child, by its PID
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    rss = statistics.median(s["VmRSS"] for s in samples) / 1024
    return rss, max(s["VmHWM"] for s in samples) / 1024


def _one(work: Path, redis_url: str, tag: str, count: int) -> tuple[float, float, int]:
    source, library = work / f"watch-src-{tag}", work / f"watch-lib-{tag}"
    prefix = f"bench-watch-{tag}-{os.getpid()}"
    cfg = write_config(work / f"watch-{tag}.toml", redis_url=redis_url, key_prefix=prefix,
                       data_dir=work / f"watch-data-{tag}", source_name="src", source=source,
                       library=library)
    store = RedisStateStore.from_url(redis_url, prefix)
    try:
        files = 0
        if count:
            data.big_tree(source, count, seed=20240604)
            files = seed_ingested(store, "src", "lib", source, library)
        rss, peak = watcher_memory(cfg.path, store, work / f"watch-{tag}.log")
    finally:
        for key in store.client.scan_iter(f"{prefix}:*"):
            store.client.delete(key)
        shutil.rmtree(source, ignore_errors=True)
        shutil.rmtree(library, ignore_errors=True)
    return rss, peak, files


def measure(work: Path, redis_url: str, count: int) -> list[GoalRow]:
    """The watcher's RSS over `count` ingested files; its ratio is to the same command over an
    empty source (the cost of the interpreter and its imports), measured just before."""
    base, base_peak, _ = _one(work, redis_url, "empty", 0)
    rss, peak, files = _one(work, redis_url, "full", count)
    return [GoalRow("watcher-rss", f"{rss:.1f} MB over {files:,} files, peak {peak:.0f} MB; "
                    f"empty source {base:.1f} MB, peak {base_peak:.0f} MB",
                    round(rss / base, 2), rss <= GOAL_MB)]


def measure_watcher_rss(bench: Bench) -> list[GoalRow]:
    """The `watcher` case of `./dev bench` (bench/run.py's MEASUREMENTS)."""
    if "watcher" not in bench.wanted:
        return []
    bench.say("watcher: RSS of `mediacourier watch` over an ingested tree")
    try:
        return measure(bench.work, bench.redis_url, bench.n(100_000))
    except RuntimeError as exc:
        raise BenchError(f"case watcher: {exc}") from exc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.watcher_rss", description=__doc__)
    parser.add_argument("--files", type=int, default=100_000)
    args = parser.parse_args(argv)
    with scratch_redis("bench-watch-") as (work, url):
        for row in measure(work, url, args.files):
            print(f"{row.goal}: {row.value}; ratio {row.ratio}; goal <= {GOAL_MB:.0f} MB "
                  f"{'met' if row.met else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
