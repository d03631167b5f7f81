"""The cases that time mediacourier against its baselines, on one `Bench` (its work dir, its
private Redis, its arguments); each adds its figures to `results` and its goal rows to `rows`."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

from bench import data, latency
from bench.goals import GoalRow, median, not_measured, ratio_row
from bench.procs import (
    Timed,
    find_walk,
    flush_dirty_pages,
    mc_sync,
    rsync,
    summary_seconds,
    write_config,
)
from shared.config import load_settings
from shared.source import plan_source
from shared.state import RedisStateStore

TARGET_RATIO = {"a": 1.0, "b": 1.5}  # against `rsync -a && sync`
TARGET_BARE_RATIO = {"a": 1.2, "b": 2.0}  # against bare `rsync -a`
TARGET_RECONCILE_RATE = 250_000
TARGET_FIRST_IMPORT = 2.0
TARGET_LATENCY_OVER_STABILITY = 0.2
TARGET_REDIS_BYTES = 400

class Failed(Exception):
    """A correctness check failed: the figures around it mean nothing."""


class Bench:
    def __init__(self, work: Path, redis_url: str, args: argparse.Namespace) -> None:
        self.work, self.redis_url, self.args = work, redis_url, args
        self.logs = work / "logs"
        self.logs.mkdir(exist_ok=True)
        self.scale = 10 if args.quick else 1
        self.results: dict = {}
        self.rows: list[GoalRow] = []
        self.trees: dict[str, data.Tree] = {}
        self.wanted: set[str] = set()

    def n(self, full: int) -> int:
        return max(1, full // self.scale)

    def config(self, tag: str, source: Path, library: Path, **extra: str):
        return write_config(self.work / f"{tag}.toml", redis_url=self.redis_url,
                            key_prefix=f"bench-{os.getpid()}-{tag}",
                            data_dir=self.work / f"data-{tag}", source_name="src",
                            source=source, library=library, **extra)

    def say(self, text: str) -> None:
        print(f"bench: {text}", file=sys.stderr, flush=True)

    # -- a and b: copy a tree, rsync against mediacourier ---------------------------------

    def copy_case(self, key: str, tree: data.Tree) -> None:
        rsync_times, writeback, mc_times, in_proc = [], [], [], []
        for round_no in range(1, self.args.rounds + 1):
            dst = self.work / f"rsync-{key}-{round_no}"
            flush_dirty_pages()
            done = rsync(tree.root, dst, self.logs / f"rsync-{key}-{round_no}.log")
            self._check_exit("rsync", done)
            rsync_times.append(done.seconds)
            # rsync leaves its data in dirty pages; mediacourier fsyncs every file before it
            # counts it as placed. The write-back time is reported beside rsync's, not in it.
            writeback.append(flush_dirty_pages())
            shutil.rmtree(dst)

            cfg = self.config(f"{key}-{round_no}", tree.root, self.work / f"lib-{key}-{round_no}")
            flush_dirty_pages()
            done = mc_sync(cfg, self.logs / f"sync-{key}-{round_no}.log")
            self._check_exit("mediacourier sync", done)
            problems = data.check_copy(tree, cfg.library, sample=20, seed=round_no)
            if problems:
                raise Failed(f"case {key}: {len(problems)} problems in {cfg.library}: "
                             + "; ".join(problems[:5]))
            mc_times.append(done.seconds)
            in_proc.append(summary_seconds(done.output))
            shutil.rmtree(cfg.library)
            self.say(f"case {key} round {round_no}: rsync {rsync_times[-1]:.2f} s, "
                     f"mediacourier {mc_times[-1]:.2f} s")
        with_sync = [x + y for x, y in zip(rsync_times, writeback, strict=True)]
        vs_sync = ratio_row(f"{key}-sync", mc_times, with_sync, TARGET_RATIO[key])
        vs_bare = ratio_row(f"{key}-rsync", mc_times, rsync_times, TARGET_BARE_RATIO[key])
        self.results[key] = {
            "files": tree.count, "mb": round(tree.total_bytes / 1e6, 1),
            "rsync_seconds": [round(x, 3) for x in rsync_times],
            "rsync_then_sync_seconds": [round(x, 3) for x in with_sync],
            "mediacourier_seconds": [round(x, 3) for x in mc_times],
            "mediacourier_in_process_seconds": in_proc,
            "median_rsync": round(median(rsync_times), 3),
            "median_mediacourier": round(median(mc_times), 3),
            "median_rsync_then_sync": round(median(with_sync), 3),
            "ratio": vs_sync.ratio, "target": TARGET_RATIO[key], "met": vs_sync.met,
            "ratio_bare": vs_bare.ratio, "target_bare": TARGET_BARE_RATIO[key],
            "met_bare": vs_bare.met,
        }
        self.rows += [vs_sync, vs_bare]

    def _check_exit(self, what: str, done: Timed) -> None:
        if done.returncode != 0:
            raise Failed(f"{what} exited with {done.returncode}:\n{done.output[-2000:]}")

    # -- c: a no-change reconcile of a big tree --------------------------------------------

    def reconcile_case(self, tree: data.Tree) -> None:
        """First import of the tiny-file tree (each round: rsync -a, then a first `sync` into a
        fresh store and library; the Redis memory it added, per file), then a no-change
        reconcile of the last round's store."""
        rsync_times, import_times, per_file = [], [], []
        for round_no in range(1, self.args.rounds + 1):
            dst = self.work / f"rsync-c-{round_no}"
            flush_dirty_pages()
            done = rsync(tree.root, dst, self.logs / f"rsync-c-{round_no}.log")
            self._check_exit("rsync", done)
            rsync_times.append(done.seconds)
            shutil.rmtree(dst)
            cfg = self.config(f"c-{round_no}", tree.root, self.work / f"lib-c-{round_no}")
            flush_dirty_pages()
            before = self._redis_bytes()
            seeded = mc_sync(cfg, self.logs / f"sync-c-seed-{round_no}.log")
            self._check_exit("mediacourier sync (first import, case c)", seeded)
            import_times.append(seeded.seconds)
            per_file.append((self._redis_bytes() - before) / tree.count)
            self.say(f"case c round {round_no}: first import rsync {rsync_times[-1]:.2f} s, "
                     f"mediacourier {seeded.seconds:.2f} s, {per_file[-1]:.0f} Redis bytes/file")
            if round_no < self.args.rounds:
                shutil.rmtree(cfg.library)
        self.rows.append(ratio_row("first-import", import_times, rsync_times,
                                   TARGET_FIRST_IMPORT, f"{tree.count:,} files"))
        bytes_each = median(per_file)
        self.rows.append(GoalRow("redis-bytes", f"{bytes_each:.0f} bytes/file "
                                 f"(used_memory after a first import of {tree.count:,} files)",
                                 None, bytes_each <= TARGET_REDIS_BYTES))
        settings = load_settings(str(cfg.path), env={})
        store = RedisStateStore.from_url(self.redis_url, cfg.key_prefix)
        source = settings.sources[cfg.source_name]
        plan_times = []
        for _ in range(3):
            started = time.perf_counter()
            plan = plan_source(store, source, stale_after=2 * settings.visibility_timeout)
            plan_times.append(time.perf_counter() - started)
            if plan.to_ingest or plan.vanished or plan.unchanged != tree.count:
                raise Failed(f"case c: a no-change pass planned {len(plan.to_ingest)} to ingest, "
                             f"{len(plan.vanished)} vanished, {plan.unchanged} unchanged "
                             f"of {tree.count}")
        find_times = [find_walk(tree.root) for _ in range(3)]
        cli = [mc_sync(cfg, self.logs / f"sync-c-nochange-{i}.log") for i in (1, 2)]
        for done in cli:
            self._check_exit("mediacourier sync (no change)", done)
        rate = tree.count / median(plan_times)
        self.results["c"] = {
            "files": tree.count, "mb": round(tree.total_bytes / 1e6, 1),
            "first_import_rsync_seconds": [round(x, 3) for x in rsync_times],
            "first_import_seconds": [round(x, 3) for x in import_times],
            "redis_bytes_per_file": [round(x) for x in per_file],
            "plan_source_seconds": [round(x, 4) for x in plan_times],
            "median_plan_source": round(median(plan_times), 4), "files_per_second": round(rate),
            "target_files_per_second": TARGET_RECONCILE_RATE,
            "met": rate >= TARGET_RECONCILE_RATE,
            "find_printf_seconds": round(median(find_times), 4),
            "cli_sync_no_change_seconds": round(min(d.seconds for d in cli), 3),
        }
        self.rows.append(GoalRow("c", f"{rate:,.0f} files/s (plan_source, median of 3; "
                                 f"find -printf {tree.count / median(find_times):,.0f}/s)",
                                 None, rate >= TARGET_RECONCILE_RATE))

    def _redis_bytes(self) -> int:
        store = RedisStateStore.from_url(self.redis_url, "bench")
        return int(store.client.info("memory")["used_memory"])

    # -- idle latency ----------------------------------------------------------------------

    def latency_case(self) -> None:
        cfg = self.config("latency", self.work / "lat-src", self.work / "lat-lib",
                          stability="0.5s")
        # `up` makes data_dir/run only for its embedded Redis; with redis_url set, beat cannot
        # create its schedule file there and exits, which stops `up` (product bug, reported).
        (self.work / "data-latency" / "run").mkdir(parents=True, exist_ok=True)
        self.say("latency: starting `mediacourier up --no-flower`")
        self.results["latency"] = latency.measure(
            cfg, self.redis_url, self.logs / "up.log", files=10, size=3 * data.MIB,
            seed=self.args.seed + 7)
        lat = self.results["latency"]
        lat["stability_seconds"] = 0.5
        if lat["median"] is None:
            self.rows.append(not_measured("latency", f"no file ingested: {lat['missed']}"))
            return
        limit = 0.5 + TARGET_LATENCY_OVER_STABILITY
        self.rows.append(GoalRow(
            "latency", f"p50 {lat['median']:.3f} s, max {lat['max']:.3f} s "
            f"({len(lat['latencies'])} files of 3 MB, stability 0.5 s)"
            + (f", {len(lat['missed'])} MISSED" if lat["missed"] else ""),
            None, lat["median"] <= limit and not lat["missed"]))
