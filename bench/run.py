"""mediacourier benchmark: `python -m bench.run [--quick] [--keep] [--workdir DIR]`.

Cases (generated untimed in a fresh work dir on the repository's filesystem):
  a  300 photo-like files of 1-8 MiB     rsync -a  vs  `mediacourier sync` (copy mode)
  b  5,000 small files of 2-60 KiB       rsync -a  vs  `mediacourier sync` (copy mode)
  c  100,000 tiny files in 1,000 folders no-change reconcile: plan_source() files/s, vs find
  latency  `mediacourier up` idle; a 3 MB file dropped in; time until the journal says ingested
  ssh  120 photo-like files to a private sshd on loopback: `rsync -a -e ssh` vs mediacourier's
       SFTP and rsync-over-SSH destinations (4 parallel puts, each verified on the target)
`--quick` divides every count by 10. Figures go to stdout and bench/out/results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path

from bench import data, latency, ssh
from bench.procs import (
    REPO,
    BenchError,
    Timed,
    find_walk,
    flush_dirty_pages,
    mc_sync,
    require_rsync,
    rsync,
    summary_seconds,
    write_config,
)
from shared.config import load_settings
from shared.source import plan_source
from shared.state import EmbeddedRedis, RedisStateStore

OUT = Path(__file__).resolve().parent / "out"
TARGET_RATIO = {"a": 1.0, "b": 3.0}
TARGET_RECONCILE_RATE = 100_000
CASES = ("a", "b", "c", "latency", "ssh")


class Failed(Exception):
    """A correctness check failed: the figures around it mean nothing."""


class Bench:
    def __init__(self, work: Path, redis_url: str, args: argparse.Namespace) -> None:
        self.work, self.redis_url, self.args = work, redis_url, args
        self.logs = work / "logs"
        self.logs.mkdir(exist_ok=True)
        self.scale = 10 if args.quick else 1
        self.results: dict = {}

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
        best_rsync, best_mc = min(rsync_times), min(mc_times)
        with_sync = [x + y for x, y in zip(rsync_times, writeback, strict=True)]
        ratio = best_mc / best_rsync
        self.results[key] = {
            "files": tree.count, "mb": round(tree.total_bytes / 1e6, 1),
            "rsync_seconds": [round(x, 3) for x in rsync_times],
            "rsync_then_sync_seconds": [round(x, 3) for x in with_sync],
            "mediacourier_seconds": [round(x, 3) for x in mc_times],
            "mediacourier_in_process_seconds": in_proc,
            "best_rsync": round(best_rsync, 3), "best_mediacourier": round(best_mc, 3),
            "best_rsync_then_sync": round(min(with_sync), 3),
            "ratio": round(ratio, 2), "target": TARGET_RATIO[key],
            "met": ratio <= TARGET_RATIO[key],
        }

    def _check_exit(self, what: str, done: Timed) -> None:
        if done.returncode != 0:
            raise Failed(f"{what} exited with {done.returncode}:\n{done.output[-2000:]}")

    # -- c: a no-change reconcile of a big tree --------------------------------------------

    def reconcile_case(self, tree: data.Tree) -> None:

        cfg = self.config("c", tree.root, self.work / "lib-c")
        self.say(f"case c: seeding the store with a sync of {tree.count:,} files (untimed)")
        seeded = mc_sync(cfg, self.logs / "sync-c-seed.log")
        self._check_exit("mediacourier sync (seeding case c)", seeded)
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
        best = min(plan_times)
        rate = tree.count / best
        self.results["c"] = {
            "files": tree.count, "mb": round(tree.total_bytes / 1e6, 1),
            "seed_sync_seconds": round(seeded.seconds, 2),
            "plan_source_seconds": [round(x, 4) for x in plan_times],
            "best_plan_source": round(best, 4), "files_per_second": round(rate),
            "target_files_per_second": TARGET_RECONCILE_RATE,
            "met": rate >= TARGET_RECONCILE_RATE,
            "find_printf_seconds": round(min(find_times), 4),
            "cli_sync_no_change_seconds": round(min(d.seconds for d in cli), 3),
            "cli_reconcile_command": None,  # `mediacourier` has no `reconcile` sub-command
        }

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
        self.results["latency"]["stability_seconds"] = 0.5


def generate(work: Path, wanted: set[str], bench: Bench, seed: int) -> dict[str, data.Tree]:
    trees = {}
    started = time.perf_counter()
    if "a" in wanted:
        trees["a"] = data.photos(work / "src-a", bench.n(300), seed)
    if "b" in wanted:
        trees["b"] = data.small_files(work / "src-b", bench.n(5000), seed + 1)
    if "c" in wanted:
        trees["c"] = data.big_tree(work / "src-c", bench.n(100_000), seed + 2)
    if "ssh" in wanted:
        trees["ssh"] = data.photos(work / "src-ssh", bench.n(120), seed + 3)
    flush_dirty_pages()
    bench.say(f"generated {', '.join(f'{k}: {t.count:,} files' for k, t in trees.items())} "
              f"in {time.perf_counter() - started:.1f} s (not timed)")
    return trees


def _yes(met: bool) -> str:
    return "yes" if met else "NO"


def render(results: dict) -> str:
    lines = [f"{'case':<6}{'files':>7}{'MB':>8}{'rsync s':>9}{'+sync s':>9}{'mc s':>8}"
             f"{'mc ingest s':>13}{'ratio':>7}{'target':>8}{'met':>5}"]
    for key in ("a", "b"):
        row = results.get(key)
        if not row:
            continue
        ingest = [x for x in row["mediacourier_in_process_seconds"] if x is not None]
        ingest_text = f"{min(ingest):.2f}" if ingest else "-"
        lines.append(f"{key:<6}{row['files']:>7,}{row['mb']:>8.1f}{row['best_rsync']:>9.2f}"
                     f"{row['best_rsync_then_sync']:>9.2f}{row['best_mediacourier']:>8.2f}"
                     f"{ingest_text:>13}{row['ratio']:>7.2f}"
                     f"{'≤ ' + format(row['target'], '.1f'):>8}{_yes(row['met']):>5}")
    if "c" in results:
        c = results["c"]
        lines.append(f"c reconcile {c['files']:,} files, no change: plan_source best "
                     f"{c['best_plan_source']:.3f} s = {c['files_per_second']:,} files/s "
                     f"(target ≥ {c['target_files_per_second']:,}) met {_yes(c['met'])}; "
                     f"find -printf {c['find_printf_seconds']:.3f} s; "
                     f"CLI `sync` with nothing new {c['cli_sync_no_change_seconds']:.2f} s; "
                     f"seeding sync {c['seed_sync_seconds']:.1f} s")
    if "latency" in results:
        lat = results["latency"]
        median = f"{lat['median']:.3f}" if lat["median"] is not None else "-"
        worst = f"{lat['max']:.3f}" if lat["max"] is not None else "-"
        missed = f"; MISSED {len(lat['missed'])}" if lat["missed"] else ""
        lines.append(f"latency   {len(lat['latencies'])}/{lat['files']} files of 3 MB: median "
                     f"{median} s, max {worst} s (includes the {lat['stability_seconds']} s "
                     f"stability window){missed}")
    if "ssh" in results:

        lines.append(ssh.render(results["ssh"]))
    lines.append("times: wall clock, best of the runs; rsync and mediacourier ran alternately on "
                 "fresh destinations, both reading sources from the page cache (dirty pages "
                 "written back before each run); ratio = mc s / rsync s; `+sync s` = rsync then "
                 "`sync` (its write-back; mediacourier fsyncs each file); `mc s` = the whole CLI "
                 "run incl. start-up; `mc ingest s` = the time in its summary (after planning)")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="every count ÷ 10 (smoke run)")
    parser.add_argument("--keep", action="store_true", help="keep the work dir")
    parser.add_argument("--workdir", help="make the work dir inside this folder")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each tool for a and b")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--cases", default=",".join(CASES),
                        help=f"comma-separated subset of {','.join(CASES)}")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    wanted = {c.strip() for c in args.cases.split(",") if c.strip()}
    if not wanted <= set(CASES):
        print(f"bench: unknown case(s) {sorted(wanted - set(CASES))}", file=sys.stderr)
        return 2
    try:
        if wanted & {"a", "b", "ssh"}:
            require_rsync()
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    work = data.make_workdir(REPO, args.workdir)
    status, failure = 0, ""
    redis = EmbeddedRedis(work / "redis")
    bench = None
    try:
        url = redis.start()
        bench = Bench(work, url, args)
        bench.say(f"work dir {work} ({data.describe_fs(work)}); redis-server pid {redis.pid}; "
                  f"load average {os.getloadavg()[0]:.2f} (other processes skew the figures)")
        trees = generate(work, wanted, bench, args.seed)
        for key in ("a", "b"):
            if key in trees:
                bench.copy_case(key, trees[key])
        if "c" in trees:
            bench.reconcile_case(trees["c"])
        if "latency" in wanted:
            bench.latency_case()
        if "ssh" in trees:
            bench.say("ssh: uploads to a private sshd on loopback")
            try:
                bench.results["ssh"] = ssh.measure(work, trees["ssh"], args.rounds, bench.logs)
            except RuntimeError as exc:
                raise Failed(f"case ssh: {exc}") from exc
    except Failed as exc:
        status, failure = 1, str(exc)
    except BenchError as exc:
        status, failure = 2, str(exc)
    finally:
        redis.stop()  # our own server, by its PID
        if args.keep:
            print(f"bench: work dir kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    results = bench.results if bench else {}
    print(render(results))
    if failure:
        print(f"FAILED: {failure}")
    OUT.mkdir(parents=True, exist_ok=True)
    report = {"load_average_at_end": [round(x, 2) for x in os.getloadavg()],
              "quick": args.quick, "rounds": args.rounds, "seed": args.seed,
              "cpus": os.cpu_count(), "python": platform.python_version(),
              "filesystem": data.describe_fs(work.parent), "failed": failure or None,
              "page_cache": "sources read from the page cache by both tools", **results}
    (OUT / "results.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return status


if __name__ == "__main__":
    sys.exit(main())
