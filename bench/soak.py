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

import hashlib
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import redis

from bench.faults import READY_TIMEOUT, Fault, FaultLog, Injector, plan_faults
from bench.soak_files import Arrivals, plan_files, source_present
from bench.soak_options import LIBRARY, PREFIX, SOURCE, Options, parse_args, write_config
from bench.soak_report import Report, compare
from bench.soak_sampler import Sampler
from bench.stack import UpStack, become_subreaper
from shared.config import load_settings
from workers.app import celery_app


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
            said = self.stack.log_text().strip().splitlines()[-1:] or ["nothing"]
            self.stack.stop()
            raise SoakError(f"`mediacourier up` did not get ready ({said[0]}); see "
                            f"{self.stack.log_path}")
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
        outcomes = [e for e in journal if e["event"] in ("ingested", "duplicate")]
        per_file = Counter(e.get("path", "") for e in outcomes)
        report.unjournaled = sorted(set(self.arrivals.digests) - set(per_file))
        report.journaled_twice = sorted(rel for rel, n in per_file.items() if n > 1)
        verified = [float(e["at"]) for e in outcomes]
        last = self.log.last_fault_at
        if verified and last is not None and not report.unfinished:
            report.recovery = max(verified) - last


class SoakError(Exception):
    """The soak could not run (the stack did not start): no figures."""


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv, __doc__ or "")
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
    except KeyboardInterrupt:  # the stack was stopped on the way out (Soak.run)
        print(f"soak: interrupted; the stack is stopped, its files are in {work}",
              file=sys.stderr)
        return 130
    for line in report.lines():
        print(line, flush=True)
    if options.report:
        report.write_json(options.report)
    if report.passed and not options.keep and options.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
