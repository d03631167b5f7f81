"""`conflicts`, `resolve` and `scrub`: what a backup disagrees on, and what rotted.

Exit status: 0 done; 1 `scrub` left damaged files unrepaired (or a repair failed); 2 a wrong
name or an unknown conflict; 4 a target could not be reached.
"""

from __future__ import annotations

import argparse
import json
import socket
from collections.abc import Callable

from rich.console import Console
from rich.table import Table

from shared.config import Settings, broker_url, parse_rate
from shared.mirror import ConflictBook, find_conflict, mirror_config, resolve
from shared.remote import open_destination
from shared.scrub import ScrubLedger, ScrubSummary, repair_damaged, repairer, scrub_library
from shared.state import RedisStateStore
from workers.exit_codes import FILES_FAILED, OK


def _store(settings: Settings) -> RedisStateStore:
    store = RedisStateStore.from_url(broker_url(settings), settings.key_prefix)
    store.ping()
    return store


def cmd_conflicts(settings: Settings, args: argparse.Namespace) -> int:
    mirror = mirror_config(settings, args.mirror)
    conflicts = ConflictBook(_store(settings), mirror.name, mirror.target).conflicts()
    rows = [c.as_dict() for _, c in sorted(conflicts.items())]
    if args.format == "json":
        print(json.dumps({"mirror": mirror.name, "target": mirror.target,
                          "policy": mirror.conflicts, "conflicts": rows}, indent=2), flush=True)
        return OK
    console = Console(soft_wrap=True)
    if not rows:
        console.print(f"mirror {mirror.name}: no conflicts")
        return OK
    table = Table(title=f"mirror {mirror.name} -> {mirror.target}: {len(rows)} conflicts "
                  f"(policy {mirror.conflicts})")
    for column in ("path", "kind", "master", "backup"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["path"], row["kind"], _side(row["master"]), _side(row["backup"]))
    console.print(table)
    console.print(f"settle one: mediacourier resolve {mirror.name} PATH --keep master|backup|both")
    return OK


def _side(side: dict[str, int] | None) -> str:
    return "gone" if side is None else f"{side['size']} bytes"


def cmd_resolve(settings: Settings, args: argparse.Namespace) -> int:
    mirror = mirror_config(settings, args.mirror)
    store = _store(settings)
    book = ConflictBook(store, mirror.name, mirror.target)
    conflict = find_conflict(book, args.path)
    # The mirror's own lease: a run going on now must not plan against a half-settled file.
    with store.lock(f"mirror:{mirror.name}", ttl=settings.lease_seconds):
        destination = open_destination(settings, mirror.target, store)
        try:
            done = resolve(book, conflict, args.keep, settings.mirror_root(mirror), destination)
        finally:
            destination.close()
    store.journal("mirror_resolved", source=mirror.name, dest=mirror.target, path=args.path,
                  kind=conflict.kind, reason=f"keep {args.keep}: {done}",
                  host=socket.gethostname())
    print(f"{mirror.name}: {args.path}: {done}", flush=True)
    return OK


def cmd_scrub(settings: Settings, args: argparse.Namespace) -> int:
    store = _store(settings)
    host = socket.gethostname()
    rate = parse_rate(args.rate, "--rate") if args.rate is not None else _rate(settings, args)
    fix = repairer(settings, store, args.library) if args.repair else None
    summary = ScrubSummary(args.library)
    try:
        scrub_library(settings, store, args.library, rate, fix, host, summary)
    except KeyboardInterrupt:
        print(summary.line(), flush=True)  # the cursor is saved: the next pass resumes
        raise
    print(summary.line(), flush=True)
    for rel in summary.damaged_paths:
        print(f"damaged: {args.library}:{rel}", flush=True)
    failed = list(summary.repair_errors)
    if args.repair:  # also the files earlier passes found and left damaged
        _, failed_before = repair_damaged(settings, store, args.library, host)
        failed += [line for line in failed_before if line not in failed]
    for line in failed:
        print(f"not repaired: {line}", flush=True)
    left = ScrubLedger(store, args.library).damaged_paths()
    return FILES_FAILED if left or failed else OK


def _rate(settings: Settings, args: argparse.Namespace) -> int:
    for scrub in settings.scrubs.values():
        if scrub.library == args.library:
            return scrub.rate
    return parse_rate("20MB/s", "--rate")


def add_backup_parsers(command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    conflicts = command("conflicts", "list files a mirror found changed on both sides")
    conflicts.add_argument("mirror", help="a [mirrors.NAME] table")
    conflicts.add_argument("--format", choices=("table", "json"), default="table",
                           help="table for people (default), json for programs")
    res = command("resolve", "settle one conflict of a mirror")
    res.add_argument("mirror", help="a [mirrors.NAME] table")
    res.add_argument("path", help="the file's path relative to the mirrored tree")
    res.add_argument("--keep", choices=("master", "backup", "both"), required=True,
                     help="whose version stays: both keeps the backup's as "
                     "'NAME (backup YYYY-MM-DD).ext'")
    scrub = command("scrub", "re-read a library's unchanged files and compare with the index")
    scrub.add_argument("library", help="a [libraries.NAME] table")
    scrub.add_argument("--repair", action="store_true",
                       help="restore damaged files from a mirror copy that verifies")
    scrub.add_argument("--rate", default=None,
                       help='read at most this fast, e.g. "50MB/s" or 0 for unlimited '
                       "(default: the library's [scrub.NAME] rate, else 20MB/s)")


BACKUP_COMMANDS = {"conflicts": cmd_conflicts, "resolve": cmd_resolve, "scrub": cmd_scrub}
