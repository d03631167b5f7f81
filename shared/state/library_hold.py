"""A library that is not there is not written to: an unmounted disk, a missing sentinel.

A library on a disk that is not mounted looks like an empty folder on its parent's disk: a copy
would land there (and vanish under the disk once it is mounted again), and a rescan would tell
the photo app the library is empty. So before a transfer the library is looked at: a
configured `sentinel` file must be there, and a library once seen on a device of its own (its
st_dev differs from its parent's: a mount point, remembered in Redis) or listed in /etc/fstab
must still be. A library that is not there holds its work the way a full one does
(`full_hold.py`): one `library-absent` journaled per episode, every transfer for it re-sent
later (neither a retry nor a failure), the source untouched; the first look that finds it back
lifts the hold and journals `library-back`.
"""

from __future__ import annotations

import json
import os
import time

from shared.config import LibraryConfig, Settings
from shared.state.pause import Hold, recheck_cap, recheck_delay
from shared.state.store import RedisStateStore

FSTAB = "/etc/fstab"


def fstab_mount_points(path: str = FSTAB) -> set[str]:
    """The mount points /etc/fstab lists (a library there is a disk that may not be mounted)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as table:
            lines = table.read().splitlines()
    except OSError:
        return set()
    points = set()
    for line in lines:
        fields = line.split()
        if len(fields) >= 2 and not fields[0].startswith("#") and fields[1].startswith("/"):
            points.add(os.path.normpath(fields[1].replace("\\040", " ")))
    return points


def library_missing(store: RedisStateStore, library: LibraryConfig,
                    fstab: str = FSTAB) -> str | None:
    """Why `library` is not there, or None when it is (or cannot be told from here: a library
    on an SSH target is its target's business)."""
    if library.target:
        return None
    path = os.path.normpath(str(library.path))
    if library.sentinel and not os.path.lexists(os.path.join(path, library.sentinel)):
        return f"its sentinel file {library.sentinel!r} is missing from {path} (not mounted?)"
    try:
        own, parent = os.stat(path), os.stat(os.path.dirname(path) or "/")
    except FileNotFoundError:
        if store.mounted_dev(library.name) is not None:
            return f"{path} is gone (it was a mount point)"
        return None
    except OSError:
        return None  # a share that does not answer: the transfer says why
    if own.st_dev != parent.st_dev:
        if store.mounted_dev(library.name) != own.st_dev:
            store.note_mounted(library.name, own.st_dev)
        return None
    if store.mounted_dev(library.name) is not None:
        return f"{path} is not mounted (it was a mount point; now a folder on its parent's disk)"
    if path in fstab_mount_points(fstab):
        return f"{path} is not mounted (/etc/fstab lists it)"
    return None


def hold_absent(store: RedisStateStore, name: str, reason: str) -> float:
    """Hold `name` (one `library-absent` journaled per episode); since when it is held."""
    now = time.time()
    if store.hold_absent_entry(name, json.dumps({"since": now, "reason": reason})):
        store.journal("library-absent", library=name, reason=reason)
        return now
    return absent_libraries(store).get(name, (now, reason))[0]


def lift_absent(store: RedisStateStore, name: str) -> bool:
    if store.drop_absent_entry(name):
        store.journal("library-back", library=name, reason="the library is there again")
        return True
    return False


def absent_libraries(store: RedisStateStore) -> dict[str, tuple[float, str]]:
    """Every library held as not there: name -> (since, reason)."""
    held = {}
    for name, raw in store.absent_entries().items():
        entry = json.loads(raw)
        held[name] = (float(entry["since"]), str(entry["reason"]))
    return held


def library_gate(store: RedisStateStore, settings: Settings, library_name: str) -> Hold | None:
    """Wait while the library is not there; lift its hold the first time it is back."""
    library = settings.libraries.get(library_name)
    if library is None:
        return None
    why = library_missing(store, library)
    if why is None:
        lift_absent(store, library_name)
        return None
    since = hold_absent(store, library_name, why)
    return Hold(f"library {library_name!r} is not there: {why}",
                recheck_delay(since, time.time(), recheck_cap(settings)))


def absent_gate(store: RedisStateStore, settings: Settings, source: str) -> Hold | None:
    config = settings.sources.get(source)
    return library_gate(store, settings, config.library) if config else None


def rescan_gate(store: RedisStateStore, settings: Settings, target: str) -> Hold | None:
    """A rescan target waits while a library it scans is not there: an app told to rescan an
    empty mount point would drop the library's photos from its catalogue."""
    for name, library in settings.libraries.items():
        if target in library.rescan:
            hold = library_gate(store, settings, name)
            if hold is not None:
                return hold
    return None
