"""`status`, `history` and `doctor`: what mediacourier is doing, has done, and whether it can."""

from __future__ import annotations

import csv
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from shared.config import Settings
from shared.flow import flow_holds
from shared.mirror import ConflictBook, check_mirror
from shared.remote import connect
from shared.scrub import ScrubLedger
from shared.source import discover_users, fetch_holds, user_of
from shared.state import (
    RedisStateStore,
    absent_libraries,
    escape_text,
    full_targets,
    human_size,
    priority_lists,
    typed_entry,
)
from workers.doctor_media import media_checks
from workers.doctor_syncthing import syncthing_checks
from workers.flow_status import flow_rows
from workers.rescan_doctor import rescan_checks

HISTORY_FIELDS = ("at", "event", "source", "path", "dest", "duplicate_of", "bytes", "seconds",
                  "reason", "host", "about")
# What a row is about comes first in its table row; these fields are shown there or not at all.
SHOWN_ELSEWHERE = frozenset({"id", "at", "event", "source", "path", "dest", "library", "kind",
                             "name", "target", "folder", "folders", "reason", "bytes",
                             "seconds", "sha256", "hosts", "timings", "host", "copied",
                             "duplicate_of", "task_id"})
FILE_EVENTS = ("ingested", "duplicate", "skipped", "empty", "failed")  # a file's outcomes
USER_JOURNAL = 100_000  # journal entries counted per Nextcloud user (the journal's length)
ATTENTION_ROWS = 10  # per library or mirror: the command named beside them lists the rest
WIDE = 100_000  # a console this wide never wraps: piped output keeps each row on one line


def queue_depths(store: RedisStateStore, queues: list[str]) -> dict[str, int]:
    """Messages waiting in each queue, at every priority (tasks/routing.py)."""
    lengths = store.queue_lengths([name for queue in queues for name in priority_lists(queue)])
    return {queue: sum(lengths[name] for name in priority_lists(queue)) for queue in queues}


def table(title: str, *columns: str, header: bool = True) -> Table:
    """The one table style of `status` and `history`."""
    shown = Table(title=title, show_header=header)
    for name in columns:
        shown.add_column(name)
    return shown


def _when(at: float, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    return time.strftime(fmt, time.localtime(at))


def print_status(console: Console, store: RedisStateStore, workers: dict[str, object] | None,
                 queues: list[str], depths: dict[str, int] | None = None,
                 settings: Settings | None = None) -> None:
    if not console.is_terminal and not console.record:
        # Piped (a script, `| less`): rows are not wrapped, as in `history`.
        console = Console(file=console.file, width=WIDE)
    shown = table("mediacourier status", "what", "value", header=False)
    names = sorted(workers or {})
    shown.add_row("workers online", ", ".join(names) if names else "none answered")
    for queue, depth in {**queue_depths(store, queues), **(depths or {})}.items():
        shown.add_row(f"queue {queue}", str(depth))
    shown.add_row("in flight", str(len(store.inflight())))
    for field, since in sorted(store.paused().items()):
        kind, name = field.split(":", 1)
        shown.add_row("paused", Text(f"{kind} {escape_text(name)} (since {_when(since)})"))
    for name, held in sorted(fetch_holds(store).items()):
        shown.add_row(f"source {name}", Text.assemble(
            ("FETCH HELD", "red"), f" since {_when(held.since)}: {held.reason} (log in again: "
            f"mediacourier icloud-auth {name})"))
    for name, (healthy, reason, at) in sorted(store.target_health().items()):
        when = _when(at, "%H:%M:%S")
        shown.add_row(f"target {name}", f"ok (since {when})" if healthy
                      else Text.assemble(("unreachable", "red"), f" since {when}: {reason}"))
    for name, (since, reason) in sorted(absent_libraries(store).items()):
        shown.add_row(f"library {name}", Text.assemble(
            ("NOT THERE", "red"), f" since {_when(since, '%H:%M:%S')}: {reason}"))
    for name, state in sorted(store.index_states().items()):
        if not state.get("complete"):
            shown.add_row(f"library {name}", f"first index: {state.get('files_done', 0)} of "
                          f"{state.get('files_total', '?')} files; its arrivals wait for it")
    for name, (since, reason) in sorted(full_targets(store).items()):
        shown.add_row(f"target {name}", Text.assemble(
            ("FULL", "red"), f" since {_when(since, '%H:%M:%S')}: {reason}"))
    flows = settings.flows if settings is not None else {}
    for name, hold in sorted(flow_holds(store).items()):
        if name not in flows:  # a configured flow's hold is in its row below
            shown.add_row(f"flow {name}", Text.assemble(
                ("HELD", "red"), f" since {_when(hold.since, '%H:%M:%S')}: "
                f"{escape_text(hold.reason)}"))
    if settings is not None:
        flow_rows(shown, store, settings)
    console.print(shown)
    failures = store.failures()
    console.print(happened(store.counters(), len(failures)))
    if failures:
        recent = table(f"failing now: {len(failures)} files (the last 10)", "at", "file",
                       "reason")
        for item in failures[:10]:
            recent.add_row(_when(item["at"]), Text(escape_text(f"{item['source']}:"
                                                               f"{item['path']}")),
                           Text(escape_text(str(item["reason"]))))
        console.print(recent)


def print_attention(console: Console, store: RedisStateStore, settings: Settings) -> None:
    """What waits for a person: library files a scrub found damaged and the open conflicts of
    each mirror, each with the command that settles it. Nothing at all when there is none."""
    shown = table("needs a person", "what", "file", "settle with")
    for library in settings.libraries:
        damaged = sorted(ScrubLedger(store, library).damaged_paths())
        for rel in damaged[:ATTENTION_ROWS]:
            shown.add_row("damaged (scrub)", Text(escape_text(f"{library}:{rel}")),
                          f"mediacourier scrub {library} --repair")
        if len(damaged) > ATTENTION_ROWS:
            shown.add_row("damaged (scrub)", f"… {len(damaged) - ATTENTION_ROWS} more",
                          f"mediacourier scrub {library}")
    for name, mirror in settings.mirrors.items():
        conflicts = sorted(ConflictBook(store, name, mirror.target).conflicts().items())
        for rel, conflict in conflicts[:ATTENTION_ROWS]:
            shown.add_row(f"conflict ({conflict.kind})", Text(escape_text(f"{name}:{rel}")),
                          f"mediacourier resolve {name} PATH --keep master|backup|both")
        if len(conflicts) > ATTENTION_ROWS:
            shown.add_row("conflicts", f"… {len(conflicts) - ATTENTION_ROWS} more",
                          f"mediacourier conflicts {name}")
    if shown.row_count:
        console.print(shown)


def print_users(console: Console, store: RedisStateStore, settings: Settings) -> None:
    """Per Nextcloud user, the outcomes of their files in the journal and how many still fail;
    nothing when no source is a nextcloud source."""
    sources = {name for name, source in settings.sources.items() if source.nextcloud}
    if not sources:
        return
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for entry in store.read_journal(USER_JOURNAL):
        if entry.get("source") in sources and entry.get("event") in FILE_EVENTS:
            per = counts.setdefault((entry["source"], user_of(entry.get("path", ""))), {})
            per[entry["event"]] = per.get(entry["event"], 0) + 1
    failing: dict[tuple[str, str], int] = {}
    for item in store.failures():
        if item["source"] in sources:
            key = (item["source"], user_of(item["path"]))
            failing[key] = failing.get(key, 0) + 1
    shown = table("per Nextcloud user", "user", "files", header=False)
    for source, user in sorted({*counts, *failing}):
        per = counts.get((source, user), {})
        text = ", ".join(f"{per[e]:,} {e}" for e in FILE_EVENTS if per.get(e)) or "none yet"
        if failing.get((source, user)):
            text += f" ({failing[source, user]:,} still failing)"
        shown.add_row(Text(escape_text(f"{source} {user or '(top)'}")), text)
    if not shown.row_count:
        shown.add_row("nothing yet", "")
    console.print(shown)


def happened(counters: dict[str, int], failing: int) -> Table:
    """What the journal counted, one row per kind of event: an event is counted once when it
    happens (a file ingested, a pause); `ingested` carries its bytes, `failed` how many of
    those files still fail (the list below the table), not a second count of the same."""
    shown = table("what happened", "event", "count", header=False)
    for name, value in sorted(counters.items()):
        if name == "bytes_ingested":
            continue
        text = f"{value:,}"
        if name == "ingested" and counters.get("bytes_ingested"):
            text += f" ({human_size(counters['bytes_ingested'])})"
        if name == "failed":
            text += f" ({failing:,} still failing)"
        shown.add_row(name, text)
    if not counters:
        shown.add_row("nothing yet", "")
    return shown


def about(entry: dict[str, Any]) -> str:
    """What a journal row is about: the file, the paused or resumed source or target, the
    rescanned folders, the library file or the target."""
    if entry.get("path") and (entry.get("source") or entry.get("library")):
        return f"{entry.get('source') or entry.get('library')}:{entry['path']}"
    if entry.get("kind") and entry.get("name"):
        return f"{entry['kind']} {entry['name']}"
    folders = entry.get("folders") or ([entry["folder"]] if entry.get("folder") else [])
    if isinstance(folders, str):
        folders = folders.split("\n")
    if entry.get("target") and folders:
        more = f" (+{len(folders) - 1} more)" if len(folders) > 1 else ""
        return f"rescan {entry['target']}: {folders[0]}{more}"
    for name in ("source", "library", "target", "name", "dest", "task"):
        if entry.get(name):
            return f"{name} {entry[name]}"
    return ""


def _detail(entry: dict[str, Any]) -> str:
    """The reason, else the row's other counts and fields (a reconcile's summary)."""
    if entry.get("reason"):
        return str(entry["reason"])
    rest = {k: v for k, v in entry.items() if k not in SHOWN_ELSEWHERE}
    return ", ".join(f"{k} {v}" for k, v in rest.items())


def _where(entry: dict[str, Any]) -> str:
    if entry.get("duplicate_of"):
        return f"= {entry['duplicate_of']}"
    if entry.get("dest") and entry.get("library"):
        return f"{entry['library']}:{entry['dest']}"
    return str(entry.get("dest") or "")


def print_history(store: RedisStateStore, fmt: str, limit: int, console: Console,
                  user: str | None = None) -> None:
    """The last `limit` operations; with `user`, the last `limit` about that Nextcloud user's
    files (the first folder of their path), looked for in the whole journal."""
    raw = store.read_journal(limit) if user is None else [
        entry for entry in store.read_journal(USER_JOURNAL)
        if entry.get("source") and user_of(entry.get("path", "")) == user][-limit:]
    entries = [typed_entry(entry) for entry in raw]
    if fmt == "json":
        json.dump(entries, sys.stdout, indent=1, ensure_ascii=False)
        sys.stdout.write("\n")
    elif fmt == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=HISTORY_FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows({**entry, "about": about(entry)} for entry in entries)
    else:
        shown = table(f"last {len(entries)} operations", "at", "event", "about", "where",
                      "size", "detail")
        for entry in entries:
            at = datetime.fromisoformat(entry["at"]).strftime("%Y-%m-%d %H:%M:%S") \
                if isinstance(entry["at"], str) and entry["at"][:1].isdigit() else entry["at"]
            size = human_size(entry["bytes"]) if isinstance(entry.get("bytes"), int) else ""
            shown.add_row(*(Text(escape_text(str(text))) for text in
                            (at, entry.get("event", ""), about(entry), _where(entry), size,
                             _detail(entry))))
        # A terminal's width on a terminal; piped, as wide as the rows: one line each.
        out = console if console.is_terminal else Console(file=console.file, width=WIDE)
        out.print(shown, crop=False)


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


def _nextcloud_users(settings: Settings, name: str) -> str:
    found = discover_users(settings.sources[name])
    if not found.users:
        raise FileNotFoundError(f"no Nextcloud user to watch in {settings.sources[name].path}"
                                + (f" (left out: {_left_out(found.excluded)})"
                                   if found.excluded else ""))
    verdict = f"users {', '.join(found.users)}"
    return verdict + (f"; left out: {_left_out(found.excluded)}" if found.excluded else "")


def _left_out(excluded: dict[str, str]) -> str:
    return ", ".join(f"{user} ({why})" for user, why in sorted(excluded.items()))


def doctor_checks(settings: Settings, ping: Callable[[], str]) -> list[Check]:
    checks: list[Check] = [("config", lambda: f"{settings.config_path or 'default'} is valid"),
                           ("redis", ping)]
    for source in settings.sources.values():
        checks.append((f"source {source.name}", lambda p=str(source.path): _readable(p)))
        if source.nextcloud:
            checks.append((f"source {source.name} (users)",
                           lambda n=source.name: _nextcloud_users(settings, n)))
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

    checks.extend(media_checks(settings))
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
