"""Every countdown stays below the visibility timeout.

On the Redis broker a message sent with a countdown (or a retry's) is taken by a worker at
once and held, unacknowledged, until it is due; with late acks it stays unacknowledged while it
runs. A message unacknowledged for longer than `visibility_timeout` is delivered again, and the
copy waits its countdown again: a `debounce = "3h"` under a one-hour timeout ran its rescan four
times. So the longest wait (`Settings.countdown_limit`) is half the visibility timeout, and never
more than what the longest task (`task_time_limit`) leaves of it.

The waits a user chose (`debounce`, `stability`, Syncthing's `poll`) are refused when too long:
shortening them silently would change what they mean. `retry_backoff_max` is a ceiling, so it
is capped; the pause and full-disk rechecks are capped where they are computed (state.pause).
"""

from __future__ import annotations

import dataclasses

from shared.config.settings import Settings
from shared.errors import ConfigError

FOLLOWUP_EXTRA = 1.0  # a reconcile's follow-up pass waits `stability` plus this (tasks.enqueue)


def bounded_countdowns(settings: Settings, name: str) -> Settings:
    """The settings with `retry_backoff_max` capped; ConfigError for a wait that is too long."""
    limit = settings.countdown_limit
    waits = [(f"[rescan.{t.name}] debounce", t.debounce_seconds, "")
             for t in settings.rescan_targets.values()]
    waits += [(f"[sources.{s.name}] stability", s.stability_seconds + FOLLOWUP_EXTRA,
               f" + {FOLLOWUP_EXTRA:g} s") for s in settings.sources.values()]
    waits += [(f"[syncthing.{s.name}] poll", s.poll_seconds, "")
              for s in settings.syncthing.values()]
    for key, wait, extra in waits:
        if wait >= limit:
            shown = duration_text(wait - FOLLOWUP_EXTRA if extra else wait)
            raise ConfigError(
                f"{name}: {key}: {shown}{extra} must be below visibility_timeout "
                f"({duration_text(settings.visibility_timeout)}) with room for the task to run: "
                f"under {duration_text(limit)} ({_why(settings)}); a message that waits longer "
                "is delivered again and again")
    capped = max(1, min(settings.retry_backoff_max, int(limit)))
    return dataclasses.replace(settings, retry_backoff_max=capped)


def _why(settings: Settings) -> str:
    vis, run = settings.visibility_timeout, settings.task_time_limit
    if vis / 2 <= vis - run:
        return "half of visibility_timeout"
    return f"visibility_timeout less task_time_limit ({duration_text(run)})"


def duration_text(seconds: float) -> str:
    """'3h', '30m', '90s', '0.5s': as a duration is written in the configuration."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
