"""The soak: `python -m bench.soak [--files N] [--faults N] [--seconds S] [--seed N]`
(`./dev soak`).

`mediacourier up` (a real subprocess, its own config and data dir in a temp folder, free ports,
`--concurrency 2`) moves N files (mixed sizes, duplicates, sidecars, nested folders) arriving
over S seconds, while N faults (see bench/faults.py) hit its processes. A sampler checks every
second that no source left before its content was in the library. At the end, once nothing is
in flight (bounded), and after a final reconcile: every content exactly once in the library,
byte-identical, every source gone, nothing in flight in Redis, no temp files; then the time from
the last fault to the last file verified. Exit 0 only when every check passes
(bench/soak_report.py), 1 when one fails, 2 when the soak itself could not run.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import redis

from bench.faults import READY_TIMEOUT, Fault, FaultLog, Injector, plan_faults
from bench.soak_files import Arrivals, plan_files, source_present
from bench.soak_report import Report, compare
from bench.soak_sampler import Sampler
from bench.stack import UpStack, become_subreaper
from shared.config import load_settings
from workers.app import celery_app
from workers.ports import free_port

SOURCE, LIBRARY, PREFIX = "inbox", "library", "mediacourier"


@dataclass
class Options:
    files: int = 1000
    faults: int = 100
    seconds: float = 60.0
    seed: int = 11
    drain: float = 120.0  # the longest wait for the last files after the last fault
    stall_cap: float = 8.0  # a fault waits no longer than this for the work to progress
    workdir: Path | None = None
    keep: bool = False
    flower: bool = False
    settings: list[str] = field(default_factory=list)  # extra top-level TOML lines
    report: Path | None = None


def write_config(work: Path, options: Options) -> Path:
    config = work / "mediacourier.toml"
    # Free ports picked now: another stack (or engineer) may hold 5555 and 9808.
    lines = [f'data_dir = "{work / "data"}"',
             f'metrics_listen = "127.0.0.1:{free_port("127.0.0.1")}"',
             f"flower_port = {free_port('127.0.0.1')}", *options.settings,
             f"[sources.{SOURCE}]", f'path = "{work / SOURCE}"', f'library = "{LIBRARY}"',
             'mode = "move"', 'stability = "1s"',
             f"[libraries.{LIBRARY}]", f'path = "{work / LIBRARY}"', 'duplicates = "delete"']
    (work / SOURCE).mkdir(parents=True, exist_ok=True)
    (work / LIBRARY).mkdir(parents=True, exist_ok=True)
    config.write_text("\n".join(lines) + "\n")
    return config


class Soak:
    def __init__(self, options: Options, work: Path) -> None:
        self.options, self.work = options, work
        self.config = write_config(work, options)
        self.planned = plan_files(options.files, options.seconds, options.seed)
        self.faults = plan_faults(options.faults, options.seed)
        self.arrivals = Arrivals(self.planned, work / SOURCE, work / "staging", options.seed)
        self.sampler = Sampler(work, self.arrivals, len(self.planned), SOURCE, LIBRARY, PREFIX)
        self.stack = UpStack(self.config, work / "logs", flower=options.flower)
        self.log = FaultLog()
        self.injector = Injector(self.stack, self.log, self.say)
        self.stop = threading.Event()
        self.started, self.wall_started = time.monotonic(), time.time()

    def say(self, text: str) -> None:
        print(f"[{time.monotonic() - self.started:6.1f}s] {text}", flush=True)

    def plan_digest(self) -> str:
        text = repr([(f.rel, f.content, f.size, f.arrive_at) for f in self.planned]) + repr(
            self.faults)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def run(self) -> Report:
        self.say(f"plan {self.plan_digest()}: {len(self.planned)} files over "
                 f"{self.options.seconds:.0f} s, {len(self.faults)} faults; work dir {self.work}")
        self.stack.start()
        if not self.stack.wait_ready(READY_TIMEOUT):
            raise SoakError(f"`mediacourier up` not ready after {READY_TIMEOUT:.0f} s; see "
                            f"{self.stack.log_path}:\n{self.stack.log_text()[-2000:]}")
        threads = [threading.Thread(target=self.arrivals.run, args=(self.stop,), daemon=True),
                   threading.Thread(target=self.sampler.run, args=(self.stop,), daemon=True)]
        for thread in threads:
            thread.start()
        try:
            self.inject()
            self.drain()
            reconciled = self.final_reconcile()
            report = self.collect(reconciled)
        finally:
            self.stop.set()
            for thread in threads:
                thread.join(timeout=30)
            left = self.stack.stop()
        report.left_at_end = [f"pid {p.pid} {' '.join(p.argv)[:100]}" for p in left]
        report.left_at_end += [f"pid {p.pid} still there after SIGKILL"
                               for p in self.stack.leftovers()]
        report.seconds = time.monotonic() - self.started
        return report

    def inject(self) -> None:
        for fault in self.faults:
            for _attempt in range(3):  # a stack that exits by itself first: try again after
                if self._fault_turn(fault):
                    break
            self.status(f"after fault {fault.index + 1}")
        self.injector.ensure_up()

    def _fault_turn(self, fault: Fault) -> bool:
        """Wait for the fault's moment and fire it; False when it could not be fired.

        On time (the work has not reached the fault's share of the files yet): once the stack
        is ready, at least `gap` of work, then until the work gets there, for at most
        stall_cap (stuck work still gets hit). Late (the work got there first, as it does while
        restarts are slower than the work): hit the stack as it is, starting or not."""
        if self.sampler.progress >= fault.threshold:
            self.injector.ensure_running()
            self.stop.wait(fault.gap / 3)
        else:
            if not self.injector.ensure_up():
                self.log.notes.append(f"up #{self.stack.starts} never got ready")
            self.stop.wait(fault.gap)
            deadline = time.monotonic() + self.options.stall_cap
            while (self.sampler.progress < fault.threshold and time.monotonic() < deadline
                   and self.stack.running()):
                self.stop.wait(0.2)
        if not self.stack.running():
            self._unplanned_exit()
            return False
        return self.injector.fire(fault)

    def _unplanned_exit(self) -> None:
        self.log.notes.append(f"up #{self.stack.starts} exited by itself "
                              f"({self.stack.exit_reason()})")
        self.injector.ensure_up()

    def status(self, why: str) -> None:
        arrived = len(self.arrivals.snapshot())
        self.say(f"  {why}; arrived {arrived}/{len(self.planned)}, gone "
                 f"{len(self.sampler.gone)}, in flight {self.sampler.inflight}")

    def drain(self) -> None:
        """Until every file is done and nothing is in flight, or `drain` after the last fault."""
        self.arrivals.done.wait()
        last = self.log.last_fault_at or time.time()
        deadline = max(last, time.time()) + self.options.drain
        next_status = time.time() + 10
        while self.sampler.quiet_at is None and time.time() < deadline:
            if not self.stack.running():
                self._unplanned_exit()
            self.stop.wait(0.5)
            if time.time() >= next_status:
                self.status("draining")
                next_status += 10
        self.status("drained" if self.sampler.quiet_at else "drain time is up")

    def final_reconcile(self) -> bool:
        """Send a reconcile of the source and wait (30 s) until the journal says it ran."""
        store = self.sampler.store()
        if store is None or not self.stack.running():
            return False
        try:
            sent = time.time()
            settings = load_settings(str(self.config), env={})
            celery_app(settings).send_task("mediacourier.reconcile", args=[SOURCE])
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if any(e.get("event") == "reconciled" and float(e.get("at", 0)) >= sent
                       for e in store.read_journal(50)):
                    return True
                time.sleep(0.5)
        except (redis.RedisError, OSError) as exc:
            self.log.notes.append(f"final reconcile: {exc}")
        return False

    def collect(self, reconciled: bool) -> Report:
        expected = self.arrivals.digests
        contents, temps, quarantined = self.sampler.library.scan()
        present = source_present(self.work / SOURCE)
        lost, doubled, unexpected, unfinished = compare(expected, contents, present)
        report = Report(files=len(self.planned), contents=len(set(expected.values())),
                        seed=self.options.seed, lost=lost, doubled=doubled,
                        unexpected=unexpected, unfinished=unfinished,
                        early_releases=list(self.sampler.early), temps=temps,
                        quarantined=quarantined, reconciled=reconciled, work=str(self.work))
        self._from_redis(report)
        last = self.log.last_fault_at
        report.faults = dict(self.log.counts())
        report.skipped_faults = len(self.log.skipped)
        report.restarts, report.restart_seconds = self.log.restarts, self.log.restart_seconds
        report.leftovers, report.notes = self.log.leftovers, self.log.notes
        stall, since = self.sampler.longest_stall
        report.longest_stall = stall
        report.stall_began = since - self.wall_started if since else 0.0
        report.slowest = [f"{rel} {wait:.0f} s" for wait, rel in self.sampler.slowest()]
        # Negative: every file was verified before the last fault (that fault hit an idle stack).
        if last is not None and self.sampler.complete_at is not None:
            report.observed_recovery = self.sampler.complete_at - last
            idle = [f for at, f in self.log.fired if at > self.sampler.complete_at]
            if idle:
                report.notes.append(f"{len(idle)} of {len(self.log.fired)} faults came after "
                                    "every file was verified (they test restarts, not recovery)")
        if last is not None and self.sampler.quiet_at is not None:
            report.inflight_recovery = self.sampler.quiet_at - last
        return report

    def _from_redis(self, report: Report) -> None:
        store = self.sampler.store()
        if store is None:
            return
        try:
            report.inflight = len(store.inflight())
            journal = [e for e in store.read_journal(100_000) if e.get("source") == SOURCE]
            report.events = dict(Counter(e["event"] for e in journal))
            report.failures = [f"{f.get('path')}: {f.get('reason')}" for f in store.failures()]
        except redis.RedisError as exc:
            report.notes.append(f"Redis at the end: {exc}")
            return
        verified = [float(e["at"]) for e in journal if e["event"] in ("ingested", "duplicate")]
        last = self.log.last_fault_at
        if verified and last is not None and not report.unfinished:
            report.recovery = max(verified) - last


class SoakError(Exception):
    """The soak could not run (the stack did not start): no figures."""


def parse_args(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--faults", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=60.0, help="arrival window")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--drain", type=float, default=120.0,
                        help="longest wait for the last files after the last fault")
    parser.add_argument("--stall-cap", type=float, default=8.0,
                        help="longest a fault waits for the work to progress")
    parser.add_argument("--workdir", type=Path, help="default: a new folder under /tmp")
    parser.add_argument("--keep", action="store_true", help="keep the work dir after a pass")
    parser.add_argument("--flower", action="store_true", help="run Flower too")
    parser.add_argument("--set", dest="settings", action="append", default=[],
                        metavar="KEY=VALUE", help="a top-level setting (TOML), e.g. "
                        "visibility_timeout=60; repeatable")
    parser.add_argument("--report", type=Path, help="write the report as JSON here too")
    args = parser.parse_args(argv)
    if args.files < 10 or args.faults < 0 or args.seconds <= 0:
        parser.error("--files must be at least 10, --faults not negative, --seconds positive")
    return Options(**vars(args))


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    if not become_subreaper():
        print("soak: cannot become a child subreaper; orphans of killed processes would be "
              "invisible", file=sys.stderr)
        return 2
    work = options.workdir or Path(tempfile.mkdtemp(prefix="mc-soak-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        report = Soak(options, work).run()
    except SoakError as exc:
        print(f"soak: {exc}", file=sys.stderr)
        return 2
    for line in report.lines():
        print(line, flush=True)
    if options.report:
        report.write_json(options.report)
    if report.passed and not options.keep and options.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
