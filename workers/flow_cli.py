"""`mediacourier flow NAME --status | --list-steps | --run [--start K --end M] [--dry-run]`.

`--run` sends the first step to the workers (`mediacourier.flow_step`; each batch sends the
next) and shows one progress bar per step until the run is done or held. `--dry-run` says what
each step would do and changes nothing, neither files nor records.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from shared.config import FlowConfig, Settings, broker_url
from shared.flow import (
    FlowLedger,
    begin,
    check_range,
    dry_run,
    failed_files,
    flow_config,
    step_counts,
    step_lines,
)
from shared.state import RedisStateStore, escape_text
from workers.app import celery_app
from workers.exit_codes import FILES_FAILED, OK, REFUSED

POLL = 0.5  # seconds between two looks at the flow's records
NO_WORKER_HINT = 15.0  # seconds without a step starting before the hint that no worker is up
SHOWN_FAILURES = 10


def _store(settings: Settings) -> RedisStateStore:
    store = RedisStateStore.from_url(broker_url(settings), settings.key_prefix)
    store.ping()
    return store


def print_status(console: Console, ledger: FlowLedger, flow: FlowConfig) -> int:
    run, held = ledger.run(), ledger.held()
    state = run.state or "never run"
    if run.state:
        state += f" (steps {run.start}-{run.end}, at step {run.step}, " \
                 f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(run.at))})"
    console.print(f"flow {flow.name}: {state}", highlight=False, markup=False)
    if held is not None:
        console.print(f"HELD since {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(held.since))}"
                      f": {escape_text(held.reason)}", style="red", highlight=False, markup=False)
    for count in step_counts(ledger, flow):
        console.print(f"  {count.step.label:<12} {count.reached:>5} reached  {count.waiting:>5} "
                      f"waiting  {count.failed:>5} failed", highlight=False, markup=False)
    failed = failed_files(ledger)
    for item in failed[:SHOWN_FAILURES]:
        console.print(f"  failed at step {item.done + 1}: {escape_text(item.rel)}: "
                      f"{escape_text(item.failed)}", highlight=False, markup=False)
    if len(failed) > SHOWN_FAILURES:
        console.print(f"  … {len(failed) - SHOWN_FAILURES} more failed", highlight=False,
                      markup=False)
    return OK


def follow(console: Console, ledger: FlowLedger, flow: FlowConfig, start: int, end: int,
           sent_at: float, begun_at: float) -> str:
    """One bar per step until the run is done or held; returns that state. `begun_at`: the
    run's mark as `begin` left it, which the first worker to take a batch moves on."""
    columns = (TextColumn("[bold]{task.description:<14}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[failed]} failed"), TimeElapsedColumn())
    hinted = False
    with Progress(*columns, console=console, transient=False) as progress:
        bars = {s.number: progress.add_task(s.label, total=None, failed=0)
                for s in flow.steps[start - 1: end]}
        while True:
            run = ledger.run()
            files = [f for f in ledger.files().values() if f.done >= start - 1]
            for number, bar in bars.items():
                progress.update(bar, total=len(files), completed=sum(f.done >= number
                                                                      for f in files),
                                failed=sum(f.done == number - 1 and bool(f.failed)
                                           for f in files))
            if run.state in ("done", "held") and run.at >= sent_at:
                return run.state
            if not hinted and run.at == begun_at and time.time() - sent_at > NO_WORKER_HINT:
                progress.console.print(f"no worker has taken step {start} yet: is a worker "
                                       "running (mediacourier up, or mediacourier worker)?",
                                       highlight=False, markup=False)
                hinted = True
            time.sleep(POLL)


def run_flow(console: Console, settings: Settings, store: RedisStateStore, flow: FlowConfig,
             start: int, end: int) -> int:
    ledger = FlowLedger(store, flow.name)
    run = ledger.run()
    if run.state == "running" and time.time() - run.at < settings.task_time_limit:
        console.print(f"flow {flow.name} is already running (at step {run.step}); "
                      f"see mediacourier flow {flow.name} --status", highlight=False, markup=False)
        return REFUSED
    if ledger.held() is not None:
        console.print(f"flow {flow.name} was held; running it again", highlight=False, markup=False)
    sent_at = time.time()
    begun_at = begin(settings, store, flow, start, end).run().at
    # Only a run from the first step takes new files: a later step works on those it has.
    celery_app(settings).send_task("mediacourier.flow_step",
                                   args=[flow.name, start, end, start == 1])
    state = follow(console, ledger, flow, start, end, sent_at, begun_at)
    held = ledger.held()
    if state == "held" and held is not None:
        console.print(f"flow {flow.name} HELD: {escape_text(held.reason)}", style="red",
                      highlight=False, markup=False)
        return REFUSED
    failed = [f for f in failed_files(ledger) if start <= f.done + 1 <= end]
    console.print(f"flow {flow.name}: steps {start}-{end} done, {len(failed)} file(s) failed"
                  + (f" (mediacourier flow {flow.name} --status lists them)" if failed else ""),
                  highlight=False, markup=False)
    return FILES_FAILED if failed else OK


def cmd_flow(settings: Settings, args: argparse.Namespace) -> int:
    console = Console(highlight=False, soft_wrap=True)  # piped: each line stays one line
    flow = flow_config(settings, args.name)
    if args.list_steps:
        for line in step_lines(settings, flow):
            console.print(escape_text(line), highlight=False, markup=False)
        return OK
    start, end = check_range(flow, args.start, args.end)  # a wrong range: before any Redis
    store = _store(settings)
    if args.status:
        return print_status(console, FlowLedger(store, flow.name), flow)
    if args.dry_run and args.run:
        for line in dry_run(settings, FlowLedger(store, flow.name), flow, start, end):
            console.print(escape_text(line), highlight=False, markup=False)
        return OK
    return run_flow(console, settings, store, flow, start, end)


def add_flow_parser(command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    parser = command("flow", "run a [flows.NAME]: its steps in order with a progress bar each; "
                     "or show its steps and where its files are")
    parser.add_argument("name", help="a [flows.NAME] table")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--status", action="store_true",
                      help="each step's files: reached, waiting, failed; the hold, if any")
    what.add_argument("--list-steps", action="store_true", help="the steps, numbered")
    what.add_argument("--run", action="store_true", help="run the steps on the workers")
    parser.add_argument("--dry-run", action="store_true",
                        help="with --run: say what each step would do, changing nothing")
    parser.add_argument("--start", type=int, default=1, metavar="K",
                        help="the first step to run (default: 1)")
    parser.add_argument("--end", type=int, default=0, metavar="M",
                        help="the last step to run (default: the last)")


FLOW_COMMANDS = {"flow": cmd_flow}
