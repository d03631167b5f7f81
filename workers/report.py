"""`status`, `history` and `doctor`: what mediacourier is doing, has done, and whether it can."""

from __future__ import annotations

import csv
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable

from rich.console import Console
from rich.table import Table

from shared.config import Settings
from shared.mirror import check_mirror
from shared.remote import connect
from shared.state import RedisStateStore, full_targets
from workers.doctor_syncthing import syncthing_checks
from workers.rescan_doctor import rescan_checks

HISTORY_FIELDS = ("at", "event", "source", "path", "dest", "duplicate_of", "bytes", "seconds",
                  "reason", "host")


def queue_depths(store: RedisStateStore, queues: list[str]) -> dict[str, int]:
    return store.queue_lengths(queues)


def print_status(console: Console, store: RedisStateStore, workers: dict[str, object] | None,
                 queues: list[str], depths: dict[str, int] | None = None) -> None:
    table = Table(title="mediacourier status", show_header=False)
    table.add_column("what")
    table.add_column("value")
    names = sorted(workers or {})
    table.add_row("workers online", ", ".join(names) if names else "none answered")
    for queue, depth in {**queue_depths(store, queues), **(depths or {})}.items():
        table.add_row(f"queue {queue}", str(depth))
    table.add_row("in flight", str(len(store.inflight())))
    table.add_row("failures", str(len(store.failures())))
    for field in sorted(store.paused()):
        table.add_row(f"paused {field.split(':', 1)[0]}", field.split(":", 1)[1])
    for name, value in sorted(store.counters().items()):
        table.add_row(f"count {name}", f"{value:,}")
    for name, (healthy, reason, at) in sorted(store.target_health().items()):
        when = time.strftime("%H:%M:%S", time.localtime(at))
        table.add_row(f"target {name}", f"ok (since {when})" if healthy
                      else f"[red]unreachable[/red] since {when}: {reason}")

    for name, (since, reason) in sorted(full_targets(store).items()):
        when = time.strftime("%H:%M:%S", time.localtime(since))
        table.add_row(f"target {name}", f"[red]FULL[/red] since {when}: {reason}")
    console.print(table)
    failures = store.failures()[:10]
    if failures:
        console.print("[bold red]recent failures[/bold red]")
        for item in failures:
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(item["at"]))
            console.print(f"  {when}  {item['source']}/{item['path']}: {item['reason']}")


def print_history(store: RedisStateStore, fmt: str, limit: int, console: Console) -> None:
    entries = store.read_journal(limit)
    for entry in entries:
        entry["at"] = time.strftime("%Y-%m-%d %H:%M:%S",
                                    time.localtime(float(entry.get("at", 0))))
    if fmt == "json":
        json.dump(entries, sys.stdout, indent=1, ensure_ascii=False)
        sys.stdout.write("\n")
    elif fmt == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=HISTORY_FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(entries)
    else:
        table = Table(title=f"last {len(entries)} operations")
        for name in ("at", "event", "source", "path", "dest", "reason"):
            table.add_column(name, overflow="fold")
        for entry in entries:
            table.add_row(*(entry.get(n, "") for n in ("at", "event", "source", "path", "dest",
                                                       "reason")))
        console.print(table)


Check = tuple[str, Callable[[], str]]


def _writable(path: str) -> str:
    with tempfile.NamedTemporaryFile(dir=path, prefix=".mediacourier-doctor-"):
        pass
    return f"{path} is writable"


def _reachable(settings: Settings, target: str, path: str) -> str:

    client = connect(settings.targets[target])
    try:
        sftp = client.open_sftp()
        sftp.stat(path)
    finally:
        client.close()
    return f"{target}:{path} is reachable over SSH"


def _readable(path: str) -> str:
    if not os.access(path, os.R_OK | os.X_OK):
        raise PermissionError(f"{path} is not readable")
    return f"{path} is readable"


def doctor_checks(settings: Settings, ping: Callable[[], str]) -> list[Check]:
    checks: list[Check] = [("config", lambda: f"{settings.config_path or 'default'} is valid"),
                           ("redis", ping)]
    for source in settings.sources.values():
        checks.append((f"source {source.name}", lambda p=str(source.path): _readable(p)))
        if source.mode == "move":
            checks.append((f"source {source.name} (move)", lambda p=str(source.path): _writable(p)))
    for library in settings.libraries.values():
        if library.target and settings.targets[library.target].over_ssh:
            checks.append((f"library {library.name}",
                           lambda lib=library: _reachable(settings, lib.target, str(lib.path))))
            continue
        checks.append((f"library {library.name}", lambda p=str(library.path): _writable(p)))

    for mirror in settings.mirrors.values():
        checks.append((f"mirror {mirror.name}", lambda m=mirror: check_mirror(settings, m)))

    checks.extend(syncthing_checks(settings))

    checks.extend(rescan_checks(settings))
    return checks


def run_doctor(checks: list[Check], console: Console) -> int:
    failed = 0
    for name, check in checks:
        try:
            verdict = check()
            console.print(f"[green]ok[/green]    {name}: {verdict}")
        except Exception as exc:  # noqa: BLE001 - every check reports, none stops the others
            failed += 1
            console.print(f"[red]FAIL[/red]  {name}: {exc}")
    return 1 if failed else 0
