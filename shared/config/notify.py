"""`[notify.NAME]` tables: which events go to which Apprise URLs, and how often."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.config.tables import Table, parse_duration, table_at, toml_text
from shared.errors import ConfigError

# failures: files or mirror runs that failed; holds: a library or target full, a target
# unreachable (unmounted), a source or target paused longer than `paused_after`; conflicts:
# a mirror found both sides changed; scrub: a library file no longer matches its sha256;
# summary: one message a day at `summary_at`.
EVENTS = ("failures", "holds", "conflicts", "scrub", "summary")


@dataclass(frozen=True)
class NotifyConfig:
    name: str
    urls: tuple[str, ...]
    events: tuple[str, ...] = EVENTS
    # One message per kind of event at most this often: an outage is one message, not one
    # per failed file.
    min_interval: float = 3600.0
    paused_after: float = 86400.0
    summary_at: str = "08:00"  # local time of the daily summary

    def __repr__(self) -> str:
        # Apprise URLs carry tokens and passwords: never in logs or tracebacks.
        return f"NotifyConfig(name={self.name!r}, urls=<{len(self.urls)}>, events={self.events})"


def parse_notify(raw: Mapping[str, Any], name: str) -> dict[str, NotifyConfig]:
    return {key: _notify(key, value, name) for key, value in raw.items()}


def _notify(key: str, data: Any, name: str) -> NotifyConfig:
    table = Table(data, table_at(name, f"notify.{key}"))
    urls = table.strings("urls")
    if not urls:
        raise ConfigError(f"{table.at('urls')}: give at least one Apprise URL")
    events = table.strings("events") or EVENTS
    for event in events:
        if event not in EVENTS:
            raise ConfigError(f"{table.at('events')}: {toml_text(event)} is not one of "
                              f"{', '.join(EVENTS)}")
    summary_at = table.get("summary_at", "08:00", str)
    hour, _, minute = summary_at.partition(":")
    if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
        raise ConfigError(f"{table.at('summary_at')}: {toml_text(summary_at)} is not a time "
                          'of day (use e.g. "08:00")')
    config = NotifyConfig(
        name=key, urls=urls, events=tuple(dict.fromkeys(events)),
        min_interval=parse_duration(table.get("min_interval", 3600), table.at("min_interval")),
        paused_after=parse_duration(table.get("paused_after", 86400), table.at("paused_after"),
                                    positive=True),
        summary_at=f"{int(hour):02d}:{int(minute):02d}",
    )
    table.finish()
    return config
