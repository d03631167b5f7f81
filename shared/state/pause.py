"""Pause and resume per source and per target: the decisions, as plain functions.

A paused source is not enqueued: the watcher and reconciles leave its files where they are, and
`resume` sends a reconcile of the source that picks up everything that arrived meanwhile. Work
already queued for a paused source or target waits: each stage re-schedules itself a little
later (not a retry, not a failure) until the pause ends. A *target* is anything work is carried
to: a library, a `[rescan.NAME]` target, or (where configured) a `[targets.NAME]` or
`[mirrors.NAME]` name. Pausing a library also stops its sources from being enqueued.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from shared.config import Settings
from shared.errors import UnknownSource

KINDS = ("source", "target")
MIN_RECHECK_SECONDS = 2.0
MAX_RECHECK_SECONDS = 60.0


class PauseBook(Protocol):
    def paused_among(self, fields: list[str]) -> dict[str, float]: ...


@dataclass(frozen=True)
class Hold:
    """Why work must wait, and when to look again."""

    reason: str
    countdown: float


def known_names(settings: Settings, kind: str) -> list[str]:
    if kind == "source":
        return sorted(settings.sources)
    names = set(settings.libraries) | set(settings.rescan_targets)
    names |= set(settings.targets) | set(settings.mirrors)
    return sorted(names)


def check_name(settings: Settings, kind: str, name: str) -> None:
    """UnknownSource (one line, naming what exists) unless `kind name` is configured."""
    if kind not in KINDS:
        raise UnknownSource(f"cannot pause a {kind!r}: give 'source' or 'target'")
    known = known_names(settings, kind)
    if name not in known:
        raise UnknownSource(f"no {kind} named {name!r}; configured: {', '.join(known) or 'none'}")


def targets_of_source(settings: Settings, source: str) -> list[str]:
    """Where a source's files go: its library, and the library's `target` if it has one."""
    config = settings.sources.get(source)
    if config is None:
        return []
    names = [config.library]
    library = settings.libraries.get(config.library)
    remote = getattr(library, "target", None)
    if remote:
        names.append(str(remote))
    return names


def sources_to_catch_up(settings: Settings, kind: str, name: str) -> list[str]:
    """The sources to reconcile when `kind name` is resumed, so nothing left waiting is lost."""
    if kind == "source":
        return [name]
    return [s for s in settings.sources if name in targets_of_source(settings, s)]


def recheck_delay(paused_since: float, now: float, cap: float = MAX_RECHECK_SECONDS) -> float:
    """Soon after a pause starts a resume is noticed within seconds; the longer a pause lasts,
    the less often waiting work goes round the queue (at most once a minute, and never later
    than `cap`: a waiting message must come back before its visibility timeout)."""
    return max(0.5, min(cap, MAX_RECHECK_SECONDS,
                        max(MIN_RECHECK_SECONDS, (now - paused_since) / 10)))


def recheck_cap(settings: Settings) -> float:
    return settings.countdown_limit  # below the visibility timeout, with room for the task


def hold_for(book: PauseBook, source: str | None = None, targets: Iterable[str] = (),
             now: float | None = None, cap: float = MAX_RECHECK_SECONDS) -> Hold | None:
    """The hold on work for `source` going to `targets`, or None when nothing is paused."""
    fields = ([f"source:{source}"] if source else []) + [f"target:{t}" for t in targets]
    paused = book.paused_among(fields)
    if not paused:
        return None
    field = min(paused, key=paused.__getitem__)
    kind, name = field.split(":", 1)
    now = time.time() if now is None else now
    return Hold(f"{kind} {name!r} is paused", recheck_delay(paused[field], now, cap))


def hold_for_source(book: PauseBook, settings: Settings, source: str) -> Hold | None:
    """The hold on a source's files: its own pause, or the pause of where they go."""
    return hold_for(book, source, targets_of_source(settings, source), cap=recheck_cap(settings))
