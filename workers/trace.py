"""`mediacourier trace PATH|NAME|SHA`: one file's journey, read from what Redis holds.

A file is found by its path (in a source, in a library, or `source/rel` as `history` shows it),
by its name, or by its sha256 (8 hex digits or more); its journey comes from the journal (each
outcome with the host and the time of every stage), its record (where it is now), the in-flight
and failure keys (where it waits) and the other records with its content (its duplicates).
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from shared.config import Settings
from shared.errors import ConfigError
from shared.ingest import STAGES
from shared.state import FileRecord, RedisStateStore, escape_text, typed_entry

SHOWN = 5  # files traced for one name; the rest are listed
JOURNAL_READ = 100_000  # the whole capped journal
HEX = re.compile(r"[0-9a-f]{8,64}")


@dataclass
class Trail:
    """What the store holds about one source file."""

    source: str
    rel: str
    record: FileRecord | None = None
    events: list[dict[str, str]] = field(default_factory=list)


def _records(settings: Settings, store: RedisStateStore) -> dict[tuple[str, str], FileRecord]:
    found = {}
    for source in settings.sources:
        for rel, raw in store.all_records(source).items():
            found[(source, rel)] = FileRecord.decode(raw)
    return found


def _inside(path: Path, root: Path) -> str | None:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return None


def _matches(settings: Settings, records: dict[tuple[str, str], FileRecord],
             journal: list[dict[str, str]], what: str) -> list[tuple[str, str]]:
    """The (source, rel) pairs `what` names, most specific reading first."""
    known = set(records) | {(e["source"], e["path"]) for e in journal
                            if e.get("source") in settings.sources and "path" in e}
    if HEX.fullmatch(what.lower()):
        by_sha = [key for key, rec in records.items() if rec.sha256.startswith(what.lower())]
        if by_sha:
            return sorted(by_sha)
    path = Path(os.path.abspath(what))
    for name, source in settings.sources.items():
        rel = _inside(path, Path(source.path).absolute())
        if rel and (name, rel) in known:
            return [(name, rel)]
    for library in settings.libraries.values():
        rel = _inside(path, Path(library.path).absolute()) if not library.target else None
        if rel is None and library.target:
            rel = _inside(Path(what), Path(library.path))
        if rel:
            here = [key for key, rec in records.items()
                    if rec.dest == rel and settings.sources[key[0]].library == library.name]
            if here:
                return sorted(here)
    source, _, rel = what.partition("/")
    if (source, rel) in known:
        return [(source, rel)]
    return sorted(key for key in known
                  if key[1] == what or posixpath.basename(key[1]) == what)


def _when(at: str | float) -> str:
    seconds = float(at)
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))
    return f"{stamp}.{int(seconds % 1 * 1000):03d}"


def _json(text: str) -> dict[str, object]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _print_outcome(console: Console, entry: dict[str, str]) -> None:
    """One journal entry; an outcome with stages gets their table."""
    event, at = entry.get("event", "?"), float(entry.get("at", 0))
    seconds = float(entry.get("seconds") or 0)
    if entry.get("duplicate_of"):
        where = f" of {entry['duplicate_of']}"
    else:
        where = f" -> {entry['library']}/{entry['dest']}" if entry.get("dest") else ""
    why = f": {entry['reason']}" if entry.get("reason") else ""
    console.print(escape(f"  {event}{where}{why}"), highlight=False)
    hosts, timings = _json(entry.get("hosts", "")), _json(entry.get("timings", ""))
    if not hosts:
        console.print(f"    at {_when(at)}", highlight=False)
        return
    console.print(f"    started {_when(at - seconds)}, finished {_when(at)} "
                  f"({seconds:.3f} s in all, waits in queues included)", highlight=False)
    names = [n for n, _ in STAGES if n in hosts or n in timings]
    width = max(len(str(hosts.get(n, ""))) for n in names) if names else 4
    console.print(escape(f"    {'stage':<16}{'host':<{width + 2}}{'took':>9}"), highlight=False)
    for name in names:
        took = timings.get(name)  # record_outcome's own time is not known when it journals
        shown = f"{float(took):.3f} s" if isinstance(took, int | float) else "-"
        console.print(escape(f"    {name:<16}{str(hosts.get(name, '')):<{width + 2}}{shown:>9}"),
                      highlight=False)


def _where_now(settings: Settings, trail: Trail) -> str:
    source = settings.sources[trail.source]
    library = settings.library_of(source)
    record = trail.record
    in_source = "still in the source" if (Path(source.path) / trail.rel).exists() \
        else "no longer in the source"
    if record is None:
        return f"no record ({in_source})"
    if not record.dest:
        return f"{record.state}, not in a library ({in_source})"
    if library.target:
        return f"{record.state}: {library.target}:{Path(library.path) / record.dest} ({in_source})"
    path = Path(library.path) / record.dest
    there = "" if path.exists() else " [missing on disk]"
    what = "a duplicate of" if record.state == "duplicate" else f"{record.state}:"
    return f"{what} {path}{there} ({in_source})"


def _print_trail(console: Console, settings: Settings, store: RedisStateStore, trail: Trail,
                 records: dict[tuple[str, str], FileRecord]) -> None:
    record = trail.record
    size = f"{record.size:,} bytes" if record else "size unknown"
    sha = f", sha256 {record.sha256}" if record and record.sha256 else ""
    console.print(escape(f"{trail.source}/{escape_text(trail.rel)}  ({size}{sha})"),
                  style="bold",
                  highlight=False)
    for entry in trail.events:
        _print_outcome(console, entry)
    console.print(escape(f"  now: {_where_now(settings, trail)}"), highlight=False)
    if record and record.date_source:
        console.print(escape(f"  date from: {record.date_source}"), highlight=False)
    for key in store.inflight():
        source, rel, *_ = key.split("\0")
        if (source, rel) == (trail.source, trail.rel):
            console.print("  queued: a task for it is in flight", highlight=False)
    for failure in store.failures():
        if (failure.get("source"), failure.get("path")) == (trail.source, trail.rel):
            console.print(escape(f"  failed: {failure.get('reason')}"), highlight=False)
    if record and record.sha256:
        twins = sorted(f"{s}/{escape_text(r)} ({rec.state})" for (s, r), rec in records.items()
                       if rec.sha256 == record.sha256 and (s, r) != (trail.source, trail.rel))
        console.print(escape(f"  duplicates: {', '.join(twins) if twins else 'none'}"),
                      highlight=False)


def print_trace(settings: Settings, store: RedisStateStore, what: str, console: Console) -> int:
    """Print the journey of every file `what` names (up to SHOWN); ConfigError when none."""
    records = _records(settings, store)
    journal = store.read_journal(JOURNAL_READ)
    matches = _matches(settings, records, journal, what)
    if not matches:
        raise ConfigError(f"no file matches {what!r} in the records or the journal of "
                          f"{', '.join(settings.sources) or 'any source'}")
    for source, rel in matches[:SHOWN]:
        events = [e for e in journal if (e.get("source"), e.get("path")) == (source, rel)]
        _print_trail(console, settings, store, Trail(source, rel, records.get((source, rel)),
                                                     events), records)
    if len(matches) > SHOWN:
        rest = ", ".join(f"{s}/{escape_text(r)}" for s, r in matches[SHOWN:SHOWN + 20])
        console.print(escape(f"{len(matches) - SHOWN} more match {what!r}: {rest}; trace one "
                             "by its path or sha256"), highlight=False)
    return 0


def trace_data(settings: Settings, store: RedisStateStore, what: str,
               limit: int = SHOWN) -> list[dict[str, Any]]:
    """The journeys `print_trace` prints, as data (the web API's file search). A `what` that
    names no file exactly matches the files whose path contains it; [] when none does."""
    records = _records(settings, store)
    journal = store.read_journal(JOURNAL_READ)
    matches = _matches(settings, records, journal, what)
    if not matches and what:
        known = set(records) | {(e["source"], e["path"]) for e in journal
                                if e.get("source") in settings.sources and "path" in e}
        matches = sorted(key for key in known if what.lower() in key[1].lower())
    queued = {tuple(key.split("\0")[:2]) for key in store.inflight()}
    failing = {(f.get("source"), f.get("path")): f for f in store.failures()}
    found = []
    for source, rel in matches[:limit]:
        record = records.get((source, rel))
        events = [{**typed_entry(e), "hosts": _json(e.get("hosts", "")),
                   "timings": _json(e.get("timings", ""))}
                  for e in journal if (e.get("source"), e.get("path")) == (source, rel)]
        twins = sorted(f"{s}/{r}" for (s, r), rec in records.items() if record and
                       record.sha256 and rec.sha256 == record.sha256 and (s, r) != (source, rel))
        failure = failing.get((source, rel))
        found.append({
            "source": source, "path": rel, "size": record.size if record else None,
            "sha256": record.sha256 if record else "", "state": record.state if record else "",
            "dest": record.dest if record else "",
            "library": settings.sources[source].library, "events": events,
            "now": _where_now(settings, Trail(source, rel, record)),
            "queued": (source, rel) in queued,
            "failure": failure.get("reason") if failure else None, "duplicates": twins})
    return found
