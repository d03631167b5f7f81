"""`mediacourier queue`: what waits in the broker, by lane (manual, live, reconcile, bulk), and
`--clear SOURCE` to drop a source's waiting work until its next reconcile (shared/state/queues.py:
only work from before a file's copy, and never what a worker took)."""

from __future__ import annotations

import argparse
import datetime as dt
import difflib
import json
import time
from collections.abc import Callable

from rich.console import Console

from shared.config import Settings, all_queues, broker_url
from shared.errors import ConfigError
from shared.state import ClearReport, QueueReport, RedisStateStore, clear_source, read_queues
from workers.exit_codes import OK

JOURNAL_LOOKBACK = 20_000  # journal entries read to find a source's last reconcile


def add_queue_parser(command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    queue = command("queue", "what waits in the queues, by priority, source and task")
    queue.add_argument("--json", action="store_true", help="print JSON for programs")
    queue.add_argument("--clear", metavar="SOURCE",
                       help="drop SOURCE's waiting files (those not copied yet); they stay in "
                       "the source and the next reconcile queues them again")


def cmd_queue(settings: Settings, args: argparse.Namespace) -> int:
    store = RedisStateStore.from_url(broker_url(settings), settings.key_prefix)
    store.ping()
    queues = all_queues(settings)
    out = Console(soft_wrap=True)
    now = time.time()
    if args.clear is not None:
        if args.clear not in settings.sources:
            raise ConfigError(unknown_source(settings, args.clear))
        report = clear_source(store, queues, args.clear)
        when = next_reconcile(settings, store, args.clear, now)
        if args.json:
            print(json.dumps({"source": args.clear, "dropped_files": report.dropped_files,
                              "dropped_messages": report.dropped_messages,
                              "dropped_reconciles": report.dropped_reconciles,
                              "kept": dict(report.kept), "next_reconcile": when}, indent=2))
        else:
            for line in clear_lines(args.clear, report, when):
                out.print(line, highlight=False, markup=False)
        return OK
    summary = read_queues(store, queues, now)
    if args.json:
        print(json.dumps(summary.to_json(), indent=2))
    else:
        print_report(out, summary)
    return OK


def unknown_source(settings: Settings, name: str) -> str:
    close = difflib.get_close_matches(name, list(settings.sources), n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"no source named {name!r}{hint} (configured: {', '.join(settings.sources)})"


def clear_lines(source: str, report: ClearReport, when: str) -> list[str]:
    if report.dropped_files:
        lines = [f"dropped {report.dropped_files:,} waiting files of source {source} "
                 f"({report.dropped_messages:,} messages); {when} picks them up again"]
    else:
        lines = [f"nothing of source {source} was waiting to be dropped"]
    if report.dropped_reconciles:
        lines.append(f"dropped {report.dropped_reconciles} waiting reconcile(s) of {source}: "
                     "run now, they would queue the files again at once")
    lines += [f"kept {count:,} waiting file(s): {why}" for why, count in sorted(
        report.kept.items())]
    return lines


def next_reconcile(settings: Settings, store: RedisStateStore, source: str, now: float) -> str:
    """`the next reconcile (in 42 min)`, from the source's [schedules]: a cron expression's next
    run, or `every` after the last reconcile the journal shows."""
    from croniter import croniter  # here: not every command's start-up

    waits = []
    for schedule in settings.schedules.values():
        if schedule.source != source:
            continue
        if schedule.cron:
            waits.append(croniter(schedule.cron, dt.datetime.fromtimestamp(now)).get_next(
                float) - now)
        elif schedule.every_seconds:
            last = last_reconcile(store, source)
            due = (last if last is not None else now) + schedule.every_seconds
            waits.append(max(0.0, due - now))
    if not waits:
        return (f"no reconcile is scheduled for it: `mediacourier sync {source}` (or the "
                "watcher's scan when it starts)")
    return f"the next reconcile (in {human_wait(min(waits))})"


def last_reconcile(store: RedisStateStore, source: str) -> float | None:
    for entry in reversed(store.read_journal(JOURNAL_LOOKBACK)):
        if entry.get("event") == "reconciled" and entry.get("source") == source:
            return int(entry["id"].split("-")[0]) / 1000
    return None


def human_wait(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def print_report(out: Console, report: QueueReport) -> None:
    data = report.to_json()
    if not data["waiting"]:
        out.print("nothing waits", highlight=False)
    else:
        oldest = {(row["queue"], row["lane"]): row["seconds"] for row in data["oldest"]}
        # Plain columns, not a rich Table: a table shrinks its cells to the terminal (80 wide
        # in a pipe) and cuts queue names, which scripts and `grep` need whole.
        rows = [("queue", "priority", "source", "task", "messages", "files", "oldest wait")]
        for row in data["waiting"]:
            age = oldest.get((row["queue"], row["lane"]))
            rows.append((row["queue"], f"{row['lane']} ({row['priority']})", row["source"],
                         row["task"].removeprefix("mediacourier."), f"{row['messages']:,}",
                         f"{row['files']:,}", "" if age is None else human_wait(age)))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for cells in rows:
            out.print("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip(),
                      highlight=False, markup=False)
        out.print(f"{data['total_messages']:,} messages waiting, {data['total_files']:,} files "
                  "(oldest wait per queue and priority)", highlight=False)
    out.print(f"{data['delivered']:,} taken by workers (running, or waiting for their ETA)",
              highlight=False)


QUEUE_COMMANDS = {"queue": cmd_queue}
