"""A full destination holds its target: work for it waits until space returns.

A `DestinationFull` is not a fault of the file, so it must not use up the file's retries or
turn into a failure. The first one for a target records a hold in Redis (`<prefix>:full`,
apart from the user's pause state in `<prefix>:paused`, so `resume` keeps its meaning) and
journals one `target-full`; from then on every transfer to that target waits the way paused
work does (re-sent with a countdown, neither a retry nor a failure), its source untouched.

The hold lifts by itself: once per recheck window ONE task may try the real transfer (a
`SET NX` token that expires with the window, so two workers never both probe and a crashed
prober does not block the next window). A local library is first asked cheaply (statvfs)
whether the file would fit; a remote target is simply tried. The trial that succeeds lifts the
hold and journals `target-space-back`; one that hits the full disk again keeps it and waits.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass

from shared.config import Settings
from shared.state.library_hold import absent_gate
from shared.state.pause import MAX_RECHECK_SECONDS, Hold, recheck_cap, recheck_delay
from shared.state.store import RedisStateStore


@dataclass(frozen=True)
class Gate:
    """Whether a transfer may go ahead; `trial` names a held target this run is probing."""

    hold: Hold | None
    trial: str = ""


def full_target(settings: Settings, source: str) -> str:
    """The name held when a source's library is full: its remote `target`, else the library."""
    config = settings.sources.get(source)
    if config is None:
        return ""
    library = settings.libraries.get(config.library)
    if library is None:
        return config.library
    return library.target or library.name


def hold_target_full(store: RedisStateStore, name: str, reason: str,
                     now: float | None = None) -> bool:
    """Hold `name` as full; True (and one `target-full` journaled) when a new episode starts."""
    entry = json.dumps({"since": time.time() if now is None else now, "reason": reason})
    if store.hold_full_entry(name, entry):
        store.journal("target-full", dest=name, reason=reason)
        return True
    return False


def lift_target_full(store: RedisStateStore, name: str, now: float | None = None) -> bool:
    """Lift the hold; True (and one `target-space-back` journaled) if it was held."""
    raw = store.full_entry(name)
    if raw is None or not store.drop_full_entry(name):
        return False  # not held, or another worker lifted it first
    held = (time.time() if now is None else now) - float(json.loads(raw)["since"])
    store.journal("target-space-back", dest=name, reason=f"space again after {held:.0f} s")
    return True


def full_targets(store: RedisStateStore) -> dict[str, tuple[float, str]]:
    """Every target held full now: name -> (since, reason)."""
    held = {}
    for name, raw in store.full_entries().items():
        entry = json.loads(raw)
        held[name] = (float(entry["since"]), str(entry["reason"]))
    return held


def local_fits(settings: Settings, source: str, need: int) -> bool:
    """A cheap look before probing: does a local library have room for `need` bytes?
    (A remote target, or a library that cannot be asked, is always worth a try.)"""
    config = settings.sources.get(source)
    library = settings.libraries.get(config.library) if config else None
    if library is None or library.target:
        return True
    try:
        stats = os.statvfs(library.path)
    except OSError:
        return True
    return stats.f_bavail * stats.f_frsize > max(need, 0)


def target_gate(store: RedisStateStore, name: str, cap: float = MAX_RECHECK_SECONDS,
                fits: bool = True, now: float | None = None) -> Gate:
    """Go ahead (target not held, or this run won the window's trial), or wait."""
    raw = store.full_entry(name)
    if raw is None:
        return Gate(None)
    entry = json.loads(raw)
    now = time.time() if now is None else now
    delay = recheck_delay(float(entry["since"]), now, cap)
    hold = Hold(f"target {name!r} is full: {entry['reason']}", delay)
    if fits and store.take_full_trial(name, delay):
        return Gate(None, name)
    return Gate(hold)


def source_gate(store: RedisStateStore, settings: Settings, source: str, need: int) -> Gate:
    """The gate for a file of `source` needing `need` bytes in its library (which must be
    there at all: library_hold.py)."""
    absent = absent_gate(store, settings, source)
    if absent is not None:
        return Gate(absent)
    name = full_target(settings, source)
    if not name:
        return Gate(None)
    return target_gate(store, name, recheck_cap(settings),
                       fits=local_fits(settings, source, need))


def hold_after_full(store: RedisStateStore, name: str, reason: str,
                    cap: float = MAX_RECHECK_SECONDS) -> Hold:
    """Record the full destination (journaled once per episode) and say how long to wait."""
    hold_target_full(store, name, reason)
    held = full_targets(store).get(name)
    since = held[0] if held else time.time()
    return Hold(f"target {name!r} is full: {reason}", recheck_delay(since, time.time(), cap))
