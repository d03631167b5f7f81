"""Beat entries from the configuration: one reconcile per scheduled source, one run per
scheduled mirror, and the in-flight sweeper."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from celery.schedules import crontab
from croniter import croniter

from shared.config import Schedule, Settings


def cron_period_seconds(expression: str, start: dt.datetime | None = None) -> float:
    """The shortest gap between runs of a cron expression over a year (to size `expires`)."""
    runs = croniter(expression, start or dt.datetime(2025, 1, 1))
    previous = runs.get_next(float)
    shortest = float("inf")
    end = previous + 366 * 86400
    for _ in range(5000):
        current = runs.get_next(float)
        shortest = min(shortest, current - previous)
        if current > end:
            break
        previous = current
    return shortest


def crontab_of(expression: str) -> crontab:
    # Cron order is minute hour day-of-month month day-of-week; crontab() takes keywords.
    minute, hour, day_of_month, month, day_of_week = expression.split()
    return crontab(minute=minute, hour=hour, day_of_month=day_of_month,
                   month_of_year=month, day_of_week=day_of_week)


def entry_for(schedule: Schedule) -> dict[str, Any]:
    if schedule.cron:
        when: Any = crontab_of(schedule.cron)
        period = cron_period_seconds(schedule.cron)
    else:
        assert schedule.every_seconds is not None
        when = dt.timedelta(seconds=schedule.every_seconds)
        period = schedule.every_seconds
    return {
        "task": "mediacourier.reconcile",
        "schedule": when,
        "args": [schedule.source],
        # A run not started before the next one is due is dropped, so a backlog while the
        # workers are down does not pile up into many identical walks.
        "options": {"expires": max(1.0, period * 0.9)},
    }


def reconciled_schedules(settings: Settings) -> dict[str, Schedule]:
    """The schedules of the sources ingested the normal way: a source a [flows.NAME] takes is
    the flow's alone, and a reconcile of it would send its files to its library instead."""
    ingested = settings.ingested_sources
    return {name: s for name, s in settings.schedules.items() if s.source in ingested}


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    return {**{f"reconcile-{name}": entry_for(s)
               for name, s in reconciled_schedules(settings).items()},
            **mirror_entries(settings), SWEEP_ENTRY: sweep_entry(settings),
            **backup_entries(settings), **index_entries(settings), **fetch_entries(settings)}


def fetch_entries(settings: Settings) -> dict[str, dict[str, Any]]:
    """`fetch-NAME`: icloudpd for each iCloud source, every `fetch_every` (a held source's run
    returns at once without running it: shared/source/icloud_fetch.py)."""
    return {f"fetch-{name}": {**entry_for(Schedule(source=name,
                                                   every_seconds=source.icloud.fetch_every)),
                              "task": "mediacourier.fetch_icloud"}
            for name, source in settings.sources.items() if source.icloud is not None}


def index_entries(settings: Settings) -> dict[str, dict[str, Any]]:
    """A library's index is kept current on the schedule of its sources' reconciles (the first
    scheduled source of each library, local or on an SSH target: cheap, unchanged files are
    not read again)."""
    entries = {}
    for schedule in reconciled_schedules(settings).values():
        source = settings.sources.get(schedule.source)
        library = settings.libraries.get(source.library) if source else None
        if library is None or f"index-{library.name}" in entries:
            continue
        entries[f"index-{library.name}"] = {**entry_for(schedule), "task": "mediacourier.index",
                                            "args": [library.name]}
    return entries


SWEEP_ENTRY = "sweep-inflight"


def sweep_entry(settings: Settings) -> dict[str, Any]:
    """The in-flight sweeper, always: a lost message is sent again within minutes, not at the
    next reconcile (see shared/source/sweep.py)."""
    period = settings.sweep_seconds
    return {"task": "mediacourier.sweep_inflight", "schedule": dt.timedelta(seconds=period),
            "args": [], "options": {"expires": max(1.0, period * 0.9)}}


def timed_entries(kind: str, task: str, tables: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """`<kind>-NAME` for each table (a mirror, a scrub) that has a `schedule` (cron) or
    `every`: `task` with the table's name."""
    entries = {}
    for name, table in tables.items():
        if table.cron is None and table.every_seconds is None:
            continue
        entry = entry_for(Schedule(source=name, every_seconds=table.every_seconds,
                                   cron=table.cron))
        entries[f"{kind}-{name}"] = {**entry, "task": task, "args": [name]}
    return entries


def mirror_entries(settings: Settings) -> dict[str, dict[str, Any]]:
    """Mirrors that have a `schedule` (cron) or `every`."""
    return timed_entries("mirror", "mediacourier.mirror", settings.mirrors)


NOTIFY_EVERY = 60.0  # seconds between two looks of the notifier at the state


def backup_entries(settings: Settings) -> dict[str, dict[str, Any]]:
    """Scrubs that have a `schedule` or `every`; the notifier when any [notify.NAME] exists."""
    entries = timed_entries("scrub", "mediacourier.scrub", settings.scrubs)
    if settings.notify:
        entries["notify"] = {"task": "mediacourier.notify",
                             "schedule": dt.timedelta(seconds=NOTIFY_EVERY), "args": [],
                             "options": {"expires": NOTIFY_EVERY * 0.9}}
    return entries
