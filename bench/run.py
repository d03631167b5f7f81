"""mediacourier benchmark: `python -m bench.run [--quick] [--keep] [--workdir DIR]`.

Cases (generated untimed in a fresh work dir on the repository's filesystem):
  a  300 photo-like files of 1-8 MiB     rsync -a  vs  `mediacourier sync` (copy mode)
  b  5,000 small files of 2-60 KiB       rsync -a  vs  `mediacourier sync` (copy mode)
  c  100,000 tiny files in 1,000 folders no-change reconcile: plan_source() files/s, vs find
  latency  `mediacourier up` idle; a 3 MB file dropped in; time until the journal says ingested
  ssh  120 photo-like files to a private sshd on loopback: `rsync -a -e ssh` vs mediacourier's
       SFTP and rsync-over-SSH destinations (4 parallel puts, each verified on the target)
`--quick` divides every count by 10. Figures go to stdout and bench/out/results.json.

Every goal of issue 12 is printed once, in one table (bench/goals.py): the figure, its ratio
against the baseline measured in the same rounds (median of the per-round ratios), the goal and
whether it is met. The rows come from the functions in `MEASUREMENTS`; a bench module adds its
measurement by appending a function `(Bench) -> list[GoalRow]` there. A goal no function
measured is printed as "not measured".
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench import data, ssh
from bench.cases import Bench, Failed
from bench.goals import GoalRow, ratio_row
from bench.goals import render as render_goals
from bench.index_bench import measure_index
from bench.mixed import measure_mixed
from bench.procs import (
    REPO,
    BenchError,
    flush_dirty_pages,
    require_rsync,
)
from bench.watcher_rss import measure_watcher_rss
from shared.state import EmbeddedRedis

OUT = Path(__file__).resolve().parent / "out"
CASES = ("a", "b", "c", "latency", "ssh", "watcher")


# -- the measurements: each returns its goal rows (bench/goals.py) --------------------------


def measure_copies(bench: Bench) -> list[GoalRow]:
    for key in ("a", "b"):
        if key in bench.trees:
            bench.copy_case(key, bench.trees[key])
    return []


def measure_tiny_tree(bench: Bench) -> list[GoalRow]:
    if "c" in bench.trees:
        bench.reconcile_case(bench.trees["c"])
    return []


def measure_latency(bench: Bench) -> list[GoalRow]:
    if "latency" in bench.wanted:
        bench.latency_case()
    return []


def measure_ssh(bench: Bench) -> list[GoalRow]:
    if "ssh" not in bench.trees:
        return []
    bench.say("ssh: uploads to a private sshd on loopback")
    try:
        row = bench.results["ssh"] = ssh.measure(bench.work, bench.trees["ssh"],
                                                 bench.args.rounds, bench.logs)
    except RuntimeError as exc:
        raise Failed(f"case ssh: {exc}") from exc
    base = row["seconds"]["rsync -a -e ssh"]
    return [ratio_row("ssh-sftp", row["seconds"]["sftp"], base, 1.2),
            ratio_row("ssh-rsync", row["seconds"]["rsync"], base, 1.2),
            ratio_row("ssh-rsync", row["seconds"]["rsync batch"], base, 1.2, "ingest batch")]


# Run in this order; each returns rows (and may add to `bench.rows`). Add yours here.
MEASUREMENTS: list[Callable[[Bench], list[GoalRow]]] = [
    measure_copies, measure_tiny_tree, measure_latency, measure_ssh, measure_watcher_rss,
    measure_index, measure_mixed,
]


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


def render(results: dict, rows: list[GoalRow]) -> str:
    lines = [render_goals(rows), ""]
    for key in ("a", "b"):
        row = results.get(key)
        if row:
            lines.append(f"{key}: {row['files']:,} files, {row['mb']:.1f} MB; seconds per round: "
                         f"rsync -a {row['rsync_seconds']}, rsync -a && sync "
                         f"{row['rsync_then_sync_seconds']}, mediacourier sync "
                         f"{row['mediacourier_seconds']}")
    if "c" in results:
        c = results["c"]
        lines.append(f"c: {c['files']:,} files; first import rsync -a "
                     f"{c['first_import_rsync_seconds']}, mediacourier "
                     f"{c['first_import_seconds']}; Redis bytes/file {c['redis_bytes_per_file']}; "
                     f"CLI `sync` with nothing new {c['cli_sync_no_change_seconds']:.2f} s")
    stages = results.get("latency", {}).get("stage_medians")
    if stages:  # the latency goal's profile: stability wait, then these stages
        lines.append("latency: median seconds per stage of a dropped file, from the journal: "
                     + ", ".join(f"{stage} {seconds:.3f}" for stage, seconds in stages.items())
                     + f" (sum {sum(stages.values()):.3f} s)")
    if "ssh" in results:
        lines.append(ssh.render(results["ssh"]))
    lines.append("times: wall clock; each round runs the tool and its baseline back to back on "
                 "fresh destinations, sources in the page cache, dirty pages written back "
                 "before each run; ratio = median over the rounds of mediacourier s / baseline "
                 "s; `rsync -a && sync` adds the write-back (mediacourier makes every copy "
                 "durable before it counts)")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="every count ÷ 10 (smoke run)")
    parser.add_argument("--keep", action="store_true", help="keep the work dir")
    parser.add_argument("--workdir", help="make the work dir inside this folder")
    parser.add_argument("--rounds", type=int, default=3,
                        help="runs of each tool (figures: medians)")
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
        bench.wanted = wanted
        bench.trees = generate(work, wanted, bench, args.seed)
        for measure in MEASUREMENTS:
            bench.rows += measure(bench)
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
    print(render(results, bench.rows if bench else []))
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
