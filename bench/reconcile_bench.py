"""Case `c`: a reconcile that finds nothing to do, on a large source.

The tree (`data.big_tree`: tiny files, 100 to a folder) gets one record per file in the store,
written as a finished ingest leaves it, in pipelines (untimed; a full `sync` of 100,000 files to
seed them would take minutes and measure the ingest, not the reconcile). Then `plan_source` runs
three times against the real Redis, and `find -printf` (size, mtime and path of every file, the
fastest way to list a tree with a shell tool) walks the same tree three times in the same run:
the rows give the median files/s of each and their ratio.

`python -m bench.reconcile_bench [--files N] [--profile]` runs it alone.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import os
import pstats
import shutil
import statistics
import sys
import time
from pathlib import Path

from bench import data
from bench.goals import GoalRow
from bench.procs import find_walk, scratch_redis
from shared.config import SourceConfig, build_settings
from shared.source import plan_source
from shared.state import FileRecord, RedisStateStore

GOAL_FILES_PER_SECOND = 250_000
ROUNDS = 3


def seed_records(store: RedisStateStore, source: str, root: Path, library: str = "") -> int:
    """One 'ingested' record per file under root, as the ingest writes them (and, with
    `library`, its entry in that library's file index); the count."""
    pipe = store.client.pipeline(transaction=False)
    count = 0
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            info = os.lstat(path)
            rel = os.path.relpath(path, root).replace(os.sep, "/")
            sha = hashlib.sha256(rel.encode()).hexdigest()  # not checked by a reconcile
            record = FileRecord(info.st_size, info.st_mtime_ns, info.st_ino, sha, "ingested", rel)
            pipe.hset(store.key("files", source), rel, record.encode())
            if library:
                pipe.hset(store.key("libfiles", library), rel, sha)
            count += 1
            if count % 5000 == 0:
                pipe.execute()
    pipe.execute()
    return count


def source_config(root: Path, library: Path) -> SourceConfig:
    library.mkdir(parents=True, exist_ok=True)
    raw = {"sources": {"src": {"path": str(root), "library": "lib"}},
           "libraries": {"lib": {"path": str(library)}}}
    return build_settings(raw, None, root.parent).sources["src"]


def time_plans(store: RedisStateStore, source: SourceConfig, expected: int,
               rounds: int = ROUNDS) -> list[float]:
    """Seconds of each no-change plan_source; RuntimeError if one plans any work."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        plan = plan_source(store, source, stale_after=3600.0)
        times.append(time.perf_counter() - started)
        if plan.to_ingest or plan.vanished or plan.unchanged != expected:
            raise RuntimeError(f"a no-change reconcile planned {len(plan.to_ingest)} to ingest, "
                               f"{len(plan.vanished)} vanished, {plan.unchanged} unchanged "
                               f"of {expected}")
    return times


def measure(work: Path, redis_url: str, count: int, prefix: str = "bench-c") -> list[GoalRow]:
    """Case c's row: plan_source files/s; its ratio is its time to find -printf's."""
    tree = data.big_tree(work / "src-c-reconcile", count, seed=20240603)
    store = RedisStateStore.from_url(redis_url, f"{prefix}-{os.getpid()}")
    try:
        seeded = seed_records(store, "src", tree.root)
        source = source_config(tree.root, work / "lib-c-reconcile")
        plan = statistics.median(time_plans(store, source, seeded))
        find = statistics.median(find_walk(tree.root) for _ in range(ROUNDS))
    finally:
        store.client.delete(store.key("files", "src"))
        shutil.rmtree(tree.root, ignore_errors=True)
    rate, find_rate = seeded / plan, seeded / find
    return [GoalRow("c", f"{rate:,.0f} files/s over {seeded:,} files (plan_source, median of "
                    f"{ROUNDS}); find -printf {find_rate:,.0f} files/s",
                    round(find_rate / rate, 2), rate >= GOAL_FILES_PER_SECOND)]


def profile(work: Path, redis_url: str, count: int) -> str:
    """cProfile of one no-change plan_source: where its time goes (top 15 by own time)."""
    tree = data.big_tree(work / "src-c-profile", count, seed=20240603)
    store = RedisStateStore.from_url(redis_url, f"bench-c-profile-{os.getpid()}")
    try:
        seeded = seed_records(store, "src", tree.root)
        source = source_config(tree.root, work / "lib-c-profile")
        time_plans(store, source, seeded, rounds=1)  # warm the page cache and Redis
        profiler = cProfile.Profile()
        profiler.enable()
        time_plans(store, source, seeded, rounds=1)
        profiler.disable()
    finally:
        store.client.delete(store.key("files", "src"))
        shutil.rmtree(tree.root, ignore_errors=True)
    out = _Text()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)  # type: ignore
    return out.text


class _Text:
    def __init__(self) -> None:
        self.text = ""

    def write(self, chunk: str) -> int:
        self.text += chunk
        return len(chunk)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.reconcile_bench", description=__doc__)
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one pass")
    args = parser.parse_args(argv)
    with scratch_redis("bench-c-") as (work, url):
        for row in measure(work, url, args.files):
            print(f"{row.goal}: {row.value}; ratio to find {row.ratio}; goal >= "
                  f"{GOAL_FILES_PER_SECOND:,} files/s {'met' if row.met else 'NOT met'}")
        if args.profile:
            print(profile(work, url, args.files))
    return 0


if __name__ == "__main__":
    sys.exit(main())
