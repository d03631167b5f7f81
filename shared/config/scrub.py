"""`[scrub.NAME]` tables: re-reading a library's files on a schedule to find bit rot."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.config.tables import Table, parse_duration, table_at, toml_text
from shared.config.targets import parse_rate
from shared.errors import ConfigError

DEFAULT_RATE = 20_000_000  # bytes/s: a scrub reads slowly so live ingests keep the disk


@dataclass(frozen=True)
class ScrubConfig:
    name: str
    library: str
    rate: int = DEFAULT_RATE  # bytes/s read; 0 is unlimited
    cron: str | None = None
    every_seconds: float | None = None
    repair: bool = False  # restore a damaged file from a verified mirror copy at once


def parse_cron(table: Table, key: str) -> str | None:
    """A five-field cron expression at `key`, or None."""
    cron = table.get(key, None, str)
    if cron is None:
        return None
    from croniter import croniter  # here: only a configured schedule pays its import

    if len(cron.split()) != 5 or not croniter.is_valid(cron):
        raise ConfigError(f"{table.at(key)}: {toml_text(cron)} is not a valid five-field "
                          "cron expression")
    return cron


def parse_scrubs(raw: Mapping[str, Any], name: str) -> dict[str, ScrubConfig]:
    return {key: _scrub(key, value, name) for key, value in raw.items()}


def _scrub(key: str, data: Any, name: str) -> ScrubConfig:
    table = Table(data, table_at(name, f"scrub.{key}"))
    cron, every = parse_cron(table, "schedule"), table.get("every")
    if cron is not None and every is not None:
        raise ConfigError(f"{table.where}: give at most one of 'schedule' or 'every'")
    scrub = ScrubConfig(
        name=key, library=table.get("library", key, str),
        rate=parse_rate(table.get("rate", DEFAULT_RATE, (int, str)), table.at("rate")),
        cron=cron,
        every_seconds=None if every is None else parse_duration(every, table.at("every"),
                                                                positive=True),
        repair=table.get("repair", False, bool),
    )
    table.finish()
    return scrub


def check_scrubs(scrubs: Mapping[str, ScrubConfig], libraries: Mapping[str, Any],
                 name: str) -> None:
    for scrub in scrubs.values():
        if scrub.library not in libraries:
            known = ", ".join(libraries) or "none"
            raise ConfigError(f"{table_at(name, f'scrub.{scrub.name}')} library: no library "
                              f"named {scrub.library!r}; configured: {known}")
