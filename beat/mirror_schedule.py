"""Beat entries for mirrors that have a `schedule` (cron) or `every`."""

from __future__ import annotations

from typing import Any

from shared.config import Schedule, Settings


def mirror_entries(settings: Settings) -> dict[str, dict[str, Any]]:
    from beat.schedule import entry_for  # schedule.py imports this module

    entries = {}
    for name, mirror in settings.mirrors.items():
        if mirror.cron is None and mirror.every_seconds is None:
            continue
        entry = entry_for(Schedule(source=name, every_seconds=mirror.every_seconds,
                                   cron=mirror.cron))
        entries[f"mirror-{name}"] = {**entry, "task": "mediacourier.mirror", "args": [name]}
    return entries
