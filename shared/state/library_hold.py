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

A library on an SSH target is looked at there, by one short command over the target's SSH
connection: a missing `sentinel`, or a library folder that is gone (once seen there) or whose
parent is missing too (a NAS volume not mounted), holds it the same way. A target that does not
answer is not "not there": its transfers say why. A library found there is not looked at
again for `THERE_SECONDS` (a login per file would cost more than the copy of a photo).
"""

from __future__ import annotations

import json
import os
import threading
import time

from shared.config import LibraryConfig, Settings, TargetConfig
from shared.errors import ExecutorUnreachable, MediacourierError
from shared.executors import CommandResult, SshEndpoint, SshExecutor
from shared.state.pause import Hold, recheck_cap, recheck_delay
from shared.state.store import RedisStateStore

FSTAB = "/etc/fstab"
THERE_SECONDS = 10.0
# exit 3: the library's folder and its parent are missing; 4: only the folder; 5: the sentinel
# ($2, when set) is missing from it.
TARGET_CHECK = ('test -d "$1" || { test -d "$(dirname -- "$1")" && exit 4; exit 3; }; '
                'test -z "$2" || test -e "$1/$2" || exit 5')
_seen_there: dict[tuple[str, str, str], float] = {}
_executors: dict[str, SshExecutor] = {}
_lock = threading.Lock()


def run_on_target(target: TargetConfig, argv: tuple[str, ...], timeout: float) -> CommandResult:
    """Run argv on an SSH target over this process's connection to it; a connection that
    dropped since its last command (a restarted server) is opened again once."""
    try:
        return _target_executor(target).run(argv, timeout=timeout)
    except ExecutorUnreachable:
        return _target_executor(target).run(argv, timeout=timeout)


def _target_executor(target: TargetConfig) -> SshExecutor:
    """One SSH connection per target per process, for the short commands of the library
    checks and the index (host keys checked as for every login)."""
    with _lock:
        found = _executors.get(target.name)
        if found is None or (found.endpoint.host, found.endpoint.port) != (target.host,
                                                                           target.port):
            endpoint = SshEndpoint(target.host, target.port, target.user,
                                   str(target.key_file or ""), str(target.known_hosts or ""))
            found = _executors[target.name] = SshExecutor(endpoint,
                                                          connect_timeout=target.timeout)
        return found


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


def library_missing(store: RedisStateStore, library: LibraryConfig, fstab: str = FSTAB,
                    target: TargetConfig | None = None) -> str | None:
    """Why `library` is not there, or None when it is (or cannot be told: a library on a
    target that is not an SSH one, or that does not answer)."""
    if library.target:
        return _missing_on_target(store, library, target) if target and target.over_ssh \
            else None
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


def _missing_on_target(store: RedisStateStore, library: LibraryConfig,
                       target: TargetConfig) -> str | None:
    path = str(library.path)
    key = (target.name, path, library.sentinel or "")
    if time.monotonic() - _seen_there.get(key, -THERE_SECONDS) < THERE_SECONDS:
        return None
    try:
        done = run_on_target(target, ("sh", "-c", TARGET_CHECK, "sh", path,
                                      library.sentinel or ""), target.timeout)
    except MediacourierError:
        return None  # unreachable or refused: the transfer says so, as for any target
    where = f"{path} on target {target.name!r}"
    if done.exit_code == 0:
        _seen_there[key] = time.monotonic()
        if store.mounted_dev(library.name) is None:
            store.note_mounted(library.name, 0)  # seen there: its folder going is news
        return None
    if done.exit_code == 5:
        return f"its sentinel file {library.sentinel!r} is missing from {where} (not mounted?)"
    if done.exit_code == 3:
        return f"{where} is missing, and its parent folder too (not mounted?)"
    if done.exit_code == 4 and store.mounted_dev(library.name) is not None:
        return f"{where} is gone (it was there before)"
    return None  # a new library: its first upload makes its folder


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
    target = settings.targets.get(library.target) if library.target else None
    why = library_missing(store, library, target=target)
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
