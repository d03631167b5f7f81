"""Where a benchmark case's time goes: `python -m bench.profile CASE [--quick] [--top N]`.

CASE is `a` (300 photo-like files), `b` (5,000 small files) or `first-import` (the 100,000
tiny files of case c, into an empty store). The case's tree is generated as `./dev bench`
does, then one `mediacourier sync` of it runs under py-spy (`record --subprocesses`: the sync
process and its forked pool), sampling the threads py-spy does not see as idle. The
report is the functions with the most samples of their own (where the CPU is), then the
mediacourier functions with the most samples under them (which stage pays), each as a share
of all samples. `--raw FILE` keeps py-spy's folded stacks (flamegraph.pl reads them).

The other missed goals have profilers of their own: `python -m bench.reconcile_bench
--profile` (case c, cProfile of a no-change `plan_source`) and `python -m bench.watcher_rss`
(the watcher's memory, with the same command over an empty source beside it).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

from bench import data
from bench.procs import REPO, child_env, mediacourier_argv, scratch_redis, write_config

TREES = {  # case -> (tree builder, full-size count)
    "a": (data.photos, 300),
    "b": (data.small_files, 5_000),
    "first-import": (data.big_tree, 100_000),
}
FRAME = re.compile(r"^(?P<func>.+?) \((?P<file>.+?)(?::(?P<line>\d+))?\)$")
OURS = ("shared/", "workers/", "tasks/")


def py_spy() -> str:
    for candidate in (Path(sys.executable).parent / "py-spy", shutil.which("py-spy")):
        if candidate and Path(candidate).exists():
            return str(candidate)
    raise SystemExit("bench.profile: py-spy is not installed (pip install py-spy; "
                     "`./dev test` installs it with the test tools)")


def frame_name(frame: str) -> tuple[str, str, str]:
    """'hash_fd (shared/transfer/hashing.py:40)' -> ('hash_fd', 'shared/transfer/hashing.py',
    '40')."""
    found = FRAME.match(frame.strip())
    if not found:
        return frame.strip(), "", ""
    path = found["file"]
    for root in (str(REPO) + "/", "site-packages/"):
        if root in path:
            path = path.split(root, 1)[1]
    return found["func"], path, found["line"] or ""


def summarise(folded: str, top: int) -> list[str]:
    """The report of py-spy's folded stacks: own samples per function, then samples under each
    of our own functions (counted once per stack, so recursion does not double them)."""
    own: Counter[str] = Counter()
    under: Counter[str] = Counter()
    total = waiting = 0
    for line in folded.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        # With --subprocesses a stack starts with "process PID:…" labels, one per process
        # (the pool's children under the sync process); a stack of labels alone is a process
        # with no Python frame running: the sync process waiting in C for its pool.
        frames = [frame_name(f) for f in stack.split(";") if not f.startswith("process ")]
        if not frames:
            waiting += count
            continue
        func, path, line_no = frames[-1]
        own[f"{func} ({path}:{line_no})"] += count  # the line: which call in it is slow
        for name in {f"{f} ({p})" for f, p, _ in frames if p.startswith(OURS)}:
            under[name] += count
    if not total:
        return ["no samples (did the sync run?)"]
    lines = [f"{total:,} samples; {waiting / total:.1%} in a process with no Python frame "
             "(waiting in C)", "", "own samples, by line (where the CPU is):"]
    lines += [f"  {n / total:6.1%}  {name}" for name, n in own.most_common(top)]
    lines += ["", "samples under mediacourier's functions (which stage pays):"]
    lines += [f"  {n / total:6.1%}  {name}" for name, n in under.most_common(top)]
    return lines


def run(case: str, quick: bool, rate: int, top: int, raw: Path | None) -> int:
    build, full = TREES[case]
    count = max(1, full // (10 if quick else 1))
    with scratch_redis("profile-") as (work, redis_url):
        print(f"profile: generating case {case} ({count:,} files) in {work}", file=sys.stderr)
        tree = build(work / "src", count, 1)
        cfg = write_config(work / "profile.toml", redis_url=redis_url, key_prefix="profile",
                           data_dir=work / "data", source_name="src", source=tree.root,
                           library=work / "lib")
        out = raw or work / "stacks.txt"
        argv = [py_spy(), "record", "--subprocesses", "--format", "raw", "--rate", str(rate),
                "-o", str(out), "--", *mediacourier_argv(),
                "--config", str(cfg.path), "sync", cfg.source_name]
        print(f"profile: {' '.join(argv[:7])} … sync", file=sys.stderr)
        done = subprocess.run(argv, cwd=REPO, env=child_env(), capture_output=True, text=True)
        if done.returncode != 0 or not out.exists():
            print(done.stdout[-2000:], done.stderr[-2000:], sep="\n", file=sys.stderr)
            return 1
        summary = [line for line in done.stdout.splitlines()
                   if " in " in line and "py-spy" not in line][-1:]
        print(f"case {case}: {count:,} files, {tree.total_bytes / 1e6:,.0f} MB; "
              f"sync said: {' '.join(summary) or '-'}")
        print("\n".join(summarise(out.read_text(), top)))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("case", choices=sorted(TREES))
    parser.add_argument("--quick", action="store_true", help="a tenth of the files")
    parser.add_argument("--rate", type=int, default=250, help="samples per second")
    parser.add_argument("--top", type=int, default=20, help="rows per table")
    parser.add_argument("--raw", type=Path, help="keep py-spy's folded stacks in this file")
    args = parser.parse_args(argv)
    return run(args.case, args.quick, args.rate, args.top, args.raw)


if __name__ == "__main__":
    sys.exit(main())
