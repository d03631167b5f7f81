"""What the web page and its API show, as plain data read from Redis: the same facts `status`,
`history` and `trace` print, in dictionaries that turn into JSON as they are."""

from __future__ import annotations

import time
from collections import deque
from datetime import datetime
from pathlib import Path
from typing import Any

from shared.config import Settings, all_queues
from shared.flow import flow_progress
from shared.source import fetch_holds
from shared.state import RedisStateStore, full_targets, hold_for_source, iso_time, typed_entry
from workers.hosts import host_of_node, queue_depth
from workers.report import about

RECENT_READ = 5_000  # journal entries the overview reads: a day of a household's photos
NEWEST = 6  # thumbnails per source on the overview
LOG_LINES = 200  # the last lines per process that /api/logs returns
LOG_DIR = "logs"  # under data_dir: one file per process of `up` (workers/logs.py writes them)
HISTORY_EVENTS = ("ingested", "duplicate", "failed", "skipped", "paused", "resumed",
                  "reconciled", "mirrored", "rescanned")


def workers_by_host(settings: Settings, app: Any, timeout: float) -> dict[str, list[str]]:
    """{host: [worker node]} from the workers that answer within `timeout` seconds."""
    try:
        answers = app.control.inspect(timeout=timeout).active_queues() or {}
    except Exception:  # noqa: BLE001 - a broker hiccup shows as "no worker answered"
        answers = {}
    hosts: dict[str, list[str]] = {}
    for node, queues in answers.items():
        names = [q.get("name", "") for q in queues or []]
        hosts.setdefault(host_of_node(settings, node, names), []).append(node)
    return {host: sorted(nodes) for host, nodes in sorted(hosts.items())}


def _midnight(now: float) -> float:
    day = datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return day.timestamp()


def _arrivals(settings: Settings, journal: list[dict[str, str]], now: float) -> dict[str, Any]:
    """Per source: files ingested since midnight, their bytes, and the newest few."""
    since = _midnight(now)
    found: dict[str, Any] = {name: {"today": 0, "bytes_today": 0, "duplicates_today": 0,
                                    "newest": []} for name in settings.sources}
    for entry in reversed(journal):  # newest first
        source = found.get(entry.get("source", ""))
        if source is None or float(entry.get("at", 0)) < since:
            continue
        if entry.get("event") == "duplicate":
            source["duplicates_today"] += 1
        if entry.get("event") != "ingested":
            continue
        source["today"] += 1
        source["bytes_today"] += int(entry.get("bytes") or 0)
        if len(source["newest"]) < NEWEST and entry.get("dest"):
            source["newest"].append({"path": entry.get("path", ""), "dest": entry["dest"],
                                     "library": entry.get("library") or
                                     settings.sources[entry["source"]].library,
                                     "at": iso_time(float(entry["at"]))})
    return found


def status_data(settings: Settings, store: RedisStateStore,
                workers: dict[str, list[str]] | None = None,
                now: float | None = None) -> dict[str, Any]:
    """Sources, libraries, targets, holds, queues, workers per host (as given) and counts."""
    now = time.time() if now is None else now
    paused = store.paused()
    full = full_targets(store)
    health = store.target_health()
    inflight = store.inflight()
    per_source: dict[str, int] = {}
    for key in inflight:
        name = key.split("\0", 1)[0]
        per_source[name] = per_source.get(name, 0) + 1
    arrivals = _arrivals(settings, store.read_journal(RECENT_READ), now)
    failures = store.failures()
    sources = []
    for name, source in sorted(settings.sources.items()):
        hold = hold_for_source(store, settings, name)
        flow = settings.flow_fed_by(name)  # its files go through the flow, not to its library
        sources.append({"name": name, "path": str(source.path), "library": source.library,
                        "flow": flow_progress(store, flow).as_dict() if flow else None,
                        "mode": source.mode, "paused": f"source:{name}" in paused,
                        "hold": hold.reason if hold else None,
                        "in_flight": per_source.get(name, 0),
                        "failing": sum(1 for f in failures if f.get("source") == name),
                        **arrivals[name]})
    targets = sorted(set(settings.libraries) | set(settings.targets)
                     | set(settings.rescan_targets) | set(settings.mirrors))
    holds = [{"kind": field.split(":", 1)[0], "name": field.split(":", 1)[1],
              "since": iso_time(since), "reason": "paused"}
             for field, since in sorted(paused.items())]
    holds += [{"kind": "target", "name": name, "since": iso_time(since), "reason": reason}
              for name, (since, reason) in sorted(full.items())]
    holds += [{"kind": "fetch", "name": name, "since": iso_time(held.since),
               "reason": held.reason} for name, held in sorted(fetch_holds(store).items())]
    return {
        "at": iso_time(now),
        "sources": sources,
        "libraries": [{"name": name, "path": str(lib.path), "target": lib.target or None,
                       "paused": f"target:{name}" in paused, "full": name in full}
                      for name, lib in sorted(settings.libraries.items())],
        "targets": [{"name": name, "kind": _kind_of(settings, name),
                     "paused": f"target:{name}" in paused,
                     "full": full[name][1] if name in full else None,
                     "healthy": health[name][0] if name in health else None,
                     "health_reason": health[name][1] if name in health else None}
                    for name in targets],
        "mirrors": [{"name": name, "paused": f"target:{name}" in paused}
                    for name in sorted(settings.mirrors)],
        "holds": holds,
        "queues": {queue: queue_depth(store, queue) for queue in all_queues(settings)},
        "workers": workers or {},
        "in_flight": len(inflight),
        "failing": len(failures),
        "counts": store.counters(),
    }


def _kind_of(settings: Settings, name: str) -> str:
    kinds = [kind for kind, names in (("library", settings.libraries),
                                      ("target", settings.targets),
                                      ("rescan", settings.rescan_targets),
                                      ("mirror", settings.mirrors)) if name in names]
    return "+".join(kinds)


def failures_data(store: RedisStateStore) -> list[dict[str, Any]]:
    """Every file failing now, newest first, with an id the retry route takes."""
    return [{"id": f"{item['source']}/{item['path']}", **item, "at": iso_time(item["at"])}
            for item in store.failures()]


def history_data(store: RedisStateStore, limit: int = 50, offset: int = 0,
                 event: str = "", source: str = "", q: str = "") -> dict[str, Any]:
    """A page of the journal, newest first, typed, filtered by event, source and a text."""
    entries = [typed_entry(entry) for entry in reversed(store.read_journal(100_000))]
    wanted = [entry for entry in entries
              if (not event or entry.get("event") == event)
              and (not source or source in (entry.get("source"), entry.get("library")))
              and (not q or q.lower() in about(entry).lower())]
    page = [{**entry, "about": about(entry)} for entry in wanted[offset:offset + limit]]
    return {"total": len(wanted), "offset": offset, "limit": limit, "entries": page}


def log_lines(settings: Settings, limit: int = LOG_LINES) -> dict[str, list[str]]:
    """The last `limit` lines of each process's log file in the data dir."""
    folder = Path(settings.data_dir) / LOG_DIR
    found: dict[str, list[str]] = {}
    for path in sorted(folder.glob("*.log")) if folder.is_dir() else []:
        with path.open(encoding="utf-8", errors="replace") as handle:
            found[path.stem] = [line.rstrip("\n") for line in deque(handle, maxlen=limit)]
    return found
