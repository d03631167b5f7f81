"""Indexing an existing library: how fast what a library already holds is made to count.

The library is generated (`--files` files of 2-60 KB, photo-thumbnail to small-photo sized,
100 to a folder: 100,000 files are about 3 GB; `./dev bench --quick` takes a tenth), so the
page cache holds it (the issue's "warm cache"). Then `index_library` runs against the real
Redis twice: the first index (every file read and hashed, its hash written to the content
index) and a second pass over the unchanged library (the size+mtime+inode cache: no file
read). The row is the first index's files/s against the goal of 1,000 files/s; the second
pass's rate is in the text.

`python -m bench.index_bench [--files N]` runs it alone.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import time
from pathlib import Path

from bench.cases import Bench
from bench.goals import GoalRow
from bench.procs import scratch_redis
from shared.config import build_settings
from shared.ingest import index_library
from shared.state import RedisStateStore

GOAL_FILES_PER_SECOND = 1_000
SIZES = (2_000, 60_000)
PER_FOLDER = 100


def make_library(root: Path, count: int, seed: int) -> int:
    """`count` files of random bytes and random sizes in SIZES; their total size."""
    rng = random.Random(seed)
    total = 0
    for number in range(count):
        year = 2000 + number // (PER_FOLDER * 12) % 25
        folder = root / str(year) / f"{number // PER_FOLDER:05d}"
        if number % PER_FOLDER == 0:
            folder.mkdir(parents=True, exist_ok=True)
        size = rng.randint(*SIZES)
        (folder / f"IMG_{number:06d}.JPG").write_bytes(rng.randbytes(size))
        total += size
    return total


def measure_library(work: Path, redis_url: str, count: int) -> tuple[GoalRow, dict[str, float]]:
    root = work / "lib-index"
    total = make_library(root, count, seed=20261202)
    (work / "src-index").mkdir(exist_ok=True)
    raw = {"sources": {"src": {"path": str(work / "src-index"), "library": "lib"}},
           "libraries": {"lib": {"path": str(root)}}}
    library = build_settings(raw, None, work).libraries["lib"]
    store = RedisStateStore.from_url(redis_url, f"bench-index-{os.getpid()}")
    try:
        started = time.perf_counter()
        first = index_library(store, library)
        first_seconds = time.perf_counter() - started
        started = time.perf_counter()
        again = index_library(store, library)
        again_seconds = time.perf_counter() - started
    finally:
        for key in store.client.scan_iter(match=f"{store.prefix}:*", count=1000):
            store.client.delete(key)
        shutil.rmtree(root, ignore_errors=True)
    if first.hashed != count or again.hashed != 0:
        raise RuntimeError(f"index hashed {first.hashed} of {count}, then {again.hashed}")
    rate, again_rate = count / first_seconds, count / again_seconds
    figures = {"files": count, "bytes": total, "first_s": first_seconds,
               "again_s": again_seconds}
    row = GoalRow("index", f"{rate:,.0f} files/s ({total / first_seconds / 1e6:,.0f} MB/s) "
                  f"first index of {count:,} files of 2-60 KB; unchanged again "
                  f"{again_rate:,.0f} files/s", None, rate >= GOAL_FILES_PER_SECOND)
    return row, figures


def measure_index(bench: Bench) -> list[GoalRow]:
    """The row of `./dev bench` (a function of MEASUREMENTS in bench/run.py)."""
    count = bench.n(100_000)
    bench.say(f"index: a library of {count:,} files")
    row, figures = measure_library(bench.work, bench.redis_url, count)
    bench.results["index"] = figures
    return [row]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.index_bench", description=__doc__)
    parser.add_argument("--files", type=int, default=100_000)
    args = parser.parse_args(argv)
    with scratch_redis("bench-index-") as (work, url):
        row, _ = measure_library(work, url, args.files)
        print(f"index: {row.value}; goal >= {GOAL_FILES_PER_SECOND:,} files/s "
              f"{'met' if row.met else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
